"""The expiry sweep's concurrent pages (account_sweep.sweep_due), on the stores.

sweep_due sweeps the accounts of a page in groups, each group in one
transaction, several groups at a time, and starts the next page while one is
being swept. These tests
pin what that must not change: every due lot written off exactly once, the
stored position only ever past pages whose every account is done, a failure
raised (not swallowed) with the position left at the start of its page, a
re-run that completes, the page budget respected, and overlapping runs that
double nothing. Speed is measured by ``make bench``, never here.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from shared.adapters.firestore_store import FirestoreStore
from shared.adapters.layout import sweep as sweep_path
from shared.domain.ledger import Accrue
from shared.presets import load_preset
from shared.services import account_sweep, registration
from shared.services.ledger import audit_account, balances, post, postings

LOTS = 3  # the welcome bonus and two accruals per account
WELCOME = 500
EXTRA = (7, 11)


@pytest.fixture
def config():
    return load_preset("biomiq")


def _ids(count: int) -> list[str]:
    return [f"c{i:03d}" for i in range(count)]


def _accounts(store, config, now, count: int) -> list[str]:
    """``count`` customers with LOTS lots each, every one expired a long time after ``now``."""
    for i, cid in enumerate(_ids(count)):
        registration.register_customer(store, config=config, customer_id=cid, now=now + timedelta(seconds=i))
        for j, amount in enumerate(EXTRA):
            post(store, cid, f"gift:{cid}:{j}", Accrue(amount=amount, source="test", ref=cid, activates_at=now, expires_at=now + timedelta(days=30 + j)), now=now)
    return _ids(count)


def _expires(store, cid: str) -> int:
    return Counter(p.kind for p in postings(store, cid, limit=100))["expire"]


def _written_off_once(store, ids, at) -> None:
    for cid in ids:
        assert _expires(store, cid) == LOTS, cid
        assert balances(store, cid, at).total == 0, cid
        assert audit_account(store, cid) == [], cid


PER_ACCOUNT = WELCOME + sum(EXTRA)


@pytest.mark.parametrize(("workers", "group"), [(1, 1), (8, 2), (8, account_sweep.SWEEP_GROUP)])
def test_one_sweep_writes_off_every_due_account_exactly_once(store, config, now, workers, group):
    ids = _accounts(store, config, now, 23)
    late = now + timedelta(days=800)

    totals = account_sweep.sweep_due(store, config=config, now=late, batch=5, cursor="expiry", workers=workers, group=group)

    assert totals == {"accounts": 23, "expired": 23 * PER_ACCOUNT, "released": 0, "pages": 5, "complete": 1}
    _written_off_once(store, ids, late)
    assert store.get(sweep_path("expiry"))["pass"] is None  # the pass is closed
    again = account_sweep.sweep_due(store, config=config, now=late + timedelta(minutes=1), batch=5, cursor="expiry", workers=workers)
    assert (again["accounts"], again["expired"], again["complete"]) == (0, 0, 1)
    _written_off_once(store, ids, late)


def test_a_failing_account_leaves_the_cursor_at_its_page_start_and_a_rerun_completes(firestore_store, config, now, monkeypatch):
    store = firestore_store
    ids = _accounts(store, config, now, 20)
    late = now + timedelta(days=800)
    real = account_sweep._sweep_in
    poisoned = ids[7]  # the third account of the second page of 5: groups (5, 6), (7, 8), (9)

    def failing(*args, **kwargs):
        if kwargs["customer_id"] == poisoned:
            raise RuntimeError("this account cannot be swept")
        return real(*args, **kwargs)

    monkeypatch.setattr(account_sweep, "_sweep_in", failing)
    with pytest.raises(RuntimeError, match="cannot be swept"):
        account_sweep.sweep_due(store, config=config, now=late, batch=5, cursor="expiry", workers=4, group=2)

    stored = store.get(sweep_path("expiry"))["pass"]
    assert stored["after"][1] == ids[4]  # past the first page only: the second page is not passed
    _written_off_once(store, ids[:5], late)
    # the rest of the failing page was finished; the failing group (one transaction) left as it was
    _written_off_once(store, [ids[5], ids[6], ids[9]], late)
    for cid in (poisoned, ids[8]):
        assert _expires(store, cid) == 0
        assert balances(store, cid, now).total == PER_ACCOUNT

    monkeypatch.setattr(account_sweep, "_sweep_in", real)
    rest = account_sweep.sweep_due(store, config=config, now=late + timedelta(minutes=1), batch=5, cursor="expiry", workers=4, group=2)

    assert rest["complete"] == 1
    assert store.get(sweep_path("expiry"))["pass"] is None
    _written_off_once(store, ids, late)


def test_a_failure_in_the_first_page_stores_no_position(firestore_store, config, now, monkeypatch):
    store = firestore_store
    ids = _accounts(store, config, now, 8)
    late = now + timedelta(days=800)
    real = account_sweep._sweep_in
    calls = {"n": 0}
    lock = threading.Lock()

    def crashing(*args, **kwargs):
        with lock:
            calls["n"] += 1
            crash = calls["n"] == 2
        if crash:
            raise RuntimeError("instance killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(account_sweep, "_sweep_in", crashing)
    with pytest.raises(RuntimeError, match="instance killed"):
        account_sweep.sweep_due(store, config=config, now=late, batch=4, cursor="expiry", workers=4, group=2)
    assert store.get(sweep_path("expiry"))["pass"]["after"] is None

    monkeypatch.setattr(account_sweep, "_sweep_in", real)
    rest = account_sweep.sweep_due(store, config=config, now=late, batch=4, cursor="expiry", workers=4)
    assert rest["complete"] == 1
    _written_off_once(store, ids, late)


def test_the_page_budget_is_kept_and_the_next_run_continues(firestore_store, config, now):
    store = firestore_store
    ids = _accounts(store, config, now, 17)
    late = now + timedelta(days=800)

    first = account_sweep.sweep_due(store, config=config, now=late, batch=5, cursor="expiry", max_pages=2, workers=8)

    assert (first["accounts"], first["pages"], first["complete"]) == (10, 2, 0)  # the next page is not started past the budget
    _written_off_once(store, ids[:10], late)
    assert all(_expires(store, cid) == 0 for cid in ids[10:])
    assert store.get(sweep_path("expiry"))["pass"]["after"][1] == ids[9]

    second = account_sweep.sweep_due(store, config=config, now=late, batch=5, cursor="expiry", max_pages=2, workers=8)
    assert (second["accounts"], second["pages"], second["complete"]) == (7, 2, 1)
    _written_off_once(store, ids, late)


def test_overlapping_runs_on_two_instances_write_each_lot_off_once(firestore_store, firestore_client, config, now):
    ids = _accounts(firestore_store, config, now, 24)
    late = now + timedelta(days=800)
    stores = [firestore_store, FirestoreStore(firestore_client)]  # two instances: their own locks, one database
    barrier = threading.Barrier(2)

    def one_run(store):
        barrier.wait()
        return account_sweep.sweep_due(store, config=config, now=late, batch=4, cursor="expiry", workers=6)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one_run, stores))

    assert sum(r["expired"] for r in results) == 24 * PER_ACCOUNT  # every write-off counted by the run that made it
    assert all(r["complete"] == 1 for r in results)
    _written_off_once(firestore_store, ids, late)
