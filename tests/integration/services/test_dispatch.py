"""The dispatcher on both stores: lease, send once, backoff, opt-out, quiet hours."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.domain.config import parse_config
from shared.domain.customer import CustomerRecord, Notifications
from shared.domain.messages import Channel, OutboxMessage, Status, Trigger
from shared.presets import preset_data
from shared.services.dispatch import dispatch
from shared.services.outbox import enqueue

CONFIG = parse_config(preset_data("biomiq"))
NOON_MSK = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


class Capture:
    """A channel that records what it was handed; ``fail`` times it refuses first."""

    def __init__(self, fail: int = 0) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.fail = fail

    def send(self, message: OutboxMessage, address: str) -> None:
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionError("provider down")
        self.sent.append((message.key, address, message.body))


def _customer(store, *, email: bool = True, tz: str | None = None) -> None:
    record = CustomerRecord.new("maria").set_profile(phone="+79990000001", email="maria@example.ru", telegram_id=42, notifications=Notifications(sms=True, email=email, telegram=True), tz=tz)
    store.run(lambda uow: uow.accounts.save(record))


def _enqueue(store, *, due_at: datetime, now: datetime = NOON_MSK) -> None:
    store.run(lambda uow: enqueue(uow, CONFIG, trigger=Trigger.BONUS_AVAILABLE, cause="o-1", customer_id="maria", variables={"amount": 150}, due_at=due_at, now=now))


def _channels(**fail: int) -> dict[Channel, Capture]:
    return {channel: Capture(fail.get(channel.value, 0)) for channel in Channel}


def test_each_message_goes_once_on_each_channel_however_often_dispatch_runs(store):
    _customer(store)
    _enqueue(store, due_at=NOON_MSK)
    channels = _channels()
    first = dispatch(store, channels, now=NOON_MSK, owner="a")
    again = dispatch(store, channels, now=NOON_MSK + timedelta(hours=1), owner="b")
    assert first.sent == 3 and again.sent == 0
    assert channels[Channel.SMS].sent == [("bonus_available:o-1:sms", "+79990000001", f"{CONFIG.name}: 150 бонусов доступны, их можно тратить.")]
    assert [a for _, a, _ in channels[Channel.EMAIL].sent] == ["maria@example.ru"]
    assert [a for _, a, _ in channels[Channel.TELEGRAM].sent] == ["42"]
    sms = store.read(lambda uow: uow.outbox.get("bonus_available:o-1:sms"))
    assert sms.status is Status.SENT and sms.sent_at == NOON_MSK and [a.outcome for a in sms.attempts] == ["sent"]


def test_a_message_is_not_sent_before_it_is_due(store):
    _customer(store)
    _enqueue(store, due_at=NOON_MSK + timedelta(days=14))
    channels = _channels()
    assert dispatch(store, channels, now=NOON_MSK, owner="a").sent == 0
    assert dispatch(store, channels, now=NOON_MSK + timedelta(days=14), owner="a").sent == 3


def test_a_customer_who_switched_email_off_gets_no_email(store):
    _customer(store, email=False)
    _enqueue(store, due_at=NOON_MSK)
    channels = _channels()
    report = dispatch(store, channels, now=NOON_MSK, owner="a")
    assert report.sent == 2 and report.skipped == 1 and channels[Channel.EMAIL].sent == []
    assert store.read(lambda uow: uow.outbox.get("bonus_available:o-1:email")).status is Status.SKIPPED


def test_a_message_due_at_23_moscow_goes_at_9(store):
    late = datetime(2026, 3, 1, 20, 0, tzinfo=timezone.utc)  # 23:00 in Moscow
    nine = datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc)
    _customer(store)
    _enqueue(store, due_at=late)
    channels = _channels()
    assert dispatch(store, channels, now=late, owner="a").held == 3
    assert dispatch(store, channels, now=nine - timedelta(minutes=1), owner="a").sent == 0
    assert dispatch(store, channels, now=nine, owner="a").sent == 3


def test_quiet_hours_follow_the_customers_time_zone(store):
    _customer(store, tz="Asia/Vladivostok")  # 19:00 there at noon in Moscow: not quiet
    _enqueue(store, due_at=NOON_MSK)
    assert dispatch(store, _channels(), now=NOON_MSK + timedelta(hours=3), owner="a").held == 3  # 22:00 there


def test_a_failing_channel_is_retried_with_backoff_then_given_up(store):
    _customer(store)
    _enqueue(store, due_at=NOON_MSK)
    channels = _channels(sms=2, telegram=99)
    now = NOON_MSK
    dispatch(store, channels, now=now, owner="a")
    sms = store.read(lambda uow: uow.outbox.get("bonus_available:o-1:sms"))
    assert sms.status is Status.PENDING and sms.next_at == now + timedelta(minutes=1)
    assert dispatch(store, channels, now=now + timedelta(seconds=30), owner="a").sent == 0
    dispatch(store, channels, now=now + timedelta(minutes=1), owner="a")
    assert store.read(lambda uow: uow.outbox.get("bonus_available:o-1:sms")).next_at == now + timedelta(minutes=3)
    dispatch(store, channels, now=now + timedelta(minutes=3), owner="a")
    assert len(channels[Channel.SMS].sent) == 1
    for minutes in (7, 15, 31):
        dispatch(store, channels, now=now + timedelta(minutes=minutes), owner="a")
    telegram = store.read(lambda uow: uow.outbox.get("bonus_available:o-1:telegram"))
    assert telegram.status is Status.FAILED and [a.outcome for a in telegram.attempts] == ["error"] * 5 and telegram.next_at is None


def test_a_lease_hides_a_message_from_a_second_dispatcher_until_it_expires(store):
    _customer(store)
    _enqueue(store, due_at=NOON_MSK)
    key = "bonus_available:o-1:sms"
    from shared.services.dispatch import _lease

    outcome, leased, _ = store.run(_lease(key, now=NOON_MSK, owner="crashed", lease=timedelta(minutes=2)))
    assert outcome == "leased" and leased.lease_owner == "crashed"
    channels = _channels()
    assert key not in dispatch(store, channels, now=NOON_MSK + timedelta(minutes=1), owner="b").keys_sent
    assert key in dispatch(store, channels, now=NOON_MSK + timedelta(minutes=2), owner="c").keys_sent
    assert [k for k, _, _ in channels[Channel.SMS].sent] == [key]
