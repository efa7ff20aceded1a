"""The per-account sweep: expired remainders written off, stale reservations released, levels re-evaluated.

:func:`sweep_account` does one account's due work in a transaction; it is
safe to run any number of times (an expiry is keyed by the lot and the
account's position, a release by the reservation, a level change by the
day). :func:`sweep_due` walks every account with due work
(``next_expiry_at`` at or before ``now``) in bounded pages, sweeping groups
of accounts in one transaction each (:func:`sweep_accounts`), several
groups at once, and keeps its position in a cursor so a run that stops is
continued by the next one.
"""

from __future__ import annotations

import contextvars
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from msgspec import Struct

from shared.domain.config import ProgramConfig
from shared.domain.ledger import Expire, Release, SetLevel, require_utc
from shared.domain.levels import level_after_sweep, window_start
from shared.services import cursors, triggers
from shared.services.ledger import AccountSession
from shared.services.ports import Store, UnitOfWork

# Transactions sweep_due runs at once. Sweeps of different accounts touch
# different documents, so they do not contend; the bound keeps a run's open
# transactions (and its load on Firestore) modest.
SWEEP_WORKERS = 16
# Accounts per sweep transaction: read together in one call and committed
# together, so the begin and commit calls are paid once per group. A group's
# accounts are locked for its transaction (tens of milliseconds).
SWEEP_GROUP = 10


class Swept(Struct, frozen=True):
    """What sweeping one account did: bonuses written off as expired, and released from stale reservations."""

    expired: int = 0
    released: int = 0


def sweep_account(store: Store, *, config: ProgramConfig, customer_id: str, now: datetime) -> Swept:
    """Due work on one account: expired remainders written off, stale reservations released,
    and the rolling-window level re-evaluated. Safe to run any number of times."""
    require_utc(now)
    return store.run(lambda uow: _sweep_in(uow, config=config, customer_id=customer_id, now=now))


def sweep_accounts(store: Store, *, config: ProgramConfig, customer_ids: list[str], now: datetime) -> list[Swept]:
    """:func:`sweep_account` for several accounts in one transaction: all of them or none."""
    require_utc(now)

    def unit(uow: UnitOfWork) -> list[Swept]:
        uow.accounts.get_many(customer_ids)  # one read for the group; the sessions below hit the unit's cache
        return [_sweep_in(uow, config=config, customer_id=customer_id, now=now) for customer_id in customer_ids]

    return store.run(unit)


def _sweep_in(uow: UnitOfWork, *, config: ProgramConfig, customer_id: str, now: datetime) -> Swept:
    session = AccountSession(uow, customer_id)
    if not session.exists:
        return Swept()
    expired = released = 0
    for reservation in list(session.account.reservations.values()):
        if reservation.release_after <= now:
            released += session.post(f"release:{reservation.id}", Release(reservation_id=reservation.id), now=now).released
    for lot in sorted(session.account.lots.values(), key=lambda lot: lot.order_key()):
        if lot.expires_at <= now and lot.id in session.account.lots:
            # Keyed by the account's position too: bonuses refunded into a lot after
            # its write-off are written off again by a later sweep, not replayed away.
            # ``fresh``: a posting with this key would have moved the account (read in
            # this unit, saved with every posting) past ``seq``, so the key is unused.
            expired += session.post(f"expire:{lot.id}:{session.account.seq}", Expire(lot_id=lot.id), now=now, fresh=True).expired
    start = window_start(config, now)
    if start is not None:
        level = level_after_sweep(config, session.account, now)
        stale = any(day < start.isoformat() for day in session.account.paid_by_day)
        if level != session.account.level or stale:
            before = session.account.level
            session.post(f"level:{customer_id}:{now.date().isoformat()}", SetLevel(level=level, reason="rolling window", trim_before=start), now=now)
            triggers.level_changed(uow, config, customer_id=customer_id, before=before, after=level, now=now, record=session.record)
    return Swept(expired=expired, released=released)


