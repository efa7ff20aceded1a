"""Promo codes: marketing discount codes and partners' personal codes.

Layout (Firestore)::

    promo_codes/{CODE}                        the code: its discount rule (a PromoRule) or
                                              the partner it belongs to, the active flag,
                                              total_limit, per_customer_limit and uses
    promo_codes/{CODE}/customers/{customer}   one customer's redemptions: the order ids

Codes are case-insensitive: the document id is the code stripped and
upper-cased (:func:`normalize`). A marketing code carries a ``rule``; its
validity window, minimum order and scope are applied by cart maths
(:func:`shared.domain.cart.quote`), not here. A partner's personal code
carries ``partner_id`` and no rule: it gives no discount. Given at
registration it is the partner's invitation (the identity use case's job);
typed at checkout it is kept on the order (``referral_partner_id``) and binds
a buyer who came by no link to the partner at their first paid order
(:func:`shared.services.customer_orders.pay`).

Limits are enforced when an order is placed: :func:`redeem` checks the total
and per-customer limits and records the use in one transaction, so
concurrent orders can never use a code more often than allowed. The use of
an order not paid yet is *held* until its reservation times out: a customer
holds a code with a total limit by at most one unpaid order, and a hold past
its timeout is released at the customer's next redemption (or by the sweep's
cancellation), so no account can sit on others' uses. Payment keeps the use
(:func:`keep_for_payment_in`). Redemptions are idempotent by order id, and
:func:`unredeem` gives a use back (an order that was not placed after all,
or was canceled unpaid).
A marketing code's uses are counted on :data:`PROMO_SHARDS` shards
(``promo_codes/{CODE}/shards/{i}``), never on the code's own document, so a
flash sale's orders do not all write one document (Firestore sustains about
one write a second per document). The total limit is split over the shards;
an order takes its use from a shard picked at random (again on every retry,
so contention on one shard sends the retry to another) and, when that one has
none left, from the next that has: no shard goes below zero, so the code is
never used more often than its limit, and a use given back returns to the
shard it came from (the customer's use document remembers which). The code's
``uses`` is the sum over its shards, read for figures only. Codes made before
shards keep counting on their own document.
"""

from __future__ import annotations

import re
from datetime import datetime

from msgspec import Struct
from msgspec.structs import replace

from shared.domain.cart import PromoRule
from shared.domain.errors import BusinessRefusal, IdempotencyConflict, NotFound, ValidationFailed
from shared.domain.ledger import require_utc
from shared.domain.promos import PROMO_SHARDS, PromoCode, PromoKind, PromoShard, PromoUse, first_shard, shard_shares
from shared.services.ports import Store, Then, UnitOfWork

_CODE = re.compile(r"(?!__)[\w-]{1,64}")


class PromoInactive(BusinessRefusal):
    code = "promo_inactive"
    message_ru = "Промокод не найден или больше не действует."


class PromoExhausted(BusinessRefusal):
    code = "promo_exhausted"
    message_ru = "Промокод больше не действует: лимит использований исчерпан."


class PromoCustomerLimit(BusinessRefusal):
    code = "promo_customer_limit"
    message_ru = "Вы уже использовали этот промокод максимальное число раз."


class PromoOpenOrder(BusinessRefusal):
    code = "promo_open_order"
    message_ru = "Промокод уже применён к вашему неоплаченному заказу: оплатите его или дождитесь его отмены."


def normalize(code: str) -> str:
    """The canonical form of a code as typed: stripped and upper-cased."""
    return code.strip().upper()


def is_well_formed(code: str) -> bool:
    """A canonical code usable as a document id: letters, digits, ``_`` and ``-``, at most 64."""
    return _CODE.fullmatch(code) is not None


class Offer(Struct, frozen=True):
    """What a code typed at the cart stands for."""

    entered: str | None  # the normalised code, None when nothing was typed
    rule: PromoRule | None  # the discount of an active marketing code
    partner_id: str | None  # the partner whose personal code it is

    @property
    def quote_code(self) -> str | None:
        """The code cart maths is told about: a partner's code is not a discount code."""
        return None if self.partner_id else self.entered


class Redemption(Struct, frozen=True):
    code: str
    customer_id: str
    order_id: str
    uses: int | None  # the code's uses after it; None for a code counted on shards (:func:`get` sums them)
    customer_uses: int
    replayed: bool


def get_in(uow: UnitOfWork, code: str) -> PromoCode | None:
    """A code as typed (any case), or ``None`` when it is unknown or cannot be a code."""
    canonical = normalize(code)
    return uow.promos.get(canonical) if is_well_formed(canonical) else None


