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
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable

from shared.adapters.carriers import DELIVERED, NOT_DELIVERED, RETURNED, CarrierError, CarrierStatus, CarrierUnavailable, TrackingNotFound, cdek_status
from shared.domain.config import ProgramConfig
from shared.domain.errors import DomainError, InvalidState, NotFound
from shared.services.ports import Store, UnitOfWork
from shared.services import cursors, orders

log = logging.getLogger(__name__)

POLL_FIELD = "delivery_poll_at"
TRACKING = "tracking"
POLL_JOB = "delivery_poll"

# How often the poller asks each carrier about a parcel still on its way. Boxberry
# recommends hourly polling; Russian Post's single-access quota is small; CDEK
# pushes webhooks, so polling it is only the fallback.
POLL_INTERVAL = {"boxberry": timedelta(hours=1), "russianpost": timedelta(hours=4), "cdek": timedelta(hours=6)}
ERROR_RETRY = timedelta(minutes=30)
GIVE_UP_AFTER = timedelta(days=120)  # a parcel silent this long is left to the back office

Tracker = Callable[[str, str], CarrierStatus]


def tracking_path(carrier: str, tracking: str) -> str:
    return f"{TRACKING}/{carrier}:{tracking}"


def attach_tracking(store: Store, *, order_id: str, carrier: str, tracking: str, now: datetime) -> dict[str, Any]:
    """Record the shipment of an order and schedule its first poll (the same call again changes nothing).

    A new tracking code replaces the old one (a re-shipment). An order already
    delivered, returned or canceled has nothing left to track.
    """

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        order = uow.get(orders.order_path(order_id))
        if order is None:
            raise NotFound("unknown order", order_id=order_id, message_ru="Заказ не найден.")
        linked = uow.get(tracking_path(carrier, tracking))
        if linked is not None and linked.get("order_id") != order_id:
            raise InvalidState("the tracking code belongs to another order", order_id=order_id, other_order_id=linked.get("order_id"))
        current = order.get("delivery") or {}
        if current.get("carrier") == carrier and current.get("tracking") == tracking:
            return order
        if order["status"] not in ("awaiting_payment", "paid"):
            raise InvalidState(f"order is {order['status']}: nothing left to track", order_id=order_id, status=order["status"])
        delivery = {"carrier": carrier, "tracking": tracking, "attached_at": now, "checked_at": None, "last_state": None, "last_detail": None, "last_status_at": None, "errors": 0}
        if current.get("tracking"):
            delivery["replaced"] = {"carrier": current.get("carrier"), "tracking": current.get("tracking")}
        first = now if carrier != "cdek" else now + POLL_INTERVAL["cdek"]
        order = {**order, "delivery": delivery, POLL_FIELD: first}
        uow.put(orders.order_path(order_id), order)
        uow.put(tracking_path(carrier, tracking), {"order_id": order_id, "carrier": carrier, "tracking": tracking, "attached_at": now})
        return order

    return store.run(unit)


def _outcome(outcome: str, order_id: str | None, order: dict[str, Any] | None = None, reason: str | None = None) -> dict[str, Any]:
    return {"outcome": outcome, "order_id": order_id, "status": order.get("status") if order else None, "reason": reason}


