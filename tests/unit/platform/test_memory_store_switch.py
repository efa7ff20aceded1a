"""KOPILKA_STORE=memory: the in-memory store for local runs, refused in a deployed environment."""

from __future__ import annotations

import pytest

from shared.adapters.memory_store import MemoryStore
from shared.platform import bootstrap
from shared.platform.settings import reload


@pytest.fixture
def fresh(monkeypatch):
    bootstrap.set_store(None)
    yield monkeypatch
    bootstrap.set_store(None)
    monkeypatch.delenv("KOPILKA_STORE", raising=False)
    monkeypatch.delenv("KOPILKA_ENV", raising=False)
    reload()


def test_memory_store_locally_is_one_store_per_instance(fresh):
    fresh.setenv("KOPILKA_STORE", "memory")
    fresh.setenv("KOPILKA_ENV", "local")
    reload()
    first = bootstrap.firestore_store()
    assert isinstance(first, MemoryStore)
    assert bootstrap.firestore_store() is first


@pytest.mark.parametrize("environment", ["production", "staging", "dev"])
def test_memory_store_is_refused_outside_local_runs(fresh, environment):
    fresh.setenv("KOPILKA_STORE", "memory")
    fresh.setenv("KOPILKA_ENV", environment)
    reload()
    with pytest.raises(bootstrap.MemoryStoreRefused, match=environment):
        bootstrap.firestore_store()
