"""Whether an earning rule applies, and the natural key an event is credited once under (pure).

A rule (:class:`~shared.domain.config.EarningRule`) applies to a customer at
``now`` when it is in its window (``active_from`` <= now < ``active_to``) and
every condition it names holds: the customer's group, their registration
date, their paid purchase total, and for an event about a product or an order
the product (SKU or program product group) and the order's total.

Each event is credited at most once per natural key, the posting's key in the
customer's ledger (``customers/{id}/postings/{key}``):

* ``review``: once per product per customer (the key names the SKU);
* ``newsletter``: once per customer;
* ``repost``: once per post (its URL or id) per customer, and at most
  ``max_per_period`` per ``period_days`` if the rule says so;
* ``sticker_code``: once per code (a code is redeemable once by anybody);
* ``first_order`` / ``birthday``: credited by the order path and the sweep.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from msgspec import Struct

from shared.domain.config import EarningEvent, EarningRule, ProgramConfig

#: events whose ``key`` (a product, a post, a code) the caller must name
KEYED_EVENTS = frozenset({EarningEvent.REVIEW, EarningEvent.REPOST, EarningEvent.STICKER_CODE})
#: events credited through :mod:`shared.services.earning_events`
CREDITABLE_EVENTS = frozenset({EarningEvent.REVIEW, EarningEvent.NEWSLETTER, EarningEvent.REPOST, EarningEvent.STICKER_CODE})


class CustomerFacts(Struct, frozen=True):
    """What the conditions read of a customer."""

    group: str | None
    registered_at: datetime | None
    paid_total: int


class ProductFacts(Struct, frozen=True):
    """The product an event is about (a review's product, an order's line)."""

    sku: str
    category: str | None = None  # the program product group


class OrderFacts(Struct, frozen=True):
    total: int  # kopecks
    products: tuple[ProductFacts, ...] = ()


def refusal(
    rule: EarningRule,
    *,
    config: ProgramConfig,
    customer: CustomerFacts,
    now: datetime,
    product: ProductFacts | None = None,
    order: OrderFacts | None = None,
) -> str | None:
    """Why ``rule`` does not apply (``rule_inactive`` or ``condition_not_met``), or ``None``: it applies."""
    if (rule.active_from is not None and now < rule.active_from) or (rule.active_to is not None and now >= rule.active_to):
        return "rule_inactive"
    group = customer.group or config.default_group
    if rule.groups and group not in rule.groups:
        return "condition_not_met"
    registered = customer.registered_at
    if rule.registered_after is not None and (registered is None or registered < rule.registered_after):
        return "condition_not_met"
    if rule.registered_before is not None and (registered is None or registered >= rule.registered_before):
        return "condition_not_met"
    if rule.paid_total_min is not None and customer.paid_total < rule.paid_total_min:
        return "condition_not_met"
    if rule.paid_total_max is not None and customer.paid_total > rule.paid_total_max:
        return "condition_not_met"
    if rule.min_order_total is not None and (order is None or order.total < rule.min_order_total):
        return "condition_not_met"
    if rule.skus or rule.categories:
        products = ((product,) if product is not None else ()) + (order.products if order is not None else ())
        if not any(_product_matches(rule, p) for p in products):
            return "condition_not_met"
    return None


def applies(rule: EarningRule, **kwargs: object) -> bool:
    """``True`` when :func:`refusal` finds nothing against the rule."""
    return refusal(rule, **kwargs) is None  # type: ignore[arg-type]


def _product_matches(rule: EarningRule, product: ProductFacts) -> bool:
    if rule.skus and product.sku not in rule.skus:
        return False
    return not rule.categories or product.category in rule.categories


def normalized_key(event: EarningEvent, key: str | None) -> str:
    """The event's natural key as stored: a product's SKU as given, a post's URL without its
    scheme, ``www.``, query and trailing slash (the same post shared twice is one key)."""
    if event is EarningEvent.NEWSLETTER:
        return ""
    raw = (key or "").strip()
    if event is EarningEvent.REPOST:
        lowered = raw.lower()
        for prefix in ("https://", "http://"):
            lowered = lowered.removeprefix(prefix)
        lowered = lowered.removeprefix("www.").split("?", 1)[0].split("#", 1)[0].rstrip("/")
        return lowered
    return raw


def posting_key(rule: EarningRule, customer_id: str, key: str) -> str:
    """The ledger key of the credit: the rule, the customer and the natural key (hashed: a URL
    may hold slashes and be long)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32] if key else "once"
    return f"event:{rule.code}:{customer_id}:{digest}"


def period_counter(rule: EarningRule, now: datetime) -> str:
    """The id of the customer's counter of ``rule``'s credits in the period holding ``now``
    (periods of ``period_days`` counted from 1970-01-01 UTC)."""
    period = (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(days=rule.period_days)
    return f"{rule.code}:{period}"