def get(store: Store, code: str) -> PromoCode | None:
    """:func:`get_in` as a plain read, its ``uses`` summed over its shards."""
    return store.read(lambda uow: counted(uow, get_in(uow, code)))


def counted(uow: UnitOfWork, code: PromoCode | None) -> PromoCode | None:
    """The code with ``uses`` (and ``last_used_at``) summed over its shards; for figures only: it reads every shard."""
    if code is None or not code.shards:
        return code
    shards = uow.promos.all_shards(code)
    last = max((shard.last_used_at for shard in shards if shard.last_used_at is not None), default=code.last_used_at)
    return replace(code, uses=sum(shard.used for shard in shards), last_used_at=last)


def _take_use(uow: UnitOfWork, code: PromoCode, now: datetime) -> int | None:
    """Take one use from the code's shards: a shard picked at random, else the
    next that has one left; the shard it came from, or ``None`` when none has any."""
    start = first_shard(code.shards)
    for step in range(code.shards):
        shard = uow.promos.shard(code.code, (start + step) % code.shards)
        if shard is not None and shard.can_give:
            uow.promos.save_shard(shard.taken(now))
            return shard.index
    return None


def _give_back(uow: UnitOfWork, code: PromoCode, use: PromoUse, order_id: str) -> PromoCode:
    """Give the use ``order_id`` took back to the shard it came from (or to the code's own counter)."""
    if not code.shards:
        return code.given_back()
    index = use.shard_of(order_id)
    shard = None if index is None else uow.promos.shard(code.code, index)
    if shard is not None and shard.used > 0:
        uow.promos.save_shard(shard.given_back())
    return code


def offer(store: Store, code: str | None) -> Offer:
    """Look a typed code up: an active marketing code's rule, or a partner's code, or nothing."""
    if code is None or not code.strip():
        return Offer(entered=None, rule=None, partner_id=None)
    canonical = normalize(code)
    found = store.read(lambda uow: get_in(uow, canonical))  # the code's own document: its shards are for figures
    if found is None or not found.active:
        return Offer(entered=canonical, rule=None, partner_id=None)
    return Offer(entered=canonical, rule=found.rule, partner_id=found.partner_id)


def resolve(store: Store, code: str | None, now: datetime) -> PromoRule | None:
    """The discount rule of an active marketing code (any case), or ``None``.

    Unknown, inactive and partner codes resolve to ``None``. The validity
    window is not checked here: cart maths checks it at ``now`` and says why
    a code does not apply.
    """
    require_utc(now)
    return offer(store, code).rule


def partner_of(store: Store, code: str | None) -> str | None:
    """The partner whose active personal code this is, or ``None``."""
    return offer(store, code).partner_id


def _check_limit(value: int | None, name: str) -> None:
    if value is not None and value < 1:
        raise ValidationFailed(f"{name} must be at least 1 (or empty for no limit)", field=name)


def _create_in(uow: UnitOfWork, code: PromoCode, then: Then | None = None) -> PromoCode:
    existing = uow.promos.get(code.code)
    if existing is not None:
        if not existing.same_definition(code):
            raise IdempotencyConflict(f"promo code {code.code} already exists", code=code.code, message_ru=f"Промокод {code.code} уже существует.")
        return existing
    uow.promos.create(code)
    for index, left in enumerate(shard_shares(code.total_limit, code.shards)):
        uow.promos.save_shard(PromoShard(code=code.code, index=index, left=left))
    if then is not None:
        then(uow, code)
    return code


def create_discount(store: Store, *, rule: PromoRule, now: datetime, total_limit: int | None = None, per_customer_limit: int | None = None, then: Then | None = None) -> PromoCode:
    """Create an active marketing code from its discount rule (idempotent for the same definition).

    ``then`` runs with the new :class:`PromoCode`, only when the code was created."""
    require_utc(now)
    code = normalize(rule.code)
    if not is_well_formed(code):
        raise ValidationFailed("a promo code is 1 to 64 letters, digits, '_' or '-'", field="code", message_ru="Промокод может состоять только из букв, цифр, «_» и «-».")
    _check_limit(total_limit, "total_limit")
    _check_limit(per_customer_limit, "per_customer_limit")
    new = PromoCode(
        code=code,
        kind=PromoKind.DISCOUNT,
        rule=rule.model_copy(update={"code": code}),
        partner_id=None,
        active=True,
        total_limit=total_limit,
        per_customer_limit=per_customer_limit,
        uses=0,
        created_at=now,
        shards=PROMO_SHARDS,
    )
    return store.run(lambda uow: _create_in(uow, new, then))


def create_partner_code(store: Store, *, code: str, partner_id: str, now: datetime) -> PromoCode:
    """Store a partner's personal code (no discount; it names the partner who invited the buyer)."""
    require_utc(now)
    return store.run(lambda uow: create_partner_code_in(uow, code=code, partner_id=partner_id, now=now))


