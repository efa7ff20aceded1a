"""Promo codes as stored: a marketing code with its discount rule and limits, or a partner's
personal code, and one customer's uses of a code."""

from __future__ import annotations

import enum
import random
from datetime import datetime

from msgspec import Struct
from msgspec.structs import replace

from shared.domain.cart import PromoRule

# A marketing code's uses are counted on this many shards (``promo_codes/{code}/shards/{i}``),
# never on the code's own document: a flash sale's orders write different documents. Sixteen
# keep 200 checkouts at once on one code to about a dozen waiting on each shard document.
PROMO_SHARDS = 16


class PromoKind(enum.StrEnum):
    DISCOUNT = "discount"  # a marketing code: it carries a discount rule
    PARTNER = "partner"  # a partner's personal code: no discount, it names the partner


class PromoCode(Struct, frozen=True):
    """``promo_codes/{code}``.

    ``rule`` is ``None`` for a partner's code and for a stored rule that no
    longer validates (such a code is never a discount). ``total_limit`` and
    ``per_customer_limit`` are ``None`` for no limit; ``uses`` counts the
    redemptions in force.
    """

    code: str
    kind: PromoKind
    rule: PromoRule | None
    partner_id: str | None
    active: bool
    total_limit: int | None
    per_customer_limit: int | None
    uses: int
    created_at: datetime | None
    last_used_at: datetime | None = None
    deactivated_at: datetime | None = None
    deactivated_by: str | None = None
    shards: int = 0  # the number of use shards; 0: the uses are counted on the code itself (codes made before shards)

    @property
    def is_discount(self) -> bool:
        """An active code with a valid discount rule."""
        return self.active and self.rule is not None

    @property
    def remaining(self) -> int | None:
        return None if self.total_limit is None else max(0, self.total_limit - self.uses)

    def same_definition(self, other: PromoCode) -> bool:
        """The same rule, partner and limits (creating it again is a replay)."""
        def rule(code: PromoCode) -> object:
            return None if code.rule is None else code.rule.model_dump(mode="json")

        return (rule(self), self.partner_id, self.total_limit, self.per_customer_limit) == (rule(other), other.partner_id, other.total_limit, other.per_customer_limit)

    def used(self, now: datetime) -> PromoCode:
        return replace(self, uses=self.uses + 1, last_used_at=now)

    def given_back(self) -> PromoCode:
        return replace(self, uses=max(0, self.uses - 1))

    def deactivated(self, by: str, now: datetime) -> PromoCode:
        return replace(self, active=False, deactivated_at=now, deactivated_by=by)


def shard_shares(total_limit: int | None, shards: int) -> list[int | None]:
    """How a code's uses are first spread over its shards: the limit split as evenly as it goes
    (``None`` on every shard for a code without a total limit)."""
    if total_limit is None:
        return [None] * shards
    return [total_limit // shards + (1 if i < total_limit % shards else 0) for i in range(shards)]


def first_shard(shards: int, rng: random.Random | None = None) -> int:
    """The shard an attempt tries first: one at random, drawn again on every attempt, so a
    checkout that lost a shard to contention retries on another instead of queueing for it."""
    return (rng or _SHARD_PICKS).randrange(shards)


_SHARD_PICKS = random.Random()


class PromoShard(Struct, frozen=True):
    """``promo_codes/{code}/shards/{index}``: a share of a code's uses.

    ``left`` is what this shard may still give (``None``: the code has no total limit),
    ``used`` the uses it gave that are in force. Over all shards, ``left + used`` is the
    total limit: a use taken moves one from ``left`` to ``used``, a use given back the other way.
    """

    code: str
    index: int
    left: int | None
    used: int = 0
    last_used_at: datetime | None = None

    @property
    def can_give(self) -> bool:
        return self.left is None or self.left > 0

    def taken(self, now: datetime) -> PromoShard:
        return replace(self, left=None if self.left is None else self.left - 1, used=self.used + 1, last_used_at=now)

    def given_back(self) -> PromoShard:
        return replace(self, left=None if self.left is None else self.left + 1, used=self.used - 1)


class Hold(Struct, frozen=True):
    """A use held by an order not paid yet, until its reservation times out."""

    order_id: str
    until: datetime


class PromoUse(Struct, frozen=True):
    """``promo_codes/{code}/customers/{customer_id}``: the orders a customer used a code for, and
    which of them are still unpaid (``holds``: their use lapses at the reservation timeout)."""

    code: str
    customer_id: str
    orders: tuple[str, ...] = ()
    updated_at: datetime | None = None
    holds: tuple[Hold, ...] = ()
    shards: tuple[tuple[str, int], ...] = ()  # (order id, the shard its use was taken from)

    def shard_of(self, order_id: str) -> int | None:
        return next((index for order, index in self.shards if order == order_id), None)

    @property
    def count(self) -> int:
        return len(self.orders)

    def open_orders(self, now: datetime) -> list[str]:
        """The unpaid orders whose hold has not lapsed at ``now``."""
        return [hold.order_id for hold in self.holds if hold.until > now]

    def lapsed(self, now: datetime) -> list[str]:
        """The unpaid orders whose hold lapsed at or before ``now`` (their use is to be given back)."""
        return [hold.order_id for hold in self.holds if hold.until <= now]

    def with_order(self, order_id: str, now: datetime, held_until: datetime | None = None, shard: int | None = None) -> PromoUse:
        """The use of ``order_id`` recorded (``held_until``: unpaid, held until then; ``shard``: taken from it)."""
        holds = self.holds if held_until is None else (*self.holds, Hold(order_id, held_until))
        shards = self.shards if shard is None else (*self.shards, (order_id, shard))
        return replace(self, orders=(*self.orders, order_id), updated_at=now, holds=holds, shards=shards)

    def without_order(self, order_id: str, now: datetime) -> PromoUse:
        return replace(
            self,
            orders=tuple(o for o in self.orders if o != order_id),
            updated_at=now,
            holds=tuple(h for h in self.holds if h.order_id != order_id),
            shards=tuple(entry for entry in self.shards if entry[0] != order_id),
        )

    def paid(self, order_id: str, now: datetime) -> PromoUse:
        """``order_id`` was paid: its use is kept, no longer held."""
        return replace(self, updated_at=now, holds=tuple(h for h in self.holds if h.order_id != order_id))
