"""The ledger's repositories on both stores: customer records, postings, line books, referee markers.

Each round-trips its domain object, reads an absent document as ``None``, and
writes exactly the document the code wrote before the repositories (read back
raw through the unit of work by its ``layout`` path).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from msgspec.structs import replace

from shared.adapters import layout
from shared.domain.customer import CustomerRecord, Notifications, Referee
from shared.domain.ledger import Account, Allocation, Credit, Lot, Posting
from shared.domain.line_book import BookLine, OrderLineBook
from shared.presets import load_preset
from shared.services import registration
from shared.services.ledger import AccountSession


def raw(store, path):
    return store.run(lambda uow: uow.get(path))


def account_fields(account_id: str, **changes) -> dict:
    """The account's own fields as stored, with ``next_expiry_at``."""
    return {
        "customer_id": account_id,
        "lots": {},
        "reservations": {},
        "debt": 0,
        "seq": 0,
        "group": None,
        "level": None,
        "level_override": None,
        "paid_total": 0,
        "paid_by_day": {},
        "next_expiry_at": None,
        **changes,
    }


# --- customer records ---------------------------------------------------------------------


def test_an_absent_customer_reads_as_none(store):
    assert store.run(lambda uow: uow.accounts.get("nobody")) is None
    assert store.read(lambda uow: uow.accounts.get("nobody")) is None
    assert store.run(lambda uow: uow.accounts.get_many(["nobody"])) == {"nobody": None}


def test_a_customer_record_round_trips(store, now):
    lot = Lot(id="L1", amount=500, remaining=300, source="welcome", ref="anna", accrued_at=now, activates_at=now, expires_at=now + timedelta(days=365))
    record = (
        CustomerRecord(account=Account(customer_id="anna", lots={"L1": lot}, seq=3, group="b2c", level="level1", paid_total=12000, paid_by_day={"2026-03-01": 12000}))
        .set_profile(phone="+79160000001", phone_verified_at=now, telegram_id=4242, name="Анна", email=None, birthday="1990-02-28", birthday_md="02-28", notifications=Notifications(sms=True,
            email=False, telegram=True), profile_updated_at=now)
        .set_referral(invited_by="maria", registered_at=now, referrer_id="maria", referral_bound_at=now, first_paid_at=now, paying_referees=2, partner_code="ABCD2345", partner_code_created_at=now)
        .set_blocking(blocked=False, unblocked_at=now, unblocked_by="manager@shop.example", unblock_reason="проверено")
    )
    store.run(lambda uow: uow.accounts.save(record))
    back = store.read(lambda uow: uow.accounts.get("anna"))
    assert back is not None
    assert back.account.to_dict() == record.account.to_dict()
    assert (back.profile, back.referral, back.blocking, back.nulls) == (record.profile, record.referral, record.blocking, frozenset({"email"}))
    assert store.run(lambda uow: uow.accounts.get_many(["anna", "nobody"]))["anna"].profile == record.profile


def test_the_stored_customer_document_is_unchanged(store, now):
    lot = Lot(id="L1", amount=500, remaining=500, source="welcome", ref="anna", accrued_at=now, activates_at=now, expires_at=now + timedelta(days=365))
    record = (
        CustomerRecord.new("anna")
        .with_account(Account(customer_id="anna", lots={"L1": lot}, seq=2, group="b2c", level="level1"))
        .set_referral(invited_by=None, registered_at=now, referrer_id=None, paying_referees=0)
        .set_profile(name="Анна", notifications=Notifications(sms=True, email=False, telegram=True))
        .set_blocking(blocked=True, blocked_at=now, blocked_by="manager@shop.example", blocked_reason="проверка")
    )
    store.run(lambda uow: uow.accounts.save(record))
    assert raw(store, layout.account("anna")) == {
        **account_fields("anna", lots={"L1": lot.to_dict()}, seq=2, group="b2c", level="level1", next_expiry_at=now + timedelta(days=365)),
        "invited_by": None,
        "registered_at": now,
        "referrer_id": None,
        "paying_referees": 0,
        "name": "Анна",
        "notifications": {"sms": True, "email": False, "telegram": True},
        "blocked": True,
        "blocked_at": now,
        "blocked_by": "manager@shop.example",
        "blocked_reason": "проверка",
    }


