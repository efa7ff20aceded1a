"""The back-office function through functions-framework, on the emulator with the Biomiq program.

Boundaries: customer credentials never work here (and admin tokens never work on
customer endpoints); a tampered, expired or revoked admin token is refused; each
role does only its actions; maker-checker approvals execute once and never by
their maker; every action lands in the audit log; the ledger stays the fold of
its postings.
"""

from __future__ import annotations

import base64
import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from shared.api.admin import ENDPOINTS
from shared.domain import admins as admin_rules
from shared.domain.cart import CartLine
from shared.domain.ledger import Accrue
from shared.edge import entry
from shared.platform import tokens
from shared.platform.sealing import payout_sealer
from shared.platform.settings import reload
from shared.presets import preset_data
from shared.services import admins, ledger, program, registration
from shared.services.admin import mass_accruals
from tests.conftest import TEST_ENV, customer_token, load_function

ADMIN_SECRET = "test-admin-secret-distinct-from-the-customers"
PASSWORD = "correct horse battery staple"
ROLES = ("admin", "marketer", "manager", "accountant")
CART = [{"id": "serum", "name": "Сыворотка", "price": 100000, "quantity": 1}]  # 1 000 ₽


@pytest.fixture
def env(function_env):
    os.environ["KOPILKA_ADMIN_TOKEN_SECRET"] = ADMIN_SECRET
    reload()
    yield function_env
    os.environ.pop("KOPILKA_ADMIN_TOKEN_SECRET", None)
    reload()


@pytest.fixture
def client(env):
    return load_function("admin")


def now() -> datetime:
    return datetime.now(UTC)


class Staff:
    """Back-office users created on first use: ``staff["marketer2"]`` is a second marketer's token."""

    def __init__(self, store, client) -> None:
        self.store, self.client, self.tokens = store, client, {}
        self.authenticators: dict[str, pyotp.TOTP] = {}

    @staticmethod
    def email(name: str) -> str:
        return f"{name}@shop.example"

    def __getitem__(self, name: str) -> str:
        if name not in self.tokens:
            role = name.rstrip("0123456789")
            admins.create_admin(self.store, email=self.email(name), password=PASSWORD, roles=[role], now=now())
            response = self.client.post("/login", json={"email": self.email(name), "password": PASSWORD})
            assert response.status_code == 200, response.get_data(as_text=True)
            session = response.get_json()
            if session["mfa_setup_required"]:  # the roles that move money enrol an authenticator first
                setup = ok(call(self.client, "POST", "/mfa/setup", token=session["token"]))
                self.authenticators[name] = pyotp.TOTP(setup["secret"])
                session = ok(call(self.client, "POST", "/mfa/confirm", {"otp": self.authenticators[name].now()}, token=session["token"]))
            self.tokens[name] = session["token"]
        return self.tokens[name]


@pytest.fixture
def staff(env, client):
    return Staff(env, client)


def call(client, method: str, path: str, body=None, *, token: str | None = None, headers: dict | None = None):
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    if method == "GET":
        return client.get(path, headers=all_headers)
    return client.open(path, method=method, json=body, headers=all_headers)


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def error(response, status: int, code: str | None = None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "message_ru", "details"}
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def register(store, *customer_ids: str) -> None:
    moment = now()
    for customer_id in customer_ids:
        registration.register_customer(store, config=entry.config(moment), customer_id=customer_id, now=moment)


def audit_entries(store) -> list[dict]:
    return [doc for _, doc in store.ordered("audit", order_by="key", descending=True, limit=500)]


def publish_with_b2b(store) -> None:
    raw = preset_data("biomiq")
    raw["groups"] = [{"code": "b2c", "name": "Розница"}, {"code": "b2b", "name": "Опт", "bonuses_excluded": False}]
    moment = now()
    program.publish(store, raw=raw, author="test", reason="b2b group", effective_from=moment, now=moment)


def sound(store, *customer_ids: str) -> None:
    for customer_id in customer_ids:
        assert ledger.audit_account(store, customer_id) == []


# --- credentials -------------------------------------------------------------------------------


def test_login_answers_an_admin_token_with_the_roles(client, env):
    admins.create_admin(env, email="  Olga@Shop.Example ", password=PASSWORD, roles=["marketer", "accountant"], now=now())
    body = ok(call(client, "POST", "/login", {"email": "olga@shop.example", "password": PASSWORD}))
    assert body["email"] == "olga@shop.example" and body["roles"] == ["accountant", "marketer"]
    claims = tokens.verify(ADMIN_SECRET, body["token"], now=now(), kind="admin")
    assert claims["typ"] == "admin" and claims["roles"] == ["accountant", "marketer"]
    stored = env.get("admins/olga@shop.example")
    assert stored["password"]["algo"] == "argon2id" and PASSWORD not in json.dumps(stored, default=str)
    me = ok(call(client, "GET", "/me", token=body["token"]))
    assert me["roles"] == ["marketer", "accountant"] and "ledger.adjust" in me["permissions"] and "payout.approve" not in me["permissions"]


def test_wrong_passwords_unknown_and_inactive_admins_are_refused_alike_and_throttle_only_their_address(client, env):
    admins.create_admin(env, email="olga@shop.example", password=PASSWORD, roles=["marketer"], now=now())
    unknown = error(call(client, "POST", "/login", {"email": "nobody@shop.example", "password": PASSWORD}), 401, "unauthorized")
    error(call(client, "POST", "/login", {"email": "not an email", "password": PASSWORD}), 401, "unauthorized")
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    for _ in range(admin_rules.ADDRESS_FAILURES):
        wrong = error(call(client, "POST", "/login", {"email": "olga@shop.example", "password": "wrong password!"}, headers=attacker), 401, "unauthorized")
        assert wrong["message_ru"] == unknown["message_ru"] == "Неверный адрес или пароль."
    throttled = call(client, "POST", "/login", {"email": "olga@shop.example", "password": PASSWORD}, headers=attacker)
    assert error(throttled, 429, "rate_limited")["details"].keys() == {"retry_after"} and throttled.headers["Retry-After"]
    assert error(call(client, "POST", "/login", {"email": "nobody@shop.example", "password": PASSWORD}, headers=attacker), 429)["message_ru"] == throttled.get_json()["error"]["message_ru"]
    ok(call(client, "POST", "/login", {"email": "olga@shop.example", "password": PASSWORD}, headers={"X-Forwarded-For": "198.51.100.7"}))  # no lock on her
    admins.create_admin(env, email="ivan@shop.example", password=PASSWORD, roles=["marketer"], now=now())
    admins.set_active(env, email="ivan@shop.example", active=False, now=now())
    assert error(call(client, "POST", "/login", {"email": "ivan@shop.example", "password": PASSWORD}), 401, "unauthorized")["message_ru"] == unknown["message_ru"]
    error(call(client, "POST", "/login", {"email": "ivan@shop.example"}), 400, "validation_failed")


def test_the_roles_that_move_money_act_only_after_enrolling_a_second_factor(client, env):
    admins.create_admin(env, email="max@shop.example", password=PASSWORD, roles=["manager"], now=now())
    session = ok(call(client, "POST", "/login", {"email": "max@shop.example", "password": PASSWORD}))
    assert (session["mfa"], session["mfa_setup_required"]) == (False, True)
    refused = error(call(client, "POST", "/payouts/search", {}, token=session["token"]), 403, "mfa_required")
    assert refused["message_ru"].startswith("Включите двухфакторный вход")
    assert ok(call(client, "GET", "/me", token=session["token"]))["roles"] == ["manager"]
    setup = ok(call(client, "POST", "/mfa/setup", token=session["token"]))
    totp = pyotp.TOTP(setup["secret"])
    error(call(client, "POST", "/mfa/confirm", {"otp": f"{(int(totp.now()) + 1) % 10**6:06d}"}, token=session["token"]), 401, "otp_invalid")
    enrolled = ok(call(client, "POST", "/mfa/confirm", {"otp": totp.now()}, token=session["token"]))
    assert enrolled["mfa"] is True and len(enrolled["recovery_codes"]) == 10
    ok(call(client, "POST", "/payouts/search", {}, token=enrolled["token"]))
    stored = env.get("admins/max@shop.example")
    assert stored["totp"]["confirmed_at"] and not set(enrolled["recovery_codes"]) & set(stored["recovery_codes"])
    # from now on the password alone is not a login; a recovery code works once
    error(call(client, "POST", "/login", {"email": "max@shop.example", "password": PASSWORD}), 401, "otp_required")
    by_code = ok(call(client, "POST", "/login", {"email": "max@shop.example", "password": PASSWORD, "recovery_code": enrolled["recovery_codes"][0]}))
    ok(call(client, "POST", "/payouts/search", {}, token=by_code["token"]))
    error(call(client, "POST", "/login", {"email": "max@shop.example", "password": PASSWORD, "recovery_code": enrolled["recovery_codes"][0]}), 401, "otp_invalid")
    error(call(client, "POST", "/mfa/setup", token=by_code["token"]), 409, "invalid_state")  # on already: only a reset turns it off


