"""A partner's referral reward waiting in the partner's inbox to be folded into the account.

A referee's delivery does not write the partner's account document (every reward of a
popular partner would write that one document, about once a second at most on Firestore):
it creates ``customers/{partner}/reward_inbox/{order}``, keyed by the partner's line book of
the order, once. The next transaction on the partner's account folds what waits — one
``accrue`` posting per entry, under the key the reward always had, at the moment it was
earned — and marks the entries folded, in the same commit. Until then the partner's figures
are the account plus the entries still waiting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from shared.domain.ledger import Accrue


class RewardEntry(Struct, frozen=True):
    """``customers/{partner}/reward_inbox/{order_id}``: one reward not yet on the account."""

    partner_id: str
    order_id: str  # the partner's line book of the referee's order: ref-{referee}-{order}
    amount: int
    ref: str  # the referee's order
    accrued_at: datetime
    activates_at: datetime
    expires_at: datetime
    folded_at: datetime | None = None

    @property
    def key(self) -> str:
        """The posting key the reward is folded under (the key a reward always had)."""
        return f"referral:{self.order_id}"

    def accrual(self) -> Accrue:
        return Accrue(amount=self.amount, source="referral", ref=self.ref, activates_at=self.activates_at, expires_at=self.expires_at, order_id=self.order_id, merge=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "partner_id": self.partner_id,
            "order_id": self.order_id,
            "amount": self.amount,
            "ref": self.ref,
            "accrued_at": self.accrued_at,
            "activates_at": self.activates_at,
            "expires_at": self.expires_at,
            "folded": self.folded_at is not None,
            "folded_at": self.folded_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RewardEntry:
        return cls(
            partner_id=data["partner_id"],
            order_id=data["order_id"],
            amount=int(data["amount"]),
            ref=data["ref"],
            accrued_at=data["accrued_at"],
            activates_at=data["activates_at"],
            expires_at=data["expires_at"],
            folded_at=data.get("folded_at"),
        )
