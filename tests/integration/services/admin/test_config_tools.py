"""The program editor's reads: a draft against the version in force, one version, and a cart
priced with a draft beside the version in force — on both stores, and none of them writes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.api.admin.config_tools import ConfigPreviewRequest, PreviewLine
from shared.domain.cart import CartLine
from shared.domain.catalog import Product
from shared.domain.errors import Forbidden, NotFound, ValidationFailed
from shared.edge.admin_auth import Admin
from shared.presets import preset_data
from shared.services import catalog, orders, program, registration
from shared.services.admin import config_tools

MARKETER = Admin("marketer@shop.example", ("marketer",))
ACCOUNTANT = Admin("accountant@shop.example", ("accountant",))


class NoWrites:
    """The store for reads only: a transaction that could write fails the test."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def read(self, fn: Any) -> Any:
        return self._store.read(fn)

    def run(self, fn: Any) -> Any:
        raise AssertionError("a read of the program editor opened a transaction")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture
def published(store, now):
    return program.publish(store, raw=preset_data("biomiq"), author="test", reason="launch", effective_from=now, now=now)


def _draft(**changes: Any) -> dict[str, Any]:
    data = preset_data("biomiq")
    for path, value in changes.items():
        target = data
        *head, last = path.split("__")
        for part in head:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return data


def test_a_draft_is_compared_with_the_version_in_force_not_a_scheduled_one(store, published, now):
    later = _draft(hold_days=7)
    program.publish(store, raw=later, author="test", reason="later", effective_from=now + timedelta(days=3), now=now)
    answer = config_tools.config_draft(NoWrites(store), MARKETER, program_name="biomiq", raw=_draft(name="Новое имя", welcome__standard=700), now=now)
    assert answer.in_force_version == 1 and [s.version for s in answer.scheduled] == [2]
    assert [(c.path, c.before, c.after, c.touches_money) for c in answer.changes] == [
        ("name", "Biomiq — бонусная и партнёрская программа", "Новое имя", False),
        ("welcome.standard", 500, 700, True),
    ]
    assert answer.touches_money
    only_names = config_tools.config_draft(store, MARKETER, program_name="biomiq", raw=_draft(levels__0__name="Старт"), now=now)
    assert [c.path for c in only_names.changes] == ["levels.level1.name"] and not only_names.touches_money


def test_a_draft_is_refused_as_a_publication_is_naming_its_fields(store, published, now):
    with pytest.raises(ValidationFailed) as refused:
        config_tools.config_draft(store, MARKETER, program_name="biomiq", raw=_draft(levels__0__accrual_percent=150), now=now)
    assert refused.value.details["errors"] == [{"field": "levels.0.accrual_percent", "error": "Input should be less than or equal to 100", "type": "less_than_equal", "limit": "100"}]
    with pytest.raises(ValidationFailed) as other:
        config_tools.config_draft(store, MARKETER, program_name="biomiq", raw=_draft(program="veloprobeg"), now=now)
    assert other.value.details["errors"][0]["field"] == "program"
    with pytest.raises(Forbidden):
        config_tools.config_draft(store, ACCOUNTANT, program_name="biomiq", raw=_draft(), now=now)


def test_a_version_that_would_apply_before_a_scheduled_one_is_refused_in_russian(store, published, now):
    program.publish(store, raw=_draft(hold_days=7), author="test", reason="later", effective_from=now + timedelta(days=3), now=now)
    with pytest.raises(ValidationFailed) as refused:
        program.publish(store, raw=_draft(name="Сейчас"), author="test", reason="now", effective_from=None, now=now)
    assert refused.value.details["field"] == "effective_from"
    assert refused.value.message_ru == "Дата вступления в силу не может быть раньше уже запланированной версии: выберите более позднее время."


def test_a_stored_version_is_read_with_whether_it_is_in_force(store, published, now):
    program.publish(store, raw=_draft(hold_days=7), author="marketer", reason="shorter hold", effective_from=now + timedelta(days=1), now=now)
    first = config_tools.config_version(store, MARKETER, program_name="biomiq", number=1, now=now)
    second = config_tools.config_version(store, MARKETER, program_name="biomiq", number=2, now=now)
    assert (first.in_force, second.in_force, second.reason, second.config.hold_days) == (True, False, "shorter hold", 7)
    assert config_tools.config_version(store, MARKETER, program_name="biomiq", number=2, now=now + timedelta(days=1)).in_force
    with pytest.raises(NotFound):
        config_tools.config_version(store, MARKETER, program_name="biomiq", number=3, now=now)
    with pytest.raises(Forbidden):
        config_tools.config_version(store, ACCOUNTANT, program_name="biomiq", number=1, now=now)


