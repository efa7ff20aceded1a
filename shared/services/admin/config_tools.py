"""The program editor's reads: what a draft changes, one stored version, a cart priced both ways.

None of them writes anything. A draft is validated exactly as a publication is
(:func:`shared.domain.config.parse_config`, the program's name), so a draft these
accept is one :func:`shared.services.admin.program.replace_config` accepts too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.api.admin import ConfigChangeView, ScheduledVersion
from shared.api.admin.config_tools import (
    ConfigDraftResponse,
    ConfigPreviewRequest,
    ConfigPreviewResponse,
    ConfigVersionView,
    PreviewLineView,
)
from shared.domain.cart import CartLine, CustomerView, PromoRule, quote
from shared.domain.config import ProgramConfig, parse_config
from shared.domain.config_diff import config_changes, touches_money
from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.ledger import require_utc
from shared.domain.segments import CustomerFacts
from shared.edge.admin_auth import Admin
from shared.services import catalog, customer_orders
from shared.services import program as program_service
from shared.services.admin.orders import valid_order_id
from shared.services.ledger import AccountSession
from shared.services.ports import Store, UnitOfWork

#: What a sample customer holds: enough for every cap of the rules to show.
SAMPLE_BALANCE = 10**9


def draft_config(program_name: str, raw: Any) -> ProgramConfig:
    """``raw`` validated as a config of this deployment's program (else :class:`ValidationFailed`)."""
    if isinstance(raw, dict) and raw.get("program") != program_name:
        raise ValidationFailed(
            f"invalid program config: program: this deployment runs {program_name!r}",
            field="program",
            errors=[{"field": "program", "error": f"must be {program_name!r}", "type": "program"}],
            message_ru="Некорректная конфигурация программы: program",
        )
    return parse_config(raw)


def config_draft(store: Store, admin: Admin, *, program_name: str, raw: Any, now: datetime) -> ConfigDraftResponse:
    """The draft's differences from the version in force (a draft that is invalid: :class:`ValidationFailed`)."""
    admin.require("config.read")
    require_utc(now)
    draft = draft_config(program_name, raw)
    current = program_service.in_force(store, program_name, now)
    changes = config_changes(current.config, draft)
    return ConfigDraftResponse(
        program=program_name,
        in_force_version=current.version,
        in_force_from=current.effective_from,
        changes=[ConfigChangeView.model_validate(change.view()) for change in changes],
        touches_money=touches_money(changes),
        scheduled=[ScheduledVersion(version=ref.version, effective_from=ref.effective_from) for ref in program_service.scheduled(store, program_name, now)],
    )


def config_version(store: Store, admin: Admin, *, program_name: str, number: int, now: datetime) -> ConfigVersionView:
    """One stored version (``NotFound`` for a number never published)."""
    admin.require("config.read")
    if number < 1:
        raise NotFound("no such version", version=number, message_ru="Такой версии программы нет.")
    try:
        found = program_service.version(store, program_name, number)
    except NotFound:
        raise NotFound("no such version", version=number, message_ru="Такой версии программы нет.") from None
    current = program_service.in_force(store, program_name, now)
    return ConfigVersionView(
        program=program_name,
        version=found.version,
        effective_from=found.effective_from,
        author=found.author,
        reason=found.reason,
        created_at=found.created_at,
        config=found.config,
        in_force=found.version == current.version,
    )


class _Cart:
    """The cart to price: its lines, the promo rule and bonuses, and who buys it under a config."""

    def __init__(self, lines: list[CartLine], missing: tuple[str, ...], *, promo: PromoRule | None, promo_code: str | None, bonuses: int, gift_payment: bool) -> None:
        self.lines, self.missing = lines, missing
        self.promo, self.promo_code, self.bonuses, self.gift_payment = promo, promo_code, bonuses, gift_payment


