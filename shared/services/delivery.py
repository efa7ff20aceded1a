"""Delivery tracking: which carrier ships an order, and what its final status does to it.

An order gets a ``delivery`` (``{carrier, tracking, …}``) from the shop
(:func:`attach_tracking`); while it is paid and not yet delivered it carries
``delivery_poll_at``, the moment the poller (:func:`poll`) should ask the
carrier again. ``tracking/{carrier}:{code}`` points a tracking code back at its
order (CDEK's webhooks name the CDEK order, not always ours).

A carrier's final status moves the order on through :mod:`shared.services.orders`,
whose transitions are idempotent, so a webhook and the poller may both report the
same delivery, any number of times, and it counts once (:func:`apply_status`):

* ``delivered``     -> :func:`orders.mark_delivered` at the carrier's event time
  (never later than now): the hold of the order's bonuses starts there;
* ``not_delivered`` -> a full return, ``<carrier>-not-delivered``, order status
  ``not_delivered``;
* ``returned``      -> a full return of whatever is still kept, ``<carrier>-returned``;
  an order that was never delivered ends ``not_delivered`` (the customer never
  had the goods), a delivered one ``returned``.

Regressions (``not_delivered`` after ``delivered``, anything on a canceled or
unpaid order) are ignored and reported, never applied.

Orders no carrier reports on (pickup, the shop's own courier, a carrier not
tracked here) are delivered by a manager (:mod:`shared.services.admin.orders`)
or, when their shipping method has a fallback (``shipping.fallback_days``),
by the sweep that many days after payment (:mod:`shared.services.shipping_fallback`),
their bonuses active from then; a carrier's or a manager's status that comes first decides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.adapters.carriers import (
    DELIVERED,
    NOT_DELIVERED,
    RETURNED,
    CarrierError,
    CarrierStatus,
    CarrierUnavailable,
    TrackingNotFound,
    cdek_status,
)
from shared.api.delivery_status import DeliveryOutcome, PollResult
from shared.domain.config import ProgramConfig
from shared.domain.errors import DomainError, InvalidState, NotFound
from shared.domain.ids import is_external_id
from shared.domain.order import (
    PAST_DELIVERY,
    RETURNABLE,
    Order,
    OrderStatus,
    TrackingLink,
)
from shared.services import cursors, orders
from shared.services.ports import Store, UnitOfWork

log = logging.getLogger(__name__)

POLL_JOB = "delivery_poll"

# How often the poller asks each carrier about a parcel still on its way. Boxberry
# recommends hourly polling; Russian Post's single-access quota is small; CDEK
# pushes webhooks, so polling it is only the fallback.
POLL_INTERVAL = {"boxberry": timedelta(hours=1), "russianpost": timedelta(hours=4), "cdek": timedelta(hours=6)}
ERROR_RETRY = timedelta(minutes=30)
GIVE_UP_AFTER = timedelta(days=120)  # a parcel silent this long is left to the back office

Tracker = Callable[[str, str], CarrierStatus]


class Applied(StrEnum):
    """What a carrier's status did to its order."""

    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"
    IN_TRANSIT = "in_transit"
    NOT_CONFIRMED = "not_confirmed"
    IGNORED = "ignored"
    UNKNOWN_ORDER = "unknown_order"


class Polled(StrEnum):
    """What asking the carrier about one order came to."""

    APPLIED = "applied"
    IN_TRANSIT = "in_transit"
    ERROR = "error"
    STOPPED = "stopped"


def attach_tracking(store: Store, *, order_id: str, carrier: str, tracking: str, now: datetime) -> Order:
    """Record the shipment of an order and schedule its first poll (the same call again changes nothing).

    A new tracking code replaces the old one (a re-shipment). An order already
    delivered, returned or canceled has nothing left to track.
    """

    def unit(uow: UnitOfWork) -> Order:
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound("unknown order", order_id=order_id, message_ru="Заказ не найден.")
        linked = uow.tracking.get(carrier, tracking)
        if linked is not None and linked.order_id != order_id:
            raise InvalidState("the tracking code belongs to another order", order_id=order_id, other_order_id=linked.order_id)
        if order.ships_with(carrier, tracking):
            return order
        first = now if carrier != "cdek" else now + POLL_INTERVAL["cdek"]
        shipped = order.ship(carrier=carrier, tracking=tracking, first_poll=first, now=now)
        uow.orders.put(shipped)
        uow.tracking.put(TrackingLink(order_id=order_id, carrier=carrier, tracking=tracking, attached_at=now))
        return shipped

    return store.run(unit)


def _outcome(outcome: Applied, order_id: str | None, order: Order | None = None, reason: str | None = None) -> DeliveryOutcome:
    return DeliveryOutcome(outcome=outcome.value, order_id=order_id, status=order.status.value if order else None, reason=reason)


