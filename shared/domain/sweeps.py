"""The stored position of a scheduled job that walks a query page by page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

# A position in a query: the ordering value(s) and the document id, compared as a tuple.
Position = tuple[Any, ...]


def position_key(position: Position | None) -> Position:
    return tuple(position or ())


class OpenPass(Struct, frozen=True):
    """One pass over the query in progress: started for ``scope``, at ``after`` so far."""

    id: str
    scope: str | None
    after: Position | None
    started_at: datetime
    updated_at: datetime

    def advanced(self, after: Position, now: datetime) -> OpenPass:
        return replace(self, after=tuple(after), updated_at=now)


class SweepCursor(Struct, frozen=True):
    """``sweeps/{name}``: the open pass, the scope last completed, and a never-reset watermark.

    ``passes`` is ``None`` for a cursor used only as a watermark (it counts no passes).
    """

    name: str
    passes: int | None = 0
    current: OpenPass | None = None
    completed_at: datetime | None = None  # when a pass was last closed
    completed_scope: str | None = None
    after: Position | None = None  # the watermark
    updated_at: datetime | None = None  # when the watermark last moved

    def opened(self, started: OpenPass) -> SweepCursor:
        return replace(self, current=started)

    def advanced(self, after: Position, now: datetime) -> SweepCursor:
        assert self.current is not None
        return replace(self, current=self.current.advanced(after, now))

    def closed(self, now: datetime) -> SweepCursor:
        scope = self.current.scope if self.current else None
        return replace(self, current=None, completed_at=now, completed_scope=scope, passes=(self.passes or 0) + 1)

    def watermark_raised(self, after: Position, now: datetime) -> SweepCursor:
        return replace(self, after=tuple(after), updated_at=now)
