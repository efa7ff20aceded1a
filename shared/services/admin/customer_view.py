"""A customer as the back office sees them: search by anything a person has at hand, the whole
picture on one screen (:func:`customer_overview`), and a manager's return of an order's lines.

Search (:func:`find_customers`) takes one text and tries each reading of it with an exact look-up
where one exists: a phone (its identity), an e-mail (the profile's, lower-cased), a customer id,
an order id (the order names its customer), a partner code (the code names its partner); and a
name, by prefix, over the name index (``customer_names``: the profile's name from each of its
first three words on, lower-cased, «ё» as «е», kept by every profile write — a name stored before
the index existed is found once the profile is saved again).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from shared.api.admin import AuditEntry, CustomerSearchResponse, PayoutView
from shared.api.admin.customer_view import (
    CustomerOrderView,
    CustomerOverview,
    LedgerEntryView,
    LevelProgressView,
    NoticeView,
    OrderEventView,
    OrderLineView,
    ReferralView,
    ReturnResponse,
)
from shared.domain import history
from shared.domain.config import ProgramConfig
from shared.domain.customer import CustomerRecord
from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.ledger import Posting, require_utc
from shared.domain.levels import progress
from shared.edge.admin_auth import Admin
from shared.services import ledger
from shared.services.admin import audit as _audit
from shared.services.admin.common import well_formed_id
from shared.services.admin.customers import _by_phone, customer_detail, summary
from shared.services.ports import Store, UnitOfWork

SEARCH_LIMIT = 20  # customers one search answers (a name prefix may match more: type more of it)
INVITED_CAP = 1000  # the referral count reads at most this many ids
SIDE_LIMIT = 20  # payouts, notices and audit records shown
_PHONE = re.compile(r"^\+?[\d\s()\-.]{10,20}$")

#: What each posting kind did, as the back office reads it (the history's reason when it has one).
POSTING_KINDS_RU = {
    "open": "Открытие счёта",
    "accrue": "Начисление",
    "schedule": "Дата активации изменена",
    "reserve": "Резерв под заказ",
    "release": "Резерв снят",
    "spend": "Списание",
    "refund": "Возврат списанных бонусов",
    "reverse": "Отмена начисления (возврат)",
    "expire": "Сгорание",
    "adjust": "Ручная корректировка",
    "purchase": "Покупка учтена в уровне",
    "level": "Уровень пересчитан",
    "level_override": "Уровень изменён вручную",
    "group": "Группа изменена",
    "note": "Служебная отметка",
}

EVENTS_RU = {"paid": "Оплачен", "canceled": "Отменён", "delivered": "Доставлен", "return": "Возврат", "refund_due": "Нужен возврат денег"}


def _posting_label(posting: Posting) -> tuple[str, int]:
    """The posting's Russian reason and the change of bonuses the customer's history shows for it."""
    described = history.describe(posting)
    if described is not None:
        return described.reason, described.delta
    return POSTING_KINDS_RU.get(posting.kind, posting.kind), posting.delta


# --- search ----------------------------------------------------------------------------------


def _by_query(uow: UnitOfWork, text: str) -> list[str]:
    """Customer ids the text names as an e-mail, a customer id, an order id, a partner code or a name."""
    found: list[str] = []
    if "@" in text:
        found += uow.accounts.with_email(text, limit=SEARCH_LIMIT)
    if well_formed_id(text):
        if uow.accounts.get(text) is not None:
            found.append(text)
        order = uow.orders.get(text)
        if order is not None:
            found.append(order.customer_id)
        code = uow.promos.get(text.upper())
        if code is not None and code.partner_id:
            found.append(code.partner_id)
    if "@" not in text:
        found += uow.accounts.named(text, limit=SEARCH_LIMIT)
    return found


def find_customers(store: Store, admin: Admin, *, config: ProgramConfig, query: str, now: datetime) -> CustomerSearchResponse:
    """Every customer the text may mean (phone, e-mail, customer id, order id, partner code, name prefix), at most :data:`SEARCH_LIMIT`."""
    admin.require("customer.read")
    text = query.strip()
    if not text:
        raise ValidationFailed("empty search", field="query", message_ru="Введите телефон, имя, e-mail, номер заказа или код партнёра.")
    records: list[CustomerRecord] = []
    if _PHONE.match(text):
        try:
            bound = _by_phone(store, text)
        except ValidationFailed:  # not a mobile number: the other readings still apply
            bound = None
        records += [bound] if bound is not None else []
    ids = list(dict.fromkeys(store.read(lambda uow: _by_query(uow, text))))
    known = {r.customer_id for r in records}
    more = store.read(lambda uow: uow.accounts.get_many([i for i in ids if i not in known])) if ids else {}
    records += [r for r in more.values() if r is not None]
    return CustomerSearchResponse(customers=[summary(config, r, now) for r in records[:SEARCH_LIMIT]], next_cursor=None)


# --- the whole picture --------------------------------------------------------------------------


def _orders(uow: UnitOfWork, customer_id: str, *, after: str | None, limit: int) -> tuple[list[CustomerOrderView], str | None]:
    ids = uow.orders.of_customer(customer_id, limit=limit + 1, after=after)
    views = []
    for order_id in ids[:limit]:
        order = uow.orders.get(order_id)
        if order is None:
            continue
        book = uow.line_books.get(customer_id, order_id)
        booked = book.lines if book is not None else {}
        lines = []
        for line in order.lines:
            entry = booked.get(line.id)
            lines.append(
                OrderLineView(
                    id=line.id,
                    name=line.name or line.sku or line.id,
                    quantity=line.quantity,
                    price=line.price,
                    paid=entry.paid if entry else None,
                    earned=entry.earned if entry else 0,
                    spent=entry.spent if entry else 0,
                    returned=(order.returned_units or {}).get(line.id, 0),
                )
            )
        events = [
            OrderEventView(type=e.type, at=e.at, label_ru=EVENTS_RU.get(e.type, e.type), details=e.model_dump(mode="json", exclude={"key", "at", "type"}, exclude_none=True))
            for e in sorted(order.events, key=lambda e: e.at)
        ]
        views.append(
            CustomerOrderView(
                order_id=order.order_id, status=order.status.value, source=order.source, created_at=order.created_at, paid_at=order.paid_at,
                delivered_at=order.delivered_at, money_to_pay=order.money_to_pay, money_paid=order.money_paid, bonuses_spent=order.bonuses_spent,
                points_earned=order.points_earned, lines=lines, events=events,
            )
        )
    return views, ids[limit - 1] if len(ids) > limit else None


def customer_overview(
    store: Store, admin: Admin, *, config: ProgramConfig, customer_id: str, now: datetime, before_seq: int | None = None, orders_after: str | None = None, limit: int = 20
) -> CustomerOverview:
    """Balances, lots, a page of the ledger, a page of the orders with their lines and timeline,
    the level's progress, referral counts (never a referee's data), payouts, notices and — for the
    roles that read the audit log — the actions taken on the customer."""
    require_utc(now)
    if orders_after is not None and not well_formed_id(orders_after):
        raise ValidationFailed("not an order id", field="orders_after", message_ru="Некорректная страница заказов.")
    detail = customer_detail(store, admin, config=config, customer_id=customer_id, now=now)
    admin.require("ledger.read")
    record = ledger.load_customer(store, customer_id)
    assert record is not None  # customer_detail found it
    way = progress(config, record.account, now)
    postings = ledger.postings(store, customer_id, limit=limit, before_seq=before_seq)
    entries = [
        LedgerEntryView(
            seq=p.seq, kind=p.kind, key=p.key, at=p.at, delta=p.delta, order_id=p.order_id, actor=p.actor, reason=p.reason, outcome=dict(p.outcome or {}),
            movements=[m.to_dict() for m in p.movements], reason_ru=label, change=change,
        )
        for p, (label, change) in ((p, _posting_label(p)) for p in postings)
    ]

    def side(uow: UnitOfWork) -> tuple[Any, ...]:
        orders, next_after = _orders(uow, customer_id, after=orders_after, limit=limit)
        invited = uow.accounts.invited_by(customer_id, limit=INVITED_CAP)
        payouts = uow.payouts.get_many(uow.payouts.ids_of_customer(customer_id, limit=SIDE_LIMIT))
        notices = uow.notices.latest(customer_id, limit=SIDE_LIMIT)
        audit = uow.admin_audit.of_target(f"customer:{customer_id}", limit=SIDE_LIMIT) if admin.can("audit.read") else None
        return orders, next_after, invited, payouts, notices, audit

    orders, next_after, invited, payouts, notices, audit = store.read(side)
    referral = record.referral
    return CustomerOverview(
        customer=detail,
        progress=LevelProgressView(
            level=way.level.code, level_name=way.level.name, qualifying_total=way.qualifying_total, next_level=way.next_level.code if way.next_level else None,
            next_level_name=way.next_level.name if way.next_level else None, remaining_to_next=way.remaining_to_next,
        ),
        ledger=entries,
        next_before_seq=postings[-1].seq if len(postings) == limit else None,
        orders=orders,
        next_orders_after=next_after,
        referral=ReferralView(
            invited_by=referral.invited_by, referrer_id=referral.referrer_id, referral_bound_at=referral.referral_bound_at, partner_code=referral.partner_code,
            invited=len(invited), invited_capped=len(invited) >= INVITED_CAP, paying_referees=int(referral.paying_referees or 0),
        ),
        payouts=[PayoutView.of(p) for p in sorted(payouts, key=lambda p: p.created_at, reverse=True)],
        notices=[NoticeView(key=n.key, kind=n.kind, amount=n.amount, expires_at=n.expires_at, created_at=n.created_at, sent_at=n.sent_at) for n in notices],
        audit=None if audit is None else [AuditEntry.of(r) for r in audit],
    )


# --- a manager's return -------------------------------------------------------------------------


def return_lines(store: Store, admin: Admin, *, config: ProgramConfig, order_id: str, return_id: str, lines: dict[str, int], reason: str, now: datetime) -> ReturnResponse:
    """Units of an order's lines come back (the shop took them back): spent bonuses are refunded and
    the bonuses earned on them taken back, as a carrier's or a payment's return does; audited once,
    with the return. The same ``return_id`` again changes nothing."""
    from shared.domain.order import UNPAID
    from shared.services import orders

    admin.require("order.return")
    require_utc(now)
    order = orders.find_order(store, order_id)
    if order is None:
        raise NotFound("unknown order", order_id=order_id, message_ru="Заказ не найден.")
    if order.status in UNPAID:
        raise ValidationFailed("the order is not paid", field="lines", message_ru="Заказ не оплачен: возвращать нечего.")
    kept = order.remaining_units()
    wanted = {line_id: units for line_id, units in lines.items() if units}
    key = f"return:{return_id}"
    if order.recorded(key) is None:
        if not wanted or any(units < 0 for units in wanted.values()):
            raise ValidationFailed("no units to return", field="lines", message_ru="Укажите, сколько единиц вернуть.")
        for line_id, units in wanted.items():
            if units > kept.get(line_id, 0):
                raise ValidationFailed("more units than the customer keeps", field=f"lines.{line_id}", line_id=line_id, message_ru=f"Вернуть можно не больше {kept.get(line_id, 0)} шт.")
    applied = False

    def record(uow: UnitOfWork, moved: Any) -> None:  # only when this call recorded the return
        nonlocal applied
        applied = True
        params = {"return_id": return_id, "lines": wanted, "reason": reason}
        _audit.audit_in(uow, admin, action="order.return", target=f"order:{order_id}", params=params, result={"status": moved.status.value}, now=now)

    done = orders.mark_returned(store, config=config, order_id=order_id, return_id=return_id, returns=wanted, now=now, placed=order, then=record)
    event = done.recorded(key)
    return ReturnResponse(
        order_id=order_id, status=done.status.value, returned_units=dict(done.returned_units or {}), spent_back=getattr(event, "spent_back", 0),
        earned_back=getattr(event, "earned_back", 0), applied=applied,
    )
