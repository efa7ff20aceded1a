"""The console's server-side sessions: the idle timeout, sign-out for every copy of the cookie,
the account re-checked on every request, and the forms' CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.memory_store import MemoryStore
from shared.domain.errors import Unauthorized
from shared.services import admins, console_sessions
from tests.unit.services.admin_secret import admin_secret  # noqa: F401  (autouse: the back office's token secret)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    admins.create_admin(store, email="olga@shop.example", password="correct horse", roles=["marketer"], now=NOW)
    return store


def signed_in(store: MemoryStore) -> str:
    issued = admins.login(store, email="olga@shop.example", password="correct horse", now=NOW)
    return console_sessions.start(store, token=issued.token, email=issued.email, expires_at=issued.expires_at, now=NOW)


def test_a_session_lives_while_used_and_ends_after_the_idle_timeout(store: MemoryStore) -> None:
    sid = signed_in(store)
    at = NOW
    for _ in range(5):  # a request every 25 minutes keeps it open past the first half hour
        at += timedelta(minutes=25)
        assert console_sessions.resume(store, sid, now=at).email == "olga@shop.example"
    with pytest.raises(Unauthorized):
        console_sessions.resume(store, sid, now=at + timedelta(minutes=30))


def test_sign_out_ends_the_session_for_every_copy_and_nothing_else_opens_one(store: MemoryStore) -> None:
    sid, other = signed_in(store), signed_in(store)
    console_sessions.end(store, sid, now=NOW)
    console_sessions.end(store, sid, now=NOW)  # idempotent
    for refused in (sid, "", None, "x" * 200, sid + "x"):
        with pytest.raises(Unauthorized):
            console_sessions.resume(store, refused, now=NOW)
    assert console_sessions.resume(store, other, now=NOW).email == "olga@shop.example"


def test_a_deactivated_account_is_out_at_its_next_request(store: MemoryStore) -> None:
    sid = signed_in(store)
    admins.set_active(store, email="olga@shop.example", active=False, now=NOW)
    with pytest.raises(Unauthorized):
        console_sessions.resume(store, sid, now=NOW + timedelta(seconds=1))


def test_the_store_keeps_no_usable_session_id_and_the_csrf_token_belongs_to_its_session(store: MemoryStore) -> None:
    sid = signed_in(store)
    assert sid not in repr(store.__dict__)
    token = console_sessions.csrf_token(sid)
    assert console_sessions.csrf_ok(sid, token)
    assert not console_sessions.csrf_ok(signed_in(store), token)
    assert not console_sessions.csrf_ok(sid, None) and not console_sessions.csrf_ok(None, token)