def test_a_document_read_and_saved_again_is_the_same_document(store, now):
    document = {
        **account_fields("boris", seq=1, group="b2c", level="level1"),
        "invited_by": None,
        "registered_at": now,
        "referrer_id": None,
        "paying_referees": 0,
        "email": None,  # removed by the customer: stored as null
        "phone": "+79160000002",
        "phone_verified_at": now,
    }
    store.run(lambda uow: uow.put(layout.account("boris"), document))
    store.run(lambda uow: uow.accounts.save(uow.accounts.get("boris")))
    assert raw(store, layout.account("boris")) == document
    record = store.read(lambda uow: uow.accounts.get("boris"))
    assert record.profile.email is None and record.profile.name is None and record.referral.paying == 0
    assert record.profile.channels == Notifications(sms=True, email=False, telegram=False)  # the defaults


def test_registration_writes_the_same_document_as_before(store, now):
    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    registration.register_customer(store, config=config, customer_id="anna", now=now, invited_by="maria")
    stored = raw(store, layout.account("anna"))
    assert {k: stored[k] for k in ("invited_by", "registered_at", "referrer_id", "paying_referees")} == {"invited_by": "maria", "registered_at": now, "referrer_id": None, "paying_referees": 0}
    assert set(stored) == set(account_fields("anna")) | {"invited_by", "registered_at", "referrer_id", "paying_referees"}
    assert raw(store, layout.account("maria"))["invited_by"] is None


def test_session_changes_write_the_typed_fields_by_their_stored_names(store, now):
    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    before = raw(store, layout.account("anna"))

    def change(uow):
        session = AccountSession(uow, "anna")
        session.record = session.record.set_referral(first_paid_at=now)
        session.record = session.record.set_blocking(blocked=True, blocked_at=now, blocked_by="manager@shop.example", blocked_reason="x")
        session.save()
        return session.blocking, session.referral

    blocking, referral = store.run(change)
    assert blocking.is_blocked and blocking.blocked_by == "manager@shop.example" and referral.first_paid_at == now
    assert raw(store, layout.account("anna")) == {**before, "first_paid_at": now, "blocked": True, "blocked_at": now, "blocked_by": "manager@shop.example", "blocked_reason": "x"}
    with pytest.raises(TypeError):
        CustomerRecord.new("anna").change(balance=100)


def test_customer_queries(store, now):
    def seed(uow):
        for n, md in enumerate(("03-15", "03-16", "03-15")):
            cid = f"c{n}"
            record = CustomerRecord.new(cid).set_profile(birthday=md, birthday_md=md).set_referral(invited_by="maria" if n != 1 else None)
            if n < 2:
                lot = Lot(id=f"L{n}", amount=10, remaining=10, source="welcome", ref=cid, accrued_at=now, activates_at=now, expires_at=now + timedelta(days=n + 1))
                record = record.with_account(Account(customer_id=cid, lots={lot.id: lot}, group="b2b" if n else "b2c"))
            uow.accounts.save(record)

    store.run(seed)
    assert store.read(lambda uow: uow.accounts.with_birthday("03-15", limit=10)) == ["c0", "c2"]
    assert store.read(lambda uow: uow.accounts.with_birthday("03-15", limit=10, after="c0")) == ["c2"]
    assert store.read(lambda uow: uow.accounts.invited_by("maria", limit=1)) == ["c0"]
    assert store.read(lambda uow: uow.accounts.invited_by("maria", limit=5, after="c0")) == ["c2"]
    due = store.read(lambda uow: uow.accounts.due(until=now + timedelta(days=5), limit=10))
    assert due == [("c0", now + timedelta(days=1)), ("c1", now + timedelta(days=2))]
    assert store.read(lambda uow: uow.accounts.due(until=now + timedelta(days=5), limit=10, after=due[0][::-1])) == due[1:]
    page = store.read(lambda uow: uow.accounts.in_id_order(limit=2))
    assert [r.customer_id for r in page] == ["c0", "c1"] and page[0].profile.birthday_md == "03-15"
    assert [r.customer_id for r in store.read(lambda uow: uow.accounts.in_id_order(limit=2, after="c1"))] == ["c2"]
    assert list(store.read(lambda uow: uow.accounts.ids())) == ["c0", "c1", "c2"]
    assert store.read(lambda uow: uow.accounts.in_group("b2b", limit=10)) == ["c1"]
    assert store.read(lambda uow: uow.accounts.in_group("b2c", limit=10, after="c0")) == []


# --- postings -----------------------------------------------------------------------------


