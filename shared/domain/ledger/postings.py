"""Postings: the immutable ledger entries, and the one way an account changes.

Every change is a :class:`Posting`: a frozen record of *movements*. The only
way an account changes is :func:`apply_posting`; the account is therefore,
by construction, the fold of its postings, and :func:`fold` recomputes it
from scratch for audits and tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from msgspec import Struct, field

from shared.domain.ledger.movements import (
    Credit,
    Debit,
    Debt,
    Movement,
    Seize,
    movement_from_dict,
)
from shared.domain.ledger.state import Account, check_invariants, digest


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def fingerprint(kind: str, intent: Mapping[str, Any]) -> str:
    """A stable hash of an operation's intent (the replay check): its kind and intent fields."""
    return digest(json.dumps({"kind": kind, "intent": _jsonable(dict(intent))}, sort_keys=True), 40)


def posting_id(key: str) -> str:
    """The document id of the posting for an idempotency key: scattered, never sequential."""
    return digest(key, 40)


class Posting(Struct, frozen=True):
    """One immutable ledger entry: what happened, why, and its movements.

    ``outcome`` is the stored form of the command's outcome (see
    :mod:`shared.domain.ledger.outcomes`).
    """

    key: str
    kind: str
    at: datetime
    fingerprint: str
    movements: tuple[Movement, ...]
    outcome: Mapping[str, Any] = field(default_factory=dict)
    customer_id: str = ""
    seq: int = 0
    order_id: str | None = None
    actor: str | None = None
    reason: str | None = None

    @property
    def id(self) -> str:
        return posting_id(self.key)

    @property
    def delta(self) -> int:
        """Net change of the customer's bonuses (total) by this posting."""
        change = 0
        for m in self.movements:
            if isinstance(m, Credit):
                change += m.amount
            elif isinstance(m, (Debit, Seize)):
                change -= m.amount
            elif isinstance(m, Debt):
                change -= m.delta
        return change

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "at": self.at,
            "fingerprint": self.fingerprint,
            "movements": [m.to_dict() for m in self.movements],
            "outcome": dict(self.outcome),
            "customer_id": self.customer_id,
            "seq": self.seq,
            "order_id": self.order_id,
            "actor": self.actor,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Posting:
        return cls(
            key=data["key"],
            kind=data["kind"],
            at=data["at"],
            fingerprint=data["fingerprint"],
            movements=tuple(movement_from_dict(m) for m in data.get("movements") or ()),
            outcome=dict(data.get("outcome") or {}),
            customer_id=data.get("customer_id") or "",
            seq=data.get("seq") or 0,
            order_id=data.get("order_id"),
            actor=data.get("actor"),
            reason=data.get("reason"),
        )


def apply_posting(account: Account, posting: Posting) -> Account:
    """Return the account after ``posting``: the single way an account changes."""
    new = account.copy()
    for movement in posting.movements:
        movement.apply(new)
    new.seq = max(account.seq, posting.seq)
    check_invariants(new)
    return new


def fold(customer_id: str, postings: Iterable[Posting]) -> Account:
    """Recompute an account from its postings, in sequence order."""
    account = Account(customer_id=customer_id)
    for posting in sorted(postings, key=lambda p: p.seq):
        account = apply_posting(account, posting)
    return account
