"""The idempotent posting path: one customer's record, its postings and line books, in a unit of work.

:class:`AccountSession` is the use cases' view of one customer inside a unit
of work: the account (changed only by :meth:`AccountSession.post`) and the
typed profile, referral and block fields of the customer record
(:mod:`shared.domain.customer`), read once through ``uow.accounts`` and
written back whole by :meth:`AccountSession.save`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from msgspec.structs import replace

from shared.domain.customer import AccountBlocked, Blocking, CustomerRecord, Profile, Referral, unknown_customer
from shared.domain.errors import IdempotencyConflict
from shared.domain.ledger import Account, Balances, Command, Posting, apply_posting, fold
from shared.domain.line_book import OrderLineBook
from shared.services.ports import Store, UnitOfWork

Out = TypeVar("Out")

FOLD_MAX = 200  # inbox entries one transaction folds into a partner's account (the rest: the next one)

class AccountSession:
    """One customer's record inside a unit of work: read once, posted to, written once per posting.

    ``post`` is the only way use cases change bonuses. It is idempotent by
    key: a key seen before with the same intent returns the first outcome
    (``replayed=True``) and changes nothing; with another intent it raises
    :class:`IdempotencyConflict`.

    The profile, referral and block fields are :attr:`profile`,
    :attr:`referral` and :attr:`blocking`; change them on :attr:`record`
    (``session.record = session.record.set_referral(first_paid_at=now)``) and
    write it with :meth:`save`.
    """

    def __init__(self, uow: UnitOfWork, customer_id: str, *, fold: bool = True) -> None:
        self.uow = uow
        self.customer_id = customer_id
        found = uow.accounts.get(customer_id)
        self.exists = found is not None
        self._record = found or CustomerRecord.new(customer_id)
        self.account = self._record.account
        if fold and self.exists and self._record.referral.paying > 0:
            self.fold_rewards()

    def fold_rewards(self) -> int:
        """Fold the partner's waiting referral rewards into the account (:mod:`shared.domain.reward_inbox`):
        each is posted under its own key, at the moment it was earned, and marked folded in the
        same commit, so a reward is on the account exactly once. The number folded."""
        entries = self.uow.reward_inbox.waiting(self.customer_id, limit=FOLD_MAX)
        for entry in entries:
            self.post(entry.key, entry.accrual(), now=entry.accrued_at)
            self.uow.reward_inbox.save(replace(entry, folded_at=entry.accrued_at))
        return len(entries)

    @property
    def record(self) -> CustomerRecord:
        """The customer record as it stands in this unit (the account with every posting so far)."""
        return self._record.with_account(self.account)

    @record.setter
    def record(self, record: CustomerRecord) -> None:
        self._record = record
        self.account = record.account

    @property
    def profile(self) -> Profile:
        return self._record.profile

    @property
    def referral(self) -> Referral:
        return self._record.referral

    @property
    def blocking(self) -> Blocking:
        return self._record.blocking

    def require_active(self, token_epoch: int | None = None) -> None:
        """Refuse a customer an admin has blocked (their own calls) and, given the session epoch of
        the caller's token, a session the block revoked (:meth:`Blocking.admits`)."""
        if token_epoch is None:
            if self.blocking.is_blocked:
                raise AccountBlocked("the customer is blocked", customer_id=self.customer_id)
            return
        self.blocking.admits(token_epoch)

    def posted(self, key: str) -> Posting | None:
        """The posting made under ``key``, if any."""
        return self.uow.postings.get(self.customer_id, key)

    def seen(self, key: str) -> Mapping[str, Any] | None:
        """The posting made under ``key`` in its stored form (``outcome`` as stored), if any."""
        found = self.posted(key)
        return None if found is None else found.to_dict()

    def post(self, key: str, command: Command[Out], /, *, now: datetime, fresh: bool = False) -> Out:
        """Apply ``command`` once per ``key``; answer its typed outcome.

        ``fresh=True`` skips the look-up of the key: the caller has read, in
        this unit of work, a guard document that is written in the same commit
        as every posting with this key (an order's book, say), and found it
        absent, so the key cannot have been used. The posting is still
        *created*, so were that proof ever wrong the commit fails
        (``ALREADY_EXISTS``) instead of applying the operation twice.
        """
        existing = None if fresh else self.posted(key)
        if existing is not None:
            if existing.fingerprint != command.fingerprint() or existing.kind != command.kind:
                raise IdempotencyConflict(
                    f"key {key!r} was used for a different {existing.kind} operation",
                    key=key,
                )
            return command.outcome(existing.outcome, replayed=True)
        posting = command.posting(self.account, key=key, now=now)
        self.account = apply_posting(self.account, posting)
        self.uow.postings.create(posting)
        self.save()
        return command.outcome(posting.outcome, replayed=False)

    def save(self) -> None:
        """Write the record as it stands (:attr:`record`, with every posting so far)."""
        record = self.record
        self.record = record
        self.exists = True
        self.uow.accounts.save(record)

    def order(self, order_id: str) -> OrderLineBook | None:
        """The customer's line book of ``order_id``."""
        return self.uow.line_books.get(self.customer_id, order_id)

    def save_order(self, book: OrderLineBook) -> None:
        self.uow.line_books.save(book)


