"""Customers: one search box and a list, a customer's whole picture, and the actions on it
(adjust, level, group, block and unblock, an order delivered, a return by line, a call-centre order).

Every action is the admin API's use case under the same role; a form refused by the service is
shown again on the customer's page with the message at its field."""

from __future__ import annotations

import secrets
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, Field

from console.app import NOTICES, FormInvalid, Page, page, parse_form, redirect
from shared.domain import errors
from shared.domain.admin import ApprovalStatus
from shared.domain.cart import CartLine
from shared.edge import entry
from shared.edge.http import Reply
from shared.services.admin import adjustments, approvals, catalog, customers, events, orders
from shared.services.admin import customer_view as overview
from shared.services.admin import messages as admin_messages
from shared.services.admin.common import valid_customer_id

NOTICES.update(
    adjusted="Корректировка проведена.",
    adjust_pending="Корректировка превышает порог и ждёт согласования второго сотрудника.",
    level_changed="Уровень изменён.",
    group_changed="Группа изменена.",
    blocked="Клиент заблокирован: все его сессии завершены.",
    unblocked="Клиент разблокирован.",
    delivered="Заказ отмечен доставленным: бонусы ушли в холд.",
    returned="Возврат записан: бонусы пересчитаны.",
    ordered="Заказ оформлен: бонусы зарезервированы.",
    event_credited="Бонус за действие начислен.",
)

STATUS_RU = {
    "awaiting_payment": "ждёт оплаты", "paid": "оплачен", "delivered": "доставлен", "partially_returned": "частично возвращён", "returned": "возвращён",
    "not_delivered": "не доставлен", "canceled": "отменён", "pending": "ждёт решения", "approved": "одобрено", "executed": "выполнено", "rejected": "отклонено",
    "failed": "не выполнено", "requested": "заявка", "paid_out": "выплачено",
}
LOT_STATES = {"active": ("активны", "ok"), "pending": ("в холде", "warn"), "expired": ("сгорели", "bad")}
SOURCES_RU = {"purchase": "за заказ", "welcome": "приветственный", "welcome_invited": "приветственный по приглашению", "referral": "партнёрский", "birthday": "ко дню рождения",
              "first_order": "за первый заказ", "mass_accrual": "по акции", "adjustment": "корректировка", "review": "за отзыв",
              "newsletter": "за подписку", "repost": "за репост", "sticker_code": "за код со стикера", "payout": "выплата на бонусный счёт"}


def _key() -> str:
    """A form's idempotency key: the same form sent twice does the action once."""
    return "c" + secrets.token_hex(12)


# --- search and list -------------------------------------------------------------------------


@page("GET", "/customers")
def customer_list(p: Page) -> Reply:
    admin = p.require("customer.read")
    store, config = entry.store(), entry.config(p.now)
    query = (p.ctx.request.args.get("q") or "").strip()
    cursor = p.ctx.request.args.get("after") or None
    fields: dict[str, str] = {}
    if query:
        try:
            found = overview.find_customers(store, admin, config=config, query=query[:200], now=p.now)
        except errors.ValidationFailed as exc:
            found, fields = None, {"q": exc.message_ru or "Неверный запрос."}
    else:
        found = customers.search_customers(store, admin, config=config, cursor=cursor if cursor and len(cursor) <= 128 else None, limit=50, now=p.now)
    names = _names(store, [c.customer_id for c in found.customers]) if found else {}
    return p.render("customers_search.html", query=query, found=found, names=names, fields=fields)


def _names(store: Any, ids: list[str]) -> dict[str, str]:
    """The names the list shows beside the ids (the records were read by the search already; read again here)."""
    records = store.read(lambda uow: uow.accounts.get_many(ids)) if ids else {}
    return {cid: (r.profile.name or "") for cid, r in records.items() if r is not None}


# --- one customer ----------------------------------------------------------------------------


