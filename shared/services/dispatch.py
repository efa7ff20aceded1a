"""The dispatcher: send the outbox's due messages, each through its channel, exactly once.

For every due pending message (``next_at <= now``), in three steps:

1. **Lease** (one transaction): read the message and its customer. A customer who
   switched the channel off, or has no address on it, gets nothing: the message is
   ``skipped``. In quiet hours (21:00–09:00 in the customer's ``tz``, Europe/Moscow by
   default) it is held: ``next_at`` moves to 09:00 local. Otherwise the dispatcher takes
   a lease — ``lease_owner``, ``lease_until`` and ``next_at`` set to the lease's end — so
   a second dispatcher's query does not see it until the lease expires.
2. **Send**, outside any transaction, through the channel's :class:`Sender`, with the
   message's key as the provider's idempotency key where the provider takes one.
3. **Record** (one transaction), only if the lease is still ours: ``sent`` with the
   attempt; or, on failure, the attempt and a retry after an exponential backoff
   (1, 2, 4 … minutes), ``failed`` after :data:`~shared.domain.messages.MAX_ATTEMPTS`.

A dispatcher that dies between 1 and 3 leaves the lease to expire; the message is then
due again and sent by the next run. So delivery to the provider is at least once, and
exactly once unless a process dies after the provider accepted a message and before
step 3 committed (see docs/messages.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from msgspec import structs

from shared.domain.customer import Profile
from shared.domain.messages import MAX_ATTEMPTS, Attempt, Channel, OutboxMessage, Status, backoff, quiet_until
from shared.services.ports import Store, UnitOfWork

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)


class SendFailed(Exception):
    """The channel did not take the message (``detail`` says why)."""


class Sender(Protocol):
    def send(self, message: OutboxMessage, address: str) -> None:
        """Hand ``message`` to the provider for ``address``; raise :class:`SendFailed` (or any error) if it did not take it."""


def address_of(profile: Profile, channel: Channel) -> str | None:
    """Where ``channel`` reaches the customer, if they accept it there."""
    chosen = profile.channels
    if channel is Channel.SMS:
        return profile.phone if chosen.sms else None
    if channel is Channel.EMAIL:
        return profile.email if chosen.email else None
    return str(profile.telegram_id) if chosen.telegram and profile.telegram_id is not None else None


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0  # attempts that failed (retried later or given up)
    skipped: int = 0
    held: int = 0  # quiet hours
    keys_sent: list[str] = field(default_factory=list)


Leased = tuple[str, OutboxMessage | None, str]


def _lease(key: str, *, now: datetime, owner: str, lease: timedelta) -> Callable[[UnitOfWork], Leased]:
    def run(uow: UnitOfWork) -> Leased:
        message = uow.outbox.get(key)
        if message is None or message.status is not Status.PENDING or message.next_at is None or message.next_at > now:
            return "gone", None, ""
        record = uow.accounts.get(message.customer_id)
        address = None if record is None else address_of(record.profile, message.channel)
        if address is None:
            attempt = Attempt(at=now, outcome="skipped", detail="the customer does not accept this channel")
            uow.outbox.put(structs.replace(message, status=Status.SKIPPED, next_at=None, attempts=(*message.attempts, attempt)))
            return "skipped", None, ""
        quiet = quiet_until(now, record.profile.tz if record is not None else None)
        if quiet is not None:
            uow.outbox.put(structs.replace(message, next_at=quiet))
            return "held", None, ""
        leased = structs.replace(message, lease_owner=owner, lease_until=now + lease, next_at=now + lease)
        uow.outbox.put(leased)
        return "leased", leased, address

    return run


def _record(key: str, *, now: datetime, owner: str, error: str | None, max_attempts: int) -> Callable[[UnitOfWork], bool]:
    def run(uow: UnitOfWork) -> bool:
        message = uow.outbox.get(key)
        if message is None or message.status is not Status.PENDING or message.lease_owner != owner:
            return False  # the lease expired and another dispatcher owns the message now
        if error is None:
            attempt = Attempt(at=now, outcome="sent")
            uow.outbox.put(structs.replace(message, status=Status.SENT, next_at=None, sent_at=now, lease_owner=None, lease_until=None, attempts=(*message.attempts, attempt)))
            return True
        attempts = (*message.attempts, Attempt(at=now, outcome="error", detail=error[:500]))
        failures = sum(1 for a in attempts if a.outcome == "error")
        if failures >= max_attempts:
            uow.outbox.put(structs.replace(message, status=Status.FAILED, next_at=None, lease_owner=None, lease_until=None, attempts=attempts))
        else:
            uow.outbox.put(structs.replace(message, next_at=now + backoff(failures), lease_owner=None, lease_until=None, attempts=attempts))
        return True

    return run


def dispatch(
    store: Store,
    senders: Mapping[Channel, Sender],
    *,
    now: datetime,
    owner: str,
    limit: int = 200,
    lease: timedelta = LEASE,
    max_attempts: int = MAX_ATTEMPTS,
) -> DispatchReport:
    """Send up to ``limit`` due messages; ``owner`` names this dispatcher's leases (unique per run)."""
    report = DispatchReport()
    keys = store.read(lambda uow: uow.outbox.due(now, limit=limit))
    for key in keys:
        outcome, message, address = store.run(_lease(key, now=now, owner=owner, lease=lease))
        if outcome == "skipped":
            report.skipped += 1
        elif outcome == "held":
            report.held += 1
        if message is None:
            continue
        sender = senders.get(message.channel)
        error: str | None = None
        if sender is None:
            error = f"no {message.channel.value} channel is configured"
        else:
            try:
                sender.send(message, address)
            except Exception as exc:  # any failure of the channel is an attempt that failed
                error = f"{type(exc).__name__}: {exc}"
        if store.run(_record(key, now=now, owner=owner, error=error, max_attempts=max_attempts)):
            if error is None:
                report.sent += 1
                report.keys_sent.append(key)
            else:
                report.failed += 1
                log.warning("message not sent", extra={"key": key, "error": error})
    return report