def _sample_cart(store: Store, config: ProgramConfig, body: ConfigPreviewRequest) -> _Cart:
    lines = [
        CartLine(id=f"line{i}", product=line.product, name=line.name, price=line.price or 0, quantity=line.quantity, product_group=line.product_group, brand=line.brand)
        for i, line in enumerate(body.lines, start=1)
    ]
    catalog_lines = [line for line in lines if line.product is not None]
    priced = catalog.price_lines(store, config=config, lines=catalog_lines, refuse=False) if catalog_lines else None
    by_id = {line.id: line for line in priced.lines} if priced else {}
    missing = priced.missing if priced else ()
    for line_id in missing:
        if not next(line for line in lines if line.id == line_id).price:
            raise ValidationFailed("a line's product is not in the catalog", field=f"lines.{line_id}", message_ru="Товара нет в каталоге: укажите цену.")
    return _Cart([by_id.get(line.id, line) for line in lines], missing, promo=None, promo_code=None, bonuses=body.bonuses, gift_payment=False)


def _order_cart(store: Store, order_id: str) -> tuple[_Cart, str]:
    order = store.read(lambda uow: uow.orders.get(valid_order_id(order_id)))
    if order is None:
        raise NotFound("no such order", order_id=order_id, field="order_id", message_ru="Заказ не найден.")
    cart = _Cart(list(order.lines), (), promo=order.promo_rule, promo_code=order.promo_code, bonuses=order.bonuses_requested, gift_payment=order.pays_with_gift_certificate)
    return cart, order.customer_id


def _buyer(store: Store, config: ProgramConfig, body: ConfigPreviewRequest, customer_id: str | None, now: datetime) -> CustomerView:
    if customer_id is None:
        level = body.level if body.level in {lv.code for lv in config.levels} else config.levels[0].code
        group = body.group if body.group in {g.code for g in config.groups} else config.default_group
        # a returning customer of that level and group, birthday unknown: campaigns for them apply
        facts = CustomerFacts(level=level, group=group, paid_orders=1)
        return CustomerView(customer_id="preview", level=level, group=group, available=SAMPLE_BALANCE, facts=facts)

    def unit(uow: UnitOfWork) -> CustomerView:
        session = AccountSession(uow, customer_id)
        if not session.exists:
            raise NotFound("the order's customer is unknown", customer_id=customer_id, message_ru="Покупатель заказа не найден.")
        return customer_orders.customer_view(config, session, now, plus_reserved_for=body.order_id)  # an unpaid order's own reservation counts

    return store.read(unit)


def config_preview(store: Store, admin: Admin, *, program_name: str, body: ConfigPreviewRequest, now: datetime) -> ConfigPreviewResponse:
    """A sample cart (or a placed order) priced with the draft and with the version in force, side by side.

    Pure pricing (:func:`shared.domain.cart.quote`) on reads only: the catalog's products, the
    order, its customer's account (their level is worked out under each config)."""
    admin.require("config.read")
    require_utc(now)
    draft = draft_config(program_name, body.config)
    current = program_service.in_force(store, program_name, now)
    customer_id: str | None = None
    if body.order_id:
        cart, customer_id = _order_cart(store, body.order_id)
    else:
        cart = _sample_cart(store, current.config, body)

    def priced(config: ProgramConfig) -> Any:
        buyer = _buyer(store, config, body, customer_id, now)
        try:
            return quote(config, buyer, cart.lines, now=now, promo=cart.promo, promo_code=cart.promo_code, bonuses_requested=cart.bonuses, pays_with_gift_certificate=cart.gift_payment)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="lines", message_ru="Некорректная корзина.") from None

    def view(line: CartLine) -> PreviewLineView:
        in_catalog = line.id not in cart.missing and (line.product is not None or body.order_id is not None)
        return PreviewLineView(id=line.id, name=line.name or line.product or line.id, quantity=line.quantity, price=line.price, product_group=line.product_group, in_catalog=in_catalog)

    views = [view(line) for line in cart.lines]
    return ConfigPreviewResponse(program=program_name, in_force_version=current.version, order_id=body.order_id, lines=views, in_force=priced(current.config), draft=priced(draft))
