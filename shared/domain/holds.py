"""When bonuses become spendable and when they lapse: the program's holds and lifetimes (pure).

Every lot expires a lifetime after it was accrued (``lot_lifetime_days``, the
case studies' "one year from the accrual"), whatever its hold; a welcome
bonus or an earning rule may have a lifetime of its own. A purchase accrual
is held from the delivery (``hold_days``), a partner's reward by the
referral hold (``referral.hold_days``, else ``hold_days``), a welcome bonus
or an event bonus from its accrual by its ``activation_days``. An order no
carrier reports on counts as delivered by its shipping method's fallback
(``shipping.fallback_days``) after payment, active from then. A checkout's
reservation lapses ``reservation_timeout_minutes`` after it was made.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.domain.config import EarningRule, ProgramConfig


def lot_expiry(config: ProgramConfig, accrued_at: datetime, lifetime_days: int | None = None) -> datetime:
    """When a lot accrued at ``accrued_at`` expires (``lifetime_days``: its own lifetime, else the program's)."""
    return accrued_at + timedelta(days=lifetime_days or config.lot_lifetime_days)


def purchase_activation(config: ProgramConfig, delivered_at: datetime) -> datetime:
    """When a purchase accrual becomes available: the hold, counted from the delivery."""
    return delivered_at + timedelta(days=config.hold_days)


def delivery_fallback(config: ProgramConfig, shipping_method: str | None, paid_at: datetime) -> datetime | None:
    """When an order paid at ``paid_at`` counts as delivered if no carrier nor manager said so
    (the fallback of its shipping method; ``None``: it waits for them). Its bonuses are active
    from that moment: the fallback's days include the hold."""
    days = config.shipping.fallback_for(shipping_method)
    return None if days is None else paid_at + timedelta(days=days)


def referral_activation(config: ProgramConfig, delivered_at: datetime) -> datetime:
    """When a partner's reward on a referee's order becomes available: the referral hold from the delivery."""
    return delivered_at + timedelta(days=config.referral_hold_days)


def welcome_amount(config: ProgramConfig, *, invited: bool) -> int:
    """The welcome bonus of a new customer (arriving by a partner's link: the invited one)."""
    return config.welcome.invited if invited else config.welcome.standard


def welcome_activation(config: ProgramConfig, registered_at: datetime) -> datetime:
    """When the welcome bonus becomes available."""
    return registered_at + timedelta(days=config.welcome.activation_days)


def welcome_expiry(config: ProgramConfig, registered_at: datetime) -> datetime:
    """When the welcome bonus expires (its own lifetime, else the program's)."""
    return lot_expiry(config, registered_at, config.welcome_lifetime_days)


def rule_activation(rule: EarningRule, accrued_at: datetime) -> datetime:
    """When an event bonus (first order, birthday …) becomes available."""
    return accrued_at + timedelta(days=rule.activation_days)


def rule_expiry(config: ProgramConfig, rule: EarningRule, accrued_at: datetime) -> datetime:
    """When an event bonus expires (the rule's lifetime, else the program's)."""
    return lot_expiry(config, accrued_at, rule.lifetime_days)


def reservation_release(config: ProgramConfig, reserved_at: datetime) -> datetime:
    """When a checkout's reservation lapses if the order is not paid."""
    return reserved_at + timedelta(minutes=config.reservation_timeout_minutes)


def unpaid_horizon(config: ProgramConfig, now: datetime) -> datetime:
    """Orders placed at or before this moment and still unpaid have outlived their reservation."""
    return now - timedelta(minutes=config.reservation_timeout_minutes)