def apply_status(store: Store, *, config: ProgramConfig, order_id: str, carrier: str, status: CarrierStatus, now: datetime) -> DeliveryOutcome:
    """Apply a carrier's verdict to an order: ``applied``, ``already_applied``, ``in_transit``,
    ``ignored`` (a regression or an order in no state to take it) or ``unknown_order``."""
    order = orders.find_order(store, order_id)
    if order is None:
        return _outcome(Applied.UNKNOWN_ORDER, order_id)
    if not status.final:
        return _outcome(Applied.IN_TRANSIT, order_id, order)
    current = order.status
    at = min(status.at or now, now)
    try:
        if status.state == DELIVERED:
            if current in PAST_DELIVERY:
                if current is OrderStatus.DELIVERED:
                    return _outcome(Applied.ALREADY_APPLIED, order_id, order)
                return _outcome(Applied.IGNORED, order_id, order, f"order is {current}")
            if current is not OrderStatus.PAID:
                return _outcome(Applied.IGNORED, order_id, order, f"order is {current}")
            order = orders.mark_delivered(store, config=config, order_id=order_id, delivered_at=at, now=now, carrier=carrier, placed=order)
        elif status.state == NOT_DELIVERED:
            if current is OrderStatus.NOT_DELIVERED:
                return _outcome(Applied.ALREADY_APPLIED, order_id, order)
            if current is not OrderStatus.PAID:
                return _outcome(Applied.IGNORED, order_id, order, f"order is {current}")
            order = orders.mark_returned(store, config=config, order_id=order_id, return_id=f"{carrier}-not-delivered", returns=None, now=now, not_delivered=True, placed=order)
        elif status.state == RETURNED:
            if current in (OrderStatus.RETURNED, OrderStatus.NOT_DELIVERED):
                return _outcome(Applied.ALREADY_APPLIED, order_id, order)
            if current not in RETURNABLE:
                return _outcome(Applied.IGNORED, order_id, order, f"order is {current}")
            order = orders.mark_returned(store, config=config, order_id=order_id, return_id=f"{carrier}-returned", returns=None, now=now, not_delivered=current is OrderStatus.PAID, placed=order)
    except InvalidState as exc:
        log.info("carrier status not applied", extra={"json_fields": {"order_id": order_id, "carrier": carrier, "state": status.state, "reason": exc.message}})
        return _outcome(Applied.IGNORED, order_id, order, exc.message)
    log.info("carrier status applied", extra={"json_fields": {"order_id": order_id, "carrier": carrier, "state": status.state, "at": at.isoformat()}})
    return _outcome(Applied.APPLIED, order_id, order)


def _tracked_order(store: Store, carrier: str, code: str | None) -> str | None:
    if not code:
        return None
    linked = store.read(lambda uow: uow.tracking.get(carrier, code))
    return linked.order_id if linked else None


def cdek_event(
    store: Store,
    *,
    config: ProgramConfig,
    cdek: Any,
    uuid: str,
    code: str | None,
    is_return: bool,
    now: datetime,
    related: tuple[str, ...] = (),
    deleted: bool = False,
) -> DeliveryOutcome:
    """A CDEK ``ORDER_STATUS`` webhook. The body only says *which* CDEK order to look at:
    a final status is acted upon as CDEK's API reports it (``cdek.get_order``),
    never as the body claims.

    A return order (``is_return``, or a customer's ``is_client_return``) counts
    for the direct order it is linked to, when that one is ours: the links of
    the order read first, then the webhook's own ``related`` (direct order
    uuids). A status the webhook marks ``deleted`` (CDEK withdrew it) is
    acknowledged without effect. Raises :class:`CarrierUnavailable` when the API
    cannot be reached (the webhook must then be delivered again).
    """
    if deleted:
        return _outcome(Applied.IGNORED, None, reason="CDEK withdrew this status")
    if not cdek_status(code, None, is_return=is_return).final:
        return _outcome(Applied.IN_TRANSIT, None)
    try:
        entity = cdek.get_order(uuid)
    except TrackingNotFound:
        return _outcome(Applied.UNKNOWN_ORDER, None, reason="CDEK does not know this order")
    if not entity.status.final:
        return _outcome(Applied.NOT_CONFIRMED, None, reason=f"CDEK reports {entity.status.detail or 'no final status'}")
    order_id = None
    if entity.is_return:
        for direct in dict.fromkeys(entity.related_direct + tuple(related)):
            order_id = _tracked_order(store, "cdek", direct)
            if order_id is None:
                try:
                    order_id = cdek.get_order(direct).number
                except TrackingNotFound:
                    order_id = None
            if order_id:
                break
    else:
        order_id = entity.number or _tracked_order(store, "cdek", entity.uuid) or _tracked_order(store, "cdek", entity.cdek_number)
    if not order_id or not is_external_id(order_id):  # the shop's number as CDEK keeps it: an outside id
        return _outcome(Applied.UNKNOWN_ORDER, None, reason="the CDEK order is not linked to one of ours")
    return apply_status(store, config=config, order_id=order_id, carrier="cdek", status=entity.status, now=now)


# --- polling -------------------------------------------------------------------------