def apply_status(store: Store, *, config: ProgramConfig, order_id: str, carrier: str, status: CarrierStatus, now: datetime) -> dict[str, Any]:
    """Apply a carrier's verdict to an order: ``applied``, ``already_applied``, ``in_transit``,
    ``ignored`` (a regression or an order in no state to take it) or ``unknown_order``."""
    order = store.get(orders.order_path(order_id))
    if order is None:
        return _outcome("unknown_order", order_id)
    if not status.final:
        return _outcome("in_transit", order_id, order)
    current = order["status"]
    at = min(status.at or now, now)
    try:
        if status.state == DELIVERED:
            if current in ("delivered", "partially_returned", "returned", "not_delivered"):
                return _outcome("already_applied" if current == "delivered" else "ignored", order_id, order, None if current == "delivered" else f"order is {current}")
            if current != "paid":
                return _outcome("ignored", order_id, order, f"order is {current}")
            order = orders.mark_delivered(store, config=config, order_id=order_id, delivered_at=at, now=now, carrier=carrier, placed=order)
        elif status.state == NOT_DELIVERED:
            if current == "not_delivered":
                return _outcome("already_applied", order_id, order)
            if current != "paid":
                return _outcome("ignored", order_id, order, f"order is {current}")
            order = orders.mark_returned(store, config=config, order_id=order_id, return_id=f"{carrier}-not-delivered", returns=None, now=now, not_delivered=True, placed=order)
        elif status.state == RETURNED:
            if current in ("returned", "not_delivered"):
                return _outcome("already_applied", order_id, order)
            if current not in ("paid", "delivered", "partially_returned"):
                return _outcome("ignored", order_id, order, f"order is {current}")
            order = orders.mark_returned(store, config=config, order_id=order_id, return_id=f"{carrier}-returned", returns=None, now=now, not_delivered=current == "paid", placed=order)
    except InvalidState as exc:
        log.info("carrier status not applied", extra={"json_fields": {"order_id": order_id, "carrier": carrier, "state": status.state, "reason": exc.message}})
        return _outcome("ignored", order_id, order, exc.message)
    log.info("carrier status applied", extra={"json_fields": {"order_id": order_id, "carrier": carrier, "state": status.state, "at": at.isoformat()}})
    return _outcome("applied", order_id, order)


def _tracked_order(store: Store, carrier: str, code: str | None) -> str | None:
    if not code:
        return None
    linked = store.get(tracking_path(carrier, code))
    return linked.get("order_id") if linked else None


def cdek_event(store: Store, *, config: ProgramConfig, cdek: Any, uuid: str, code: str | None, is_return: bool, now: datetime) -> dict[str, Any]:
    """A CDEK ``ORDER_STATUS`` webhook. The body only says *which* CDEK order to look at:
    a final status is acted upon as CDEK's API reports it (``cdek.get_order``),
    never as the body claims.

    A return order (``is_return``) counts for the direct order it is linked to,
    when that one is ours. Raises :class:`CarrierUnavailable` when the API cannot
    be reached (the webhook must then be delivered again).
    """
    if not cdek_status(code, None, is_return=is_return).final:
        return _outcome("in_transit", None)
    try:
        entity = cdek.get_order(uuid)
    except TrackingNotFound:
        return _outcome("unknown_order", None, reason="CDEK does not know this order")
    if not entity.status.final:
        return _outcome("not_confirmed", None, reason=f"CDEK reports {entity.status.detail or 'no final status'}")
    order_id = None
    if entity.is_return:
        for direct in entity.related_direct:
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
    if not order_id:
        return _outcome("unknown_order", None, reason="the CDEK order is not linked to one of ours")
    return apply_status(store, config=config, order_id=order_id, carrier="cdek", status=entity.status, now=now)


# --- polling -------------------------------------------------------------------------


def _reschedule(store: Store, *, order_id: str, tracking: str | None, now: datetime, next_at: datetime | None, **fields: Any) -> None:
    """Record what the poller saw and when to ask again (``None``: stop polling)."""

    def unit(uow: UnitOfWork) -> None:
        order = uow.get(orders.order_path(order_id))
        if order is None:
            return
        delivery = dict(order.get("delivery") or {})
        if tracking is not None and delivery.get("tracking") != tracking:
            return  # re-attached meanwhile: the new code has its own schedule
        delivery.update(checked_at=now, **fields)
        uow.put(orders.order_path(order_id), {**order, "delivery": delivery, POLL_FIELD: next_at})

    store.run(unit)


