"""Contract of the outbox (``uow.outbox``) and of :func:`enqueue`, on both stores."""

from __future__ import annotations

from datetime import timedelta

from shared.adapters import layout
from shared.domain.config import parse_config
from shared.domain.messages import Attempt, Channel, OutboxMessage, Status, Trigger
from shared.presets import preset_data
from shared.services.outbox import enqueue

_PRESET = parse_config(preset_data("biomiq"))
#: The preset with the payment message (off by default) turned on, on every channel.
CONFIG = _PRESET.model_copy(update={"messages": _PRESET.messages.model_copy(update={"bonus_credited": _PRESET.messages.bonus_credited.model_copy(update={"enabled": True})})})


def test_a_message_round_trips_and_only_pending_ones_are_due(store, now):
    message = OutboxMessage(
        key="bonus_credited:o-1:sms", customer_id="anna", trigger=Trigger.BONUS_CREDITED, channel=Channel.SMS,
        body="Начислено 150 бонусов", variables={"amount": "150"}, due_at=now, next_at=now, created_at=now,
    )
    store.run(lambda uow: uow.outbox.create(message))
    assert store.read(lambda uow: uow.outbox.get(message.key)) == message
    assert store.read(lambda uow: uow.get(layout.outbox_message(message.key)))["status"] == "pending"
    assert store.read(lambda uow: uow.outbox.due(now, limit=10)) == [message.key]
    assert store.read(lambda uow: uow.outbox.due(now - timedelta(seconds=1), limit=10)) == []
    sent = OutboxMessage(**{**{f: getattr(message, f) for f in message.__struct_fields__}, "status": Status.SENT, "next_at": None, "sent_at": now, "attempts": (Attempt(at=now, outcome="sent"),)})
    store.run(lambda uow: uow.outbox.put(sent))
    assert store.read(lambda uow: uow.outbox.get(message.key)) == sent
    assert store.read(lambda uow: uow.outbox.due(now + timedelta(days=1), limit=10)) == []


def test_enqueue_creates_one_message_per_channel_once_however_often_the_cause_runs(store, now):
    def cause(uow):
        return enqueue(uow, CONFIG, trigger=Trigger.BONUS_CREDITED, cause="o-1", customer_id="anna", variables={"amount": 150}, due_at=now, now=now)

    first = store.run(cause)
    assert sorted(m.channel.value for m in first) == ["email", "sms", "telegram"]
    assert store.run(cause) == []
    keys = store.read(lambda uow: uow.outbox.due(now, limit=10))
    assert sorted(keys) == ["bonus_credited:o-1:email", "bonus_credited:o-1:sms", "bonus_credited:o-1:telegram"]
    email = store.read(lambda uow: uow.outbox.get("bonus_credited:o-1:email"))
    assert email.subject == "Начислены бонусы" and "150 бонусов" in email.body and CONFIG.name in email.body


def test_a_disabled_trigger_enqueues_nothing(store, now):
    assert store.run(lambda uow: enqueue(uow, CONFIG, trigger=Trigger.WINBACK, cause="anna:2026-03", customer_id="anna", variables={"bonus": 100, "days": 90}, due_at=now, now=now)) == []
    assert store.read(lambda uow: uow.outbox.due(now, limit=10)) == []