def _customer_page(p: Page, customer_id: str, *, failed: str | None = None, fields: dict[str, str] | None = None, message: str | None = None, status: int = 200) -> Reply:
    admin = p.require("customer.read")
    customer_id = valid_customer_id(customer_id)
    args = p.ctx.request.args
    before = args.get("before")
    view = overview.customer_overview(
        entry.store(), admin, config=entry.config(p.now), customer_id=customer_id, now=p.now,
        before_seq=int(before) if before and before.isdigit() else None, orders_after=args.get("orders_after") or None, limit=20,
    )
    waiting = []
    if p.can("approval.read"):
        pending = approvals.list_approvals(entry.store(), admin, status=ApprovalStatus.PENDING, limit=200).approvals
        waiting = [a for a in pending if a.target == f"customer:{customer_id}"]
    config = entry.config(p.now)
    return p.render(
        "customers_view.html",
        outbox=admin_messages.customer_messages(entry.store(), admin, customer_id=customer_id),
        triggers_ru=admin_messages.TRIGGERS_RU,
        message_statuses=admin_messages.STATUSES_RU,
        channels_ru=admin_messages.CHANNELS_RU,
        status=status,
        v=view,
        c=view.customer,
        waiting=waiting,
        failed=failed,
        fields=fields or {},
        message=message,
        levels=[(lvl.code, lvl.name) for lvl in config.levels],
        groups=[(g.code, g.name) for g in config.groups],
        status_ru=STATUS_RU,
        lot_states=LOT_STATES,
        sources=SOURCES_RU,
        key=_key(),
        urlencode=urlencode,
    )


@page("GET", "/customers/{customer_id}")
def customer(p: Page) -> Reply:
    return _customer_page(p, p.ctx.params["customer_id"])


def _act(p: Page, form: str, action: Any) -> Reply:
    """Run ``action(customer_id, fields)`` with the form's own fields (named ``<form>.<field>`` on the
    page, so every input of every form has its own id); it answers the page to go to. A refusal comes
    back on the customer's page, at its field or above its form."""
    data = p.form()
    customer_id = valid_customer_id(p.ctx.params.get("customer_id") or data.get("customer_id", ""))
    prefix = form + "."
    fields = {name.removeprefix(prefix): value for name, value in data.items() if name.startswith(prefix)}
    try:
        return redirect(str(action(customer_id, fields)))
    except FormInvalid as exc:
        return _customer_page(p, customer_id, failed=form, fields={prefix + name: text for name, text in exc.fields.items()}, status=400)
    except (errors.ValidationFailed, errors.BusinessRefusal, errors.InvalidState, errors.IdempotencyConflict) as exc:
        return _customer_page(p, customer_id, failed=form, message=exc.message_ru or "Действие не выполнено.", status=400)


def _to(customer_id: str, done: str) -> str:
    return f"/customers/{customer_id}?done={done}"


class AdjustForm(BaseModel):
    amount: int = Field(ge=-10_000_000, le=10_000_000)
    reason: str = Field(min_length=1, max_length=500)
    key: str = Field(pattern=r"^[A-Za-z0-9]{1,64}$")


@page("POST", "/customers/{customer_id}/adjust")
def adjust(p: Page) -> Reply:
    admin = p.require("ledger.adjust")

    def run(customer_id: str, data: dict[str, str]) -> str:
        body = parse_form(AdjustForm, data)
        if body.amount == 0:
            raise FormInvalid({"amount": "Введите ненулевое число бонусов: плюс — начислить, минус — списать."})
        done = adjustments.adjust(entry.store(), admin, config=entry.config(p.now), customer_id=customer_id, amount=body.amount, reason=body.reason, key=body.key, now=p.now)
        return _to(customer_id, "adjust_pending" if done.status == "pending_approval" else "adjusted")

    return _act(p, "adjust", run)


class EventForm(BaseModel):
    event: Literal["review", "repost", "newsletter"]
    key: str = Field(default="", max_length=2000)
    note: str = Field(default="", max_length=500)


@page("POST", "/customers/{customer_id}/events")
def credit_event(p: Page) -> Reply:
    admin = p.require("customer.event")

    def run(customer_id: str, data: dict[str, str]) -> str:
        body = parse_form(EventForm, data)
        if body.event != "newsletter" and not body.key.strip():
            raise FormInvalid({"key": "Укажите артикул товара или ссылку на публикацию."})
        events.credit_event(
            entry.store(), admin, config=entry.config(p.now), customer_id=customer_id, event=body.event, key=body.key.strip() or None, rule=None, note=body.note, now=p.now
        )
        return _to(customer_id, "event_credited")

    return _act(p, "event", run)


