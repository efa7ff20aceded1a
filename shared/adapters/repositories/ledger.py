"""The ledger's documents: customer records, postings, line books and a partner's referee markers.

Each repository converts between its domain object and the stored document,
field for field:

* ``customers/{id}`` — :class:`~shared.domain.customer.CustomerRecord`: the
  account's own fields (:meth:`Account.to_dict`), ``next_expiry_at`` (what the
  expiry sweep queries), and the profile, referral and block fields the record
  holds (a ``None`` field is left out unless it is stored as an explicit null);
* ``customers/{id}/postings/{posting_id}`` — :class:`~shared.domain.ledger.Posting`;
* ``customers/{id}/orders/{order_id}`` — the per-order line book;
* ``customers/{partner}/referees/{referee}`` — :class:`Referee`, one per referee
  bound by a first paid order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from shared.adapters import layout
from shared.adapters.repositories.base import Repository
from shared.domain import profile as rules
from shared.domain.customer import RECORD_FIELDS, Blocking, CustomerRecord, Notifications, Profile, Referee, Referral
from shared.domain.ledger import Account, Posting, posting_id
from shared.domain.line_book import OrderLineBook
from shared.domain.reward_inbox import RewardEntry

NEXT_EXPIRY_AT = "next_expiry_at"  # when the expiry sweep next has work on the account
BIRTHDAY_MD = "birthday_md"
INVITED_BY = "invited_by"
GROUP = "group"
SEQ = "seq"
FIRST_PAID_AT = "first_paid_at"
LAST_PURCHASE_AT = "last_purchase_at"  # the last paid order (the win-back pass queries it)


# --- customer records -----------------------------------------------------------------


def name_key(name: str) -> str:
    """A name as the search compares it: lower-cased, «ё» as «е», blanks collapsed."""
    return " ".join(name.casefold().replace("ё", "е").split())


def _notifications(stored: Any) -> Notifications | None:
    return Notifications(**rules.notifications(stored)) if isinstance(stored, dict) else None


def _profile(data: dict[str, Any]) -> Profile:
    return Profile(
        phone=data.get("phone"),
        phone_verified_at=data.get("phone_verified_at"),
        telegram_id=data.get("telegram_id"),
        name=data.get("name"),
        email=data.get("email"),
        birthday=data.get("birthday"),
        birthday_md=data.get(BIRTHDAY_MD),
        notifications=_notifications(data.get("notifications")),
        tz=data.get("tz"),
        profile_updated_at=data.get("profile_updated_at"),
    )


def _referral(data: dict[str, Any]) -> Referral:
    return Referral(
        invited_by=data.get(INVITED_BY),
        registered_at=data.get("registered_at"),
        referrer_id=data.get("referrer_id"),
        referral_bound_at=data.get("referral_bound_at"),
        first_paid_at=data.get("first_paid_at"),
        last_purchase_at=data.get(LAST_PURCHASE_AT),
        paying_referees=data.get("paying_referees"),
        partner_code=data.get("partner_code"),
        partner_code_created_at=data.get("partner_code_created_at"),
    )


def _blocking(data: dict[str, Any]) -> Blocking:
    return Blocking(
        blocked=data.get("blocked"),
        blocked_at=data.get("blocked_at"),
        blocked_by=data.get("blocked_by"),
        blocked_reason=data.get("blocked_reason"),
        unblocked_at=data.get("unblocked_at"),
        unblocked_by=data.get("unblocked_by"),
        unblock_reason=data.get("unblock_reason"),
        session_epoch=data.get("session_epoch"),
    )


def record_from_document(data: dict[str, Any]) -> CustomerRecord:
    return CustomerRecord(
        account=Account.from_dict(data),
        profile=_profile(data),
        referral=_referral(data),
        blocking=_blocking(data),
        nulls=frozenset(name for name in RECORD_FIELDS if name in data and data[name] is None),
    )


def record_document(record: CustomerRecord) -> dict[str, Any]:
    """The stored form: the record's fields, the account's state and ``next_expiry_at``."""
    document: dict[str, Any] = {}
    for part in (record.profile, record.referral, record.blocking):
        for name in part.__struct_fields__:  # msgspec's own tuple: structs.fields() re-evaluates the annotations on every call
            value = getattr(part, name)
            if isinstance(value, Notifications):
                value = {"sms": value.sms, "email": value.email, "telegram": value.telegram}
            if value is not None or name in record.nulls:
                document[name] = value
    account = record.account
    return {**document, **account.to_dict(), NEXT_EXPIRY_AT: account.next_expiry_at}


class AccountRepository(Repository):
    """``customers/{id}``: one customer's record, and the queries over all of them."""

    def get(self, customer_id: str) -> CustomerRecord | None:
        data = self._docs.get(layout.account(customer_id))
        return None if data is None else record_from_document(data)

    def get_many(self, customer_ids: list[str]) -> dict[str, CustomerRecord | None]:
        """Several records in one read (each cached in the unit as by :meth:`get`)."""
        paths = {customer_id: layout.account(customer_id) for customer_id in customer_ids}
        found = self._docs.get_all(list(paths.values()))
        return {customer_id: None if found[path] is None else record_from_document(found[path] or {}) for customer_id, path in paths.items()}

    def save(self, record: CustomerRecord) -> None:
        path = layout.account(record.customer_id)
        before = self._docs.get(path)  # read in the unit already (a save follows its read): no extra read
        if (before or {}).get("name") != record.profile.name:
            self._index_name(record.customer_id, record.profile.name)
        self._docs.put(path, record_document(record))

    def _index_name(self, customer_id: str, name: str | None) -> None:
        """The name's search keys: from each of its first words on (slots left empty when it has fewer)."""
        words = name_key(name or "").split(" ") if name else []
        for slot in range(layout.CUSTOMER_NAME_SLOTS):
            key = " ".join(words[slot:]) if slot < len(words) else ""
            self._docs.put(layout.customer_name(customer_id, slot), {"customer_id": customer_id, layout.CUSTOMER_NAME_KEY: key})

    def named(self, prefix: str, *, limit: int) -> list[str]:
        """Ids of customers one of whose name's first words starts :func:`name_key` ``prefix`` (at most ``limit``)."""
        key = name_key(prefix)
        if not key:
            return []
        found = [doc_id.rsplit("-", 1)[0] for doc_id in self._queries.matching(layout.CUSTOMER_NAMES, field=layout.CUSTOMER_NAME_KEY, value=key, limit=limit)]
        rows = self._queries.ordered(layout.CUSTOMER_NAMES, order_by=layout.CUSTOMER_NAME_KEY, limit=limit, start_after=key)
        found += [str(data["customer_id"]) for _, data in rows if str(data.get(layout.CUSTOMER_NAME_KEY, "")).startswith(key)]
        return list(dict.fromkeys(found))[:limit]

    def with_email(self, email: str, *, limit: int) -> list[str]:
        """Ids of customers whose profile's e-mail is ``email`` (compared lower-cased)."""
        return self._queries.matching(layout.CUSTOMERS, field=layout.CUSTOMER_EMAIL_FIELD, value=email.strip().lower(), limit=limit)

    def in_id_order(self, *, limit: int, after: str | None = None) -> list[CustomerRecord]:
        """A page of every record in customer-id order (``after``: the last id of the page before)."""
        rows = self._queries.ordered(layout.CUSTOMERS, order_by="customer_id", limit=limit, start_after=after)
        return [record_from_document(data) for _, data in rows]

    def due(self, *, until: datetime, limit: int, after: tuple[datetime, str] | None = None) -> list[tuple[str, datetime]]:
        """``(customer id, next_expiry_at)`` of accounts with expiry work at or before ``until``, earliest first."""
        return self._queries.due(layout.CUSTOMERS, field=NEXT_EXPIRY_AT, until=until, limit=limit, start_after=after)

    def with_birthday(self, month_day: str, *, limit: int, after: str | None = None) -> list[str]:
        """Ids of customers whose birthday is ``month_day`` (``"MM-DD"``), in id order."""
        return self._queries.matching(layout.CUSTOMERS, field=BIRTHDAY_MD, value=month_day, limit=limit, start_after=after)

    def lapsed(self, *, until: datetime, limit: int, after: tuple[datetime, str] | None = None) -> list[tuple[str, datetime]]:
        """``(customer id, last_purchase_at)`` of customers whose last paid order is at or before ``until``, earliest first."""
        return self._queries.due(layout.CUSTOMERS, field=LAST_PURCHASE_AT, until=until, limit=limit, start_after=after)

    def in_group(self, group: str, *, limit: int, after: str | None = None) -> list[str]:
        """Ids of the customers of ``group``, in id order."""
        return self._queries.matching(layout.CUSTOMERS, field=GROUP, value=group, limit=limit, start_after=after)

    def invited_by(self, partner_id: str, *, limit: int, after: str | None = None) -> list[str]:
        """Ids of accounts opened through the partner's link or code, in id order."""
        return self._queries.matching(layout.CUSTOMERS, field=INVITED_BY, value=partner_id, limit=limit, start_after=after)

    def ids(self) -> Iterator[str]:
        """Every customer id (audits)."""
        return self._queries.iter_ids(layout.CUSTOMERS)