def post(store: Store, customer_id: str, key: str, command: Command[Out], *, now: datetime) -> Out:
    """Apply one ledger command to one account in its own transaction."""
    return store.run(lambda uow: AccountSession(uow, customer_id).post(key, command, now=now))


def load_customer(store: Store, customer_id: str) -> CustomerRecord | None:
    """The customer record, read outside any transaction; a partner's account with the rewards
    still waiting in the inbox as they will be folded (so what a partner sees is exact at every moment)."""

    def read(uow: UnitOfWork) -> CustomerRecord | None:
        record = uow.accounts.get(customer_id)
        if record is None or record.referral.paying == 0:
            return record
        account = record.account
        for entry in uow.reward_inbox.waiting(customer_id, limit=FOLD_MAX):
            if uow.postings.get(customer_id, entry.key) is None:
                account = apply_posting(account, entry.accrual().posting(account, key=entry.key, now=entry.accrued_at))
        return record.with_account(account)

    return store.read(read)


def load_stored(store: Store, customer_id: str) -> Account | None:
    """The account exactly as stored (without the rewards waiting in the inbox): what its postings fold to."""
    record = store.read(lambda uow: uow.accounts.get(customer_id))
    return None if record is None else record.account


def fold_rewards(store: Store, customer_id: str) -> int:
    """Fold a partner's waiting rewards into the account, in one transaction; the number folded."""
    return store.run(lambda uow: AccountSession(uow, customer_id, fold=False).fold_rewards())


def read_customer(store: Store, customer_id: str) -> CustomerRecord:
    """The customer record of a customer who must exist (:func:`unknown_customer` otherwise)."""
    record = load_customer(store, customer_id)
    if record is None:
        raise unknown_customer(customer_id)
    return record


def load_account(store: Store, customer_id: str) -> Account | None:
    record = load_customer(store, customer_id)
    return None if record is None else record.account


def balances(store: Store, customer_id: str, now: datetime) -> Balances:
    account = load_account(store, customer_id)
    return (account or Account(customer_id=customer_id)).balances(now)


def postings(store: Store, customer_id: str, *, limit: int = 100, before_seq: int | None = None) -> list[Posting]:
    """A page of the customer's history, newest first (cursor: the last page's lowest seq)."""
    return store.read(lambda uow: uow.postings.page(customer_id, limit=limit, before_seq=before_seq))


def all_postings(store: Store, customer_id: str, page: int = 500) -> Iterable[Posting]:
    cursor = None
    while True:
        rows = postings(store, customer_id, limit=page, before_seq=cursor)
        yield from rows
        if len(rows) < page:
            return
        cursor = rows[-1].seq


def audit_account(store: Store, customer_id: str) -> list[str]:
    """Differences between the stored account and the fold of its postings (empty when sound)."""
    return audit_postings(customer_id, load_stored(store, customer_id), all_postings(store, customer_id))


def audit_postings(customer_id: str, stored: Account | None, history: Iterable[Posting]) -> list[str]:
    """Differences between ``stored`` and the fold of ``history`` (every posting of the customer)."""
    recomputed = fold(customer_id, history)
    if stored is None:
        return [] if recomputed.seq == 0 else [f"{customer_id}: postings without an account"]
    problems = []
    for name in ("lots", "reservations", "debt", "seq", "paid_total", "paid_by_day", "level", "level_override", "group"):
        a, b = getattr(stored, name), getattr(recomputed, name)
        if name in ("lots", "reservations"):
            a, b = {k: v.to_dict() for k, v in a.items()}, {k: v.to_dict() for k, v in b.items()}
        if a != b:
            problems.append(f"{customer_id}: stored {name} differs from the fold of its postings")
    return problems
