"""The idempotent posting path: one account, its postings and order books, in a unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from shared.domain.errors import Forbidden, IdempotencyConflict
from shared.domain.ledger import OPERATIONS, Account, Balances, Posting, apply_posting, fingerprint, fold, posting_id
from shared.domain.line_book import OrderLineBook
from shared.services.ports import CUSTOMERS, ORDERS, POSTINGS, Store, UnitOfWork


def account_path(customer_id: str) -> str:
    return f"{CUSTOMERS}/{customer_id}"


def posting_path(customer_id: str, pid: str) -> str:
    return f"{CUSTOMERS}/{customer_id}/{POSTINGS}/{pid}"


def order_path(customer_id: str, order_id: str) -> str:
    return f"{CUSTOMERS}/{customer_id}/{ORDERS}/{order_id}"


def account_document(account: Account, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored form of an account: its state plus the fields the sweep queries on."""
    return {**(extra or {}), **account.to_dict(), "next_expiry_at": account.next_expiry_at}


class AccountSession:
    """One customer's account inside a unit of work: read once, posted to, written once per posting.

    ``post`` is the only way use cases change bonuses. It is idempotent by
    key: a key seen before with the same intent returns the first outcome
    (``replayed=True``) and changes nothing; with another intent it raises
    :class:`IdempotencyConflict`.
    """

    def __init__(self, uow: UnitOfWork, customer_id: str) -> None:
        self.uow = uow
        self.customer_id = customer_id
        data = uow.get(account_path(customer_id))
        self.exists = data is not None
        self.extra = {k: v for k, v in (data or {}).items() if k not in Account.__dataclass_fields__ and k != "next_expiry_at"}
        self.account = Account.from_dict(data) if data else Account(customer_id=customer_id)

    def require_active(self) -> None:
        """Refuse a customer an admin has blocked (their own calls; webhooks of earlier orders still apply)."""
        if self.extra.get("blocked"):
            raise Forbidden("the customer is blocked", customer_id=self.customer_id, message_ru="Учётная запись заблокирована. Обратитесь в магазин.")

    def seen(self, key: str) -> dict[str, Any] | None:
        return self.uow.get(posting_path(self.customer_id, posting_id(key)))

    def post(self, kind: str, *, key: str, now: datetime, fresh: bool = False, **params: Any) -> dict[str, Any]:
        """Apply ``kind`` once per ``key``.

        ``fresh=True`` skips the look-up of the key: the caller has read, in
        this unit of work, a guard document that is written in the same commit
        as every posting with this key (an order's book, say), and found it
        absent, so the key cannot have been used. The posting is still
        *created*, so were that proof ever wrong the commit fails
        (``ALREADY_EXISTS``) instead of applying the operation twice.
        """
        existing = None if fresh else self.seen(key)
        if existing is not None:
            if existing["fingerprint"] != fingerprint(kind, params) or existing["kind"] != kind:
                raise IdempotencyConflict(
                    f"key {key!r} was used for a different {existing['kind']} operation",
                    key=key,
                )
            return {**existing["outcome"], "replayed": True}
        posting: Posting = OPERATIONS[kind](self.account, key=key, now=now, **params)
        posting.customer_id = self.customer_id
        posting.seq = self.account.seq + 1
        self.account = apply_posting(self.account, posting)
        self.uow.create(posting_path(self.customer_id, posting.id), posting.to_dict())
        self.save()
        return {**posting.outcome, "replayed": False}

    def save(self, **extra: Any) -> None:
        self.extra.update(extra)
        self.exists = True
        self.uow.put(account_path(self.customer_id), account_document(self.account, self.extra))

    def order(self, order_id: str) -> OrderLineBook | None:
        data = self.uow.get(order_path(self.customer_id, order_id))
        return OrderLineBook.from_dict(data) if data else None

    def save_order(self, book: OrderLineBook) -> None:
        self.uow.put(order_path(self.customer_id, book.order_id), book.to_dict())


def post(store: Store, *, customer_id: str, kind: str, key: str, now: datetime, **params: Any) -> dict[str, Any]:
    """Apply one ledger operation to one account in its own transaction."""
    return store.run(lambda uow: AccountSession(uow, customer_id).post(kind, key=key, now=now, **params))


def load_account(store: Store, customer_id: str) -> Account | None:
    data = store.get(account_path(customer_id))
    return Account.from_dict(data) if data else None


def balances(store: Store, customer_id: str, now: datetime) -> Balances:
    account = load_account(store, customer_id)
    return (account or Account(customer_id=customer_id)).balances(now)


def postings(store: Store, customer_id: str, *, limit: int = 100, before_seq: int | None = None) -> list[Posting]:
    """A page of the customer's history, newest first (cursor: the last page's lowest seq)."""
    rows = store.ordered(f"{CUSTOMERS}/{customer_id}/{POSTINGS}", order_by="seq", descending=True, limit=limit, start_after=before_seq)
    return [Posting.from_dict(data) for _, data in rows]


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
    stored = load_account(store, customer_id)
    recomputed = fold(customer_id, all_postings(store, customer_id))
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
