"""Enqueue messages to customers: called INSIDE the transaction of their cause.

:func:`enqueue` writes one :class:`OutboxMessage` per channel the program's trigger is
sent on, under ``<trigger>:<cause>:<channel>``, only if no message with that key exists:
a retried or replayed cause enqueues nothing twice. The text is rendered here, at enqueue
time, from the config in force for the cause; the dispatcher (:mod:`shared.services.dispatch`)
only sends it. A disabled trigger, or a channel whose template is empty, enqueues nothing.

A trigger with a ``segment`` (:class:`shared.domain.segments.Segment`) enqueues only for the
customers in it, judged on the customer's record as it stands in the cause's unit of work (the
caller's, when it holds it; else read in the unit, where a record read already costs nothing)
and on the Moscow day. A trigger for everyone reads nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared.domain.clock import MSK
from shared.domain.config import ProgramConfig
from shared.domain.customer import CustomerRecord, facts_of
from shared.domain.messages import OutboxMessage, Trigger, message_key, render
from shared.domain.segments import matches
from shared.services.ports import UnitOfWork


def enqueue(
    uow: UnitOfWork,
    config: ProgramConfig,
    *,
    trigger: Trigger,
    cause: str,
    customer_id: str,
    variables: Mapping[str, object],
    due_at: datetime,
    now: datetime,
    fresh: bool = False,
    record: CustomerRecord | None = None,
) -> list[OutboxMessage]:
    """The messages this call created (none when the trigger is off or they exist already).

    ``cause`` is the natural key of what happened (an order id, ``<customer>:<date>`` …);
    ``variables`` are the trigger's (``program`` is added: the program's name).
    ``fresh``: the cause's own transaction guards that it happens once (an order's
    transition), so the keys are not read first; a create that met one anyway fails the
    transaction rather than send twice. ``record``: the customer's record, when the caller holds
    it (what the trigger's segment is judged on)."""
    settings = config.messages.of(trigger)
    if not settings.enabled or not in_segment(uow, config, trigger=trigger, customer_id=customer_id, now=now, record=record):
        return []
    values = {"program": config.name, **{name: str(value) for name, value in variables.items()}}
    created: list[OutboxMessage] = []
    for channel in dict.fromkeys(settings.channels):
        subject_template, body_template = settings.templates.for_channel(channel)
        if not body_template.strip():
            continue
        key = message_key(trigger, cause, channel)
        if not fresh and uow.outbox.get(key) is not None:
            continue
        message = OutboxMessage(
            key=key,
            customer_id=customer_id,
            trigger=trigger,
            channel=channel,
            subject=render(subject_template, values),
            body=render(body_template, values),
            variables=values,
            due_at=due_at,
            next_at=due_at,
            created_at=now,
        )
        uow.outbox.create(message)
        created.append(message)
    return created


def in_segment(uow: UnitOfWork, config: ProgramConfig, *, trigger: Trigger, customer_id: str, now: datetime, record: CustomerRecord | None = None) -> bool:
    """Is the customer in the trigger's segment? Always for a segment of everyone (nothing read);
    an unknown customer is in no other."""
    segment = config.messages.of(trigger).segment
    if segment.everyone:
        return True
    found = record if record is not None else uow.accounts.get(customer_id)
    return matches(segment, facts_of(config, found) if found is not None else None, now.astimezone(MSK))