def _path(endpoint) -> str:
    path = endpoint.path.replace("{customer_id}", "anna").replace("{code}", "SPRING").replace("{job_id}", "job-1").replace("{request_id}", "payout-0001")
    return path.replace("{approval_id}", "A1").replace("{order_id}", "A1").replace("{version}", "1")


PROTECTED = [e for e in ENDPOINTS if e.auth == "admin"]


def test_a_customer_token_is_refused_on_every_admin_route(client, env):
    register(env, "anna")
    as_admin_secret = tokens.issue(ADMIN_SECRET, subject="anna", now=now(), ttl_seconds=600)  # a customer token, even signed with the admin secret
    for endpoint in PROTECTED:
        for token in (customer_token("anna"), as_admin_secret):
            error(call(client, endpoint.method, _path(endpoint), {}, token=token), 401, "unauthorized")
    assert {e.path for e in ENDPOINTS} - {e.path for e in PROTECTED} == {"/login"}


def test_an_admin_token_is_refused_by_customer_endpoints(client, env, staff):
    register(env, "anna")
    quote = load_function("cart_quote")
    headers = {"Authorization": f"Bearer {staff['admin']}", "Origin": TEST_ENV["KOPILKA_ALLOWED_ORIGINS"]}
    response = quote.post("/quote", json={"lines": CART}, headers=headers)
    error(response, 401, "unauthorized")


def _forge(token: str, **changes) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_tampered_expired_and_revoked_admin_tokens_are_refused(client, env, staff):
    manager = staff["manager"]
    assert ok(call(client, "GET", "/me", token=manager))["roles"] == ["manager"]
    email = Staff.email("manager")
    cases = {
        "no token": None,
        "tampered roles": _forge(manager, roles=["admin", "marketer"]),
        "other signature": tokens.issue("another-secret-entirely-xxxxxxxxxxxx", subject=email, now=now(), ttl_seconds=600, kind="admin", roles=["admin"], epoch=0),
        "expired": tokens.issue(ADMIN_SECRET, subject=email, now=now() - timedelta(hours=10), ttl_seconds=3600, kind="admin", roles=["manager"], epoch=0),
        "garbage": "not-a-jwt",
    }
    for name, token in cases.items():
        response = call(client, "POST", "/customers/search", {}, token=token)
        assert response.status_code == 401, name
    error(call(client, "GET", "/me", headers={"Authorization": "Basic YTpi"}), 401, "unauthorized")
    # a password reset voids the tokens issued before; a deactivated admin is out at once
    admins.create_admin(env, email=email, password=PASSWORD + "!", roles=["manager"], now=now(), replace=True)
    error(call(client, "GET", "/me", token=manager), 401, "unauthorized")
    accountant = staff["accountant"]
    admins.set_active(env, email=Staff.email("accountant"), active=False, now=now())
    error(call(client, "GET", "/me", token=accountant), 401, "unauthorized")


def test_no_admin_token_is_issued_when_the_secret_is_unset_or_shared(client, env):
    admins.create_admin(env, email="olga@shop.example", password=PASSWORD, roles=["admin"], now=now())
    os.environ["KOPILKA_ADMIN_TOKEN_SECRET"] = TEST_ENV["KOPILKA_TOKEN_SECRET"]
    reload()
    error(call(client, "POST", "/login", {"email": "olga@shop.example", "password": PASSWORD}), 401, "unauthorized")
    os.environ["KOPILKA_ADMIN_TOKEN_SECRET"] = ""
    reload()
    error(call(client, "POST", "/login", {"email": "olga@shop.example", "password": PASSWORD}), 401, "unauthorized")


# --- roles ---------------------------------------------------------------------------------------

PROGRAM, READ = {"admin", "marketer"}, set(ROLES)
WHO_MAY = {
    ("GET", "/me"): READ,
    ("POST", "/mfa/setup"): READ,
    ("POST", "/mfa/confirm"): READ,
    ("GET", "/config"): PROGRAM,
    ("POST", "/config"): PROGRAM,
    ("GET", "/config/history"): PROGRAM,
    ("POST", "/config/draft"): PROGRAM,
    ("POST", "/config/preview"): PROGRAM,
    ("GET", "/config/versions/{version}"): PROGRAM,
    ("POST", "/promo_codes"): PROGRAM,
    ("POST", "/promo_codes/search"): PROGRAM,
    ("POST", "/promo_codes/{code}/deactivate"): PROGRAM,
    ("POST", "/promo_codes/{code}/usage"): PROGRAM,
    ("POST", "/mass_accruals"): PROGRAM,
    ("GET", "/mass_accruals/{job_id}"): PROGRAM,
    ("POST", "/mass_accruals/preview"): PROGRAM,
    ("POST", "/mass_accruals/customer_list"): PROGRAM,
    ("POST", "/mass_accruals/search"): PROGRAM,
    ("POST", "/mass_accruals/{job_id}/run"): PROGRAM,
    ("POST", "/customers/search"): READ,
    ("GET", "/customers/{customer_id}"): READ,
    ("POST", "/customers/{customer_id}/ledger"): READ,
    ("POST", "/customers/{customer_id}/overview"): READ,
    ("POST", "/customers/{customer_id}/adjust"): PROGRAM,
    ("POST", "/customers/{customer_id}/level"): PROGRAM,
    ("POST", "/customers/{customer_id}/group"): PROGRAM,
    ("POST", "/customers/{customer_id}/block"): {"admin", "manager"},
    ("POST", "/customers/{customer_id}/unblock"): {"admin", "manager"},
    ("POST", "/orders"): {"manager"},
    ("POST", "/orders/flagged"): {"admin", "manager"},
    ("POST", "/orders/{order_id}/delivered"): {"manager"},
    ("POST", "/orders/{order_id}/return"): {"manager"},
    ("POST", "/payouts/search"): {"manager", "accountant"},
    ("POST", "/payouts/{request_id}/approve"): {"manager"},
    ("POST", "/payouts/{request_id}/reject"): {"manager"},
    ("POST", "/payouts/{request_id}/paid"): {"manager"},
    ("POST", "/payouts/{request_id}/destination"): {"manager"},
    ("GET", "/payouts/{request_id}"): {"manager", "accountant"},
    ("POST", "/payouts/export"): {"manager", "accountant"},
    ("POST", "/approvals/search"): {"admin", "marketer", "manager"},
    ("GET", "/approvals/{approval_id}"): {"admin", "marketer", "manager"},
    ("POST", "/approvals/{approval_id}/approve"): READ,  # then: the roles of the approval's action
    ("POST", "/approvals/{approval_id}/reject"): READ,
    ("POST", "/audit/search"): {"admin", "accountant"},
    ("POST", "/reports/liability"): {"admin", "marketer", "accountant"},
    ("GET", "/campaigns/{code}/results"): {"admin", "marketer", "accountant"},
    ("POST", "/reports/dashboard"): READ,  # each role sees the dashboards its actions open
    ("POST", "/catalog/import"): PROGRAM,
    ("GET", "/catalog"): READ,
    ("GET", "/catalog/import/{import_id}"): READ,
    ("GET", "/catalog/products/{uid}"): READ,
    ("PUT", "/catalog/products/{uid}"): PROGRAM,
    ("POST", "/customers/{customer_id}/events"): {"admin", "marketer", "manager"},
    ("POST", "/stickers"): PROGRAM,
    ("GET", "/stickers"): PROGRAM,
    ("GET", "/stickers/{batch_id}"): PROGRAM,
    ("POST", "/stickers/{batch_id}/generate"): PROGRAM,
    ("GET", "/stickers/{batch_id}/export"): PROGRAM,
}