def poll_order(store: Store, *, config: ProgramConfig, order_id: str, now: datetime, track: Tracker) -> str:
    """Ask the carrier about one order and act on the answer: applied | in_transit | error | stopped."""
    order = store.get(orders.order_path(order_id))
    if order is None:
        return "stopped"
    delivery = order.get("delivery") or {}
    carrier, tracking = delivery.get("carrier"), delivery.get("tracking")
    interval = POLL_INTERVAL.get(carrier or "", timedelta(hours=6))
    if order["status"] == "awaiting_payment" and tracking:
        _reschedule(store, order_id=order_id, tracking=tracking, now=now, next_at=now + interval)
        return "in_transit"
    if order["status"] != "paid" or not carrier or not tracking:
        _reschedule(store, order_id=order_id, tracking=None, now=now, next_at=None)
        return "stopped"
    attached = delivery.get("attached_at") or now
    try:
        status = track(carrier, tracking)
    except (CarrierError, CarrierUnavailable) as exc:
        errors = int(delivery.get("errors") or 0) + 1
        give_up = now - attached > GIVE_UP_AFTER
        log.info("carrier poll failed", extra={"json_fields": {"order_id": order_id, "carrier": carrier, "error": str(exc), "errors": errors}})
        _reschedule(store, order_id=order_id, tracking=tracking, now=now, next_at=None if give_up else now + max(ERROR_RETRY, interval), errors=errors, last_error=str(exc)[:300], gave_up_at=now if give_up else None)
        return "error"
    seen = {"last_state": status.state, "last_detail": status.detail[:200], "last_status_at": status.at, "errors": 0, "last_error": None}
    if not status.final:
        give_up = now - attached > GIVE_UP_AFTER
        _reschedule(store, order_id=order_id, tracking=tracking, now=now, next_at=None if give_up else now + interval, gave_up_at=now if give_up else None, **seen)
        return "in_transit"
    try:
        result = apply_status(store, config=config, order_id=order_id, carrier=carrier, status=status, now=now)
    except DomainError as exc:  # contention outlived its retries, a book missing: try again later
        log.warning("carrier status could not be applied", extra={"json_fields": {"order_id": order_id, "carrier": carrier, "error": exc.message}})
        _reschedule(store, order_id=order_id, tracking=tracking, now=now, next_at=now + ERROR_RETRY, last_error=exc.message[:300])
        return "error"
    _reschedule(store, order_id=order_id, tracking=tracking, now=now, next_at=None, outcome=result["outcome"], **seen)
    return "applied" if result["outcome"] in ("applied", "already_applied") else "stopped"


def poll(store: Store, *, config: ProgramConfig, now: datetime, track: Tracker, batch: int = 50, max_pages: int = 4) -> dict[str, int]:
    """Ask the carriers about orders due a check, at most ``batch`` × ``max_pages`` per run.

    The position is stored in ``sweeps/delivery_poll`` after every page, so the
    next run continues where this one stopped; overlapping runs may ask a carrier
    twice about one order, and apply its answer once.
    """
    counts = {"checked": 0, "applied": 0, "in_transit": 0, "errors": 0, "stopped": 0, "pages": 0, "complete": 0}
    run = cursors.open_pass(store, POLL_JOB, now=now)
    position = tuple(run.after) if run.after else None
    while True:
        rows = store.due(orders.ORDERS, field=POLL_FIELD, until=now, limit=batch, start_after=position)
        for order_id, _ in rows:
            result = poll_order(store, config=config, order_id=order_id, now=now, track=track)
            counts["checked"] += 1
            counts["errors" if result == "error" else result] += 1
        counts["pages"] += 1
        if len(rows) < batch:
            cursors.close(store, run, now=now)
            counts["complete"] = 1
            return counts
        position = (rows[-1][1], rows[-1][0])
        if not cursors.advance(store, run, list(position), now=now):
            counts["complete"] = 1
            return counts
        if counts["pages"] >= max_pages:
            return counts
