"""Shared fixtures: a clean environment per test, stores, the emulator and a fixed clock."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from shared.adapters.memory_store import MemoryStore

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _restore_environ():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def memory_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture(scope="session")
def firestore_client():
    host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if not host:
        pytest.fail("storage tests run on the Firestore emulator: use `make test` (it starts one)", pytrace=False)
    from google.cloud import firestore

    return firestore.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT", "kopilka-local"))


@pytest.fixture
def firestore_store(firestore_client):
    from shared.adapters.firestore_store import FirestoreStore

    store = FirestoreStore(firestore_client)
    store.reset()
    yield store
    store.reset()


@pytest.fixture(params=["memory", "firestore"])
def store(request):
    """Both stores, for the contract suite: the fake must behave like the real one."""
    if request.param == "memory":
        return MemoryStore()
    return request.getfixturevalue("firestore_store")