def test_a_sample_cart_is_priced_with_the_draft_beside_the_version_in_force_writing_nothing(store, published, now):
    catalog.put_product(store, Product(uid="serum", name="Сыворотка", price=190000, product_group="care"))
    body = ConfigPreviewRequest(
        config=_draft(levels__0__accrual_percent=8, levels__0__max_redeem_percent=20, coefficients={"product_groups": {"care": 2}}),
        lines=[PreviewLine(product="serum", quantity=1), PreviewLine(price=100000, product_group="care", quantity=2)],
        level="level1",
    )
    answer = config_tools.config_preview(NoWrites(store), MARKETER, program_name="biomiq", body=body, now=now)
    assert [(line.name, line.price, line.in_catalog) for line in answer.lines] == [("Сыворотка", 190000, True), ("line2", 100000, False)]
    assert answer.in_force.subtotal == answer.draft.subtotal == 390000
    assert [line.points_to_earn for line in answer.in_force.lines] == [95, 100]  # 5 %
    assert [line.points_to_earn for line in answer.draft.lines] == [304, 320]  # 8 % × 2 for the care group
    assert (answer.in_force.max_bonuses_by_rules, answer.draft.max_bonuses_by_rules) == (1950, 780)  # half, then a fifth


def test_a_draft_campaign_shows_in_the_preview_for_its_audience_only(store, published, now):
    campaign = {"code": "level2_x2", "name": "Двойные баллы второго уровня", "active_from": (now - timedelta(days=1)).isoformat(),
                "active_to": (now + timedelta(days=7)).isoformat(), "multiplier_percent": 200, "audience": {"levels": ["level2"]}}
    draft = {**_draft(), "campaigns": [campaign]}
    line = [PreviewLine(price=100000, quantity=1)]
    level2 = config_tools.config_preview(NoWrites(store), MARKETER, program_name="biomiq", body=ConfigPreviewRequest(config=draft, lines=line, level="level2"), now=now)
    assert (level2.in_force.points_to_earn, level2.draft.points_to_earn) == (100, 200)  # 10 %, doubled
    assert level2.draft.lines[0].campaign is not None and level2.draft.lines[0].campaign.code == "level2_x2"
    level1 = config_tools.config_preview(NoWrites(store), MARKETER, program_name="biomiq", body=ConfigPreviewRequest(config=draft, lines=line, level="level1"), now=now)
    assert level1.draft.points_to_earn == 50 and level1.draft.lines[0].campaign is None


def test_a_sample_line_needs_a_price_when_the_catalog_does_not_know_it(store, published, now):
    body = ConfigPreviewRequest(config=_draft(), lines=[PreviewLine(product="nothing-like-it")])
    with pytest.raises(ValidationFailed):
        config_tools.config_preview(store, MARKETER, program_name="biomiq", body=body, now=now)


def test_a_placed_order_is_priced_again_for_its_customer_as_they_are_now(store, published, now):
    config = published.config
    registration.register_customer(store, config=config, customer_id="anna", now=now)  # 500 welcome bonuses
    orders.place_order(store, config=config, customer_id="anna", order_id="A1", lines=[CartLine(id="serum", price=190000, quantity=1)], bonuses=300, now=now)
    body = ConfigPreviewRequest(config=_draft(levels__0__accrual_percent=10), order_id="A1")
    answer = config_tools.config_preview(NoWrites(store), MARKETER, program_name="biomiq", body=body, now=now)
    assert answer.order_id == "A1" and answer.in_force.bonuses_applied == answer.draft.bonuses_applied == 300  # its own reservation counts
    assert (answer.in_force.points_to_earn, answer.draft.points_to_earn) == (80, 160)  # 5 % and 10 % of 1 600 ₽
    with pytest.raises(NotFound):
        config_tools.config_preview(store, MARKETER, program_name="biomiq", body=ConfigPreviewRequest(config=_draft(), order_id="nope"), now=now)


def test_a_preview_is_for_the_program_readers_only(store, published, now):
    body = ConfigPreviewRequest(config=_draft(), lines=[PreviewLine(price=1000)])
    with pytest.raises(Forbidden):
        config_tools.config_preview(store, ACCOUNTANT, program_name="biomiq", body=body, now=now)