class LevelForm(BaseModel):
    level: str = Field(default="", max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    key: str = Field(pattern=r"^[A-Za-z0-9]{1,64}$")


@page("POST", "/customers/{customer_id}/level")
def level(p: Page) -> Reply:
    admin = p.require("customer.level")

    def run(customer_id: str, data: dict[str, str]) -> str:
        body = parse_form(LevelForm, data)
        adjustments.override_level(entry.store(), admin, config=entry.config(p.now), customer_id=customer_id, level=body.level or None, reason=body.reason, key=body.key, now=p.now)
        return _to(customer_id, "level_changed")

    return _act(p, "level", run)


class GroupForm(BaseModel):
    group: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    key: str = Field(pattern=r"^[A-Za-z0-9]{1,64}$")


@page("POST", "/customers/{customer_id}/group")
def group(p: Page) -> Reply:
    admin = p.require("customer.group")

    def run(customer_id: str, data: dict[str, str]) -> str:
        body = parse_form(GroupForm, data)
        adjustments.change_group(entry.store(), admin, config=entry.config(p.now), customer_id=customer_id, group=body.group, reason=body.reason, key=body.key, now=p.now)
        return _to(customer_id, "group_changed")

    return _act(p, "group", run)


class ReasonForm(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def _blocking(p: Page, *, blocked: bool) -> Reply:
    admin = p.require("customer.block")

    def run(customer_id: str, data: dict[str, str]) -> str:
        body = parse_form(ReasonForm, data)
        adjustments.set_blocked(entry.store(), admin, customer_id=customer_id, blocked=blocked, reason=body.reason, now=p.now)
        return _to(customer_id, "blocked" if blocked else "unblocked")

    return _act(p, "block", run)


@page("POST", "/customers/{customer_id}/block")
def block(p: Page) -> Reply:
    return _blocking(p, blocked=True)


@page("POST", "/customers/{customer_id}/unblock")
def unblock(p: Page) -> Reply:
    return _blocking(p, blocked=False)


@page("POST", "/orders/{order_id}/delivered")
def delivered(p: Page) -> Reply:
    admin = p.require("order.deliver")
    order_id = orders.valid_order_id(p.ctx.params["order_id"])

    def run(customer_id: str, data: dict[str, str]) -> str:
        body = parse_form(ReasonForm, data)
        orders.mark_delivered(entry.store(), admin, config=entry.config(p.now), order_id=order_id, reason=body.reason, now=p.now)
        return _to(customer_id, "delivered")

    return _act(p, f"deliver-{order_id}", run)


class ReturnForm(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    key: str = Field(pattern=r"^[A-Za-z0-9]{1,64}$")


@page("POST", "/orders/{order_id}/return")
def order_return(p: Page) -> Reply:
    admin = p.require("order.return")
    order_id = orders.valid_order_id(p.ctx.params["order_id"])

    def run(customer_id: str, data: dict[str, str]) -> str:
        body = parse_form(ReturnForm, data)
        lines: dict[str, int] = {}
        for name, value in data.items():
            if name.startswith("qty.") and value.strip():
                if not value.strip().isdigit():
                    raise FormInvalid({name: "Введите целое число."})
                lines[name.removeprefix("qty.")] = int(value)
        try:
            overview.return_lines(entry.store(), admin, config=entry.config(p.now), order_id=order_id, return_id=body.key, lines=lines, reason=body.reason, now=p.now)
        except errors.ValidationFailed as exc:
            line = exc.details.get("line_id")
            raise FormInvalid({f"qty.{line}" if line else "reason": exc.message_ru or "Неверное количество."}) from exc
        return _to(customer_id, "returned")

    return _act(p, f"return-{order_id}", run)


class CallCentreForm(BaseModel):
    product: str = Field(min_length=1, max_length=200)
    quantity: int = Field(default=1, ge=1, le=10_000)
    bonuses: int = Field(default=0, ge=0, le=10_000_000)
    key: str = Field(pattern=r"^[A-Za-z0-9]{1,64}$")


@page("POST", "/customers/{customer_id}/orders")
def call_centre(p: Page) -> Reply:
    admin = p.require("order.call_centre")

    def run(customer_id: str, data: dict[str, str]) -> str:
        body = parse_form(CallCentreForm, data)
        found = catalog.list_products(entry.store(), admin, query=body.product.strip(), cursor=None, limit=1).products
        product = found[0] if found else None
        if product is None:
            raise FormInvalid({"product": "Такого товара нет в каталоге: введите его UID, артикул или внешний код."})
        line = CartLine(id=product.uid, product=product.uid, sku=product.sku or "", name=product.name or "", price=product.price, quantity=body.quantity)
        orders.call_centre_order(entry.store(), admin, config=entry.config(p.now), customer_id=customer_id, order_id=f"cc-{body.key}", lines=[line], bonuses=body.bonuses, now=p.now)
        return _to(customer_id, "ordered")

    return _act(p, "order", run)
