"""Storefront orders (``orders/{order_id}``) and carrier tracking links (``tracking/{carrier}:{code}``).

An :class:`~shared.domain.order.Order` is stored as the document it always
was: the cart lines and the promo rule snapshot as JSON values, the status as
its string, datetimes as timestamps, and only the fields the order was given
(an order placed before a field existed keeps not having it).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from shared.adapters import layout
from shared.adapters.repositories.base import Repository
from shared.domain.order import Order, PaymentClaim, TrackingLink

_NESTED = {"lines", "status", "promo_rule", "events", "payment", "delivery", "quoted_lines", "review"}


def order_document(order: Order) -> dict[str, Any]:
    """The stored document of an order."""
    doc = order.model_dump(exclude_unset=True, exclude=_NESTED)
    given = order.model_fields_set
    doc["lines"] = [line.document() for line in order.lines]
    doc["status"] = order.status.value
    if "promo_rule" in given:
        doc["promo_rule"] = None if order.promo_rule is None else order.promo_rule.model_dump(mode="json")
    if "quoted_lines" in given:
        doc["quoted_lines"] = None if order.quoted_lines is None else {line_id: figures.model_dump(exclude_unset=True) for line_id, figures in order.quoted_lines.items()}
    if "payment" in given:
        doc["payment"] = None if order.payment is None else order.payment.model_dump(exclude_unset=True)
    if "delivery" in given:
        doc["delivery"] = None if order.delivery is None else order.delivery.model_dump(exclude_unset=True)
    if "review" in given:
        doc["review"] = None if order.review is None else order.review.model_dump(exclude_unset=True)
    if "events" in given:
        doc["events"] = [{**event.model_dump(exclude_unset=True), "type": event.type} for event in order.events]
    return doc


def order_from_document(data: dict[str, Any]) -> Order:
    return Order.model_validate(data)


class OrderRepository(Repository):
    """``uow.orders``: orders by id, and the queries over them (which read outside the transaction)."""

    def get(self, order_id: str) -> Order | None:
        data = self._docs.get(layout.order(order_id))
        return None if data is None else order_from_document(data)

    def create(self, order: Order) -> None:
        """Record a new order; the commit fails if it exists (a retry then reads it)."""
        self._docs.create(layout.order(order.order_id), order_document(order))

    def put(self, order: Order) -> None:
        self._docs.put(layout.order(order.order_id), order_document(order))

    def of_customer(self, customer_id: str, *, limit: int, after: str | None = None) -> list[str]:
        """Ids of the customer's orders, in id order, after the order id ``after``."""
        return self._queries.matching(layout.ORDERS, field=layout.ORDER_CUSTOMER_FIELD, value=customer_id, limit=limit, start_after=after)

    def with_partner_code(self, partner_id: str, *, limit: int, after: str | None = None) -> list[str]:
        """Ids of orders placed with the partner's code, in id order, after the order id ``after``."""
        return self._queries.matching(layout.ORDERS, field="referral_partner_id", value=partner_id, limit=limit, start_after=after)

    def due_for_poll(self, *, until: datetime, limit: int, after: tuple[datetime, str] | None = None) -> list[tuple[str, datetime]]:
        """(id, poll time) of orders whose carrier is due a question at ``until``, oldest first."""
        return self._queries.due(layout.ORDERS, field=layout.ORDER_POLL_FIELD, until=until, limit=limit, start_after=after)

    def due_for_fallback(self, *, until: datetime, limit: int, after: tuple[datetime, str] | None = None) -> list[tuple[str, datetime]]:
        """(id, fallback time) of paid orders whose shipping method's delivery fallback is due at ``until``, oldest first."""
        return self._queries.due(layout.ORDERS, field=layout.ORDER_FALLBACK_FIELD, until=until, limit=limit, start_after=after)

    def flagged(self, *, limit: int, after: tuple[datetime, str] | None = None) -> list[tuple[str, datetime]]:
        """(id, flagging time) of orders flagged for a manager, oldest first."""
        return self._queries.due(layout.ORDERS, field=layout.ORDER_FLAGGED_FIELD, until=datetime.max.replace(tzinfo=timezone.utc), limit=limit, start_after=after)

    def placed_until(self, *, until: datetime, limit: int, after: tuple[datetime, str] | None = None) -> list[tuple[str, datetime]]:
        """(id, placement time) of orders placed at or before ``until``, oldest first (the unpaid ones time out)."""
        return self._queries.due(layout.ORDERS, field=layout.ORDER_PLACED_FIELD, until=until, limit=limit, start_after=after)


class TrackingRepository(Repository):
    """``uow.tracking``: which order a carrier's tracking code belongs to."""

    def get(self, carrier: str, code: str) -> TrackingLink | None:
        data = self._docs.get(layout.tracking(carrier, code))
        return None if data is None else TrackingLink.model_validate(data)

    def put(self, link: TrackingLink) -> None:
        self._docs.put(layout.tracking(link.carrier, link.tracking), link.model_dump(exclude_unset=True))


class PaymentClaimRepository(Repository):
    """``uow.payment_claims``: which order a shop-side payment settled (at most one)."""

    def get(self, provider: str, payment_id: str) -> PaymentClaim | None:
        data = self._docs.get(layout.payment_claim(provider, payment_id))
        return None if data is None else PaymentClaim.model_validate(data)

    def create(self, claim: PaymentClaim) -> None:
        """Record the claim; the commit fails if the payment was claimed meanwhile (a retry then reads it)."""
        self._docs.create(layout.payment_claim(claim.provider, claim.payment_id), claim.model_dump())