def _reschedule(store: Store, *, order_id: str, tracking: str | None, now: datetime, next_at: datetime | None, **seen: Any) -> None:
    """Record what the poller saw and when to ask again (``None``: stop polling)."""

    def unit(uow: UnitOfWork) -> None:
        order = uow.orders.get(order_id)
        if order is None:
            return
        if tracking is not None and (order.delivery is None or order.delivery.tracking != tracking):
            return  # re-attached meanwhile: the new code has its own schedule
        uow.orders.put(order.polled(now=now, next_at=next_at, **seen))

    store.run(unit)


def poll_order(store: Store, *, config: ProgramConfig, order_id: str, now: datetime, track: Tracker) -> Polled:
    """Ask the carrier about one order and act on the answer: applied | in_transit | error | stopped."""
    order = orders.find_order(store, order_id)
    if order is None:
        return Polled.STOPPED
    delivery = order.delivery
    carrier, tracking = (delivery.carrier, delivery.tracking) if delivery else (None, None)
    interval = POLL_INTERVAL.get(carrier or "", timedelta(hours=6))
    if order.awaiting_payment and tracking:
        _reschedule(store, order_id=order_id, tracking=tracking, now=now, next_at=now + interval)
        return Polled.IN_TRANSIT
    if order.status is not OrderStatus.PAID or delivery is None or not carrier or not tracking:
        _reschedule(store, order_id=order_id, tracking=None, now=now, next_at=None)
        return Polled.STOPPED
    attached = delivery.attached_at or now
    try:
        status = track(carrier, tracking)
    except (CarrierError, CarrierUnavailable) as exc:
        errors = int(delivery.errors or 0) + 1
        give_up = now - attached > GIVE_UP_AFTER
        log.info("carrier poll failed", extra={"json_fields": {"order_id": order_id, "carrier": carrier, "error": str(exc), "errors": errors}})
        next_at = None if give_up else now + max(ERROR_RETRY, interval)
        _reschedule(store, order_id=order_id, tracking=tracking, now=now, next_at=next_at, errors=errors, last_error=str(exc)[:300], gave_up_at=now if give_up else None)
        return Polled.ERROR
    seen = {"last_state": status.state, "last_detail": status.detail[:200], "last_status_at": status.at, "errors": 0, "last_error": None}
    if not status.final:
        give_up = now - attached > GIVE_UP_AFTER
        _reschedule(store, order_id=order_id, tracking=tracking, now=now, next_at=None if give_up else now + interval, gave_up_at=now if give_up else None, **seen)
        return Polled.IN_TRANSIT
    try:
        result = apply_status(store, config=config, order_id=order_id, carrier=carrier, status=status, now=now)
    except DomainError as exc:  # contention outlived its retries, a book missing: try again later
        log.warning("carrier status could not be applied", extra={"json_fields": {"order_id": order_id, "carrier": carrier, "error": exc.message}})
        _reschedule(store, order_id=order_id, tracking=tracking, now=now, next_at=now + ERROR_RETRY, last_error=exc.message[:300])
        return Polled.ERROR
    _reschedule(store, order_id=order_id, tracking=tracking, now=now, next_at=None, outcome=result.outcome, **seen)
    return Polled.APPLIED if result.outcome in (Applied.APPLIED, Applied.ALREADY_APPLIED) else Polled.STOPPED


def _due_page(store: Store, *, until: datetime, limit: int, after: tuple[datetime, str] | None) -> list[tuple[str, datetime]]:
    return store.read(lambda uow: uow.orders.due_for_poll(until=until, limit=limit, after=after))


def poll(store: Store, *, config: ProgramConfig, now: datetime, track: Tracker, batch: int = 50, max_pages: int = 4) -> PollResult:
    """Ask the carriers about orders due a check, at most ``batch`` × ``max_pages`` per run.

    The position is stored in ``sweeps/delivery_poll`` after every page, so the
    next run continues where this one stopped; overlapping runs may ask a carrier
    twice about one order, and apply its answer once.
    """
    counts = {"checked": 0, "applied": 0, "in_transit": 0, "errors": 0, "stopped": 0, "pages": 0, "complete": 0}
    run = cursors.open_pass(store, POLL_JOB, now=now)
    position = (run.after[0], run.after[1]) if run.after else None
    while True:
        rows = _due_page(store, until=now, limit=batch, after=position)
        for order_id, _ in rows:
            result = poll_order(store, config=config, order_id=order_id, now=now, track=track)
            counts["checked"] += 1
            counts["errors" if result is Polled.ERROR else result.value] += 1
        counts["pages"] += 1
        if len(rows) < batch:
            cursors.close(store, run, now=now)
            counts["complete"] = 1
            return PollResult(**counts)
        position = (rows[-1][1], rows[-1][0])
        if not cursors.advance(store, run, list(position), now=now):
            counts["complete"] = 1
            return PollResult(**counts)
        if counts["pages"] >= max_pages:
            return PollResult(**counts)