# --- postings ---------------------------------------------------------------------------


class PostingRepository(Repository):
    """``customers/{id}/postings/{posting_id}``: the append-only ledger entries."""

    def get(self, customer_id: str, key: str) -> Posting | None:
        """The posting made under idempotency ``key``, if any."""
        data = self._docs.get(layout.posting(customer_id, posting_id(key)))
        return None if data is None else Posting.from_dict(data)

    def create(self, posting: Posting) -> None:
        """Write a new posting; the commit fails if one with its key exists."""
        self._docs.create(layout.posting(posting.customer_id, posting.id), posting.to_dict())

    def page(self, customer_id: str, *, limit: int, before_seq: int | None = None) -> list[Posting]:
        """A page of the customer's history, newest first (cursor: the last page's lowest seq)."""
        rows = self._queries.ordered(layout.postings(customer_id), order_by=SEQ, descending=True, limit=limit, start_after=before_seq)
        return [Posting.from_dict(data) for _, data in rows]

    def every(self, customer_id: str, *, page: int = 500) -> Iterator[Posting]:
        """All the customer's postings, newest first, read a page at a time."""
        cursor = None
        while True:
            rows = self.page(customer_id, limit=page, before_seq=cursor)
            yield from rows
            if len(rows) < page:
                return
            cursor = rows[-1].seq


