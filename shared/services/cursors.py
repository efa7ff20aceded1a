"""Stored positions of the scheduled jobs: ``sweeps/{name}``.

A job walks a query in bounded pages. After every page it stores how far it
got, so a run that stops half-way (a crash, a deadline, its page budget) is
continued by the next run instead of starting over, and two overlapping runs
(Cloud Scheduler retries can overlap the next firing) share one **pass**:

* :func:`open_pass` joins the open pass or starts one (in a transaction, so two
  runners starting together end up in the same pass);
* :func:`advance` moves the position forward only — never back — and only while
  the pass it belongs to is still open;
* :func:`close` ends the pass when a page comes back short. With a ``scope``
  (e.g. the Moscow date of a once-a-day job) a pass completed for that scope is
  not started again.

Every step a job takes must itself be idempotent (the ledger's keyed postings,
``create``-once notices): a resumed or doubled page redoes work, it never
doubles it. The position is a list (``[value, document id]``) compared as a tuple.

A **watermark** (:func:`watermark`, :func:`raise_watermark`) is a position that
is never reset: for a scan over a field that only grows (``created_at``), each
document is looked at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from msgspec import Struct

from shared.domain.sweeps import OpenPass, SweepCursor, position_key
from shared.services.ports import Store, UnitOfWork


class Pass(Struct, frozen=True):
    name: str
    id: str | None  # None: nothing to do (the pass for this scope is complete)
    after: list[Any] | None  # the position reached; None = from the start
    scope: str | None = None

    @property
    def done(self) -> bool:
        return self.id is None


def _position(after: tuple[Any, ...] | None) -> list[Any] | None:
    return None if after is None else list(after)


def open_pass(store: Store, name: str, *, now: datetime, scope: str | None = None) -> Pass:
    """Join the open pass of job ``name`` or start one."""

    def unit(uow: UnitOfWork) -> Pass:
        cursor = uow.cursors.get(name) or SweepCursor(name)
        current = cursor.current
        if current is not None and current.scope == scope:
            return Pass(name, current.id, _position(current.after), scope)
        if scope is not None and cursor.completed_scope == scope:
            return Pass(name, None, None, scope)
        started = OpenPass(id=uuid.uuid4().hex, scope=scope, after=None, started_at=now, updated_at=now)
        uow.cursors.put(cursor.opened(started))
        return Pass(name, started.id, None, scope)

    return store.run(unit)


def advance(store: Store, p: Pass, after: list[Any], *, now: datetime) -> bool:
    """Store the position reached; False when the pass was closed meanwhile (another run ended it)."""

    def unit(uow: UnitOfWork) -> bool:
        cursor = uow.cursors.get(p.name)
        if cursor is None or cursor.current is None or cursor.current.id != p.id:
            return False
        if position_key(tuple(after)) > position_key(cursor.current.after):
            uow.cursors.put(cursor.advanced(tuple(after), now))
        return True

    return store.run(unit)


def close(store: Store, p: Pass, *, now: datetime) -> None:
    """End the pass (its last page was short): the next run starts a new one."""

    def unit(uow: UnitOfWork) -> None:
        cursor = uow.cursors.get(p.name)
        if cursor is None or cursor.current is None or cursor.current.id != p.id:
            return
        uow.cursors.put(cursor.closed(now))

    store.run(unit)


def watermark(store: Store, name: str) -> list[Any] | None:
    cursor = store.read(lambda uow: uow.cursors.get(name))
    return None if cursor is None else _position(cursor.after)


def raise_watermark(store: Store, name: str, after: list[Any], *, now: datetime) -> None:
    """Move a never-reset position forward (never back)."""

    def unit(uow: UnitOfWork) -> None:
        cursor = uow.cursors.get(name) or SweepCursor(name, passes=None)
        if position_key(tuple(after)) > position_key(cursor.after):
            uow.cursors.put(cursor.watermark_raised(tuple(after), now))

    store.run(unit)
