"""The sweep's time-driven messages: abandoned carts and win-back, each a resumable pass.

* ``abandoned_carts`` — a logged-in customer's last quoted cart (``carts/{id}``, written
  by :func:`remember_cart` at quote time) with no paid order since, once it is older than
  the trigger's ``hours``: one reminder per cart (cause ``<customer>:<cart hash>``).
* ``winback`` — customers whose last paid order (``last_purchase_at`` on the customer) is
  older than the trigger's ``days``: the message, and the trigger's ``bonus`` credited once
  per customer and lapse (cause and posting key ``<customer>:<date of the last purchase>``:
  a new purchase starts a new period); a customer outside the trigger's ``segment`` gets neither.

Both are watermarks over their time field (:func:`shared.services.cursors.raise_watermark`):
each cart or lapse is looked at once as it crosses the horizon; a re-quoted cart or a new
purchase moves the field past the watermark, so it is looked at again later. A switched-off
trigger leaves its watermark where it is. Every step is keyed, so a re-run doubles nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from shared.domain import holds
from shared.domain.cart import CartLine
from shared.domain.carts import LastCart, cart_hash
from shared.domain.clock import MSK
from shared.domain.config import ProgramConfig
from shared.domain.customer import bonuses_excluded
from shared.domain.ledger import Accrue
from shared.domain.messages import Trigger
from shared.services import cursors, outbox
from shared.services.ledger import AccountSession
from shared.services.ports import Store, UnitOfWork

Page = Callable[[UnitOfWork, datetime, int, "tuple[datetime, str] | None"], "list[tuple[str, datetime]]"]


def remember_cart(store: Store, config: ProgramConfig, *, customer_id: str, lines: list[CartLine], now: datetime) -> None:
    """Record the customer's quoted cart (one blind write; nothing while the trigger is off or for an empty cart)."""
    if not config.messages.abandoned_cart.enabled or not lines:
        return
    cart = LastCart(customer_id=customer_id, cart_hash=cart_hash(lines), quoted_at=now, lines=len(lines))
    store.run(lambda uow: uow.carts.put(cart))


def _watermarked(store: Store, name: str, *, horizon: datetime, page: Page, each: Callable[[str, datetime], int], batch: int, max_pages: int, now: datetime) -> int:
    """Run ``each`` over the rows ``page`` finds at or before ``horizon``, past the stored watermark."""
    done = 0
    after = cursors.watermark(store, name)
    for _ in range(max_pages):
        start = (after[0], after[1]) if after else None
        rows = store.read(lambda uow, start=start: page(uow, horizon, batch, start))  # type: ignore[misc]
        for customer_id, at in rows:
            done += each(customer_id, at)
        if rows:
            after = [rows[-1][1], rows[-1][0]]
            cursors.raise_watermark(store, name, after, now=now)
        if len(rows) < batch:
            break
    return done


# --- abandoned carts ------------------------------------------------------------------------


def remind_cart(store: Store, *, config: ProgramConfig, customer_id: str, now: datetime) -> int:
    """The reminder about the customer's last cart, once per cart: 1 when enqueued now."""
    settings = config.messages.abandoned_cart
    horizon = now - timedelta(hours=settings.hours)

    def unit(uow: UnitOfWork) -> int:
        cart = uow.carts.get(customer_id)
        session = AccountSession(uow, customer_id)
        if cart is None or cart.quoted_at > horizon or not session.exists or session.blocking.is_blocked:
            return 0  # re-quoted since (looked at again later), unknown or blocked
        bought = session.record.referral.last_purchase_at
        if bought is not None and bought >= cart.quoted_at:
            return 0  # an order paid after the quote
        created = outbox.enqueue(
            uow, config, trigger=Trigger.ABANDONED_CART, cause=f"{customer_id}:{cart.cart_hash}", customer_id=customer_id, variables={}, due_at=now, now=now, record=session.record,
        )
        return int(bool(created))

    return store.run(unit)


def remind_abandoned_carts(store: Store, *, config: ProgramConfig, now: datetime, batch: int, max_pages: int) -> dict[str, int]:
    settings = config.messages.abandoned_cart
    if not settings.enabled:
        return {"cart_reminders": 0}
    horizon = now - timedelta(hours=settings.hours)
    reminded = _watermarked(
        store, "abandoned_carts", horizon=horizon, batch=batch, max_pages=max_pages, now=now,
        page=lambda uow, until, limit, after: uow.carts.quoted_until(until=until, limit=limit, after=after),
        each=lambda customer_id, _: remind_cart(store, config=config, customer_id=customer_id, now=now),
    )
    return {"cart_reminders": reminded}


# --- win-back -------------------------------------------------------------------------------


def win_back(store: Store, *, config: ProgramConfig, customer_id: str, now: datetime) -> int:
    """The win-back message and bonus for the customer's current lapse, once: the bonus credited now
    (0 when none, or when it was done before); -1 when nothing was due (bought since, blocked, unknown)."""
    settings = config.messages.winback
    horizon = now - timedelta(days=settings.days)

    def unit(uow: UnitOfWork) -> int:
        session = AccountSession(uow, customer_id)
        if not session.exists or session.blocking.is_blocked:
            return -1
        last = session.record.referral.last_purchase_at
        if last is None or last > horizon:
            return -1  # bought again since the page was read
        if not outbox.in_segment(uow, config, trigger=Trigger.WINBACK, customer_id=customer_id, now=now, record=session.record):
            return -1  # not in the trigger's segment: neither the message nor its bonus
        period = f"{customer_id}:{last.astimezone(MSK).date().isoformat()}"
        key = f"winback:{period}"
        bonus = 0 if bonuses_excluded(config, session.account) else settings.bonus
        credited = 0
        if bonus and uow.postings.get(customer_id, key) is None:
            outcome = session.post(
                key, Accrue(amount=bonus, source="winback", ref=period, activates_at=now, expires_at=holds.lot_expiry(config, now), merge=True), now=now
            )
            credited = 0 if outcome.replayed else bonus
        outbox.enqueue(uow, config, trigger=Trigger.WINBACK, cause=period, customer_id=customer_id, variables={"bonus": bonus, "days": settings.days}, due_at=now, now=now, record=session.record)
        return credited

    return store.run(unit)


def win_back_lapsed(store: Store, *, config: ProgramConfig, now: datetime, batch: int, max_pages: int) -> dict[str, int]:
    settings = config.messages.winback
    counts = {"winbacks": 0, "winback_bonuses": 0}
    if not settings.enabled:
        return counts

    def each(customer_id: str, _: datetime) -> int:
        credited = win_back(store, config=config, customer_id=customer_id, now=now)
        counts["winbacks"] += int(credited >= 0)
        counts["winback_bonuses"] += max(credited, 0)
        return 0

    _watermarked(
        store, "winback", horizon=now - timedelta(days=settings.days), batch=batch, max_pages=max_pages, now=now,
        page=lambda uow, until, limit, after: uow.accounts.lapsed(until=until, limit=limit, after=after),
        each=each,
    )
    return counts