# --- line books -------------------------------------------------------------------------


class LineBookRepository(Repository):
    """``customers/{id}/orders/{order_id}``: what each line of an order earned, spent and got back."""

    def get(self, customer_id: str, order_id: str) -> OrderLineBook | None:
        data = self._docs.get(layout.line_book(customer_id, order_id))
        return None if data is None else OrderLineBook.from_dict(data)

    def save(self, book: OrderLineBook) -> None:
        self._docs.put(layout.line_book(book.customer_id, book.order_id), book.to_dict())


# --- the reward inbox -------------------------------------------------------------------


class RewardInboxRepository(Repository):
    """``customers/{partner}/reward_inbox/{order}``: rewards waiting to be folded into the account."""

    def create(self, entry: RewardEntry) -> None:
        self._docs.create(layout.reward_entry(entry.partner_id, entry.order_id), entry.to_dict())

    def get(self, partner_id: str, order_id: str) -> RewardEntry | None:
        data = self._docs.get(layout.reward_entry(partner_id, order_id))
        return None if data is None else RewardEntry.from_dict(data)

    def waiting(self, partner_id: str, *, limit: int) -> list[RewardEntry]:
        """Entries not folded yet (found by a query, then read in the unit of work: one folded
        meanwhile is left out)."""
        ids = self._queries.matching(layout.reward_inbox(partner_id), field="folded", value=False, limit=limit)
        found = self._docs.get_all([layout.reward_entry(partner_id, i) for i in ids])
        entries = [RewardEntry.from_dict(data) for data in found.values() if data is not None]
        return sorted((e for e in entries if e.folded_at is None), key=lambda e: (e.accrued_at, e.order_id))

    def save(self, entry: RewardEntry) -> None:
        self._docs.put(layout.reward_entry(entry.partner_id, entry.order_id), entry.to_dict())


# --- referees ---------------------------------------------------------------------------


class RefereeRepository(Repository):
    """``customers/{partner}/referees/{referee}``."""

    def get(self, partner_id: str, referee_id: str) -> Referee | None:
        data = self._docs.get(layout.referee(partner_id, referee_id))
        return None if data is None else Referee(referee_id=data["referee_id"], first_paid_at=data["first_paid_at"])

    def create(self, partner_id: str, referee: Referee) -> None:
        self._docs.create(layout.referee(partner_id, referee.referee_id), {"referee_id": referee.referee_id, "first_paid_at": referee.first_paid_at})

    def latest(self, partner_id: str, *, limit: int) -> list[Referee]:
        """The partner's most recently bound referees, latest first."""
        rows = self._queries.ordered(layout.referees(partner_id), order_by=FIRST_PAID_AT, descending=True, limit=limit)
        return [Referee(referee_id=data.get("referee_id", doc_id), first_paid_at=data["first_paid_at"]) for doc_id, data in rows]
