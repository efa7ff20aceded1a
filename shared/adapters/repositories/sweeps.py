"""The repositories of the scheduled jobs: their positions (``sweeps/{name}``), the notices they record
and the daily report snapshots (``report_days/{day}``)."""

from __future__ import annotations

from typing import Any

from shared.adapters import layout
from shared.adapters.repositories.base import Repository
from shared.domain.notices import ExpiryNotice
from shared.domain.reports import DaySnapshot
from shared.domain.sweeps import OpenPass, SweepCursor


def _position(raw: Any) -> tuple[Any, ...] | None:
    return None if raw is None else tuple(raw)


def _cursor(name: str, data: dict[str, Any]) -> SweepCursor:
    current = data.get("pass")
    open_pass = None
    if current:
        open_pass = OpenPass(
            id=current["id"],
            scope=current.get("scope"),
            after=_position(current.get("after")),
            started_at=current.get("started_at"),
            updated_at=current.get("updated_at"),
        )
    passes = data.get("passes")
    return SweepCursor(
        name=data.get("name", name),
        passes=None if passes is None else int(passes),
        current=open_pass,
        completed_at=data.get("completed_at"),
        completed_scope=data.get("completed_scope"),
        after=_position(data.get("after")),
        updated_at=data.get("updated_at"),
    )


class SweepCursorRepository(Repository):
    """One document per job: ``{name, passes, pass: {id, scope, after, started_at, updated_at} | null,
    completed_at, completed_scope}``, or ``{name, after, updated_at}`` for a watermark."""

    def get(self, name: str) -> SweepCursor | None:
        data = self._docs.get(layout.sweep(name))
        return None if data is None else _cursor(name, data)

    def put(self, cursor: SweepCursor) -> None:
        document: dict[str, Any] = {**(self._docs.get(layout.sweep(cursor.name)) or {}), "name": cursor.name}
        if cursor.passes is not None:
            document["passes"] = cursor.passes
        if cursor.current is not None:
            p = cursor.current
            after = None if p.after is None else list(p.after)
            document["pass"] = {"id": p.id, "scope": p.scope, "after": after, "started_at": p.started_at, "updated_at": p.updated_at}
        elif cursor.completed_at is not None or "pass" in document:
            document["pass"] = None
        if cursor.completed_at is not None:
            document.update(completed_at=cursor.completed_at, completed_scope=cursor.completed_scope)
        if cursor.after is not None:
            document.update(after=list(cursor.after), updated_at=cursor.updated_at)
        self._docs.put(layout.sweep(cursor.name), document)


class NoticeRepository(Repository):
    """``customers/{id}/notices/{key}``: ``{key, kind, customer_id, amount, expires_at, expires_on, lots, created_at, sent_at}``."""

    def get(self, customer_id: str, key: str) -> ExpiryNotice | None:
        data = self._docs.get(layout.notice(customer_id, key))
        return None if data is None else self._notice(data)

    def latest(self, customer_id: str, *, limit: int) -> list[ExpiryNotice]:
        """The customer's notices, newest first."""
        rows = self._queries.ordered(layout.notices(customer_id), order_by="created_at", descending=True, limit=limit)
        return [self._notice(data) for _, data in rows]

    @staticmethod
    def _notice(data: dict[str, Any]) -> ExpiryNotice:
        return ExpiryNotice(
            key=data["key"],
            kind=data.get("kind", "expiry_warning"),
            customer_id=data["customer_id"],
            amount=int(data["amount"]),
            expires_at=data["expires_at"],
            expires_on=data["expires_on"],
            lots=tuple(data.get("lots") or ()),
            created_at=data["created_at"],
            sent_at=data.get("sent_at"),
        )

    def create(self, notice: ExpiryNotice) -> None:
        """Record a new notice; the commit fails if one with its key exists."""
        self._docs.create(
            layout.notice(notice.customer_id, notice.key),
            {
                "key": notice.key,
                "kind": notice.kind,
                "customer_id": notice.customer_id,
                "amount": notice.amount,
                "expires_at": notice.expires_at,
                "expires_on": notice.expires_on,
                "lots": list(notice.lots),
                "created_at": notice.created_at,
                "sent_at": notice.sent_at,
            },
        )


_SNAPSHOT_FIELDS = tuple(DaySnapshot.__struct_fields__)


def _snapshot(data: dict[str, Any]) -> DaySnapshot:
    values = {name: data[name] for name in _SNAPSHOT_FIELDS if name in data}
    values["expiring"] = {str(k): int(v) for k, v in (data.get("expiring") or {}).items()}
    after = data.get("orders_after")
    values["orders_after"] = None if after is None else (after[0], str(after[1]))
    return DaySnapshot(**values)


class ReportDayRepository(Repository):
    """``report_days/{day}``: one document per Moscow day, every field of :class:`DaySnapshot`."""

    def get(self, day: str) -> DaySnapshot | None:
        data = self._docs.get(layout.report_day(day))
        return None if data is None else _snapshot(data)

    def put(self, snapshot: DaySnapshot) -> None:
        document: dict[str, Any] = {name: getattr(snapshot, name) for name in _SNAPSHOT_FIELDS}
        document["expiring"] = dict(snapshot.expiring)
        document["orders_after"] = None if snapshot.orders_after is None else list(snapshot.orders_after)
        self._docs.put(layout.report_day(snapshot.day), document)

    def latest(self, *, limit: int) -> list[DaySnapshot]:
        """The newest ``limit`` days, newest first."""
        rows = self._queries.ordered(layout.REPORT_DAYS, order_by="day", descending=True, limit=limit)
        return [_snapshot(doc) for _, doc in rows]
