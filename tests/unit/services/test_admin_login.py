"""Back-office logins on the in-memory store: throttled per address (never a lock anyone can
set on an admin), one message for every refusal, the counter taken before the password is
checked, every attempt logged."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from msgspec.structs import replace

from shared.adapters.memory_store import MemoryStore
from shared.domain import admins as rules
from shared.domain.admins import PasswordHash
from shared.domain.errors import Forbidden, TooManyRequests, Unauthorized
from shared.edge import admin_auth
from shared.services import admin_mfa, admins
from tests.unit.services.admin_secret import admin_secret  # noqa: F401  (autouse: the back office's token secret)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
ATTACKER = "203.0.113.9"
OWNER = "198.51.100.7"


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    admins.create_admin(store, email="olga@shop.example", password=PASSWORD, roles=["marketer"], now=NOW)
    return store


def attempt(store, email: str, password: str, *, ip: str, at: datetime = NOW):
    return admins.login(store, email=email, password=password, ip=ip, now=at)


def refusal(store, email: str, password: str, *, ip: str, at: datetime = NOW) -> dict:
    with pytest.raises((Unauthorized, TooManyRequests)) as refused:
        attempt(store, email, password, ip=ip, at=at)
    return refused.value.to_dict()


def test_wrong_passwords_never_lock_an_admin_out_and_the_refusal_never_reveals_who_exists(store):
    wrong = [refusal(store, "olga@shop.example", "wrong password!", ip=ATTACKER) for _ in range(rules.ADDRESS_FAILURES)]
    unknown = refusal(store, "nobody@shop.example", PASSWORD, ip=OWNER)
    assert {(w["code"], w["message_ru"]) for w in wrong} == {(unknown["code"], unknown["message_ru"])} == {("unauthorized", "Неверный адрес или пароль.")}
    # the attacker's address is throttled, with the same answer whichever e-mail it names
    for_olga = refusal(store, "olga@shop.example", PASSWORD, ip=ATTACKER)
    for_nobody = refusal(store, "nobody@shop.example", PASSWORD, ip=ATTACKER)
    assert for_olga == for_nobody and for_olga["code"] == "rate_limited" and set(for_olga["details"]) == {"retry_after"}
    # ... while the admin, from her own address, logs in with her password at once
    assert attempt(store, "olga@shop.example", PASSWORD, ip=OWNER).email == "olga@shop.example"
    assert attempt(store, "olga@shop.example", PASSWORD, ip=ATTACKER, at=NOW + rules.ADDRESS_WINDOW).email == "olga@shop.example"


def test_parallel_guesses_from_one_address_are_checked_at_most_the_limit(store, monkeypatch):
    checked = []
    lock = threading.Lock()
    real = admins.check_password

    def counting(stored, password):
        with lock:
            checked.append(password)
        return real(stored, password)

    monkeypatch.setattr(admins, "check_password", counting)
    guesses = [f"guess number {n:02d}" for n in range(40)]
    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(lambda g: refusal(store, "olga@shop.example", g, ip=ATTACKER)["code"], guesses))
    assert len(checked) == rules.ADDRESS_FAILURES
    assert outcomes.count("unauthorized") == rules.ADDRESS_FAILURES and outcomes.count("rate_limited") == 40 - rules.ADDRESS_FAILURES


def test_every_login_attempt_is_logged_with_its_address_and_target(store, caplog):
    caplog.set_level(logging.INFO, logger="kopilka")
    refusal(store, "olga@shop.example", "wrong password!", ip=ATTACKER)
    refusal(store, "nobody@shop.example", PASSWORD, ip=ATTACKER)
    attempt(store, "olga@shop.example", PASSWORD, ip=OWNER)
    logged = [r.json_fields for r in caplog.records if r.getMessage() == "admin login"]
    assert [(f["email"], f["ip"], f["outcome"]) for f in logged] == [
        ("olga@shop.example", ATTACKER, "wrong_password"),
        ("nobody@shop.example", ATTACKER, "unknown_account"),
        ("olga@shop.example", OWNER, "ok"),
    ]
    assert all(PASSWORD not in str(f) and "wrong password!" not in str(f) for f in logged)


# --- password hashes ---------------------------------------------------------------------------------


def _legacy_scrypt(password: str) -> PasswordHash:
    """A hash as accounts created before Argon2id hold it: scrypt N=2**14, r=8, p=1."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return PasswordHash(salt=salt.hex(), hash=digest.hex(), n=2**14, r=8, p=1, algo="scrypt")


def test_passwords_are_hashed_with_argon2id(store):
    stored = store.get("admins/olga@shop.example")["password"]
    assert stored["algo"] == "argon2id" and stored["hash"].startswith("$argon2id$") and PASSWORD not in str(stored)
    one, two = admins.hash_password(PASSWORD), admins.hash_password(PASSWORD)
    assert one.hash != two.hash and admins.check_password(one, PASSWORD) and not admins.check_password(one, PASSWORD + "!")
    assert not admins.check_password(None, PASSWORD)


