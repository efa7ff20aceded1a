"""Every function answers GET /health through the real framework: no store, no credentials, no origin check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.platform import bootstrap
from shared.platform.settings import reload
from tests.conftest import load_function

FUNCTIONS = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "functions").iterdir() if (p / "main.py").exists())


@pytest.fixture
def bare_env():
    """A bare instance: no secrets, no store (a store access would fail loudly)."""
    for key in list(os.environ):
        if key.startswith(("KOPILKA_", "YOOKASSA_", "YOOMONEY_")):
            del os.environ[key]
    os.environ["KOPILKA_VERSION"] = "2026.03.1"
    os.environ["KOPILKA_ENV"] = "test"
    reload()

    class NoStore:
        def __getattr__(self, name):
            raise AssertionError(f"/health touched the store ({name})")

    bootstrap.set_store(NoStore())  # type: ignore[arg-type]
    yield
    bootstrap.set_store(None)
    reload()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_health(function, bare_env):
    client = load_function(function)
    answer = client.get("/health", headers={"Origin": "https://evil.example"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {"function": function, "version": "2026.03.1", "environment": "test", "status": "ok"}
    assert answer.headers["X-Request-Id"]


def test_without_a_version_the_health_says_dev_or_the_version_file(bare_env):
    from shared.platform.settings import VERSION_FILE

    del os.environ["KOPILKA_VERSION"]
    reload()
    expected = VERSION_FILE.read_text().strip() if VERSION_FILE.exists() else "dev"
    assert load_function("account").get("/health").get_json()["version"] == (expected or "dev")


def test_a_missing_token_secret_is_a_logged_500_not_a_crash(bare_env, capsys):
    client = load_function("account")  # the import does not need the secret
    answer = client.get("/profile", headers={"Authorization": "Bearer x"})
    assert answer.status_code == 500
    error = answer.get_json()["error"]
    assert error["code"] == "internal" and error["details"]["request_id"] == answer.headers["X-Request-Id"]
    assert "KOPILKA_TOKEN_SECRET" in capsys.readouterr().out