def test_the_role_table_covers_every_route():
    assert set(WHO_MAY) == {(e.method, e.path) for e in PROTECTED}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_limited_to_its_actions(client, env, staff, role):
    register(env, "anna")
    token = staff[role]
    before = len(audit_entries(env))
    for endpoint in PROTECTED:
        response = call(client, endpoint.method, _path(endpoint), {}, token=token)
        allowed = role in WHO_MAY[(endpoint.method, endpoint.path)]
        if allowed:
            assert response.status_code not in (401, 403), (role, endpoint.method, endpoint.path, response.get_data(as_text=True))
            assert response.status_code != 500
        else:
            assert response.status_code == 403, (role, endpoint.method, endpoint.path, response.get_data(as_text=True))
            assert response.get_json()["error"]["code"] == "forbidden"
    assert ledger.load_account(env, "anna").balances(now()).total == 500  # no empty request changed anything
    assert len(audit_entries(env)) == before  # refusals and rejected bodies are not audited
    sound(env, "anna")


# --- manual adjustments and maker-checker -----------------------------------------------------------


def test_an_adjustment_is_made_with_its_reason_and_audited(client, env, staff):
    register(env, "anna")
    marketer = staff["marketer"]
    body = {"amount": 300, "reason": "компенсация за задержку", "idempotency_key": "adj-1"}
    done = ok(call(client, "POST", "/customers/anna/adjust", body, token=marketer))
    assert done == {"status": "done", "customer_id": "anna", "amount": 300, "replayed": False, "approval_id": None, "threshold": None}
    assert ledger.balances(env, "anna", now()).available == 800
    again = ok(call(client, "POST", "/customers/anna/adjust", body, token=marketer))
    assert again["replayed"] is True and ledger.balances(env, "anna", now()).available == 800
    error(call(client, "POST", "/customers/anna/adjust", {**body, "amount": 301}, token=marketer), 409, "idempotency_conflict")
    error(call(client, "POST", "/customers/anna/adjust", {"amount": -900, "reason": "ошибка", "idempotency_key": "adj-2"}, token=marketer), 422, "insufficient_bonuses")
    error(call(client, "POST", "/customers/anna/adjust", {"amount": 5, "reason": "  ", "idempotency_key": "adj-3"}, token=marketer), 400, "validation_failed")
    error(call(client, "POST", "/customers/ghost/adjust", {"amount": 5, "reason": "x", "idempotency_key": "adj-4"}, token=marketer), 404, "not_found")
    ok(call(client, "POST", "/customers/anna/adjust", {"amount": -200, "reason": "ошибочное начисление", "idempotency_key": "adj-5"}, token=marketer))
    assert ledger.balances(env, "anna", now()).available == 600

    entries = [e for e in audit_entries(env) if e["action"] == "ledger.adjust"]
    assert len(entries) == 2  # once per adjustment: no replay, no refusal
    first = next(e for e in entries if e["params"]["amount"] == 300)
    assert set(first) == {"id", "actor", "roles", "action", "target", "params", "at", "result", "key"}
    assert (first["actor"], first["roles"], first["target"]) == ("marketer@shop.example", ["marketer"], "customer:anna")
    assert first["params"]["reason"] == "компенсация за задержку" and first["result"]["status"] == "done"
    page = ok(call(client, "POST", "/customers/anna/ledger", {"limit": 10}, token=staff["accountant"]))
    adjustments = [p for p in page["postings"] if p["kind"] == "adjust"]
    assert [(p["delta"], p["actor"], p["reason"]) for p in adjustments] == [(-200, "marketer@shop.example", "ошибочное начисление"), (300, "marketer@shop.example", "компенсация за задержку")]
    logged = ok(call(client, "POST", "/audit/search", {"limit": 50}, token=staff["admin"]))["entries"]
    assert {e["id"] for e in entries} <= {e["id"] for e in logged}
    sound(env, "anna")


def test_a_large_adjustment_waits_for_a_second_admin_and_runs_once(client, env, staff):
    register(env, "anna")
    maker = staff["marketer"]
    pending = ok(call(client, "POST", "/customers/anna/adjust", {"amount": 6000, "reason": "партнёрский договор", "idempotency_key": "big-1"}, token=maker))
    assert pending["status"] == "pending_approval" and pending["threshold"] == 5000
    approval_id = pending["approval_id"]
    assert ledger.balances(env, "anna", now()).total == 500  # nothing yet
    assert ok(call(client, "POST", "/customers/anna/adjust", {"amount": 6000, "reason": "партнёрский договор", "idempotency_key": "big-1"}, token=maker))["approval_id"] == approval_id
    listed = ok(call(client, "POST", "/approvals/search", {}, token=staff["admin"]))["approvals"]
    assert [a["id"] for a in listed] == [approval_id] and listed[0]["maker"] == "marketer@shop.example"

    error(call(client, "POST", f"/approvals/{approval_id}/approve", token=maker), 403, "forbidden")  # not their own
    error(call(client, "POST", f"/approvals/{approval_id}/approve", token=staff["manager"]), 403, "forbidden")  # not a manager's action
    error(call(client, "POST", f"/approvals/{approval_id}/approve", token=staff["accountant"]), 403, "forbidden")
    assert ledger.balances(env, "anna", now()).total == 500

    checkers = [staff["marketer2"], staff["admin"]]  # two checkers at once: one execution
    clients = [load_function("admin") for _ in checkers]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda pair: pair[0].post(f"/approvals/{approval_id}/approve", headers={"Authorization": f"Bearer {pair[1]}"}), zip(clients, checkers, strict=True)))
    assert all(a.status_code == 200 for a in answers), [a.get_data(as_text=True) for a in answers]
    assert sorted(a.get_json()["replayed"] for a in answers) == [False, True]
    executed = ok(call(client, "GET", f"/approvals/{approval_id}", token=maker))
    assert executed["status"] == "executed" and executed["checker"] in ("marketer2@shop.example", "admin@shop.example")
    assert ledger.balances(env, "anna", now()).total == 6500
    assert ok(call(client, "POST", f"/approvals/{approval_id}/approve", token=staff["marketer2"]))["replayed"] is True
    assert ledger.balances(env, "anna", now()).total == 6500

    posting = [p for p in ledger.postings(env, "anna") if p.kind == "adjust"]
    assert len(posting) == 1 and posting[0].actor == "marketer@shop.example" and posting[0].key == f"approval:{approval_id}"
    actions = [(e["action"], e["actor"]) for e in audit_entries(env)]
    assert actions.count(("ledger.adjust.requested", "marketer@shop.example")) == 1
    assert [a for a in actions if a[0] == "approval.approve"] == [("approval.approve", executed["checker"])]
    sound(env, "anna")


def test_adjustments_split_and_sent_at_once_and_a_mass_accrual_of_a_million_wait_for_a_second_admin(client, env, staff):
    register(env, "anna")
    maker = staff["marketer"]
    clients = [load_function("admin") for _ in range(4)]

    def adjust(n: int):
        body = {"amount": 5000, "reason": "компенсация", "idempotency_key": f"split-{n}"}
        for _ in range(10):  # a well-behaved client retries a contended request
            answer = clients[n].post("/customers/anna/adjust", json=body, headers={"Authorization": f"Bearer {maker}"})
            if answer.status_code != 409:
                return answer
        return answer

    with ThreadPoolExecutor(4) as pool:
        answers = [ok(a) for a in pool.map(adjust, range(4))]
    assert sorted(a["status"] for a in answers) == ["done", "pending_approval", "pending_approval", "pending_approval"]
    assert ledger.balances(env, "anna", now()).total == 5500

    job = {"job_id": "million", "amount": 1_000_000, "reason": "ошибка маркетолога", "customer_ids": ["anna"]}
    waiting = ok(call(client, "POST", "/mass_accruals", job, token=maker))
    assert (waiting["status"], waiting["credited"], waiting["budget"]) == ("pending_approval", 0, 1_000_000)
    error(call(client, "POST", "/mass_accruals/million/run", {}, token=maker), 409, "invalid_state")
    shown = ok(call(client, "GET", f"/approvals/{waiting['approval_id']}", token=staff["admin"]))
    assert (shown["action"], shown["params"]["customer_ids"], shown["params"]["total"]) == ("mass_accrual.run", ["anna"], 1_000_000)
    ok(call(client, "POST", f"/approvals/{waiting['approval_id']}/reject", {"reason": "нет оснований"}, token=staff["admin"]))
    assert ok(call(client, "GET", "/mass_accruals/million", token=maker))["status"] == "rejected"
    assert ledger.balances(env, "anna", now()).total == 5500
    sound(env, "anna")


