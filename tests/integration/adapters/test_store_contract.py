"""One contract, two stores: the in-memory fake and Firestore (on the emulator) behave alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from msgspec.structs import replace

from shared.domain.errors import IdempotencyConflict, InsufficientBonuses, Retryable
from shared.domain.ledger import Accrue
from shared.services import ledger as ledger_service


def test_missing_document_reads_as_none(store):
    assert store.get("customers/nobody") is None
    assert store.run(lambda uow: uow.get("customers/nobody")) is None


def test_writes_commit_together_and_are_visible_inside_the_unit(store, now):
    def unit(uow):
        uow.put("things/a", {"n": 1, "at": now})
        uow.create("things/b", {"n": 2})
        return uow.get("things/a")

    assert store.run(unit) == {"n": 1, "at": now}
    assert store.get("things/a")["at"] == now
    assert store.get("things/a")["at"].tzinfo is not None
    assert store.get("things/b") == {"n": 2}


def test_a_failing_unit_writes_nothing(store):
    def unit(uow):
        uow.put("things/a", {"n": 1})
        raise InsufficientBonuses("no")

    with pytest.raises(InsufficientBonuses):
        store.run(unit)
    assert store.get("things/a") is None


def test_create_of_an_existing_document_is_retried_then_reported_retryable(store):
    store.run(lambda uow: uow.put("things/a", {"n": 1}))
    with pytest.raises(Retryable):
        store.run(lambda uow: uow.create("things/a", {"n": 2}))
    assert store.get("things/a") == {"n": 1}


def test_a_retried_unit_sees_the_document_that_beat_it(store):
    store.run(lambda uow: uow.put("things/a", {"n": 1}))

    def unit(uow):
        if uow.get("things/a") is None:
            uow.create("things/a", {"n": 2})
            return "created"
        return "seen"

    assert store.run(unit) == "seen"


def test_list_orders_and_pages_with_a_cursor(store):
    store.run(lambda uow: [uow.put(f"items/i{n}", {"seq": n}) for n in range(1, 8)])
    first = store.ordered("items", order_by="seq", descending=True, limit=3)
    assert [d["seq"] for _, d in first] == [7, 6, 5]
    second = store.ordered("items", order_by="seq", descending=True, limit=3, start_after=5)
    assert [d["seq"] for _, d in second] == [4, 3, 2]
    assert sorted(store.iter_ids("items")) == [f"i{n}" for n in range(1, 8)]


def test_due_query_returns_oldest_first_with_a_cursor(store, now):
    docs = {"c1": now - timedelta(days=3), "c2": now - timedelta(days=1), "c3": now + timedelta(days=1), "c4": None, "c5": now - timedelta(days=1)}
    store.run(lambda uow: [uow.put(f"customers/{k}", {"next_expiry_at": v}) for k, v in docs.items()])
    page = store.due("customers", field="next_expiry_at", until=now, limit=2)
    assert [doc_id for doc_id, _ in page] == ["c1", "c2"]
    rest = store.due("customers", field="next_expiry_at", until=now, limit=2, start_after=(page[-1][1], page[-1][0]))
    assert [doc_id for doc_id, _ in rest] == ["c5"]


def test_matching_query_pages_equal_values_by_id(store):
    docs = {"b": "03-15", "a": "03-15", "d": "03-16", "c": "03-15", "e": None}
    store.run(lambda uow: [uow.put(f"customers/{k}", {"birthday_md": v, "lots": {}}) for k, v in docs.items()])
    store.run(lambda uow: uow.put("customers/a/notices/x", {"birthday_md": "03-15"}))  # a subcollection is not the collection
    assert store.matching("customers", field="birthday_md", value="03-15", limit=2) == ["a", "b"]
    assert store.matching("customers", field="birthday_md", value="03-15", limit=2, start_after="b") == ["c"]
    assert store.matching("customers", field="birthday_md", value="12-31", limit=2) == []


def test_count_query_counts_equal_values_of_the_collection_only(store):
    docs = {"a": "03-15", "b": "03-15", "c": "03-16", "d": None, "e": "03-15"}
    store.run(lambda uow: [uow.put(f"customers/{k}", {"birthday_md": v, "lots": {}}) for k, v in docs.items()])
    store.run(lambda uow: uow.put("customers/a/notices/x", {"birthday_md": "03-15"}))  # a subcollection is not the collection
    store.run(lambda uow: uow.put("customers/f", {"lots": {}}))  # no such field: not counted
    assert store.count("customers", field="birthday_md", value="03-15") == 3
    assert store.count("customers", field="birthday_md", value="03-16") == 1
    assert store.count("customers", field="birthday_md", value="12-31") == 0
    store.run(lambda uow: uow.put("customers/c", {"birthday_md": "03-15", "lots": {}}))
    assert store.count("customers", field="birthday_md", value="03-15") == 4
    assert store.count("customers", field="birthday_md", value="03-16") == 0


def test_posting_is_idempotent_by_key(store, now):
    command = Accrue(amount=100, source="purchase", ref="o1", activates_at=now, expires_at=now + timedelta(days=365))
    first = ledger_service.post(store, "c1", "accrue:o1", command, now=now)
    again = ledger_service.post(store, "c1", "accrue:o1", replace(command, expires_at=now + timedelta(days=366)), now=now + timedelta(hours=1))
    assert first.replayed is False and again.replayed is True
    assert replace(again, replayed=False) == first
    assert ledger_service.balances(store, "c1", now).total == 100
    with pytest.raises(IdempotencyConflict):
        ledger_service.post(store, "c1", "accrue:o1", replace(command, amount=101), now=now)
    assert ledger_service.balances(store, "c1", now).total == 100
    assert ledger_service.audit_account(store, "c1") == []


def test_history_pages_newest_first(store, now):
    for n in range(5):
        ledger_service.post(store, "c1", f"a{n}", Accrue(amount=10 + n, source="adjustment", ref="x", activates_at=now, expires_at=now + timedelta(days=30)), now=now)
    page = ledger_service.postings(store, "c1", limit=3)
    assert [p.seq for p in page] == [5, 4, 3]
    assert [p.seq for p in ledger_service.postings(store, "c1", limit=3, before_seq=3)] == [2, 1]
    assert [p.delta for p in page] == [14, 13, 12]


def test_a_read_only_unit_sees_committed_documents_and_cannot_write(store):
    store.run(lambda uow: uow.put("things/a", {"n": 1}))

    assert store.read(lambda uow: (uow.get("things/a"), uow.get("things/none"))) == ({"n": 1}, None)
    with pytest.raises(RuntimeError):
        store.read(lambda uow: uow.put("things/b", {"n": 2}))
    with pytest.raises(RuntimeError):
        store.read(lambda uow: uow.create("things/b", {"n": 2}))
    assert store.get("things/b") is None


def test_get_all_reads_several_documents_at_once_and_sees_the_units_writes(store):
    store.run(lambda uow: (uow.put("things/a", {"n": 1}), uow.put("things/b", {"n": 2})))

    def unit(uow):
        uow.put("things/c", {"n": 3})
        return uow.get_all(["things/a", "things/b", "things/c", "things/none", "things/a"])

    assert store.run(unit) == {"things/a": {"n": 1}, "things/b": {"n": 2}, "things/c": {"n": 3}, "things/none": None}
    assert store.read(lambda uow: uow.get_all(["things/b"])) == {"things/b": {"n": 2}}


def test_a_fresh_posting_whose_key_was_used_fails_the_commit_and_applies_nothing(store, now):
    """``fresh=True`` skips the key look-up; were the caller's proof wrong, the posting's create
    refuses the commit instead of applying the operation a second time."""
    from shared.services.ledger import AccountSession

    accrual = Accrue(amount=100, source="adjustment", ref="test", activates_at=now, expires_at=now + timedelta(days=365))
    ledger_service.post(store, "c1", "gift", accrual, now=now)

    def again(uow):
        return AccountSession(uow, "c1").post("gift", accrual, now=now, fresh=True)

    with pytest.raises(Retryable):
        store.run(again)
    assert ledger_service.balances(store, "c1", now).available == 100
