"""A trigger's segment on both stores: its messages go only to the customers in it (judged on the
record of the cause's own transaction), and the win-back's bonus follows its message."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.domain.messages import Channel, Trigger
from shared.domain.segments import Segment
from shared.presets import preset_data
from shared.services import orders, registration, sweeps
from shared.services.ledger import postings
from tests.integration.services.test_levels import BIG, _pay
from tests.integration.services.test_triggers import messages

CUP = CartLine(id="cup", price=100_000, quantity=2)  # 2 000 ₽


def _config(trigger: Trigger, segment: Segment, **settings: object) -> ProgramConfig:
    """Biomiq with a VIP group, ``trigger`` on (SMS) for ``segment``."""
    data = preset_data("biomiq")
    data["groups"] = [{"code": "b2c", "name": "Розница"}, {"code": "vip", "name": "Постоянные"}]
    config = ProgramConfig.model_validate(data)
    changed = config.messages.of(trigger).model_copy(update={"enabled": True, "channels": (Channel.SMS,), "segment": segment, **settings})
    return config.model_copy(update={"messages": config.messages.model_copy(update={trigger.value: changed})})


def test_a_winback_for_one_group_reaches_only_that_group_and_only_it_gets_the_bonus(store, now):
    config = _config(Trigger.WINBACK, Segment(groups=("vip",)), days=60, bonus=250)
    registration.register_customer(store, config=config, customer_id="anna", now=now, group="vip")
    registration.register_customer(store, config=config, customer_id="boris", now=now)
    _pay(store, config, "anna", "A1", [CUP], now)
    _pay(store, config, "boris", "B1", [CUP], now)
    swept = sweeps.run_sweep(store, config=config, now=now + timedelta(days=61))
    assert (swept["winbacks"], swept["winback_bonuses"]) == (1, 250)
    assert [m.key for m in messages(store, Trigger.WINBACK, "anna")] == [f"winback:anna:{now.date()}:sms"]
    assert messages(store, Trigger.WINBACK, "boris") == []
    assert [p.key for p in postings(store, "boris") if p.key.startswith("winback:")] == []
    assert [p.key for p in postings(store, "anna") if p.key.startswith("winback:")] == [f"winback:anna:{now.date()}"]


def test_a_payment_message_for_a_level_and_a_paid_total_is_judged_on_the_payment_itself(store, now):
    config = _config(Trigger.BONUS_CREDITED, Segment(levels=("level3",), paid_total_min=5_000_000))
    for customer_id in ("anna", "boris"):
        registration.register_customer(store, config=config, customer_id=customer_id, now=now)
    _pay(store, config, "anna", "A1", BIG, now)  # 100 000 ₽: the third level, reached by this very payment
    _pay(store, config, "boris", "B1", [CUP], now)
    assert [m.key for m in messages(store, Trigger.BONUS_CREDITED, "anna")] == ["bonus_credited:A1:sms"]
    assert messages(store, Trigger.BONUS_CREDITED, "boris") == []


def test_a_birthday_message_for_a_level_skips_the_others_but_not_their_grant(store, now):
    config = _config(Trigger.BIRTHDAY, Segment(levels=("level3",)))
    for customer_id in ("anna", "boris"):
        registration.register_customer(store, config=config, customer_id=customer_id, now=now)
    _pay(store, config, "anna", "A1", BIG, now)
    assert sweeps.credit_birthday(store, config=config, customer_id="anna", now=now) == 300
    assert sweeps.credit_birthday(store, config=config, customer_id="boris", now=now) == 300  # the grant is the earning rule's
    assert [m.key for m in messages(store, Trigger.BIRTHDAY, "anna")] == [f"birthday:anna:{now.year}:sms"]
    assert messages(store, Trigger.BIRTHDAY, "boris") == []


def test_a_trigger_for_everyone_reaches_every_customer(store, now):
    config = _config(Trigger.BONUS_CREDITED, Segment())
    for customer_id in ("anna", "boris"):
        registration.register_customer(store, config=config, customer_id=customer_id, now=now)
        _pay(store, config, customer_id, f"{customer_id}-1", [CUP], now)
    assert [len(messages(store, Trigger.BONUS_CREDITED, c)) for c in ("anna", "boris")] == [1, 1]


def test_a_payments_segment_costs_no_document_read_more_than_a_message_for_everyone(firestore_store, now):
    counted = []
    for n, segment in enumerate((Segment(), Segment(levels=("level3",)))):
        config = _config(Trigger.BONUS_CREDITED, segment)
        registration.register_customer(firestore_store, config=config, customer_id=f"c{n}", now=now)
        order_id = f"O{n}"
        order, _ = orders.place_order(firestore_store, config=config, customer_id=f"c{n}", order_id=order_id, lines=BIG, bonuses=0, now=now)
        before = firestore_store.stats["reads"]
        orders.mark_paid(firestore_store, config=config, order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=order.money_to_pay), now=now)
        counted.append(firestore_store.stats["reads"] - before)
        assert len(messages(firestore_store, Trigger.BONUS_CREDITED, f"c{n}")) == 1
    assert counted[0] == counted[1]  # the segment is judged on the record the payment's unit holds already