def test_a_rejected_approval_is_never_executed(client, env, staff):
    register(env, "anna")
    pending = ok(call(client, "POST", "/customers/anna/adjust", {"amount": -5001, "reason": "списание", "idempotency_key": "big-2"}, token=staff["admin"]))
    approval_id = pending["approval_id"]
    rejected = ok(call(client, "POST", f"/approvals/{approval_id}/reject", {"reason": "нет оснований"}, token=staff["marketer"]))
    assert rejected["status"] == "rejected" and rejected["checker"] == "marketer@shop.example"
    error(call(client, "POST", f"/approvals/{approval_id}/approve", token=staff["marketer"]), 409, "invalid_state")
    assert ledger.balances(env, "anna", now()).total == 500
    error(call(client, "POST", "/approvals/Anope/approve", token=staff["marketer"]), 404, "not_found")


# --- the program ----------------------------------------------------------------------------------


def test_the_program_editors_reads_compare_a_draft_price_a_cart_and_show_a_version_writing_nothing(client, env, staff):
    marketer = staff["marketer"]
    current = ok(call(client, "GET", "/config", token=marketer))
    draft = json.loads(json.dumps(current["config"]))
    draft["levels"][0]["accrual_percent"] = 8
    compared = ok(call(client, "POST", "/config/draft", {"config": draft}, token=marketer))
    assert (compared["in_force_version"], compared["touches_money"]) == (1, True)
    assert [(c["path"], c["before"], c["after"]) for c in compared["changes"]] == [("levels.level1.accrual_percent", "5", "8")]
    draft["levels"][0]["accrual_percent"] = 150
    refused = error(call(client, "POST", "/config/draft", {"config": draft}, token=marketer), 400, "validation_failed")
    assert [(e["field"], e["type"]) for e in refused["details"]["errors"]] == [("levels.0.accrual_percent", "less_than_equal")]
    draft["levels"][0]["accrual_percent"] = 8
    preview = ok(call(client, "POST", "/config/preview", {"config": draft, "lines": [{"price": 100000, "quantity": 2}], "level": "level1"}, token=marketer))
    assert (preview["in_force"]["points_to_earn"], preview["draft"]["points_to_earn"]) == (100, 160)
    error(call(client, "POST", "/config/preview", {"config": draft}, token=marketer), 400)  # neither lines nor an order
    version = ok(call(client, "GET", "/config/versions/1", token=marketer))
    assert (version["version"], version["in_force"], version["config"]) == (1, True, current["config"])
    error(call(client, "GET", "/config/versions/99", token=marketer), 404, "not_found")
    assert ok(call(client, "GET", "/config", token=marketer))["version"] == 1
    assert not [e for e in audit_entries(env) if e["action"].startswith("config")]


def test_a_config_replacement_is_validated_versioned_and_audited(client, env, staff):
    marketer = staff["marketer"]
    current = ok(call(client, "GET", "/config", token=marketer))
    assert current["version"] == 1 and current["config"]["program"] == "biomiq"

    bad = json.loads(json.dumps(current["config"]))
    bad["levels"][1]["accrual_percent"] = 150
    refused = error(call(client, "POST", "/config", {"config": bad, "reason": "повышаем ставку", "idempotency_key": "cfg-1"}, token=marketer), 400, "validation_failed")
    assert [e["field"] for e in refused["details"]["errors"]] == ["levels.1.accrual_percent"]
    unknown_group = {**current["config"], "default_group": "vip"}
    refused = error(call(client, "POST", "/config", {"config": unknown_group, "reason": "x", "idempotency_key": "cfg-2"}, token=marketer), 400, "validation_failed")
    assert refused["details"]["errors"][0]["field"] == "default_group"
    other = {**current["config"], "program": "velo"}
    assert error(call(client, "POST", "/config", {"config": other, "reason": "x", "idempotency_key": "cfg-3"}, token=marketer), 400)["details"]["field"] == "program"
    past = {"config": current["config"], "reason": "x", "effective_from": "2020-01-01T00:00:00+03:00", "idempotency_key": "c6"}
    error(call(client, "POST", "/config", past, token=marketer), 400, "validation_failed")
    error(call(client, "POST", "/config", {"config": current["config"], "reason": "x", "effective_from": "2030-01-01T00:00:00", "idempotency_key": "c7"}, token=marketer), 400, "validation_failed")
    assert ok(call(client, "GET", "/config", token=marketer))["version"] == 1  # the old one stays
    assert not [e for e in audit_entries(env) if e["action"] == "config.replace"]

    # a new group touches money: it waits for a second admin, who sees the diff
    good = json.loads(json.dumps(current["config"]))
    good["groups"].append({"code": "b2b", "name": "Опт", "bonuses_excluded": True})
    pending = ok(call(client, "POST", "/config", {"config": good, "reason": "оптовая группа", "idempotency_key": "cfg-4"}, token=marketer))
    assert (pending["status"], pending["version"]) == ("pending_approval", None)
    assert [(c["path"], c["before"], c["touches_money"]) for c in pending["changes"]] == [("groups.b2b", None, True)]
    assert ok(call(client, "GET", "/config", token=marketer))["version"] == 1
    error(call(client, "POST", f"/approvals/{pending['approval_id']}/approve", token=marketer), 403, "forbidden")
    approved = ok(call(client, "POST", f"/approvals/{pending['approval_id']}/approve", token=staff["admin"]))
    assert approved["status"] == "executed" and approved["result"]["version"] == 2
    # a change of names only is published at once
    renamed = json.loads(json.dumps(good))
    renamed["name"] = "Biomiq — клуб"
    published = ok(call(client, "POST", "/config", {"config": renamed, "reason": "новое название", "idempotency_key": "cfg-5"}, token=marketer))
    assert (published["status"], published["version"]) == ("published", 3)
    monday = {"config": renamed, "reason": "с понедельника", "effective_from": (now() + timedelta(days=3)).isoformat(), "idempotency_key": "cfg-6"}
    later = ok(call(client, "POST", "/config", monday, token=staff["admin"]))
    view = ok(call(client, "GET", "/config", token=marketer))
    assert view["version"] == 3 and [g["code"] for g in view["config"]["groups"]] == ["b2c", "b2b"]
    assert [s["version"] for s in view["scheduled"]] == [later["version"]] == [4]
    history = ok(call(client, "GET", "/config/history", token=marketer))["entries"]
    assert [(h["version"], h["actor"]) for h in history[:3]] == [(4, "admin@shop.example"), (3, "marketer@shop.example"), (2, "marketer@shop.example")]
    assert "groups" in history[2]["changed"]
    logged = [e for e in audit_entries(env) if e["action"] == "config.replace"]
    assert sorted((e["actor"], e["result"]["version"]) for e in logged) == [("admin@shop.example", 4), ("marketer@shop.example", 3)]
    assert [e["actor"] for e in audit_entries(env) if e["action"] == "config.replace.requested"] == ["marketer@shop.example"]


