"""Crediting an earning event: a review, a newsletter subscription, a repost, a sticker code.

:func:`credit_in` credits the amount of the program's first rule of the event
that applies (:func:`shared.domain.earning.refusal`) as one ``Accrue`` with the
rule's activation delay and lifetime, under a posting key made of the rule,
the customer and the event's natural key (:func:`shared.domain.earning.posting_key`),
so each natural key is credited at most once whatever the retries and
concurrency: the posting is created in the customer's ledger in the same
transaction that writes the account, and a second event finds it.

A rule capped per period (``max_per_period`` in ``period_days``) also counts
its credits in ``customers/{id}/event_periods/{rule}:{period}``, read and
written in the same transaction (one document per customer, never a shared one).

Refusals (:class:`EventRefused`, 422 unless noted): ``unknown_customer`` (404),
``unknown_event``, ``key_required``, ``rule_inactive``, ``condition_not_met``,
``already_credited`` (409), ``limit_reached``, ``customer_blocked``,
``bonuses_excluded``. Nothing is written on a refusal.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from shared.domain import holds
from shared.domain.config import EarningEvent, EarningRule, ProgramConfig
from shared.domain.customer import bonuses_excluded
from shared.domain.earning import KEYED_EVENTS, CustomerFacts, OrderFacts, ProductFacts, normalized_key, period_counter, posting_key, refusal
from shared.domain.errors import BusinessRefusal, InvalidState, NotFound
from shared.domain.ledger import Accrue, require_utc
from shared.services.ledger import AccountSession
from shared.services.ports import Store, UnitOfWork

_MESSAGES_RU = {
    "unknown_event": "Неизвестное событие.",
    "key_required": "Укажите товар или ссылку на публикацию.",
    "rule_inactive": "Бонус за это действие сейчас не начисляется.",
    "condition_not_met": "Покупатель не подходит под условия начисления.",
    "limit_reached": "Достигнут предел начислений за период.",
    "customer_blocked": "Покупатель заблокирован: бонусы не начисляются.",
    "bonuses_excluded": "Группа покупателя не участвует в бонусной программе.",
}


class EventRefused(BusinessRefusal):
    """An event the rules do not credit; ``code`` says why."""

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message, message_ru=_MESSAGES_RU.get(code, BusinessRefusal.message_ru), **details)
        self.code = code


class UnknownCustomer(NotFound):
    code = "unknown_customer"
    message_ru = "Покупатель не найден."


class AlreadyCredited(InvalidState):
    code = "already_credited"
    message_ru = "Бонус за это действие уже начислен."


class EventCredit(Struct, frozen=True, kw_only=True):
    """An event credited: the rule, the natural key, the amount and when the lot activates and expires."""

    customer_id: str
    event: str
    rule: str
    key: str
    amount: int
    lot_id: str
    activates_at: datetime
    expires_at: datetime


def _facts(session: AccountSession) -> CustomerFacts:
    return CustomerFacts(group=session.account.group, registered_at=session.referral.registered_at, paid_total=session.account.paid_total)


def _rule(config: ProgramConfig, event: EarningEvent, *, customer: CustomerFacts, now: datetime, rule_code: str | None, product: ProductFacts | None, order: OrderFacts | None) -> EarningRule:
    candidates = [r for r in config.earning_rules if r.event is event and r.amount and (rule_code is None or r.code == rule_code)]
    if not candidates:
        raise EventRefused("rule_inactive", f"the program credits no {event.value}", event=event.value)
    reasons = []
    for rule in candidates:
        reason = refusal(rule, config=config, customer=customer, now=now, product=product, order=order)
        if reason is None:
            return rule
        reasons.append(reason)
    code = "condition_not_met" if "condition_not_met" in reasons else "rule_inactive"
    raise EventRefused(code, f"no {event.value} rule applies to the customer now", event=event.value)


def _product(uow: UnitOfWork, event: EarningEvent, key: str) -> ProductFacts | None:
    if event is not EarningEvent.REVIEW:
        return None
    found = uow.products.resolve([key]).get(key)
    return ProductFacts(sku=key, category=None if found is None else found.product_group)


def credit_in(
    uow: UnitOfWork,
    *,
    config: ProgramConfig,
    customer_id: str,
    event: EarningEvent,
    key: str | None,
    now: datetime,
    rule_code: str | None = None,
    order: OrderFacts | None = None,
    source_ref: str | None = None,
    amount: int | None = None,
) -> EventCredit:
    """Credit ``event`` (natural ``key``: a product's SKU, a post's URL, a code) once, in ``uow``;
    ``amount`` instead of the rule's (a sticker batch's points)."""
    require_utc(now)
    if event not in (EarningEvent.REVIEW, EarningEvent.NEWSLETTER, EarningEvent.REPOST, EarningEvent.STICKER_CODE):
        raise EventRefused("unknown_event", f"{event.value} is credited by the order path or the sweep", event=event.value)
    natural = normalized_key(event, key)
    if event in KEYED_EVENTS and not natural:
        raise EventRefused("key_required", f"a {event.value} names its product, post or code", event=event.value)
    session = AccountSession(uow, customer_id)
    if not session.exists:
        raise UnknownCustomer("unknown customer", customer_id=customer_id)
    if session.blocking.is_blocked:
        raise EventRefused("customer_blocked", "the customer is blocked", customer_id=customer_id)
    if bonuses_excluded(config, session.account):
        raise EventRefused("bonuses_excluded", "the customer's group takes no part in bonuses", customer_id=customer_id)
    rule = _rule(config, event, customer=_facts(session), now=now, rule_code=rule_code, product=_product(uow, event, natural), order=order)
    pkey = posting_key(rule, customer_id, natural)
    if session.posted(pkey) is not None:
        raise AlreadyCredited(f"this {event.value} was credited already", event=event.value, rule=rule.code, key=natural)
    if rule.max_per_period is not None:
        counter = period_counter(rule, now)
        used = uow.event_periods.count(customer_id, counter)
        if used >= rule.max_per_period:
            raise EventRefused("limit_reached", f"{rule.code}: {rule.max_per_period} credits per {rule.period_days} days", rule=rule.code, limit=rule.max_per_period)
        uow.event_periods.put(customer_id, counter, used + 1)
    activates_at, expires_at = holds.rule_activation(rule, now), holds.rule_expiry(config, rule, now)
    credited = rule.amount if amount is None else amount
    accrued = session.post(
        pkey,
        Accrue(amount=credited, source=event.value, ref=source_ref or f"{rule.code}:{natural}"[:300], activates_at=activates_at, expires_at=expires_at, merge=True),
        now=now,
        fresh=True,  # looked up just above, in this unit of work
    )
    return EventCredit(
        customer_id=customer_id, event=event.value, rule=rule.code, key=natural, amount=credited, lot_id=accrued.lot_id, activates_at=activates_at, expires_at=expires_at
    )


def credit(store: Store, **kwargs: object) -> EventCredit:
    """:func:`credit_in` in its own transaction."""
    return store.run(lambda uow: credit_in(uow, **kwargs))  # type: ignore[arg-type]


def resolve_customer(store: Store, *, customer_id: str | None = None, phone: str | None = None, email: str | None = None) -> str:
    """The customer an event names by id, phone (any Russian spelling) or e-mail, else ``unknown_customer``."""
    from shared.domain.identity import IdentityKind
    from shared.services.identity.phones import normalize_phone

    def unit(uow: UnitOfWork) -> str | None:
        if customer_id is not None:
            return customer_id if uow.accounts.get(customer_id) is not None else None
        if phone is not None:
            found = uow.identities.get(IdentityKind.PHONE, normalize_phone(phone))
            return None if found is None or found.unlinked_at is not None else found.customer_id
        ids = uow.accounts.with_email(email or "", limit=2) if email else []
        return ids[0] if len(ids) == 1 else None  # an e-mail two customers share names neither

    found = store.read(unit)
    if found is None:
        raise UnknownCustomer("no customer with this id, phone or e-mail")
    return found
