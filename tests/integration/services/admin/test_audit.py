"""Back-office actions and their audit records commit together (emulator).

Each action below writes its change and its ``audit/{id}`` record in one
transaction: if the record cannot be written the change is not made either,
and a replayed action (same code, same order id, same decision) adds no
second record.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.adapters import layout
from shared.domain.cart import CartLine, PromoRule
from shared.domain.errors import InvalidState
from shared.domain.ledger import Accrue
from shared.edge.admin_auth import ROLES, Admin
from shared.platform.sealing import Sealer
from shared.presets import preset_data
from shared.services import orders, payouts, program, registration
from shared.services.admin import audit as admin_audit
from shared.services.admin import orders as admin_orders
from shared.services.admin import payouts as admin_payouts
from shared.services.admin import program as admin_program
from shared.services.admin import promos as admin_promos
from shared.services.ledger import balances, post

OWNER = Admin("owner@shop.example", ROLES)
RULE = PromoRule(code="autumn10", kind="percent", percent=Decimal(10))


class Refused(Exception):
    pass


def _audit(store) -> list[dict]:
    return [doc for _, doc in store.ordered(layout.ADMIN_AUDIT, order_by="key", limit=100)]


@pytest.fixture
def biomiq(firestore_store, now):
    version = program.publish(firestore_store, raw=preset_data("biomiq"), author="test", reason="fixture", effective_from=now, now=now)
    return version.config


def _failing_audit(monkeypatch):
    def refuse(uow, admin, **entry):
        raise Refused(entry["action"])

    monkeypatch.setattr(admin_audit, "audit_in", refuse)


def test_a_promo_code_is_created_with_its_record_and_a_replay_adds_none(firestore_store, now):
    admin_promos.create_promo(firestore_store, OWNER, rule=RULE, total_limit=100, per_customer_limit=1, now=now)
    admin_promos.create_promo(firestore_store, OWNER, rule=RULE, total_limit=100, per_customer_limit=1, now=now + timedelta(minutes=1))

    assert [(r["action"], r["target"], r["actor"]) for r in _audit(firestore_store)] == [("promo.create", "promo:AUTUMN10", "owner@shop.example")]


def test_no_promo_code_without_its_record(firestore_store, now, monkeypatch):
    _failing_audit(monkeypatch)

    with pytest.raises(Refused):
        admin_promos.create_promo(firestore_store, OWNER, rule=RULE, total_limit=None, per_customer_limit=None, now=now)

    assert firestore_store.get(layout.promo_code("AUTUMN10")) is None


def test_no_config_version_without_its_record(firestore_store, biomiq, now, monkeypatch):
    _failing_audit(monkeypatch)
    renamed = {**preset_data("biomiq"), "name": "Biomiq — клуб"}  # published at once: names only

    with pytest.raises(Refused):
        admin_program.replace_config(firestore_store, OWNER, program_name="biomiq", raw=renamed, reason="новое название", effective_from=None, key="rename-1", now=now + timedelta(hours=1))

    assert [v["version"] for v in firestore_store.get(layout.program("biomiq"))["versions"]] == [1]
    assert program.in_force(firestore_store, "biomiq", now + timedelta(hours=2)).config.name == biomiq.name


def test_no_config_approval_request_without_its_record(firestore_store, biomiq, now, monkeypatch):
    _failing_audit(monkeypatch)
    raw = {**preset_data("biomiq"), "hold_days": 7}  # touches money: waits for a second admin

    with pytest.raises(Refused):
        admin_program.replace_config(firestore_store, OWNER, program_name="biomiq", raw=raw, reason="shorter hold", effective_from=None, key="hold-7", now=now + timedelta(hours=1))

    assert list(firestore_store.iter_ids(layout.APPROVALS)) == []
    assert program.in_force(firestore_store, "biomiq", now + timedelta(hours=2)).config.hold_days == 14


def test_a_call_centre_order_is_placed_with_its_record_or_not_at_all(firestore_store, biomiq, now, monkeypatch):
    registration.register_customer(firestore_store, config=biomiq, customer_id="anna", now=now)
    lines = [CartLine(id="serum", price=190000, quantity=1)]
    with monkeypatch.context() as patched:
        _failing_audit(patched)
        with pytest.raises(Refused):
            admin_orders.call_centre_order(firestore_store, OWNER, config=biomiq, customer_id="anna", order_id="P1", lines=lines, bonuses=500, now=now)
    assert orders.find_order(firestore_store, "P1") is None
    assert balances(firestore_store, "anna", now).reserved == 0  # the reservation was undone

    admin_orders.call_centre_order(firestore_store, OWNER, config=biomiq, customer_id="anna", order_id="P1", lines=lines, bonuses=500, now=now)
    admin_orders.call_centre_order(firestore_store, OWNER, config=biomiq, customer_id="anna", order_id="P1", lines=lines, bonuses=500, now=now)

    assert [r["action"] for r in _audit(firestore_store)] == ["order.call_centre"]
    assert orders.get_order(firestore_store, "P1").source == "call_centre"


def test_a_payout_is_rejected_with_its_record_or_stays_requested(firestore_store, biomiq, now, monkeypatch):
    registration.register_customer(firestore_store, config=biomiq, customer_id="maria", now=now)
    reward = Accrue(amount=500, source="referral", ref="A1", activates_at=now, expires_at=now + timedelta(days=365), order_id="ref-anna-A1")
    post(firestore_store, "maria", "referral:ref-anna-A1", reward, now=now)  # a referral reward past its hold: payable
    sealer = Sealer("test-payout-secret-of-at-least-32-bytes!")
    payouts.request_payout(firestore_store, config=biomiq, customer_id="maria", request_id="payout-0001", amount=500, method="phone", details="+7 916 000-00-11", now=now, sealer=sealer)
    with monkeypatch.context() as patched:
        _failing_audit(patched)
        with pytest.raises(Refused):
            admin_payouts.reject_payout(firestore_store, OWNER, request_id="payout-0001", reason="duplicate request", now=now)
    assert firestore_store.get(layout.payout("payout-0001"))["status"] == "requested"

    admin_payouts.reject_payout(firestore_store, OWNER, request_id="payout-0001", reason="duplicate request", now=now)
    admin_payouts.reject_payout(firestore_store, OWNER, request_id="payout-0001", reason="duplicate request", now=now)

    assert [r["action"] for r in _audit(firestore_store)] == ["payout.reject"]
    with pytest.raises(InvalidState):
        admin_payouts.mark_payout_paid(firestore_store, OWNER, request_id="payout-0001", now=now)
