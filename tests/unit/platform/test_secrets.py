"""Token secrets: at least 32 bytes, refused at start-up otherwise; the back office's differs from the customers'."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from shared.domain.errors import Unauthorized
from shared.platform import tokens
from shared.platform.settings import MissingSetting, reload
from shared.services import admins

VARIABLES = ("KOPILKA_TOKEN_SECRET", "KOPILKA_ADMIN_TOKEN_SECRET", "KOPILKA_TOKEN_SECRET_FINGERPRINT")
LONG = "a-customer-token-secret-of-32-bytes-or-more"


@pytest.fixture
def env():
    saved = {name: os.environ.get(name) for name in VARIABLES}
    yield os.environ
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reload()


@pytest.mark.parametrize("variable", ["KOPILKA_TOKEN_SECRET", "KOPILKA_ADMIN_TOKEN_SECRET"])
@pytest.mark.parametrize("value", ["s3cr3t", "x" * 31, "ключ-кириллица"])
def test_token_secrets_shorter_than_32_bytes_are_refused_at_start_up(env, variable, value):
    assert len(value.encode()) < 32
    env[variable] = value
    with pytest.raises(MissingSetting) as refused:
        reload()
    assert refused.value.variables == (variable,)
    assert value not in str(refused.value)  # the log names the variable, never the value


@pytest.mark.parametrize("value", ["x" * 32, "ключ-из-кириллицы-длинный"])
def test_token_secrets_of_32_bytes_or_more_are_accepted(env, value):
    env["KOPILKA_TOKEN_SECRET"] = value
    env["KOPILKA_ADMIN_TOKEN_SECRET"] = value[::-1] + "!"
    assert reload().token_secret == value


def test_the_admin_token_secret_is_refused_when_its_fingerprint_is_the_customer_secrets(env):
    """The back office does not mount the customer secret: it compares the customer secret's fingerprint."""
    env.pop("KOPILKA_TOKEN_SECRET", None)
    env["KOPILKA_ADMIN_TOKEN_SECRET"] = LONG
    env["KOPILKA_TOKEN_SECRET_FINGERPRINT"] = hashlib.sha256(LONG.encode()).hexdigest()
    reload()
    assert tokens.fingerprint(LONG) == env["KOPILKA_TOKEN_SECRET_FINGERPRINT"]
    with pytest.raises(Unauthorized):
        admins.token_secret()
    env["KOPILKA_TOKEN_SECRET_FINGERPRINT"] = tokens.fingerprint("another-secret-of-at-least-32-bytes")
    reload()
    assert admins.token_secret() == LONG


def test_a_function_with_a_short_token_secret_answers_only_500s_naming_the_variable_in_the_log(env, capsys):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from shared.edge import http

    env["KOPILKA_TOKEN_SECRET"] = "s3cr3t-but-short"
    http.settings.cache_clear()
    router = http.Router("cart_quote")
    capsys.readouterr()
    payload, status, _ = router.dispatch(Request(EnvironBuilder(method="GET", path="/health").get_environ()))
    assert status == 500 and "KOPILKA_TOKEN_SECRET" not in payload
    written = capsys.readouterr().out
    assert "s3cr3t-but-short" not in written
    [line] = [json.loads(text) for text in written.splitlines() if '"ERROR"' in text]
    assert line["missing_settings"] == ["KOPILKA_TOKEN_SECRET"] and "shorter than 32 bytes" in line["message"]