def test_a_config_posted_twice_with_one_idempotency_key_is_one_version(client, env, staff):
    marketer = staff["marketer"]
    current = ok(call(client, "GET", "/config", token=marketer))
    renamed = {**current["config"], "name": "Biomiq — клуб"}  # names only: published at once
    body = {"config": renamed, "reason": "новое название", "idempotency_key": "name-1"}
    with ThreadPoolExecutor(max_workers=2) as pool:  # a double click
        answers = list(pool.map(lambda _: call(client, "POST", "/config", body, token=marketer), range(2)))
    first, second = (ok(a) for a in answers)
    assert first == second and (first["status"], first["version"]) == ("published", 2)
    assert ok(call(client, "POST", "/config", body, token=marketer)) == first  # a retry later
    error(call(client, "POST", "/config", {**body, "config": {**renamed, "name": "Biomiq"}}, token=marketer), 409, "idempotency_conflict")
    error(call(client, "POST", "/config", {"config": renamed, "reason": "без ключа"}, token=marketer), 400, "validation_failed")
    # a change that touches money posted twice with one key is one approval, before and after it is executed
    shorter = {**renamed, "hold_days": 7}
    hold = {"config": shorter, "reason": "короче удержание", "idempotency_key": "hold-7"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        waits = [ok(a) for a in pool.map(lambda _: call(client, "POST", "/config", hold, token=marketer), range(2))]
    assert waits[0] == waits[1] and waits[0]["status"] == "pending_approval"
    assert ok(call(client, "POST", f"/approvals/{waits[0]['approval_id']}/approve", token=staff["admin"]))["result"]["version"] == 3
    assert ok(call(client, "POST", "/config", hold, token=marketer))["approval_id"] == waits[0]["approval_id"]  # a retry after it was executed
    history = ok(call(client, "GET", "/config/history", token=marketer))["entries"]
    assert [h["version"] for h in history] == [3, 2, 1]
    assert [e["result"]["version"] for e in audit_entries(env) if e["action"] == "config.replace"] == [2]


def test_promo_codes_are_created_deactivated_and_counted(client, env, staff):
    register(env, "anna")
    marketer = staff["marketer"]
    rule = {"code": "spring10", "kind": "percent", "percent": "10"}
    created = ok(call(client, "POST", "/promo_codes", {"rule": rule, "total_limit": 100}, token=marketer))
    assert (created["code"], created["active"], created["uses"]) == ("SPRING10", True, 0)
    assert ok(call(client, "POST", "/promo_codes", {"rule": rule, "total_limit": 100}, token=marketer))["code"] == "SPRING10"
    error(call(client, "POST", "/promo_codes", {"rule": {**rule, "percent": "20"}, "total_limit": 100}, token=marketer), 409, "idempotency_conflict")
    error(call(client, "POST", "/promo_codes", {"rule": {**rule, "kind": "fixed"}}, token=marketer), 400, "validation_failed")
    ok(call(client, "POST", "/orders", {"customer_id": "anna", "order_id": "cc-promo-1", "lines": CART, "promo_code": "spring10"}, token=staff["manager"]))
    usage = ok(call(client, "POST", "/promo_codes/SPRING10/usage", {}, token=marketer))
    assert (usage["uses"], usage["remaining"], usage["customers"]) == (1, 99, [{"customer_id": "anna", "uses": 1, "orders": ["cc-promo-1"]}])
    off = ok(call(client, "POST", "/promo_codes/spring10/deactivate", token=marketer))
    assert off["active"] is False and off["deactivated_by"] == "marketer@shop.example"
    listed = ok(call(client, "POST", "/promo_codes/search", {}, token=marketer))["codes"]
    assert [(c["code"], c["active"], c["rule"]["kind"]) for c in listed] == [("SPRING10", False, rule["kind"])]
    error(call(client, "POST", "/promo_codes/NOPE/deactivate", token=marketer), 404, "not_found")
    actions = sorted(e["action"] for e in audit_entries(env) if e["target"] == "promo:SPRING10")
    assert actions == ["promo.create", "promo.deactivate"]


# --- mass accruals ----------------------------------------------------------------------------------


def test_a_mass_accrual_is_idempotent_and_resumable(client, env, staff):
    register(env, "c1", "c2", "c3", "c4", "c5", "c6")
    ok(call(client, "POST", "/customers/c6/block", {"reason": "мошенничество"}, token=staff["manager"]))
    marketer = staff["marketer"]
    job = {"job_id": "march-8", "amount": 100, "reason": "8 Марта", "customer_ids": ["c1", "c2", "c3", "c4", "c5", "c6", "ghost"], "max_batch": 2}
    first = ok(call(client, "POST", "/mass_accruals", job, token=marketer))
    assert (first["status"], first["cursor"], first["credited"]) == ("running", 2, 2)

    # a run crashed after crediting c3 but before moving the cursor on
    mass_accruals.credit_one(env, config=entry.config(now()), job=env.read(lambda uow: uow.jobs.get("march-8")), customer_id="c3", now=now())
    second = ok(call(client, "POST", "/mass_accruals/march-8/run", {"max_batch": 2}, token=marketer))
    assert (second["status"], second["cursor"], second["credited"], second["replayed"]) == ("running", 4, 4, 1)
    third = ok(call(client, "POST", "/mass_accruals/march-8/run", {}, token=marketer))
    assert (third["status"], third["credited"], third["bonuses"], third["skipped_blocked"], third["skipped_unknown"]) == ("complete", 5, 500, 1, 1)

    # run twice, start twice: nothing more
    assert ok(call(client, "POST", "/mass_accruals/march-8/run", {}, token=marketer))["credited"] == 5
    assert ok(call(client, "POST", "/mass_accruals", job, token=marketer))["credited"] == 5
    error(call(client, "POST", "/mass_accruals", {**job, "amount": 200}, token=marketer), 409, "idempotency_conflict")
    view = ok(call(client, "GET", "/mass_accruals/march-8", token=staff["admin"]))
    assert view["definition"]["customers"] == 7 and view["created_by"] == "marketer@shop.example"

    for customer_id in ("c1", "c2", "c3", "c4", "c5"):
        assert ledger.balances(env, customer_id, now()).total == 600
        keys = [p.key for p in ledger.postings(env, customer_id) if p.kind == "accrue" and p.key.startswith("mass:")]
        assert keys == [f"mass:march-8:{customer_id}"]
    assert ledger.balances(env, "c6", now()).total == 500
    sound(env, "c1", "c2", "c3", "c4", "c5", "c6")
    runs = [e for e in audit_entries(env) if e["target"] == "job:march-8"]
    assert sorted(e["action"] for e in runs).count("mass_accrual.create") == 1


def test_a_mass_accrual_to_a_group(client, env, staff):
    publish_with_b2b(env)
    register(env, "b1", "b2", "b3", "r1")
    marketer = staff["marketer"]
    for customer_id in ("b1", "b2", "b3"):
        ok(call(client, "POST", f"/customers/{customer_id}/group", {"group": "b2b", "reason": "оптовик", "idempotency_key": f"g-{customer_id}"}, token=marketer))
    error(call(client, "POST", "/mass_accruals", {"job_id": "wholesale", "amount": 50, "reason": "x", "group": "vip"}, token=marketer), 400, "validation_failed")
    error(call(client, "POST", "/mass_accruals", {"job_id": "wholesale", "amount": 50, "reason": "x"}, token=marketer), 400, "validation_failed")
    started = ok(call(client, "POST", "/mass_accruals", {"job_id": "wholesale", "amount": 50, "reason": "опт", "group": "b2b", "max_batch": 2}, token=marketer))
    assert (started["status"], started["credited"], started["cursor"]) == ("running", 2, "b2")
    done = ok(call(client, "POST", "/mass_accruals/wholesale/run", {}, token=marketer))
    assert (done["status"], done["credited"]) == ("complete", 3)
    assert [ledger.balances(env, c, now()).total for c in ("b1", "b2", "b3", "r1")] == [550, 550, 550, 500]
    sound(env, "b1", "b2", "b3", "r1")


def test_a_mass_accrual_to_a_segment_by_conditions(client, env, staff):
    publish_with_b2b(env)
    register(env, "b1", "b2", "r1")
    marketer = staff["marketer"]
    for customer_id in ("b1", "b2"):
        ok(call(client, "POST", f"/customers/{customer_id}/group", {"group": "b2b", "reason": "оптовик", "idempotency_key": f"g-{customer_id}"}, token=marketer))
    audience = {"groups": ["b2b"], "paid_total_max": 0}
    shown = ok(call(client, "POST", "/mass_accruals/preview", {"amount": 40, "audience": audience}, token=marketer))
    assert (shown["segment"], shown["customers"], shown["bonuses"]) == ("segment", 2, 80)
    unknown = error(call(client, "POST", "/mass_accruals", {"job_id": "seg", "amount": 40, "reason": "x", "audience": {"groups": ["vip"]}}, token=marketer), 400, "validation_failed")
    assert unknown["details"]["field"] == "audience.groups" and unknown["message_ru"] == "Такой группы в программе нет."
    upside_down = error(call(client, "POST", "/mass_accruals", {"job_id": "seg", "amount": 40, "reason": "x", "audience": {"paid_total_min": 5, "paid_total_max": 1}}, token=marketer), 400)
    assert [e["field"] for e in upside_down["details"]["errors"]] == ["audience"]
    both = error(call(client, "POST", "/mass_accruals", {"job_id": "seg", "amount": 40, "reason": "x", "audience": audience, "level": "level1"}, token=marketer), 400)
    assert both["code"] == "validation_failed"
    done = ok(call(client, "POST", "/mass_accruals", {"job_id": "seg", "amount": 40, "reason": "опт", "audience": audience}, token=marketer))
    said = done["definition"]["audience"]
    assert (done["status"], done["credited"], said["groups"], said["paid_total_max"], said["levels"], done["definition"]["customers"]) == ("complete", 2, ["b2b"], 0, [], 2)
    assert [ledger.balances(env, c, now()).total for c in ("b1", "b2", "r1")] == [540, 540, 500]
    sound(env, "b1", "b2", "r1")


# --- levels, groups, blocking ------------------------------------------------------------------------


def test_level_override_and_group_change_are_ledger_postings(client, env, staff):
    publish_with_b2b(env)
    register(env, "anna")
    marketer = staff["marketer"]
    pinned = ok(call(client, "POST", "/customers/anna/level", {"level": "level3", "reason": "VIP", "idempotency_key": "lv-1"}, token=marketer))
    assert (pinned["level_override"], pinned["effective_level"], pinned["replayed"]) == ("level3", "level3", False)
    assert ok(call(client, "POST", "/customers/anna/level", {"level": "level3", "reason": "VIP", "idempotency_key": "lv-1"}, token=marketer))["replayed"] is True
    error(call(client, "POST", "/customers/anna/level", {"level": "gold", "reason": "VIP", "idempotency_key": "lv-2"}, token=marketer), 400, "validation_failed")
    detail = ok(call(client, "GET", "/customers/anna", token=staff["manager"]))
    assert (detail["level"], detail["earned_level"], detail["level_override"]) == ("level3", "level1", "level3")
    lifted = ok(call(client, "POST", "/customers/anna/level", {"level": None, "reason": "конец акции", "idempotency_key": "lv-3"}, token=staff["admin"]))
    assert (lifted["level_override"], lifted["effective_level"]) == (None, "level1")

    error(call(client, "POST", "/customers/anna/group", {"group": "vip", "reason": "x", "idempotency_key": "gr-1"}, token=marketer), 400, "validation_failed")
    moved = ok(call(client, "POST", "/customers/anna/group", {"group": "b2b", "reason": "оптовик", "idempotency_key": "gr-2"}, token=marketer))
    assert moved["group"] == "b2b" and ledger.load_account(env, "anna").group == "b2b"
    kinds = [(p.kind, p.actor) for p in ledger.postings(env, "anna")][:4]
    assert kinds == [("group", "marketer@shop.example"), ("level_override", "admin@shop.example"), ("level_override", "marketer@shop.example"), ("accrue", None)]
    actions = [e["action"] for e in audit_entries(env)]
    assert actions.count("customer.level") == 2 and actions.count("customer.group") == 1
    sound(env, "anna")


def test_a_manager_blocks_and_unblocks_a_customer(client, env, staff):
    register(env, "anna")
    manager = staff["manager"]
    blocked = ok(call(client, "POST", "/customers/anna/block", {"reason": "подозрение на мошенничество"}, token=manager))
    assert blocked == {"customer_id": "anna", "blocked": True, "changed": True}
    assert ok(call(client, "POST", "/customers/anna/block", {"reason": "ещё раз"}, token=manager))["changed"] is False
    stored = env.get("customers/anna")
    assert (stored["blocked"], stored["blocked_by"], stored["blocked_reason"]) == (True, "manager@shop.example", "подозрение на мошенничество")
    detail = ok(call(client, "GET", "/customers/anna", token=staff["accountant"]))
    assert detail["blocked"] is True and detail["profile"]["blocked_by"] == "manager@shop.example"
    error(call(client, "POST", "/orders", {"customer_id": "anna", "order_id": "cc-1", "lines": CART}, token=manager), 422, "customer_blocked")
    # the customer's own calls are refused while blocked
    shop = load_function("cart_quote")
    refused = shop.post("/quote", json={"lines": CART}, headers={"Authorization": f"Bearer {customer_token('anna')}"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "customer_blocked"
    assert ok(call(client, "POST", "/customers/anna/unblock", {"reason": "проверено"}, token=manager))["blocked"] is False
    # the block revoked the session: its token stays void, a token of a new session works
    stale = shop.post("/quote", json={"lines": CART}, headers={"Authorization": f"Bearer {customer_token('anna')}"})
    assert stale.status_code == 401 and stale.get_json()["error"]["code"] == "session_revoked"
    assert env.get("customers/anna")["session_epoch"] == 1
    assert shop.post("/quote", json={"lines": CART}, headers={"Authorization": f"Bearer {customer_token('anna', epoch=1)}"}).status_code == 200
    assert [e["action"] for e in audit_entries(env) if e["target"] == "customer:anna"] == ["customer.unblock", "customer.block"]
    error(call(client, "POST", "/customers/ghost/block", {"reason": "x"}, token=manager), 404, "not_found")
    error(call(client, "POST", "/customers/a%2Fb/block", {"reason": "x"}, token=manager), 404)
    sound(env, "anna")


# --- call-centre orders and payouts ---------------------------------------------------------------


def test_a_call_centre_order_reserves_like_a_checkout(client, env, staff):
    register(env, "anna")
    manager = staff["manager"]
    body = {"customer_id": "anna", "order_id": "cc-1001", "lines": CART, "bonuses": 200}
    placed = ok(call(client, "POST", "/orders", body, token=manager))
    assert (placed["status"], placed["source"], placed["bonuses_reserved"], placed["money_to_pay"]) == ("awaiting_payment", "call_centre", 200, 80000)
    assert ok(call(client, "POST", "/orders", body, token=manager))["order_id"] == "cc-1001"
    error(call(client, "POST", "/orders", {**body, "bonuses": 100}, token=manager), 409, "idempotency_conflict")
    assert ledger.balances(env, "anna", now()).reserved == 200
    assert env.get("orders/cc-1001")["source"] == "call_centre"
    error(call(client, "POST", "/orders", {**body, "order_id": "tilda-1"}, token=manager), 400, "validation_failed")
    error(call(client, "POST", "/orders", {**body, "customer_id": "ghost", "order_id": "cc-1002"}, token=manager), 404, "not_found")
    error(call(client, "POST", "/orders", body, token=staff["marketer"]), 403, "forbidden")
    logged = [e for e in audit_entries(env) if e["action"] == "order.call_centre"]
    assert len(logged) == 1 and logged[0]["actor"] == "manager@shop.example" and logged[0]["target"] == "order:cc-1001"
    sound(env, "anna")


def test_a_manager_marks_a_pickup_order_delivered_once_and_it_is_audited(client, env, staff):
    from shared.services import orders

    register(env, "anna")
    moment = now()
    record, _ = orders.place_order(env, config=entry.config(moment), customer_id="anna", order_id="P1", lines=[CartLine.model_validate(line) for line in CART], bonuses=0, now=moment)
    manager = staff["manager"]
    error(call(client, "POST", "/orders/P1/delivered", {"reason": "Выдан в пункте самовывоза"}, token=manager), 409, "invalid_state")  # not paid yet
    orders.mark_paid(env, config=entry.config(moment), order_id="P1", payment=orders.PaymentRef(provider="test", id="p-P1", amount=record.money_to_pay), now=moment)
    body = {"reason": "Выдан в пункте самовывоза"}
    error(call(client, "POST", "/orders/P1/delivered", body, token=staff["marketer"]), 403, "forbidden")
    error(call(client, "POST", "/orders/P1/delivered", {"reason": " "}, token=manager), 400, "validation_failed")
    error(call(client, "POST", "/orders/P1/delivered", {**body, "delivered_at": "2999-01-01T00:00:00Z"}, token=manager), 400, "validation_failed")
    error(call(client, "POST", "/orders/ghost/delivered", body, token=manager), 404, "not_found")
    first = ok(call(client, "POST", "/orders/P1/delivered", body, token=manager))
    assert (first["order_id"], first["status"], first["applied"]) == ("P1", "delivered", True)
    again = ok(call(client, "POST", "/orders/P1/delivered", body, token=manager))
    assert (again["status"], again["applied"], again["delivered_at"]) == ("delivered", False, first["delivered_at"])
    assert orders.get_order(env, "P1").events[-1].carrier == "manager"
    logged = [e for e in audit_entries(env) if e["action"] == "order.deliver"]
    assert len(logged) == 1 and logged[0]["actor"] == "manager@shop.example" and logged[0]["target"] == "order:P1"
    assert logged[0]["params"]["reason"] == "Выдан в пункте самовывоза"
    sound(env, "anna")


def test_a_manager_sees_the_orders_a_payment_could_not_settle(client, env, staff):
    from datetime import timedelta

    from shared.domain.order import review_flag
    from shared.services import orders

    register(env, "anna")
    moment = now()
    for n in (1, 2, 3):
        orders.place_order(env, config=entry.config(moment), customer_id="anna", order_id=f"anna:T{n}", lines=[CartLine.model_validate(line) for line in CART], bonuses=0, now=moment, source="tilda")
    orders.flag_for_review(env, order_id="anna:T2", review=review_flag("discount_mismatch", at=moment, payment_id="pay-2", reported=100, expected=0), now=moment)
    orders.flag_for_review(env, order_id="anna:T3", review=review_flag("amount_mismatch", at=moment + timedelta(seconds=1), payment_id="pay-3"), now=moment)
    manager = staff["manager"]
    page = ok(call(client, "POST", "/orders/flagged", {"limit": 1}, token=manager))
    assert [(o["order_id"], o["reason"], o["status"], o["payment_id"]) for o in page["orders"]] == [("anna:T2", "discount_mismatch", "canceled", "pay-2")]
    assert page["orders"][0]["message_ru"] == "Скидка в корзине Tilda не совпадает со скидкой Копилки." and page["orders"][0]["details"] == {"reported": 100, "expected": 0}
    rest = ok(call(client, "POST", "/orders/flagged", {"cursor": page["next_cursor"]}, token=manager))
    assert [o["order_id"] for o in rest["orders"]] == ["anna:T3"] and rest["next_cursor"] is None
    assert [o["order_id"] for o in ok(call(client, "POST", "/orders/flagged", None, token=staff["admin"]))["orders"]] == ["anna:T2", "anna:T3"]
    error(call(client, "POST", "/orders/flagged", {}, token=staff["marketer"]), 403, "forbidden")
    error(call(client, "POST", "/orders/flagged", {"cursor": "anna:T1"}, token=manager), 400, "validation_failed")  # not flagged
    assert env.get("orders/anna:T1")["status"] == "awaiting_payment"
    sound(env, "anna")


def test_payout_approval_needs_a_second_manager(client, env, staff):
    from shared.services import payouts

    register(env, "maria")
    moment = now()
    config = entry.config(moment)
    reward = Accrue(amount=1000, source="referral", ref="A1", activates_at=moment, expires_at=moment + timedelta(days=365), order_id="ref-anna-A1")
    ledger.post(env, "maria", "referral:ref-anna-A1", reward, now=moment)  # a referral reward past its hold: payable
    payouts.request_payout(env, config=config, customer_id="maria", request_id="payout-0001", amount=500, method="card", details="4111 1111 1111 1111", now=moment, sealer=payout_sealer())
    manager, manager2 = staff["manager"], staff["manager2"]
    listed = ok(call(client, "POST", "/payouts/search", {}, token=staff["accountant"]))["payouts"]
    assert [(p["request_id"], p["status"]) for p in listed] == [("payout-0001", "requested")]

    approval = ok(call(client, "POST", "/payouts/payout-0001/approve", {"reason": "проверено"}, token=manager))
    assert (approval["status"], approval["action"], approval["maker"]) == ("pending", "payout.approve", "manager@shop.example")
    assert env.get("payouts/payout-0001")["status"] == "requested"
    error(call(client, "POST", f"/approvals/{approval['id']}/approve", token=manager), 403, "forbidden")
    error(call(client, "POST", f"/approvals/{approval['id']}/approve", token=staff["admin"]), 403, "forbidden")
    executed = ok(call(client, "POST", f"/approvals/{approval['id']}/approve", token=manager2))
    assert (executed["status"], executed["checker"], executed["replayed"]) == ("executed", "manager2@shop.example", False)
    stored = env.get("payouts/payout-0001")
    assert (stored["status"], stored["decided_by"]) == ("approved", "manager2@shop.example")
    assert ok(call(client, "POST", f"/approvals/{approval['id']}/approve", token=manager2))["replayed"] is True
    assert ledger.balances(env, "maria", now()).total == 1000  # the 500 were written off once: her welcome bonus and the rest of the reward stay
    error(call(client, "POST", "/payouts/payout-0001/approve", {}, token=manager), 409, "invalid_state")

    paid = ok(call(client, "POST", "/payouts/payout-0001/paid", token=manager))
    assert (paid["status"], paid["paid_by"]) == ("paid", "manager@shop.example")

    ok(call(client, "POST", "/customers/maria/adjust", {"amount": 600, "reason": "бонус партнёру", "idempotency_key": "m-1"}, token=staff["marketer"]))
    payouts.request_payout(env, config=config, customer_id="maria", request_id="payout-0002", amount=500, method="sbp", details="Т-Банк, +7 916 123-12-34", now=now(), sealer=payout_sealer())
    rejected = ok(call(client, "POST", "/payouts/payout-0002/reject", {"reason": "реквизиты не совпадают"}, token=manager))
    assert rejected["status"] == "rejected"
    assert ledger.balances(env, "maria", now()).available == 1600  # released
    error(call(client, "POST", "/payouts/payout-0002/paid", token=manager), 409, "invalid_state")
    error(call(client, "POST", "/payouts/nope-0000/approve", {}, token=manager), 404, "not_found")

    # an approval whose payout was rejected meanwhile fails visibly and executes nothing
    payouts.request_payout(env, config=config, customer_id="maria", request_id="payout-0003", amount=500, method="card", details="5555 5555 5555 4444", now=now(), sealer=payout_sealer())
    late = ok(call(client, "POST", "/payouts/payout-0003/approve", {}, token=manager2))
    ok(call(client, "POST", "/payouts/payout-0003/reject", {"reason": "отозвана партнёром"}, token=manager))
    error(call(client, "POST", f"/approvals/{late['id']}/approve", token=manager), 409, "invalid_state")
    failed = ok(call(client, "GET", f"/approvals/{late['id']}", token=manager))
    assert failed["status"] == "failed" and failed["error"]["code"] == "invalid_state"
    assert env.get("payouts/payout-0003")["status"] == "rejected" and ledger.balances(env, "maria", now()).available == 1600
    actions = sorted((e["action"], e["actor"]) for e in audit_entries(env) if e["target"].startswith("payout:"))
    assert actions == [
        ("approval.approve", "manager2@shop.example"),
        ("payout.approve.requested", "manager2@shop.example"),
        ("payout.approve.requested", "manager@shop.example"),
        ("payout.mark_paid", "manager@shop.example"),
        ("payout.reject", "manager@shop.example"),
        ("payout.reject", "manager@shop.example"),
    ]
    sound(env, "maria")


def test_only_the_manager_sees_a_payout_destination_in_full_and_each_look_is_audited(client, env, staff):
    from shared.services import payouts

    register(env, "maria")
    moment = now()
    reward = Accrue(amount=500, source="referral", ref="A1", activates_at=moment, expires_at=moment + timedelta(days=365), order_id="ref-anna-A1")
    ledger.post(env, "maria", "referral:ref-anna-A1", reward, now=moment)
    payouts.request_payout(env, config=entry.config(moment), customer_id="maria", request_id="payout-0001", amount=500, method="card", details="4111 1111 1111 1111", now=moment,
        sealer=payout_sealer())
    listed = ok(call(client, "POST", "/payouts/search", {}, token=staff["accountant"]))["payouts"]
    assert listed[0]["details"] == "**** 1111" and "4111111111111111" not in json.dumps(listed)
    for role in ("accountant", "marketer", "admin"):
        error(call(client, "POST", "/payouts/payout-0001/destination", token=staff[role]), 403, "forbidden")
    shown = ok(call(client, "POST", "/payouts/payout-0001/destination", token=staff["manager"]))
    assert shown == {"request_id": "payout-0001", "method": "card", "details": "**** 1111", "destination": "4111111111111111"}
    ok(call(client, "POST", "/payouts/payout-0001/destination", token=staff["manager2"]))
    reveals = [(e["actor"], e["target"]) for e in audit_entries(env) if e["action"] == "payout.reveal"]
    assert sorted(reveals) == [("manager2@shop.example", "payout:payout-0001"), ("manager@shop.example", "payout:payout-0001")]
    assert "4111111111111111" not in json.dumps(audit_entries(env), default=str)
    error(call(client, "POST", "/payouts/nope-0000/destination", token=staff["manager"]), 404, "not_found")
    ok(call(client, "POST", "/payouts/payout-0001/reject", {"reason": "дубликат"}, token=staff["manager"]))
    error(call(client, "POST", "/payouts/payout-0001/destination", token=staff["manager"]), 409, "invalid_state")  # closed: shown no more


# --- reading: search, ledgers, the liability report ----------------------------------------------


def test_customers_are_found_by_id_prefix_and_by_phone_page_by_page(client, env, staff):
    register(env, "ann", "anna", "anne", "annika", "bob")
    env.run(lambda uow: uow.create("identities/phone:+79001234567", {"kind": "phone", "value": "+79001234567", "customer_id": "bob"}))
    accountant = staff["accountant"]
    first = ok(call(client, "POST", "/customers/search", {"prefix": "ann", "limit": 2}, token=accountant))
    assert [c["customer_id"] for c in first["customers"]] == ["ann", "anna"] and first["next_cursor"] == "anna"
    second = ok(call(client, "POST", "/customers/search", {"prefix": "ann", "limit": 2, "cursor": first["next_cursor"]}, token=accountant))
    assert [c["customer_id"] for c in second["customers"]] == ["anne", "annika"]
    third = ok(call(client, "POST", "/customers/search", {"prefix": "ann", "limit": 2, "cursor": second["next_cursor"]}, token=accountant))
    assert third == {"customers": [], "next_cursor": None}
    by_phone = ok(call(client, "POST", "/customers/search", {"phone": "8 (900) 123-45-67"}, token=staff["manager"]))
    assert [(c["customer_id"], c["total"], c["level"]) for c in by_phone["customers"]] == [("bob", 500, "level1")]
    assert ok(call(client, "POST", "/customers/search", {"phone": "+7 900 765 43 21"}, token=accountant))["customers"] == []
    error(call(client, "POST", "/customers/search", {"phone": "12"}, token=accountant), 400)
    everyone = ok(call(client, "POST", "/customers/search", {}, token=accountant))
    assert [c["customer_id"] for c in everyone["customers"]] == ["ann", "anna", "anne", "annika", "bob"]
    error(call(client, "GET", "/customers/ghost", token=accountant), 404, "not_found")


def test_the_liability_report_adds_up_page_by_page(client, env, staff):
    register(env, "a1", "a2", "a3", "a4", "a5")
    marketer = staff["marketer"]
    ok(call(client, "POST", "/customers/a2/adjust", {"amount": 40, "reason": "акция на неделю", "idempotency_key": "short", "lifetime_days": 7}, token=marketer))
    ok(call(client, "POST", "/orders", {"customer_id": "a3", "order_id": "cc-liab", "lines": CART, "bonuses": 100}, token=staff["manager"]))
    accountant = staff["accountant"]
    totals, cursor, pages = {}, None, 0
    while True:
        page = ok(call(client, "POST", "/reports/liability", {"limit": 2, "cursor": cursor}, token=accountant))
        pages += 1
        for name in ("accounts", "outstanding", "available", "pending", "reserved", "expiring_30d", "debt"):
            totals[name] = totals.get(name, 0) + page[name]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert totals == {"accounts": 5, "outstanding": 2540, "available": 2440, "pending": 0, "reserved": 100, "expiring_30d": 40, "debt": 0}
    whole = ok(call(client, "POST", "/reports/liability", {}, token=accountant))
    assert (whole["outstanding"], whole["horizon_days"], whole["next_cursor"]) == (2540, 30, None)


@pytest.mark.parametrize(
    "path,body",
    [
        ("/customers/anna/adjust", {"amount": 0, "reason": "x", "idempotency_key": "k"}),
        ("/customers/anna/adjust", {"amount": 1.5, "reason": "x", "idempotency_key": "k"}),
        ("/customers/anna/adjust", {"amount": 10, "reason": "x", "idempotency_key": "bad key/"}),
        ("/customers/anna/adjust", {"amount": 10, "reason": "x", "idempotency_key": "k", "extra": 1}),
        ("/mass_accruals", {"job_id": "j", "amount": 10, "reason": "x", "customer_ids": ["a", "b"], "group": "b2c"}),
        ("/mass_accruals", {"job_id": "j", "amount": 10, "reason": "x", "customer_ids": ["a", "a"]}),
        ("/mass_accruals", {"job_id": "j", "amount": 10, "reason": "x", "customer_ids": ["a/b"]}),
        ("/mass_accruals", {"job_id": "j", "amount": -1, "reason": "x", "customer_ids": ["a"]}),
        ("/config", {"config": "levels", "reason": "x"}),
        ("/config", [1, 2]),
        ("/customers/search", {"limit": 1000}),
    ],
)
def test_bad_bodies_are_400_and_write_nothing(client, env, staff, path, body):
    register(env, "anna")
    token = staff["admin"]
    before = len(audit_entries(env))
    error(call(client, "POST", path, body, token=token), 400, "validation_failed")
    assert len(audit_entries(env)) == before and ledger.balances(env, "anna", now()).total == 500
    assert env.get("jobs/j") is None


@pytest.mark.parametrize("path", ["/payouts/search", "/approvals/search"])
@pytest.mark.parametrize("cursor", ["", "a/b", "..", "__x__", "x" * 129])
def test_a_cursor_that_is_no_document_id_is_400_not_500(client, env, staff, path, cursor):
    # these pages continue after a document id; an empty one was a 500 from Firestore
    # (found by tests/reliability/test_fuzz.py)
    refused = error(call(client, "POST", path, {"cursor": cursor}, token=staff["manager"]), 400, "validation_failed")
    assert [problem["field"] for problem in refused["details"]["errors"]] == ["cursor"]
    assert ok(call(client, "POST", path, {"cursor": "A0"}, token=staff["manager"]))["next_cursor"] is None


@pytest.mark.parametrize(
    "raw",
    [
        b'{"limit": true}',  # not 1
        b'{"limit": "5"}',
        b'{"status": "paid", "limit": 5.5}',
        b"null",  # a JSON null is not the empty body that means the defaults
        b"[]",
    ],
)
def test_json_types_are_the_documented_ones(client, env, staff, raw):
    # found by tests/reliability/test_fuzz.py: true and "5" were coerced to numbers
    headers = {"Authorization": f"Bearer {staff['manager']}"}
    error(client.post("/payouts/search", data=raw, headers=headers, content_type="application/json"), 400, "validation_failed")
    assert ok(client.post("/payouts/search", data=b"", headers=headers)) == {"payouts": [], "next_cursor": None}


def test_the_cli_creates_an_admin_who_can_log_in(client, env, monkeypatch, capsys):
    import io

    from scripts import create_admin

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert create_admin.main(["--email", "Olga@Shop.Example", "--roles", "manager,accountant", "--password-stdin"]) == 0
    assert "olga@shop.example (accountant, manager) created" in capsys.readouterr().out
    body = ok(call(client, "POST", "/login", {"email": "olga@shop.example", "password": PASSWORD}))
    assert body["roles"] == ["accountant", "manager"]
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert create_admin.main(["--email", "olga@shop.example", "--roles", "manager", "--password-stdin"]) == 1  # exists: --replace
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert create_admin.main(["--email", "ivan@shop.example", "--roles", "manager", "--password-stdin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert create_admin.main(["--email", "ivan@shop.example", "--roles", "root", "--password-stdin"]) == 1


@pytest.mark.parametrize("value", ["__x__", "__name__"])
def test_outside_ids_of_a_form_firestore_reserves_are_404_or_400_not_500(client, env, staff, value):
    admin = staff["admin"]
    error(call(client, "GET", f"/approvals/{value}", token=admin), 404, "not_found")
    error(call(client, "POST", f"/approvals/{value}/reject", {"reason": "нет"}, token=admin), 404, "not_found")
    error(call(client, "GET", f"/mass_accruals/{value}", token=admin), 404, "not_found")
    error(call(client, "GET", f"/customers/{value}", token=admin), 400, "validation_failed")
