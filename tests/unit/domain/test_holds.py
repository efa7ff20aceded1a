"""holds: when bonuses become available and when they lapse, as functions of the config (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.domain import holds
from shared.domain.config import EarningEvent, EarningRule
from shared.presets import load_preset

AT = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _config(**changes):
    config = load_preset("biomiq")
    return config.model_copy(update=changes)


def test_a_lot_lives_the_programs_lifetime_unless_it_has_its_own():
    config = _config(lot_lifetime_days=365)
    assert holds.lot_expiry(config, AT) == AT + timedelta(days=365)
    assert holds.lot_expiry(config, AT, 30) == AT + timedelta(days=30)


def test_purchase_and_referral_holds_count_from_the_delivery():
    config = _config(hold_days=14)
    assert holds.purchase_activation(config, AT) == AT + timedelta(days=14)
    assert holds.referral_activation(config, AT) == AT + timedelta(days=config.referral_hold_days)
    own = config.model_copy(update={"referral": config.referral.model_copy(update={"hold_days": 30})})
    assert holds.referral_activation(own, AT) == AT + timedelta(days=30)


def test_the_welcome_bonus_its_activation_and_its_lifetime():
    config = _config(welcome=load_preset("biomiq").welcome.model_copy(update={"standard": 500, "invited": 1000, "activation_days": 2, "lifetime_days": 90}))
    assert (holds.welcome_amount(config, invited=False), holds.welcome_amount(config, invited=True)) == (500, 1000)
    assert holds.welcome_activation(config, AT) == AT + timedelta(days=2)
    assert holds.welcome_expiry(config, AT) == AT + timedelta(days=90)
    default = _config(welcome=config.welcome.model_copy(update={"lifetime_days": None}))
    assert holds.welcome_expiry(default, AT) == AT + timedelta(days=default.lot_lifetime_days)


def test_an_event_bonus_follows_its_rule():
    config = _config()
    rule = EarningRule(code="first", event=EarningEvent.FIRST_ORDER, amount=300, activation_days=7)
    assert holds.rule_activation(rule, AT) == AT + timedelta(days=7)
    assert holds.rule_expiry(config, rule, AT) == AT + timedelta(days=config.lot_lifetime_days)
    assert holds.rule_expiry(config, rule.model_copy(update={"lifetime_days": 60}), AT) == AT + timedelta(days=60)


def test_a_reservation_lapses_after_the_timeout():
    config = _config(reservation_timeout_minutes=60)
    assert holds.reservation_release(config, AT) == AT + timedelta(minutes=60)
    assert holds.unpaid_horizon(config, AT + timedelta(minutes=60)) == AT
