"""A partner's payout request and its steps: requested, then approved and paid, or rejected — or
canceled when a return's clawback takes back the rewards it holds.

A payout draws only on what the partner earned as a partner: referral rewards
past their hold (active lots of source :data:`PAYABLE_SOURCE`) that no
checkout or other request holds — the *payable* balance. Welcome, purchase,
birthday, adjustment and mass-accrual bonuses are spendable, never payable.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from shared.domain.history import PAYOUT_PREFIX
from shared.domain.ledger import Account

PAYABLE_SOURCE = "referral"
CLAWBACK_ACTOR = "clawback"  # the actor of a request a return canceled


def payable(account: Account, now: datetime) -> int:
    """Referral rewards past their hold and held by nothing: what a payout may draw on."""
    return sum(lot.remaining for lot in account.active_lots(now) if lot.source == PAYABLE_SOURCE)


def held_for_payouts(account: Account) -> int:
    """Bonuses held by open payout requests."""
    return sum(r.amount for r in account.reservations.values() if r.id.startswith(PAYOUT_PREFIX))


class PayoutStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"
    CANCELED = "canceled"  # a return took back rewards the request held (see shared.services.clawbacks)


class PayoutMethod(enum.StrEnum):
    CARD = "card"
    PHONE = "phone"
    SBP = "sbp"
    BONUS_ACCOUNT = "bonus_account"


class PayoutEvent(Struct, frozen=True):
    """One step of a request: the status it reached, when, by whom and why."""

    status: PayoutStatus
    at: datetime
    actor: str
    reason: str | None = None


class PayoutRequest(Struct, frozen=True):
    """``payouts/{request_id}``: ``amount`` bonuses held on the partner's account until decided.

    ``details`` is the destination masked; ``destination`` the full one, sealed
    (``None`` for the bonus account). ``decided_*`` and ``reason`` are set once a
    manager decides, ``paid_*`` once the money went out.
    """

    request_id: str
    customer_id: str
    amount: int
    method: PayoutMethod
    details: str
    status: PayoutStatus
    created_at: datetime
    updated_at: datetime
    history: tuple[PayoutEvent, ...] = ()
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    paid_by: str | None = None
    paid_at: datetime | None = None
    destination: str | None = None

    @classmethod
    def new(cls, *, request_id: str, customer_id: str, amount: int, method: PayoutMethod, details: str, now: datetime, destination: str | None = None) -> PayoutRequest:
        return cls(
            request_id=request_id,
            customer_id=customer_id,
            amount=amount,
            method=method,
            details=details,
            destination=destination,
            status=PayoutStatus.REQUESTED,
            created_at=now,
            updated_at=now,
            history=(PayoutEvent(PayoutStatus.REQUESTED, now, customer_id, None),),
        )

    def decided(self, status: PayoutStatus, *, by: str, reason: str | None, now: datetime) -> PayoutRequest:
        event = PayoutEvent(status, now, by, reason)
        return replace(self, status=status, updated_at=now, decided_by=by, decided_at=now, reason=reason, history=(*self.history, event))

    def canceled(self, *, reason: str, now: datetime) -> PayoutRequest:
        """Closed by a clawback (no person decided it): what it held went back or was taken back."""
        event = PayoutEvent(PayoutStatus.CANCELED, now, CLAWBACK_ACTOR, reason)
        return replace(self, status=PayoutStatus.CANCELED, updated_at=now, decided_by=CLAWBACK_ACTOR, decided_at=now, reason=reason, history=(*self.history, event))

    def paid(self, *, by: str, now: datetime) -> PayoutRequest:
        event = PayoutEvent(PayoutStatus.PAID, now, by, None)
        return replace(self, status=PayoutStatus.PAID, updated_at=now, paid_by=by, paid_at=now, history=(*self.history, event))

    def record(self) -> dict[str, Any]:
        """The request's fields as stored: the sealed destination when there is one, the
        decision's once decided, the payment's once paid (:meth:`audited` without the seal)."""
        record: dict[str, Any] = {
            "request_id": self.request_id,
            "customer_id": self.customer_id,
            "amount": self.amount,
            "method": self.method.value,
            "details": self.details,
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "history": [{"status": h.status.value, "at": h.at, "actor": h.actor, "reason": h.reason} for h in self.history],
        }
        if self.destination is not None:
            record["destination"] = self.destination
        if self.decided_at is not None:
            record.update(decided_by=self.decided_by, decided_at=self.decided_at, reason=self.reason)
        if self.paid_at is not None:
            record.update(paid_by=self.paid_by, paid_at=self.paid_at)
        return record

    def audited(self) -> dict[str, Any]:
        """The stored fields as the back office's audit log and approvals keep them: the
        destination masked only, never sealed or in full."""
        record = self.record()
        record.pop("destination", None)
        return record


class PayoutOutcome(Struct, frozen=True):
    """A request after a step, and whether the step had been taken before (nothing changed)."""

    request: PayoutRequest
    replayed: bool
