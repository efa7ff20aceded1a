"""The fallback per shipping method: paid orders no carrier or manager reported on are delivered
``shipping.fallback_days`` after payment (pickup, the shop's own courier, a carrier not tracked).

The sweep runs :func:`deliver_by_fallbacks`; a carrier's or a manager's status that comes first
decides (:mod:`shared.services.delivery`), and delivering is idempotent
(:func:`shared.services.orders.mark_delivered`). This pass needs no carrier client, so the sweep
loads none.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.domain.config import ProgramConfig
from shared.domain.errors import DomainError
from shared.domain.order import OrderStatus
from shared.services import cursors, orders
from shared.services.ports import Store, UnitOfWork

log = logging.getLogger(__name__)

FALLBACK_JOB = "delivery_fallbacks"


def deliver_by_fallback(store: Store, *, config: ProgramConfig, order_id: str, now: datetime) -> bool:
    """Deliver one paid order whose shipping method's fallback came due before any carrier or
    manager said so: delivered at the fallback moment, its bonuses active from then. An order
    that moved on meanwhile only leaves the fallback's list. ``True`` when this call delivered it."""
    order = orders.find_order(store, order_id)
    if order is None or order.delivery_fallback_at is None or order.delivery_fallback_at > now:
        return False
    if order.status is OrderStatus.PAID:
        at = order.delivery_fallback_at
        carrier = f"fallback:{order.shipping_method or 'default'}"
        moved = orders.mark_delivered(store, config=config, order_id=order_id, delivered_at=at, activates_at=at, now=now, carrier=carrier, placed=order)
        if moved.status is OrderStatus.DELIVERED and moved.delivered_at == at:
            log.info("order delivered by its shipping fallback", extra={"json_fields": {"order_id": order_id, "shipping_method": order.shipping_method, "at": at.isoformat()}})
            return True
        return False

    def unit(uow: UnitOfWork) -> None:
        current = uow.orders.get(order_id)
        if current is not None and current.status is not OrderStatus.PAID and current.delivery_fallback_at is not None:
            uow.orders.put(current.fallback_dropped())

    store.run(unit)
    return False


def _fallback_page(store: Store, *, until: datetime, limit: int, after: tuple[datetime, str] | None) -> list[tuple[str, datetime]]:
    return store.read(lambda uow: uow.orders.due_for_fallback(until=until, limit=limit, after=after))


def deliver_by_fallbacks(store: Store, *, config: ProgramConfig, now: datetime, batch: int = 100, max_pages: int = 10) -> dict[str, int]:
    """Deliver the paid orders whose shipping method's fallback is due (``shipping.fallback_days``
    after payment, no carrier or manager having said delivered), at most ``batch`` × ``max_pages``
    per run. The position is stored in ``sweeps/delivery_fallbacks``; a delivered order leaves the
    query, and delivering is idempotent, so overlapping or resumed runs deliver each order once."""
    counts = {"fallback_checked": 0, "fallback_delivered": 0}
    run = cursors.open_pass(store, FALLBACK_JOB, now=now)
    position = (run.after[0], run.after[1]) if run.after else None
    for _ in range(max_pages):
        rows = _fallback_page(store, until=now, limit=batch, after=position)
        for order_id, _at in rows:
            counts["fallback_checked"] += 1
            try:
                counts["fallback_delivered"] += int(deliver_by_fallback(store, config=config, order_id=order_id, now=now))
            except DomainError as exc:  # contention outlived its retries, a book missing: the next run tries again
                log.warning("shipping fallback not applied", extra={"json_fields": {"order_id": order_id, "error": exc.message}})
        if len(rows) < batch:
            cursors.close(store, run, now=now)
            break
        position = (rows[-1][1], rows[-1][0])
        if not cursors.advance(store, run, list(position), now=now):
            break
    return counts
