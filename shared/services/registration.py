"""Registration: a customer's account opened once, with the welcome bonus.

Arriving with a partner's link (``invited_by``) gives the invited welcome
bonus and records the partner; the referral is bound at the first paid order
(:func:`shared.services.customer_orders.pay`). Both postings are keyed by the
customer (``open:<customer>``, ``welcome:<customer>``), so registering again
changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from shared.domain import holds
from shared.domain.config import ProgramConfig
from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.ledger import Accrue, OpenAccount, require_utc
from shared.services.ledger import AccountSession
from shared.services.ports import Store, UnitOfWork


class Registration(Struct, frozen=True):
    """What registering did: whether the account was opened now, and the welcome bonus it got (0 when it existed)."""

    customer_id: str
    registered: bool
    welcome: int


def register_customer(store: Store, *, config: ProgramConfig, customer_id: str, now: datetime, invited_by: str | None = None, group: str | None = None) -> Registration:
    """Open a customer's account with the welcome bonus (once per customer).

    Arriving with a partner's link (``invited_by``) gives the invited welcome
    bonus; the referral is bound at the first paid order. An existing customer
    is never re-registered and gets no second bonus. A customer who joins a
    group excluded from bonuses gets no welcome bonus (the invitation is
    still recorded).
    """
    require_utc(now)
    if invited_by == customer_id:
        raise ValidationFailed("a customer cannot invite themselves", field="invited_by", message_ru="Нельзя пригласить самого себя.")
    if group is not None and group not in {g.code for g in config.groups}:
        raise ValidationFailed(f"unknown customer group {group!r}", field="group")

    def unit(uow: UnitOfWork) -> Registration:
        partner = AccountSession(uow, invited_by) if invited_by else None
        if partner is not None and not partner.exists:
            raise NotFound("the inviting partner does not exist", field="invited_by", message_ru="Пригласивший партнёр не найден.")
        session = AccountSession(uow, customer_id)
        if session.exists:
            return Registration(customer_id=customer_id, registered=False, welcome=0)
        session.record = session.record.set_referral(invited_by=invited_by, registered_at=now, referrer_id=None, paying_referees=0)
        joined = group or config.default_group
        session.post(f"open:{customer_id}", OpenAccount(group=joined, level=config.levels[0].code), now=now)
        # a group excluded from bonuses sees none: a welcome bonus would only be a hidden debt
        amount = 0 if config.group(joined).bonuses_excluded else holds.welcome_amount(config, invited=bool(invited_by))
        if amount:
            session.post(
                f"welcome:{customer_id}",
                Accrue(
                    amount=amount,
                    source="welcome_invited" if invited_by else "welcome",
                    ref=customer_id,
                    activates_at=holds.welcome_activation(config, now),
                    expires_at=holds.welcome_expiry(config, now),
                ),
                now=now,
            )
        return Registration(customer_id=customer_id, registered=True, welcome=amount)

    return store.run(unit)
