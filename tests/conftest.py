"""Shared fixtures: a clean environment per test, stores, the emulator and a fixed clock."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from shared.adapters.memory_store import MemoryStore
from tests.workers import per_worker

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)

EMULATOR_FIXTURES = frozenset({"firestore_client", "firestore_store", "function_env"})


def needs_emulator(item: pytest.Item) -> bool:
    """A test that reaches Firestore: through a fixture (directly or not) or the firestore half of ``store``."""
    if EMULATOR_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("store") == "firestore"


def pytest_configure(config: pytest.Config) -> None:
    """Each xdist worker stores in a project of its own on the one emulator."""
    os.environ["GOOGLE_CLOUD_PROJECT"] = per_worker(os.environ.get("GOOGLE_CLOUD_PROJECT", "kopilka-local"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that needs the emulator ``emulator``: ``make unit`` runs the rest with ``-m "not emulator"``.
    Under xdist (``--dist loadgroup``) a file's tests stay on one worker, so its module fixtures are made once,
    and the browser tests share one worker and its one local stack."""
    for item in items:
        if needs_emulator(item):
            item.add_marker(pytest.mark.emulator)
        group = "browser" if item.nodeid.startswith("tests/browser/") else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


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


# --- functions through the real framework -------------------------------------------------

FUNCTIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "functions")
SHOP_ORIGIN = "https://shop.example"
TEST_ENV = {
    "KOPILKA_PROGRAM": "biomiq",
    "KOPILKA_ALLOWED_ORIGINS": SHOP_ORIGIN,
    "KOPILKA_TOKEN_SECRET": "test-token-secret-of-at-least-32-bytes",
    "KOPILKA_PAYOUT_SECRET": "test-payout-secret-of-at-least-32-bytes!",
    "KOPILKA_TILDA_TOKEN": "tilda-url-secret",
    "KOPILKA_EVENTS_SECRET": "events-hmac-secret",
    "KOPILKA_CDEK_TOKEN": "cdek-url-secret",
    "KOPILKA_SWEEP_SECRET": "sweep-secret",
    "YOOMONEY_NOTIFICATION_SECRET": "yoomoney-secret",
    "YOOKASSA_SHOP_ID": "123456",
    "YOOKASSA_SECRET_KEY": "test_secret_key",
    "KOPILKA_TRUSTED_PROXY_HOPS": "1",
}


def load_function(name: str, target: str | None = None):
    """A test client of ``functions/<name>/main.py`` loaded by path through functions-framework."""
    import functions_framework

    app = functions_framework.create_app(target=target or name, source=os.path.join(FUNCTIONS_DIR, name, "main.py"))
    return app.test_client()


@pytest.fixture
def function_env(firestore_store):
    """The environment a deployed function sees, on the emulator, with the Biomiq program in force."""
    from datetime import timedelta

    from shared.platform import bootstrap
    from shared.platform.settings import reload
    from shared.presets import preset_data
    from shared.services import program

    os.environ.update(TEST_ENV)
    reload()
    bootstrap.set_store(firestore_store)
    published = datetime(2020, 1, 1, tzinfo=timezone.utc)
    program.publish(firestore_store, raw=preset_data("biomiq"), author="test", reason="fixture", effective_from=published, now=published - timedelta(seconds=1))
    yield firestore_store
    bootstrap.set_store(None)
    for key in TEST_ENV:
        os.environ.pop(key, None)
    reload()


def customer_token(customer_id: str, now: datetime | None = None, *, epoch: int | None = None) -> str:
    """A customer access token as a login issues it (``epoch``: the session epoch it carries; none: the first)."""
    from shared.platform import tokens

    claims = {} if epoch is None else {"ep": epoch}
    return tokens.issue(TEST_ENV["KOPILKA_TOKEN_SECRET"], subject=customer_id, now=now or datetime.now(timezone.utc), ttl_seconds=3600, **claims)


@pytest.fixture
def yookassa_fake(function_env):
    """The YooKassa API faked in memory, wired into the adapter the functions use."""
    from shared.platform import bootstrap
    from tests.fakes.yookassa import FakeYooKassa

    api = FakeYooKassa(shop_id=TEST_ENV["YOOKASSA_SHOP_ID"], secret_key=TEST_ENV["YOOKASSA_SECRET_KEY"])
    bootstrap.set_transport("yookassa", api.transport)
    yield api
    bootstrap.set_transport("yookassa", None)
