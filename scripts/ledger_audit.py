"""Audit every customer ledger: stored accounts against the fold of their postings.

    python -m scripts.ledger_audit                      # every account
    python -m scripts.ledger_audit --customer c_123     # one account
    python -m scripts.ledger_audit --limit 1000         # the first 1000 accounts (id order of the store)

For each account it recomputes the state from the append-only postings
(``shared.services.ledger.audit_postings``), checks the ledger invariants on
the *stored* document (``shared.domain.ledger.check_invariants``: every lot
``0 < remaining <= amount``, reservations equal to their allocations, no
negative debt) and that no balance component is negative. It only reads.

The store is Firestore of ``GOOGLE_CLOUD_PROJECT``, or the emulator when
``FIRESTORE_EMULATOR_HOST`` is set (``make audit`` against ``make emulator-start``).

Exit codes: 0 every account sound; 1 at least one problem (each printed with
its customer id); 2 usage error.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from shared.domain.ledger import Account, Posting, check_invariants
from shared.services import ledger
from shared.services.ports import Store


@dataclass
class Report:
    accounts: int = 0
    postings: int = 0
    inbox: int = 0  # referral rewards waiting in partners' inboxes (counted, checked, not yet on the accounts)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def stored_problems(customer_id: str, account: Account | None, now: datetime) -> list[str]:
    """Invariants of the stored account itself (independent of its postings)."""
    if account is None:
        return []
    problems = []
    if account.customer_id != customer_id:
        problems.append(f"{customer_id}: stored customer_id is {account.customer_id!r}")
    try:
        check_invariants(account)
    except AssertionError as exc:
        problems.append(f"{customer_id}: invariant broken: {exc}")
    for lot in account.lots.values():
        # check_invariants stops at the first lot; name every bad one.
        if not 0 < lot.remaining <= lot.amount:
            problems.append(f"{customer_id}: lot {lot.id} remaining {lot.remaining} not in (0, {lot.amount}]")
    balances = account.balances(now)
    for name in ("available", "pending", "reserved", "expired_unswept", "debt"):
        value = getattr(balances, name)
        if value < 0:
            problems.append(f"{customer_id}: negative {name} balance {value}")
    return list(dict.fromkeys(problems))


def audit_one(store: Store, customer_id: str, now: datetime) -> tuple[list[str], int]:
    """The customer's problems, and the number of postings read to find them."""
    try:
        stored = ledger.load_stored(store, customer_id)
    except Exception as exc:  # a document that does not even parse is a finding, not a crash
        return [f"{customer_id}: stored account does not parse: {type(exc).__name__}: {exc}"], 0
    read = 0

    def history() -> Iterator[Posting]:
        nonlocal read
        for posting in ledger.all_postings(store, customer_id):
            read += 1
            yield posting

    problems: list[str] = []
    try:
        problems += ledger.audit_postings(customer_id, stored, history())
    except Exception as exc:  # a posting that does not fold is a finding too
        problems.append(f"{customer_id}: postings do not fold: {type(exc).__name__}: {exc}")
    problems += stored_problems(customer_id, stored, now)
    return problems, read


def inbox_problems(store: Store, customer_id: str) -> tuple[int, list[str]]:
    """The rewards waiting in the customer's inbox, and what is wrong with them: each must not be on
    the account yet (no posting under its key) and must match the partner's line book of its order."""

    def read(uow: Any) -> tuple[int, list[str]]:
        problems = []
        entries = uow.reward_inbox.waiting(customer_id, limit=ledger.FOLD_MAX)
        for entry in entries:
            if uow.postings.get(customer_id, entry.key) is not None:
                problems.append(f"{customer_id}: inbox entry {entry.order_id} is waiting but already posted")
            book = uow.line_books.get(customer_id, entry.order_id)
            if book is None or sum(line.earned for line in book.lines.values()) != entry.amount:
                problems.append(f"{customer_id}: inbox entry {entry.order_id} of {entry.amount} does not match its line book")
        return len(entries), problems

    return store.read(read)


def customer_ids(store: Store, customer: list[str] | None, limit: int | None) -> Iterator[str]:
    ids: Iterable[str] = customer if customer else store.read(lambda uow: uow.accounts.ids())
    return itertools.islice(ids, limit) if limit is not None else iter(ids)


def run_audit(store: Store, *, customers: list[str] | None = None, limit: int | None = None, now: datetime | None = None, out: Any = None) -> Report:
    now = now or datetime.now(timezone.utc)
    report = Report()
    for customer_id in customer_ids(store, customers, limit):
        report.accounts += 1
        found, read = audit_one(store, customer_id, now)
        waiting, inbox_found = inbox_problems(store, customer_id)
        found += inbox_found
        report.problems += found
        report.postings += read
        report.inbox += waiting
        if out is not None:
            for line in found:
                print(f"PROBLEM {line}", file=out, flush=True)
    return report


def main(argv: list[str] | None = None, store: Store | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customer", action="append", metavar="ID", help="audit only this customer (repeatable)")
    parser.add_argument("--limit", type=int, metavar="N", help="audit at most N accounts")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 0:
        parser.error("--limit must be >= 0")
    if store is None:
        from shared.platform import bootstrap

        store = bootstrap.firestore_store()
    report = run_audit(store, customers=args.customer, limit=args.limit, out=sys.stdout)
    print(f"accounts checked: {report.accounts}, postings read: {report.postings}, inbox entries waiting: {report.inbox}, problems: {len(report.problems)}")
    print("ledger audit: OK" if report.ok else "ledger audit: FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