def create_partner_code_in(uow: UnitOfWork, *, code: str, partner_id: str, now: datetime) -> PromoCode:
    """:func:`create_partner_code` inside the caller's unit of work (e.g. with the partner's account)."""
    canonical = normalize(code)
    if not is_well_formed(canonical):
        raise ValidationFailed("a promo code is 1 to 64 letters, digits, '_' or '-'", field="code")
    new = PromoCode(
        code=canonical,
        kind=PromoKind.PARTNER,
        rule=None,
        partner_id=partner_id,
        active=True,
        total_limit=None,
        per_customer_limit=None,
        uses=0,
        created_at=now,
    )
    return _create_in(uow, new)


def deactivate(store: Store, *, code: str, actor: str, now: datetime, then: Then | None = None) -> PromoCode:
    """Switch a code off: no new order can use it (orders placed with it keep their rule).

    An inactive code is answered as it is; ``then`` runs with the deactivated
    :class:`PromoCode` only when this call switched it off."""
    require_utc(now)

    def unit(uow: UnitOfWork) -> PromoCode:
        found = get_in(uow, code)
        if found is None:
            raise NotFound("unknown promo code", code=normalize(code))
        if not found.active:
            return counted(uow, found) or found
        off = found.deactivated(actor, now)
        uow.promos.save(off)
        off = counted(uow, off) or off
        if then is not None:
            then(uow, off)
        return off

    return store.run(unit)


class UsagePage(Struct, frozen=True):
    """A code and a page of the customers who used it, in customer-id order."""

    code: PromoCode
    customers: list[PromoUse]
    next_cursor: str | None


def usage(store: Store, *, code: str, cursor: str | None = None, limit: int = 100) -> UsagePage:
    """A code's figures and a page of its customers' uses (:class:`NotFound` for an unknown code)."""

    def page(uow: UnitOfWork) -> UsagePage:
        found = get_in(uow, code)
        if found is None:
            raise NotFound("unknown promo code", code=normalize(code))
        uses = uow.promos.uses(found.code, limit=limit, after=cursor)
        return UsagePage(counted(uow, found) or found, uses, uses[-1].customer_id if len(uses) == limit else None)

    return store.read(page)


class CodesPage(Struct, frozen=True):
    codes: list[PromoCode]
    next_cursor: str | None


def codes(store: Store, *, cursor: str | None = None, limit: int = 100) -> CodesPage:
    """A page of every code, in code order."""
    found = store.read(lambda uow: [counted(uow, code) or code for code in uow.promos.page(limit=limit, after=cursor)])
    return CodesPage(found, found[-1].code if len(found) == limit else None)


def redeem_in(uow: UnitOfWork, *, code: str, customer_id: str, order_id: str, now: datetime, held_until: datetime | None = None) -> Redemption:
    """Record one use of a marketing code for an order, inside the caller's unit of work.

    ``held_until`` is when the unpaid order's use lapses (its reservation
    timeout): until it is paid, the use is *held*. A customer's uses held past
    that moment are given back here, whether or not the sweep canceled their
    orders yet; and a code with a total limit is held by at most one open
    order per customer (:class:`PromoOpenOrder`), so no account can hold
    others' uses with unpaid orders.

    Refuses (:class:`PromoInactive`, :class:`PromoOpenOrder`,
    :class:`PromoExhausted`, :class:`PromoCustomerLimit`, all
    :class:`BusinessRefusal`) without writing anything; the same order
    redeemed again is a replay.
    """
    canonical = normalize(code)
    found = get_in(uow, canonical)
    if found is None or not found.is_discount:
        raise PromoInactive(f"promo code {canonical} is not an active discount code", message_ru=f"Промокод {canonical} не найден или больше не действует.", promo_code=canonical)
    use = uow.promos.use(canonical, customer_id) or PromoUse(canonical, customer_id)
    if order_id in use.orders:
        return Redemption(canonical, customer_id, order_id, None if found.shards else found.uses, use.count, True)
    lapsed_orders = use.lapsed(now)
    for lapsed in lapsed_orders:  # released at the reservation timeout
        found = _give_back(uow, found, use, lapsed)
        use = use.without_order(lapsed, now)
    total_limit, per_customer = found.total_limit, found.per_customer_limit
    if total_limit is not None and not found.shards and found.uses >= total_limit:
        raise _exhausted(canonical, total_limit, f"has been used {found.uses} of {total_limit} times")
    if per_customer is not None and use.count >= per_customer:
        raise PromoCustomerLimit(
            f"this customer has used promo code {canonical} {use.count} of {per_customer} times",
            message_ru=f"Вы уже использовали промокод {canonical} максимальное число раз.",
            promo_code=canonical,
            limit=per_customer,
        )
    if total_limit is not None and use.open_orders(now):
        raise PromoOpenOrder(
            f"promo code {canonical} is held by this customer's unpaid order",
            message_ru=f"Промокод {canonical} уже применён к вашему неоплаченному заказу: оплатите его или дождитесь его отмены.",
            promo_code=canonical,
            open_order_id=use.open_orders(now)[0],
        )
    if found.shards:
        shard = _take_use(uow, found, now)
        if shard is None:
            raise _exhausted(canonical, total_limit, "has no use left on any shard")
        uow.promos.save_use(use.with_order(order_id, now, held_until, shard=shard))
        return Redemption(canonical, customer_id, order_id, None, use.count + 1, False)
    use = use.with_order(order_id, now, held_until)
    used = found.used(now)
    uow.promos.save_use(use)
    uow.promos.save(used)
    return Redemption(canonical, customer_id, order_id, used.uses, use.count, False)