def test_an_scrypt_hash_still_logs_in_and_is_rehashed_to_argon2id_on_its_next_login(store):
    account = store.read(lambda uow: uow.admins.get("olga@shop.example"))
    store.run(lambda uow: uow.admins.put(replace(account, password=_legacy_scrypt(PASSWORD))))
    refusal(store, "olga@shop.example", "wrong password!", ip=OWNER)
    assert store.get("admins/olga@shop.example")["password"]["algo"] == "scrypt"  # a wrong password changes no hash
    assert attempt(store, "olga@shop.example", PASSWORD, ip=OWNER).email == "olga@shop.example"
    rehashed = store.get("admins/olga@shop.example")["password"]
    assert rehashed["algo"] == "argon2id" and rehashed["hash"].startswith("$argon2id$")
    assert attempt(store, "olga@shop.example", PASSWORD, ip=OWNER).email == "olga@shop.example"


# --- two-factor (TOTP) -------------------------------------------------------------------------------


class Bearer:
    """Just enough of an HTTP request for :func:`admin_auth.authenticate`."""

    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}


def test_the_roles_that_move_money_act_only_after_a_second_factor(store):
    admins.create_admin(store, email="max@shop.example", password=PASSWORD, roles=["manager"], now=NOW)
    token = admins.login(store, email="max@shop.example", password=PASSWORD, now=NOW).token
    with pytest.raises(Forbidden) as refused:
        admin_auth.authenticate(store, Bearer(token), NOW).require("payout.read")
    assert refused.value.code == "mfa_required"
    assert admin_auth.authenticate(store, Bearer(token), NOW, enrolling=True).email == "max@shop.example"  # may enrol, nothing else
    setup = admin_mfa.setup_totp(store, email="max@shop.example", now=NOW)
    assert setup.otpauth_uri.startswith("otpauth://totp/") and "secret=" + setup.secret in setup.otpauth_uri
    enrolled = admin_mfa.confirm_totp(store, email="max@shop.example", code=pyotp.TOTP(setup.secret).at(NOW), now=NOW)
    assert len(enrolled.recovery_codes) == 10 and len(set(enrolled.recovery_codes)) == 10
    assert enrolled.recovery_codes[0] not in str(store.get("admins/max@shop.example"))  # kept only as hashes
    assert admin_auth.authenticate(store, Bearer(enrolled.token), NOW).require("payout.read").email == "max@shop.example"
    # a marketer moves no money: the password alone is enough
    assert admin_auth.authenticate(store, Bearer(attempt(store, "olga@shop.example", PASSWORD, ip=OWNER).token), NOW).require("config.read")


def _enrolled(store, email: str) -> tuple[pyotp.TOTP, list[str]]:
    admins.create_admin(store, email=email, password=PASSWORD, roles=["accountant"], now=NOW)
    setup = admin_mfa.setup_totp(store, email=email, now=NOW)
    totp = pyotp.TOTP(setup.secret)
    return totp, admin_mfa.confirm_totp(store, email=email, code=totp.at(NOW), now=NOW).recovery_codes


def test_an_enrolled_admin_logs_in_only_with_a_fresh_code(store):
    totp, _ = _enrolled(store, "anna@shop.example")
    later = NOW + timedelta(minutes=5)
    with pytest.raises(Unauthorized) as missing:
        admins.login(store, email="anna@shop.example", password=PASSWORD, ip=OWNER, now=later)
    assert missing.value.code == "otp_required"
    for _ in range(rules.ADDRESS_FAILURES):  # the right password asked for its code is no failure: it throttles nothing
        with pytest.raises(Unauthorized):
            admins.login(store, email="anna@shop.example", password=PASSWORD, ip=OWNER, now=later)
    with pytest.raises(Unauthorized) as wrong:
        admins.login(store, email="anna@shop.example", password=PASSWORD, otp=f"{(int(totp.at(later)) + 1) % 10**6:06d}", ip=OWNER, now=later)
    assert wrong.value.code == "otp_invalid"
    session = admins.login(store, email="anna@shop.example", password=PASSWORD, otp=totp.at(later), ip=OWNER, now=later)
    assert admin_auth.authenticate(store, Bearer(session.token), later).require("report.liability")
    with pytest.raises(Unauthorized) as replayed:  # the same code, seconds later, is not a second login
        admins.login(store, email="anna@shop.example", password=PASSWORD, otp=totp.at(later), ip=OWNER, now=later + timedelta(seconds=5))
    assert replayed.value.code == "otp_invalid"
    with pytest.raises(Unauthorized):  # the code alone, without the password, is nothing
        admins.login(store, email="anna@shop.example", password="wrong password!", otp=totp.at(later + timedelta(minutes=1)), ip=OWNER, now=later + timedelta(minutes=1))


def test_each_recovery_code_logs_in_once(store):
    _, codes = _enrolled(store, "anna@shop.example")
    session = admins.login(store, email="anna@shop.example", password=PASSWORD, recovery_code=codes[0].upper(), ip=OWNER, now=NOW)
    assert admin_auth.authenticate(store, Bearer(session.token), NOW).require("report.liability")
    with pytest.raises(Unauthorized) as used:
        admins.login(store, email="anna@shop.example", password=PASSWORD, recovery_code=codes[0], ip=OWNER, now=NOW)
    assert used.value.code == "otp_invalid"
    assert admins.login(store, email="anna@shop.example", password=PASSWORD, recovery_code=codes[1], ip=OWNER, now=NOW).mfa
    assert len(store.get("admins/anna@shop.example")["recovery_codes"]) == 8
