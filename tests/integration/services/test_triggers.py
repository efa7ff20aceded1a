"""The causes' messages on both stores: each trigger enqueues once per cause, never on a retry, and not when off."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.config import ProgramConfig
from shared.domain.messages import Channel, Trigger
from shared.platform.sealing import Sealer
from shared.presets import load_preset
from shared.services import account_sweep, orders, payouts, registration, sweeps
from shared.services.ledger import load_account
from tests.integration.services.payout_story import past_hold, referee_order
from tests.integration.services.test_levels import BIG, _pay, _return, biomiq

SEALER = Sealer("test-payout-secret-of-at-least-32-bytes!")


def switched(config: ProgramConfig, trigger: Trigger, enabled: bool, channels: tuple[Channel, ...] = (Channel.SMS,)) -> ProgramConfig:
    """``config`` with ``trigger`` on or off, sent on ``channels``."""
    settings = config.messages.of(trigger).model_copy(update={"enabled": enabled, "channels": channels})
    return config.model_copy(update={"messages": config.messages.model_copy(update={trigger.value: settings})})


def messages(store, trigger: Trigger, customer_id: str | None = None) -> list:
    found = store.read(lambda uow: uow.outbox.of_customer(customer_id, limit=100)) if customer_id else []
    return [m for m in found if m.trigger is trigger]


def test_a_level_up_and_a_level_down_are_told_once_each(store, now):
    config = switched(biomiq(), Trigger.LEVEL_CHANGED, True)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", BIG, now)
    orders.mark_paid(store, config=config, order_id="A1", payment=orders.PaymentRef(provider="test", id="p-A1", amount=10_000_000), now=now)  # a replayed payment
    up = messages(store, Trigger.LEVEL_CHANGED, "anna")
    level3 = config.level("level3").name
    assert [(m.key, m.body) for m in up] == [(f"level_changed:level:anna:level3:{now.date()}:sms", f"{config.name}: ваш уровень теперь «{level3}».")]

    _return(store, config, "A1", "R1", None, now + timedelta(days=2))
    _return(store, config, "A1", "R1", None, now + timedelta(days=2))  # the same return again
    assert load_account(store, "anna").level == "level1"
    keys = [m.key for m in messages(store, Trigger.LEVEL_CHANGED, "anna")]
    assert keys == [f"level_changed:level:anna:level1:{(now + timedelta(days=2)).date()}:sms", f"level_changed:level:anna:level3:{now.date()}:sms"]


def test_a_rolling_window_downgrade_by_the_sweep_is_told_once(store, now):
    config = switched(biomiq(kind="rolling", window_days=30, downgrade=True), Trigger.LEVEL_CHANGED, True)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", BIG, now)
    later = now + timedelta(days=40)
    account_sweep.sweep_account(store, config=config, customer_id="anna", now=later)
    account_sweep.sweep_account(store, config=config, customer_id="anna", now=later + timedelta(hours=1))
    assert load_account(store, "anna").level == "level1"
    assert [m.variables["level"] for m in messages(store, Trigger.LEVEL_CHANGED, "anna")] == [config.level("level1").name, config.level("level3").name]


def test_no_level_message_while_the_trigger_is_off(store, now):
    config = switched(biomiq(), Trigger.LEVEL_CHANGED, False)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", BIG, now)
    assert load_account(store, "anna").level == "level3" and messages(store, Trigger.LEVEL_CHANGED, "anna") == []


def test_the_partner_hears_of_a_reward_once_when_it_is_credited(store, now):
    config = switched(load_preset("biomiq"), Trigger.REFERRAL_REWARD, True)
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    referee_order(store, config, partner="maria", referee="anna", order_id="A1", at=now)
    orders.mark_delivered(store, config=config, order_id="A1", delivered_at=now, now=now + timedelta(hours=1), carrier="test")  # reported again
    told = messages(store, Trigger.REFERRAL_REWARD, "maria")
    assert [(m.key, m.variables["amount"]) for m in told] == [("referral_reward:ref-anna-A1:sms", "500")]
    assert "500" in told[0].body and messages(store, Trigger.REFERRAL_REWARD, "anna") == []


def test_no_reward_message_while_the_trigger_is_off(store, now):
    config = switched(load_preset("biomiq"), Trigger.REFERRAL_REWARD, False)
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    referee_order(store, config, partner="maria", referee="anna", order_id="A1", at=now)
    assert messages(store, Trigger.REFERRAL_REWARD, "maria") == []


def test_each_payout_status_is_told_once(store, now):
    config = switched(load_preset("biomiq"), Trigger.PAYOUT_STATUS, True)
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    delivered = now - timedelta(days=config.referral_hold_days + 1)
    referee_order(store, config, partner="maria", referee="anna", order_id="A1", at=delivered)
    at = max(now, past_hold(config, delivered))
    for _ in range(2):
        payouts.request_payout(store, config=config, customer_id="maria", request_id="payout-0001", amount=500, method="phone", details="+7 916 000-00-11", now=at, sealer=SEALER)
        payouts.decide_request(store, request_id="payout-0001", decision="approve", actor="manager@shop", now=at, config=config)
        payouts.settle(store, request_id="payout-0001", actor="accountant@shop", now=at, config=config)
    told = messages(store, Trigger.PAYOUT_STATUS, "maria")
    assert sorted((m.key, m.variables["status"]) for m in told) == [
        ("payout_status:payout-0001:approved:sms", "одобрена"),
        ("payout_status:payout-0001:paid:sms", "выплачена"),
        ("payout_status:payout-0001:requested:sms", "заявка принята"),
    ]
    assert all("500" in m.body for m in told)


def test_a_rejected_payout_is_told_and_nothing_when_the_trigger_is_off(store, now):
    config = switched(load_preset("biomiq"), Trigger.PAYOUT_STATUS, True)
    off = switched(config, Trigger.PAYOUT_STATUS, False)
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    delivered = now - timedelta(days=config.referral_hold_days + 1)
    referee_order(store, config, partner="maria", referee="anna", order_id="A1", at=delivered)
    at = max(now, past_hold(config, delivered))
    payouts.request_payout(store, config=off, customer_id="maria", request_id="payout-0001", amount=500, method="phone", details="+7 916 000-00-11", now=at, sealer=SEALER)
    payouts.decide_request(store, request_id="payout-0001", decision="reject", actor="manager@shop", now=at, reason="не тот номер", config=config)
    assert [m.key for m in messages(store, Trigger.PAYOUT_STATUS, "maria")] == ["payout_status:payout-0001:rejected:sms"]


def test_the_birthday_grant_is_told_once_a_year(store, now):
    config = switched(load_preset("biomiq"), Trigger.BIRTHDAY, True, (Channel.SMS, Channel.EMAIL))
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    assert sweeps.credit_birthday(store, config=config, customer_id="anna", now=now) == 300
    assert sweeps.credit_birthday(store, config=config, customer_id="anna", now=now + timedelta(hours=2)) == 0
    told = messages(store, Trigger.BIRTHDAY, "anna")
    assert sorted(m.key for m in told) == [f"birthday:anna:{now.year}:email", f"birthday:anna:{now.year}:sms"]
    assert all("300" in m.body for m in told)
    assert sweeps.credit_birthday(store, config=config, customer_id="anna", now=now + timedelta(days=365)) == 300
    assert len(messages(store, Trigger.BIRTHDAY, "anna")) == 4


def test_no_birthday_message_while_the_trigger_is_off(store, now):
    config = switched(load_preset("biomiq"), Trigger.BIRTHDAY, False)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    assert sweeps.credit_birthday(store, config=config, customer_id="anna", now=now) == 300
    assert messages(store, Trigger.BIRTHDAY, "anna") == []


def test_the_back_office_lists_a_customers_messages_newest_first_and_only_for_a_reader(store, now):
    import pytest

    from shared.domain.errors import Forbidden
    from shared.edge.admin_auth import Admin
    from shared.services.admin.messages import customer_messages

    config = switched(load_preset("biomiq"), Trigger.BIRTHDAY, True, (Channel.SMS, Channel.TELEGRAM))
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    sweeps.credit_birthday(store, config=config, customer_id="anna", now=now)
    sweeps.credit_birthday(store, config=config, customer_id="anna", now=now + timedelta(days=365))
    listed = customer_messages(store, Admin("manager@shop.example", ("manager",)), customer_id="anna")
    assert [(m.created_at, m.channel) for m in listed][::2] == [(now + timedelta(days=365), listed[0].channel), (now, listed[2].channel)]
    assert len(listed) == 4 and {m.customer_id for m in listed} == {"anna"}
    with pytest.raises(Forbidden):
        customer_messages(store, Admin("nobody@shop.example", ()), customer_id="anna")


def test_an_admin_lists_the_failed_messages_and_nobody_else(store, now):
    import msgspec
    import pytest

    from shared.domain.errors import Forbidden
    from shared.domain.messages import Status
    from shared.edge.admin_auth import Admin
    from shared.services.admin.messages import failed_messages

    config = switched(load_preset("biomiq"), Trigger.BIRTHDAY, True, (Channel.SMS, Channel.EMAIL))
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    sweeps.credit_birthday(store, config=config, customer_id="anna", now=now)
    sms = store.read(lambda uow: uow.outbox.get(f"birthday:anna:{now.year}:sms"))
    store.run(lambda uow: uow.outbox.put(msgspec.structs.replace(sms, status=Status.FAILED, next_at=None)))
    assert [m.key for m in failed_messages(store, Admin("admin@shop.example", ("admin",)))] == [sms.key]
    with pytest.raises(Forbidden):
        failed_messages(store, Admin("manager@shop.example", ("manager",)))


def test_the_bonuses_of_a_payment_are_told_once_when_the_shop_turned_it_on(store, now):
    config = switched(biomiq(), Trigger.BONUS_CREDITED, True)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", BIG, now)
    orders.mark_paid(store, config=config, order_id="A1", payment=orders.PaymentRef(provider="test", id="p-A1", amount=10_000_000), now=now)  # a replayed payment
    earned = store.read(lambda uow: uow.line_books.get("anna", "A1")).earned
    assert earned > 0
    told = messages(store, Trigger.BONUS_CREDITED, "anna")
    assert [(m.key, m.variables["amount"]) for m in told] == [("bonus_credited:A1:sms", str(earned))]
    assert f"начислено {earned} бонусов" in told[0].body


def test_no_payment_message_by_default(store, now):
    config = biomiq()
    assert not config.messages.of(Trigger.BONUS_CREDITED).enabled
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    _pay(store, config, "anna", "A1", BIG, now)
    assert messages(store, Trigger.BONUS_CREDITED, "anna") == []
