"""Sticker codes over HTTP, on the emulator, with «Лучший маляр»'s program (seed 004): a marketer
creates a batch of 10,000 codes and exports it for the printer, a customer redeems a code once,
and wrong guesses slow down, then block, the customer and their address for the configured time.
Requests are dispatched at fixed moments (:class:`tests.functions.test_earning_events.Clock`)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.stickers import new_code, normalize
from shared.edge import entry
from shared.services import registration
from shared.services.ledger import audit_account, balances
from tests.conftest import SHOP_ORIGIN, customer_token, load_function
from tests.functions.test_admin import Staff, audit_entries, call, error, ok
from tests.functions.test_earning_events import Clock, use_program
from tests.functions.test_earning_events import clock as clock  # noqa: PLC0414  (the fixture, for these tests)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
POINTS = 50
ATTACKER_IP, OTHER_IP = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def club(function_env, clock):
    use_program(function_env, "luchshiy_malyar", since=NOW - timedelta(days=30))
    for customer_id in ("ivan", "petr", "olga"):
        registration.register_customer(function_env, config=entry.config(NOW), customer_id=customer_id, now=NOW - timedelta(days=5))
    admin = load_function("admin")
    staff = Staff(function_env, admin)
    token = staff["marketer"]  # logged in at the real time (the authenticator's codes)
    clock.now = NOW
    return function_env, admin, token


def redeem(account, clock: Clock, customer_id: str, code: str, *, at: datetime, ip: str = OTHER_IP):
    """The customer types ``code`` at ``at`` from the address ``ip``."""
    clock.now = at
    headers = {"Origin": SHOP_ORIGIN, "Authorization": f"Bearer {customer_token(customer_id, at)}", "X-Forwarded-For": ip}
    return account.post("/stickers/redeem", json={"code": code}, headers=headers)


def create(admin, token: str, batch_id: str, count: int):
    body = {"batch_id": batch_id, "name": "Банки краски, весна", "count": count, "points": POINTS, "valid_until": (NOW + timedelta(days=365)).isoformat()}
    return ok(call(admin, "POST", "/stickers", body, token=token))


def exported(admin, token: str, batch_id: str) -> list[str]:
    response = admin.get(f"/stickers/{batch_id}/export", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True)), delimiter=";"))
    assert rows[0] == ["index", "code", "points", "valid_until"]
    return [row[1] for row in rows[1:]]


def test_a_batch_of_ten_thousand_is_generated_exported_and_redeemed_once(club, clock):
    store, admin, token = club
    batch = create(admin, token, "spring", 10_000)
    assert batch["generated"] == 10_000 and batch["redeemed"] == 0
    codes = exported(admin, token, "spring")
    assert len(codes) == 10_000 and len(set(codes)) == 10_000
    assert all(normalize(code) is not None for code in codes)
    again = {"batch_id": "spring", "name": "x", "count": 5, "points": 1, "valid_until": (NOW + timedelta(days=1)).isoformat()}
    assert ok(call(admin, "POST", "/stickers", again, token=token))["count"] == 10_000  # the same id: the same batch
    assert len([r for r in audit_entries(store) if r["action"] == "sticker.create"]) == 1

    account = load_function("account")
    done = ok(redeem(account, clock, "ivan", codes[0].lower(), at=NOW))  # typed in lower case, with its dashes
    assert done["points"] == POINTS and done["message_ru"] == "Начислено 50 бонусов."
    error(redeem(account, clock, "ivan", codes[0], at=NOW + timedelta(minutes=1)), 422, "sticker_used")
    error(redeem(account, clock, "petr", codes[0], at=NOW + timedelta(minutes=2)), 422, "sticker_used")
    assert balances(store, "ivan", NOW + timedelta(minutes=5)).available == POINTS
    assert balances(store, "petr", NOW + timedelta(minutes=5)).available == 0
    clock.now = NOW
    assert ok(call(admin, "GET", "/stickers/spring", token=token))["redeemed"] == 1
    assert audit_account(store, "ivan") == []


def test_wrong_guesses_slow_down_then_block_the_customer_and_the_address(club, clock):
    store, admin, token = club
    codes = exported(admin, token, create(admin, token, "small", 3)["id"])
    account = load_function("account")
    at = NOW
    wrong = error(redeem(account, clock, "olga", "ABCD-EFGH-JKMN", at=at, ip=ATTACKER_IP), 422, "sticker_wrong")
    assert wrong["message_ru"].startswith("Неверный код")
    error(redeem(account, clock, "olga", codes[0], at=at, ip=ATTACKER_IP), 429, "retry_after")  # even a right code waits
    for _ in range(19):  # twenty wrong codes in all, each after the wait the one before earned
        at += timedelta(seconds=61)
        error(redeem(account, clock, "olga", new_code(), at=at, ip=ATTACKER_IP), 422, "sticker_wrong")
    blocked = error(redeem(account, clock, "olga", codes[0], at=at + timedelta(seconds=61), ip=ATTACKER_IP), 429, "sticker_blocked")
    assert "заблокирован до" in blocked["message_ru"]
    error(redeem(account, clock, "olga", codes[0], at=at + timedelta(minutes=30), ip=OTHER_IP), 429, "sticker_blocked")  # the customer, from anywhere
    error(redeem(account, clock, "petr", codes[1], at=at + timedelta(minutes=30), ip=ATTACKER_IP), 429, "sticker_blocked")  # the address, for anyone
    assert ok(redeem(account, clock, "petr", codes[1], at=at + timedelta(minutes=30), ip=OTHER_IP))["points"] == POINTS
    error(redeem(account, clock, "olga", codes[0], at=at + timedelta(minutes=59, seconds=59), ip=ATTACKER_IP), 429, "sticker_blocked")
    assert balances(store, "olga", at + timedelta(hours=2)).total == 0
    assert ok(redeem(account, clock, "olga", codes[0], at=at + timedelta(minutes=60), ip=ATTACKER_IP))["points"] == POINTS  # the block (60 minutes) is over
    assert balances(store, "olga", at + timedelta(hours=2)).total == POINTS


def test_only_the_programs_roles_manage_batches(club, clock):
    store, admin, token = club
    staff = Staff(store, admin)
    clock.now = None
    manager = staff["manager"]
    clock.now = NOW
    error(call(admin, "GET", "/stickers", token=manager), 403, "forbidden")
    error(call(admin, "POST", "/stickers", {"batch_id": "b", "name": "x", "count": 100_001, "points": 1, "valid_until": (NOW + timedelta(days=1)).isoformat()}, token=token), 400)
    error(call(admin, "GET", "/stickers/none/export", token=token), 404, "not_found")
    assert ok(call(admin, "GET", "/stickers", token=token)) == {"batches": []}