def _exhausted(canonical: str, limit: int | None, detail: str) -> PromoExhausted:
    return PromoExhausted(
        f"promo code {canonical} {detail}",
        message_ru=f"Промокод {canonical} больше не действует: лимит использований исчерпан.",
        promo_code=canonical,
        limit=limit,
    )


def unredeem_in(uow: UnitOfWork, *, code: str, customer_id: str, order_id: str, now: datetime) -> bool:
    """Give back the use an order made of a code; ``False`` when it had none (a replay)."""
    canonical = normalize(code)
    if not is_well_formed(canonical):
        return False
    found = uow.promos.get(canonical)
    use = uow.promos.use(canonical, customer_id)
    if use is None or order_id not in use.orders:
        return False
    uow.promos.save_use(use.without_order(order_id, now))
    if found is not None:
        back = _give_back(uow, found, use, order_id)
        if not found.shards:
            uow.promos.save(back)
    return True


def keep_for_payment_in(uow: UnitOfWork, *, code: str, customer_id: str, order_id: str, now: datetime) -> bool:
    """Whether a paid order keeps its use of the code it was placed with, inside the payment's unit of work.

    A use the order still holds is kept. A use given back meanwhile (the order
    timed out, and is paid late) is taken again only while the code's total and
    per-customer limits allow it (whether or not the code is still active: the
    order was placed while it was); ``False`` (nothing written) when they no
    longer do: the order cannot be settled at the price it was placed at.
    """
    canonical = normalize(code)
    found = uow.promos.get(canonical) if is_well_formed(canonical) else None
    if found is None:
        return True  # nothing counts uses of it
    use = uow.promos.use(canonical, customer_id) or PromoUse(canonical, customer_id)
    if order_id in use.orders:
        if any(hold.order_id == order_id for hold in use.holds):
            uow.promos.save_use(use.paid(order_id, now))  # kept for good: no longer held
        return True
    if found.total_limit is not None and not found.shards and found.uses >= found.total_limit:
        return False
    if found.per_customer_limit is not None and use.count >= found.per_customer_limit:
        return False
    if found.shards:
        shard = _take_use(uow, found, now)
        if shard is None:
            return False
        uow.promos.save_use(use.with_order(order_id, now, shard=shard))
        return True
    uow.promos.save_use(use.with_order(order_id, now))
    uow.promos.save(found.used(now))
    return True


def redeem(store: Store, *, code: str, customer_id: str, order_id: str, now: datetime, held_until: datetime | None = None) -> Redemption:
    """Use a code for an order, limits checked and the use recorded in one transaction (see :func:`redeem_in`)."""
    require_utc(now)
    return store.run(lambda uow: redeem_in(uow, code=code, customer_id=customer_id, order_id=order_id, now=now, held_until=held_until))


def unredeem(store: Store, *, code: str, customer_id: str, order_id: str, now: datetime) -> bool:
    """Give an order's use of a code back, in one transaction (idempotent)."""
    require_utc(now)
    return store.run(lambda uow: unredeem_in(uow, code=code, customer_id=customer_id, order_id=order_id, now=now))


__all__ = [
    "CodesPage", "Offer", "PromoCustomerLimit", "PromoExhausted", "PromoInactive", "PromoOpenOrder", "Redemption", "UsagePage",
    "codes", "create_discount", "create_partner_code", "create_partner_code_in", "deactivate", "get", "get_in",
    "counted", "is_well_formed", "keep_for_payment_in", "normalize", "offer", "partner_of", "redeem", "redeem_in", "resolve", "unredeem", "unredeem_in", "usage",
]
