"""The bonus ledger, as pure values and functions over one customer's account.

* :mod:`.state` – the account: lots, reservations, debt, level statistics, balances;
* :mod:`.movements` – the closed set of changes a posting makes;
* :mod:`.postings` – the frozen ledger entry, :func:`apply_posting` and :func:`fold`;
* :mod:`.commands`, :mod:`.account_commands` – one command per operation, carrying
  its intent and computing its fingerprint;
* :mod:`.outcomes` – what each command answers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        Seize,
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

# Each name is imported from its module on first use: a caller that needs the account's state
# does not load the commands, outcomes and movements.
_HOMES = {
    "Account": "shared.domain.ledger.state",
    "Accrue": "shared.domain.ledger.commands",
    "Accrued": "shared.domain.ledger.outcomes",
    "Adjust": "shared.domain.ledger.commands",
    "Adjusted": "shared.domain.ledger.outcomes",
    "Allocation": "shared.domain.ledger.state",
    "Balances": "shared.domain.ledger.state",
    "ChangeGroup": "shared.domain.ledger.account_commands",
    "Command": "shared.domain.ledger.commands",
    "Credit": "shared.domain.ledger.movements",
    "Debit": "shared.domain.ledger.movements",
    "Debt": "shared.domain.ledger.movements",
    "Expire": "shared.domain.ledger.commands",
    "Expired": "shared.domain.ledger.outcomes",
    "GroupChange": "shared.domain.ledger.movements",
    "GroupChanged": "shared.domain.ledger.outcomes",
    "Hold": "shared.domain.ledger.movements",
    "LevelChange": "shared.domain.ledger.movements",
    "LevelOverridden": "shared.domain.ledger.outcomes",
    "LevelOverrideChange": "shared.domain.ledger.movements",
    "LevelSet": "shared.domain.ledger.outcomes",
    "Lot": "shared.domain.ledger.state",
    "Movement": "shared.domain.ledger.movements",
    "Note": "shared.domain.ledger.account_commands",
    "Noted": "shared.domain.ledger.outcomes",
    "OpenAccount": "shared.domain.ledger.account_commands",
    "Opened": "shared.domain.ledger.outcomes",
    "OverrideLevel": "shared.domain.ledger.account_commands",
    "Posting": "shared.domain.ledger.postings",
    "Purchase": "shared.domain.ledger.movements",
    "PurchaseRecorded": "shared.domain.ledger.outcomes",
    "RecordPurchase": "shared.domain.ledger.account_commands",
    "Refund": "shared.domain.ledger.commands",
    "Refunded": "shared.domain.ledger.outcomes",
    "Release": "shared.domain.ledger.commands",
    "Released": "shared.domain.ledger.outcomes",
    "Reservation": "shared.domain.ledger.state",
    "Reserve": "shared.domain.ledger.commands",
    "Reserved": "shared.domain.ledger.outcomes",
    "Reverse": "shared.domain.ledger.commands",
    "Reversed": "shared.domain.ledger.outcomes",
    "Schedule": "shared.domain.ledger.movements",
    "ScheduleActivation": "shared.domain.ledger.commands",
    "Seize": "shared.domain.ledger.movements",
    "Scheduled": "shared.domain.ledger.outcomes",
    "SetLevel": "shared.domain.ledger.account_commands",
    "Spend": "shared.domain.ledger.commands",
    "Spent": "shared.domain.ledger.outcomes",
    "TrimWindow": "shared.domain.ledger.movements",
    "Unhold": "shared.domain.ledger.movements",
    "apply_posting": "shared.domain.ledger.postings",
    "check_invariants": "shared.domain.ledger.state",
    "digest": "shared.domain.ledger.state",
    "fingerprint": "shared.domain.ledger.postings",
    "fold": "shared.domain.ledger.postings",
    "lot_id_for": "shared.domain.ledger.state",
    "movement_from_dict": "shared.domain.ledger.movements",
    "posting_id": "shared.domain.ledger.postings",
    "require_utc": "shared.domain.ledger.state",
}


# The command type of each stored posting kind.
def _commands() -> dict[str, type[Command[Any]]]:
    from shared.domain.ledger.account_commands import ChangeGroup, Note, OpenAccount, OverrideLevel, RecordPurchase, SetLevel
    from shared.domain.ledger.commands import Accrue, Adjust, Expire, Refund, Release, Reserve, Reverse, ScheduleActivation, Spend

    commands: tuple[type[Command[Any]], ...] = (Note, OpenAccount, Accrue, ScheduleActivation, Reserve, Release, Spend, Refund, Reverse, Expire, Adjust, RecordPurchase, SetLevel, OverrideLevel,
        ChangeGroup)
    return {command.kind: command for command in commands}


def __getattr__(name: str) -> Any:
    if name == "COMMANDS":
        value: Any = _commands()
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


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
    "Seize",
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
