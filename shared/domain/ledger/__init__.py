"""The bonus ledger, as pure values and functions over one customer's account.

* :mod:`.state` – the account: lots, reservations, debt, level statistics, balances;
* :mod:`.movements` – the closed set of changes a posting makes;
* :mod:`.postings` – the frozen ledger entry, :func:`apply_posting` and :func:`fold`;
* :mod:`.commands`, :mod:`.account_commands` – one command per operation, carrying
  its intent and computing its fingerprint;
* :mod:`.outcomes` – what each command answers.
"""

from __future__ import annotations

from typing import Any

from shared.domain.ledger.account_commands import (
    ChangeGroup,
    Note,
    OpenAccount,
    OverrideLevel,
    RecordPurchase,
    SetLevel,
)
from shared.domain.ledger.commands import (
    Accrue,
    Adjust,
    Command,
    Expire,
    Refund,
    Release,
    Reserve,
    Reverse,
    ScheduleActivation,
    Spend,
)
from shared.domain.ledger.movements import (
    Credit,
    Debit,
    Debt,
    GroupChange,
    Hold,
    LevelChange,
    LevelOverrideChange,
    Movement,
    Purchase,
    Schedule,
    TrimWindow,
    Unhold,
    movement_from_dict,
)
from shared.domain.ledger.outcomes import (
    Accrued,
    Adjusted,
    Expired,
    GroupChanged,
    LevelOverridden,
    LevelSet,
    Noted,
    Opened,
    PurchaseRecorded,
    Refunded,
    Released,
    Reserved,
    Reversed,
    Scheduled,
    Spent,
)
from shared.domain.ledger.postings import (
    Posting,
    apply_posting,
    fingerprint,
    fold,
    posting_id,
)
from shared.domain.ledger.state import (
    Account,
    Allocation,
    Balances,
    Lot,
    Reservation,
    check_invariants,
    digest,
    lot_id_for,
    require_utc,
)

# The command type of each stored posting kind.
COMMANDS: dict[str, type[Command[Any]]] = {
    command.kind: command
    for command in (Note, OpenAccount, Accrue, ScheduleActivation, Reserve, Release, Spend, Refund, Reverse, Expire, Adjust, RecordPurchase, SetLevel, OverrideLevel, ChangeGroup)
}

__all__ = [
    "COMMANDS",
    "Account",
    "Accrue",
    "Accrued",
    "Adjust",
    "Adjusted",
    "Allocation",
    "Balances",
    "ChangeGroup",
    "Command",
    "Credit",
    "Debit",
    "Debt",
    "Expire",
    "Expired",
    "GroupChange",
    "GroupChanged",
    "Hold",
    "LevelChange",
    "LevelOverridden",
    "LevelOverrideChange",
    "LevelSet",
    "Lot",
    "Movement",
    "Note",
    "Noted",
    "OpenAccount",
    "Opened",
    "OverrideLevel",
    "Posting",
    "Purchase",
    "PurchaseRecorded",
    "RecordPurchase",
    "Refund",
    "Refunded",
    "Release",
    "Released",
    "Reservation",
    "Reserve",
    "Reserved",
    "Reverse",
    "Reversed",
    "Schedule",
    "ScheduleActivation",
    "Scheduled",
    "SetLevel",
    "Spend",
    "Spent",
    "TrimWindow",
    "Unhold",
    "apply_posting",
    "check_invariants",
    "digest",
    "fingerprint",
    "fold",
    "lot_id_for",
    "movement_from_dict",
    "posting_id",
    "require_utc",
]