def posting(customer_id: str, seq: int, at) -> Posting:
    return Posting(
        key=f"adjust:{seq}",
        kind="adjust",
        at=at,
        fingerprint=f"f{seq}",
        movements=(Credit(lot_id=f"L{seq}", amount=seq, source="adjust", ref="", accrued_at=at, activates_at=None, expires_at=at + timedelta(days=365)),),
        outcome={"lot_id": f"L{seq}"},
        customer_id=customer_id,
        seq=seq,
        actor="admin@shop.example",
        reason="seed",
    )


def test_an_absent_posting_reads_as_none(store):
    assert store.run(lambda uow: uow.postings.get("anna", "no-such-key")) is None
    assert store.read(lambda uow: uow.postings.page("anna", limit=10)) == []


def test_postings_round_trip_and_keep_their_stored_shape(store, now):
    first = posting("anna", 1, now)
    store.run(lambda uow: uow.postings.create(first))
    assert store.read(lambda uow: uow.postings.get("anna", "adjust:1")) == first
    assert raw(store, layout.posting("anna", first.id)) == {
        "key": "adjust:1",
        "kind": "adjust",
        "at": now,
        "fingerprint": "f1",
        "movements": [
            {"op": "credit", "lot_id": "L1", "amount": 1, "source": "adjust", "ref": "", "accrued_at": now, "activates_at": None, "expires_at": now + timedelta(days=365)},
        ],
        "outcome": {"lot_id": "L1"},
        "customer_id": "anna",
        "seq": 1,
        "order_id": None,
        "actor": "admin@shop.example",
        "reason": "seed",
    }


def test_postings_page_newest_first_and_iterate_all(store, now):
    store.run(lambda uow: [uow.postings.create(posting("anna", seq, now + timedelta(minutes=seq))) for seq in range(1, 8)])
    store.run(lambda uow: uow.postings.create(posting("boris", 1, now)))
    assert [p.seq for p in store.read(lambda uow: uow.postings.page("anna", limit=3))] == [7, 6, 5]
    assert [p.seq for p in store.read(lambda uow: uow.postings.page("anna", limit=3, before_seq=5))] == [4, 3, 2]
    assert [p.seq for p in store.read(lambda uow: list(uow.postings.every("anna", page=2)))] == [7, 6, 5, 4, 3, 2, 1]


# --- line books ----------------------------------------------------------------------------


def test_an_absent_line_book_reads_as_none(store):
    assert store.run(lambda uow: uow.line_books.get("anna", "A1")) is None


def test_a_line_book_round_trips_and_keeps_its_stored_shape(store, now):
    allocation = Allocation(lot_id="L1", amount=200, expires_at=now + timedelta(days=365), source="welcome", accrued_at=now)
    book = OrderLineBook(
        order_id="A1",
        customer_id="anna",
        kind="purchase",
        lines={"serum": BookLine(quantity=2, paid=180000, earned=900, spent=200)},
        earned_lot_id="Lx",
        spend_allocations=[allocation],
        referrer_id="maria",
    )
    store.run(lambda uow: uow.line_books.save(book))
    assert store.read(lambda uow: uow.line_books.get("anna", "A1")) == book
    assert raw(store, layout.line_book("anna", "A1")) == {
        "order_id": "A1",
        "customer_id": "anna",
        "kind": "purchase",
        "lines": {"serum": {"quantity": 2, "paid": 180000, "earned": 900, "spent": 200, "returned": 0}},
        "status": "paid",
        "earned_lot_id": "Lx",
        "spend_allocations": [{"lot_id": "L1", "amount": 200, "expires_at": now + timedelta(days=365), "source": "welcome", "accrued_at": now}],
        "refunded_by_lot": {},
        "referrer_id": "maria",
        "delivered_at": None,
    }
    delivered = replace(book, status="delivered", delivered_at=now)
    store.run(lambda uow: uow.line_books.save(delivered))
    assert store.read(lambda uow: uow.line_books.get("anna", "A1")) == delivered


# --- referee markers ----------------------------------------------------------------------


def test_referee_markers(store, now):
    assert store.run(lambda uow: uow.referees.get("maria", "anna")) is None
    store.run(lambda uow: [uow.referees.create("maria", Referee(referee_id=r, first_paid_at=now + timedelta(days=n))) for n, r in enumerate(("anna", "boris", "vera"))])
    assert store.run(lambda uow: uow.referees.get("maria", "anna")) == Referee("anna", now)
    assert raw(store, layout.referee("maria", "boris")) == {"referee_id": "boris", "first_paid_at": now + timedelta(days=1)}
    assert [r.referee_id for r in store.read(lambda uow: uow.referees.latest("maria", limit=2))] == ["vera", "boris"]