def sweep_due(
    store: Store,
    *,
    config: ProgramConfig,
    now: datetime,
    batch: int = 200,
    cursor: str | None = None,
    max_pages: int | None = None,
    workers: int = SWEEP_WORKERS,
    group: int = SWEEP_GROUP,
) -> dict[str, int]:
    """Sweep every account with due expiries or reservations, in bounded pages.

    A page's accounts are swept in groups of ``group``, each group in one
    transaction (:func:`sweep_accounts`), up to ``workers`` groups at a time;
    ``workers=1`` sweeps the groups one after the other. While a page is swept
    the next one (within ``max_pages``) is queried and queued, so the workers
    do not idle at a page's end or during the query. A page counts as passed
    only once every account in it and before it is swept: when a group fails
    (none of its accounts changed), the rest of its page still finishes, the
    next page's groups not started yet are dropped, and the call raises the
    first failure without storing the position past the page before.

    With ``cursor`` (a job name) the position reached is stored in
    ``sweeps/{cursor}`` after every page (see :mod:`shared.services.cursors`):
    a run that stops — a crash, or ``max_pages`` pages done — is continued by
    the next run, and overlapping runs share the pass. ``complete`` is 1 when
    the pass reached the end of the due accounts.
    """
    totals = {"accounts": 0, "expired": 0, "released": 0, "pages": 0, "complete": 0}
    run = cursors.open_pass(store, cursor, now=now) if cursor else None
    position = tuple(run.after) if run is not None and run.after else None
    group = max(1, group)
    size = max(1, min(workers, -(-batch // group)))
    pages: deque[tuple[list[tuple[str, datetime]], list[Future]]] = deque()  # started, not yet counted

    def start(pool: ThreadPoolExecutor, after: tuple[datetime, str] | None) -> None:
        rows = store.read(lambda uow: uow.accounts.due(until=now, limit=batch, after=after))
        groups = [[customer_id for customer_id, _ in rows[i : i + group]] for i in range(0, len(rows), group)]
        # each in a copy of the caller's context: its logs carry the request's fields
        futures = [pool.submit(contextvars.copy_context().run, sweep_accounts, store, config=config, customer_ids=ids, now=now) for ids in groups]
        pages.append((rows, futures))

    def count(futures: list[Future]) -> BaseException | None:
        """Wait for ``futures``, add up what they did; the first failure."""
        failure = None
        for future in futures:
            if future.cancelled():
                continue
            try:
                results = future.result()
            except Exception as exc:
                failure = failure or exc
                continue
            for result in results:
                totals["accounts"] += 1
                totals["expired"] += result.expired
                totals["released"] += result.released
        return failure

    def drain() -> None:
        """Stop: drop the work not started yet, count the work that ran."""
        while pages:
            _, futures = pages.popleft()
            for future in futures:
                future.cancel()
            count(futures)

    with ThreadPoolExecutor(max_workers=size, thread_name_prefix="sweep") as pool:
        try:
            start(pool, position)
            while pages:
                last_rows = pages[-1][0]
                if len(pages) == 1 and len(last_rows) == batch and (max_pages is None or totals["pages"] + 2 <= max_pages):
                    start(pool, (last_rows[-1][1], last_rows[-1][0]))  # the next page, queued behind this one
                rows, futures = pages.popleft()
                failure = count(futures)
                totals["pages"] += 1
                if failure is not None:
                    raise failure
                if len(rows) < batch:
                    if run is not None:
                        cursors.close(store, run, now=now)
                    totals["complete"] = 1
                    return totals
                position = (rows[-1][1], rows[-1][0])
                if run is not None and not cursors.advance(store, run, list(position), now=now):
                    drain()
                    totals["complete"] = 1  # another run finished this pass meanwhile
                    return totals
                if max_pages is not None and totals["pages"] >= max_pages:
                    return totals
                if not pages:
                    start(pool, position)
        except BaseException:
            drain()
            raise
    return totals  # not reached: the loop returns once a page comes back short
