"""Contention on the real emulator: no overdraft, no lost update, one application per key."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from shared.domain.errors import InsufficientBonuses, Retryable
from shared.domain.ledger import Accrue, Spend
from shared.services import ledger as ledger_service

pytestmark = pytest.mark.reliability


def _client_call(fn, attempts: int = 10):
    """A well-behaved client: on a retryable refusal it waits and tries again with the same key."""
    for _ in range(attempts):
        try:
            return fn()
        except Retryable as exc:
            time.sleep(random.uniform(0.1, min(exc.retry_after_seconds, 1.0)))  # jittered, as Retry-After asks
    raise AssertionError("still contended after client retries")


def _fund(store, now, amount):
    ledger_service.post(store, "c1", "fund", Accrue(amount=amount, source="adjustment", ref="test", activates_at=now, expires_at=now + timedelta(days=365)), now=now)


def test_twenty_concurrent_spends_on_a_balance_covering_three(firestore_store, now):
    _fund(firestore_store, now, 300)

    def spend(n):
        try:
            return _client_call(lambda: ledger_service.post(firestore_store, "c1", f"spend:o{n}", Spend(amount=100, order_id=f"o{n}"), now=now))
        except InsufficientBonuses:
            return "refused"

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(spend, range(20)))
    succeeded = [r for r in results if r != "refused"]
    assert len(succeeded) == 3
    assert results.count("refused") == 17
    balances = ledger_service.balances(firestore_store, "c1", now)
    assert (balances.available, balances.total) == (0, 0)
    assert ledger_service.audit_account(firestore_store, "c1") == []
    assert len(list(ledger_service.all_postings(firestore_store, "c1"))) == 4


def test_a_replayed_operation_storm_applies_once(firestore_store, now):
    _fund(firestore_store, now, 1000)

    def spend(_):
        return _client_call(lambda: ledger_service.post(firestore_store, "c1", "spend:o1", Spend(amount=250, order_id="o1"), now=now))

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(spend, range(10)))
    assert sum(1 for r in results if not r.replayed) == 1
    allocations = {tuple((a.lot_id, a.amount, a.expires_at) for a in r.allocations) for r in results}
    assert len(allocations) == 1 and sum(a[1] for a in allocations.pop()) == 250
    assert ledger_service.balances(firestore_store, "c1", now).available == 750
    assert ledger_service.audit_account(firestore_store, "c1") == []


def test_concurrent_accruals_are_all_kept(firestore_store, now):
    def accrue(n):
        return _client_call(
            lambda: ledger_service.post(firestore_store, "c1", f"accrue:o{n}", Accrue(amount=10 + n, source="purchase", ref=f"o{n}", activates_at=now, expires_at=now + timedelta(days=365)), now=now)
        )

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(accrue, range(12)))
    assert ledger_service.balances(firestore_store, "c1", now).available == sum(10 + n for n in range(12))
    assert ledger_service.audit_account(firestore_store, "c1") == []


def test_spends_from_separate_instances_neither_overdraw_nor_lose_updates(firestore_client, firestore_store, now):
    """Four store instances (four function instances) contend through Firestore's own locks and retries."""
    from shared.adapters.firestore_store import FirestoreStore

    _fund(firestore_store, now, 300)
    instances = [FirestoreStore(firestore_client) for _ in range(4)]

    def spend(n):
        store = instances[n % len(instances)]
        try:
            return _client_call(lambda: ledger_service.post(store, "c1", f"spend:o{n}", Spend(amount=100, order_id=f"o{n}"), now=now))
        except InsufficientBonuses:
            return "refused"

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(spend, range(8)))
    assert len([r for r in results if r != "refused"]) == 3
    assert ledger_service.balances(firestore_store, "c1", now).total == 0
    assert ledger_service.audit_account(firestore_store, "c1") == []
