"""The outbox: ``outbox/{key}``, one message to one customer on one channel.

``{key, customer_id, trigger, channel, subject, body, variables, due_at, created_at, status,
next_at, attempts: [{at, outcome, detail}], lease_owner, lease_until, sent_at}``. ``next_at``
is set only while the message is pending: the dispatcher's query is a range over it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters import layout
from shared.adapters.repositories.base import Repository
from shared.domain.messages import Attempt, Channel, OutboxMessage, Status, Trigger


def _message(data: dict[str, Any]) -> OutboxMessage:
    return OutboxMessage(
        key=data["key"],
        customer_id=data["customer_id"],
        trigger=Trigger(data["trigger"]),
        channel=Channel(data["channel"]),
        subject=data.get("subject") or "",
        body=data["body"],
        variables={str(k): str(v) for k, v in (data.get("variables") or {}).items()},
        due_at=data["due_at"],
        created_at=data["created_at"],
        status=Status(data.get("status", "pending")),
        next_at=data.get("next_at"),
        attempts=tuple(Attempt(at=a["at"], outcome=a["outcome"], detail=a.get("detail") or "") for a in data.get("attempts") or ()),
        lease_owner=data.get("lease_owner"),
        lease_until=data.get("lease_until"),
        sent_at=data.get("sent_at"),
    )


def _document(message: OutboxMessage) -> dict[str, Any]:
    return {
        "key": message.key,
        "customer_id": message.customer_id,
        "trigger": message.trigger.value,
        "channel": message.channel.value,
        "subject": message.subject,
        "body": message.body,
        "variables": dict(message.variables),
        "due_at": message.due_at,
        "created_at": message.created_at,
        "status": message.status.value,
        "next_at": message.next_at,
        "attempts": [{"at": a.at, "outcome": a.outcome, "detail": a.detail} for a in message.attempts],
        "lease_owner": message.lease_owner,
        "lease_until": message.lease_until,
        "sent_at": message.sent_at,
    }


class OutboxRepository(Repository):
    def get(self, key: str) -> OutboxMessage | None:
        data = self._docs.get(layout.outbox_message(key))
        return None if data is None else _message(data)

    def create(self, message: OutboxMessage) -> None:
        """Record a new message; the commit fails if one with its key exists."""
        self._docs.create(layout.outbox_message(message.key), _document(message))

    def put(self, message: OutboxMessage) -> None:
        self._docs.put(layout.outbox_message(message.key), _document(message))

    def due(self, until: datetime, *, limit: int) -> list[str]:
        """Keys of pending messages whose ``next_at`` is at or before ``until``, earliest first.
        Read outside any transaction: the dispatcher leases each one in its own."""
        return [key for key, _ in self._queries.due(layout.OUTBOX, field="next_at", until=until, limit=limit)]

    def _many(self, keys: list[str]) -> list[OutboxMessage]:
        found = self._docs.get_all([layout.outbox_message(key) for key in keys])
        return [_message(data) for data in found.values() if data is not None]

    def of_customer(self, customer_id: str, *, limit: int, after: str | None = None) -> list[OutboxMessage]:
        """A page of one customer's messages, in key order (an equality on ``customer_id``: no composite index)."""
        keys = self._queries.matching(layout.OUTBOX, field="customer_id", value=customer_id, limit=limit, start_after=after)
        return sorted(self._many(keys), key=lambda message: message.key)

    def with_status(self, status: Status, *, limit: int, after: str | None = None) -> list[OutboxMessage]:
        """A page of the messages in ``status`` (the failed ones, for the back office), in key order."""
        keys = self._queries.matching(layout.OUTBOX, field="status", value=status.value, limit=limit, start_after=after)
        return sorted(self._many(keys), key=lambda message: message.key)
