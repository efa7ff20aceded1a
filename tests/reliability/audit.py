"""The production ledger audit as a test assertion."""

from __future__ import annotations

from datetime import datetime

from scripts.ledger_audit import run_audit
from shared.services.ports import Store


def assert_ledgers_sound(store: Store, *, customers: list[str] | None = None, now: datetime | None = None, min_accounts: int = 1) -> None:
    """Run ``scripts.ledger_audit.run_audit`` over ``store`` (every account, or ``customers``): no problem,
    and at least ``min_accounts`` audited (an audit of an empty store proves nothing)."""
    report = run_audit(store, customers=customers, now=now)
    assert report.ok, f"ledger audit: {len(report.problems)} problem(s) over {report.accounts} accounts:\n" + "\n".join(report.problems)
    assert report.accounts >= min_accounts, f"ledger audit checked {report.accounts} accounts, expected at least {min_accounts}"
