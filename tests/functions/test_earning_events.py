"""Earning events over HTTP, on the emulator, with Стройсервис's program (seed 004): a review, a
newsletter subscription and a repost credit once each, from a shop tool's signed webhook, a Tilda
form and a manager's hand. The functions answer at a fixed moment inside the repost rule's window
(:class:`Clock` sets the moment each request is dispatched at; the store's own clients keep the
real time, which the emulator's deadlines need)."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from shared.api.account import ProfileUpdate
from shared.edge import entry
from shared.edge.events_webhook import SIGNATURE_HEADER, signature, tilda_token
from shared.edge.http import Router
from shared.presets import preset_data
from shared.services import account, program, registration
from shared.services.ledger import audit_account, balances, postings
from tests.conftest import TEST_ENV, load_function
from tests.functions.test_admin import ADMIN_SECRET, Staff, audit_entries, call, error, ok

NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)  # inside the repost rule's window (2026-06-01 .. 2027-06-01)
SECRET = TEST_ENV["KOPILKA_EVENTS_SECRET"]
WELCOME = 150


class Clock:
    """The moment the functions' requests are dispatched at (``None``: the real time)."""

    def __init__(self) -> None:
        self.now: datetime | None = None


@pytest.fixture
def clock(monkeypatch):
    fixed = Clock()
    dispatch = Router.dispatch

    def at_the_clock(self, request, *, now=None):
        return dispatch(self, request, now=now or fixed.now)

    monkeypatch.setattr(Router, "dispatch", at_the_clock)
    return fixed


def use_program(store, name: str, *, since: datetime) -> None:
    from shared.platform.settings import reload

    os.environ["KOPILKA_ADMIN_TOKEN_SECRET"] = ADMIN_SECRET
    program.publish(store, raw=preset_data(name), author="test", reason=name, effective_from=since, now=since - timedelta(days=1))
    os.environ["KOPILKA_PROGRAM"] = name  # function_env removes it again
    reload()


@pytest.fixture
def shop(function_env, clock):
    from shared.platform.settings import reload

    use_program(function_env, "stroyservis", since=NOW - timedelta(days=30))
    for customer_id in ("anna", "boris"):
        registration.register_customer(function_env, config=entry.config(NOW), customer_id=customer_id, now=NOW - timedelta(days=10))
    clock.now = NOW
    yield function_env
    os.environ.pop("KOPILKA_ADMIN_TOKEN_SECRET", None)
    reload()


@pytest.fixture
def checkout():
    return load_function("checkout")


def send(client, body: dict, *, secret: str = SECRET):
    raw = json.dumps(body).encode()
    return client.post("/checkout/events", data=raw, headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, raw)})


def event(kind: str, key: str | None = None, customer: str = "anna") -> dict:
    body: dict = {"event": kind, "customer": {"id": customer}, "occurred_at": NOW.isoformat()}
    if key is not None:
        body["key"] = key
    return body


def total(store, customer_id: str) -> int:
    return balances(store, customer_id, NOW + timedelta(days=1)).total


def event_postings(store, customer_id: str) -> list:
    return [p for p in postings(store, customer_id, limit=500) if p.key.startswith("event:")]


def test_a_review_credits_once_per_product(shop, checkout):
    first = ok(send(checkout, event("review", "PAINT-10L")))
    assert first["result"] == "credited" and first["amount"] == 50 and first["rule"] == "review"
    assert datetime.fromisoformat(first["activates_at"]) - NOW < timedelta(days=3, seconds=5)  # three days' delay
    assert datetime.fromisoformat(first["expires_at"]) - datetime.fromisoformat(first["activates_at"]) == timedelta(days=177)  # 180 days from the credit
    again = ok(send(checkout, event("review", "PAINT-10L")))
    assert again["result"] == "already_credited" and again["amount"] == 0
    other = ok(send(checkout, event("review", "PRIMER-5L")))
    assert other["result"] == "credited" and other["amount"] == 50
    assert total(shop, "anna") == WELCOME + 100
    assert balances(shop, "anna", NOW + timedelta(hours=1)).available == WELCOME  # the review bonuses wait three days
    assert balances(shop, "anna", NOW + timedelta(days=3, minutes=1)).available == WELCOME + 100
    assert len(event_postings(shop, "anna")) == 2
    assert audit_account(shop, "anna") == []


def test_a_newsletter_credits_once_per_customer(shop, checkout):
    assert ok(send(checkout, event("newsletter")))["amount"] == 100
    assert ok(send(checkout, event("newsletter")))["result"] == "already_credited"
    assert ok(send(checkout, event("newsletter", customer="boris")))["result"] == "credited"
    assert total(shop, "anna") == WELCOME + 100 and total(shop, "boris") == WELCOME + 100


def test_a_repost_credits_once_per_post_inside_the_window(shop, checkout, clock):
    assert ok(send(checkout, event("repost", "https://vk.com/wall-1_100")))["amount"] == 30
    assert ok(send(checkout, event("repost", "http://www.vk.com/wall-1_100/?utm_source=x")))["result"] == "already_credited"  # the same post
    assert ok(send(checkout, event("repost", "https://vk.com/wall-1_101")))["result"] == "credited"
    assert total(shop, "anna") == WELCOME + 60
    clock.now = datetime(2027, 6, 1, tzinfo=UTC)  # the rule's window has closed
    error(send(checkout, event("repost", "https://vk.com/wall-1_102")), 422, "rule_inactive")
    assert total(shop, "anna") == WELCOME + 60


def test_refusals_write_nothing(shop, checkout):
    raw = json.dumps(event("newsletter")).encode()
    error(checkout.post("/checkout/events", data=raw, headers={"Content-Type": "application/json"}), 403, "forbidden")
    error(checkout.post("/checkout/events", data=raw, headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature("wrong", raw)}), 403, "forbidden")
    error(send(checkout, event("newsletter", customer="nobody")), 404, "unknown_customer")
    error(send(checkout, event("review")), 422, "key_required")
    error(send(checkout, {"event": "birthday", "customer": {"id": "anna"}}), 400, "validation_failed")
    error(send(checkout, {"event": "newsletter", "customer": {"id": "anna", "email": "a@b.example"}}), 400, "validation_failed")
    assert event_postings(shop, "anna") == [] and total(shop, "anna") == WELCOME


def test_concurrent_deliveries_of_one_event_credit_once(shop, checkout):
    def deliver(_: int) -> int:
        client = load_function("checkout")
        return send(client, event("review", "PAINT-10L")).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(deliver, range(4)))
    assert set(statuses) <= {200, 503}, statuses
    assert len(event_postings(shop, "anna")) == 1 and total(shop, "anna") == WELCOME + 50


def test_a_tilda_form_credits_its_event(shop, checkout):
    account.update_profile(shop, customer_id="anna", update=ProfileUpdate(email="anna@mail.example"), now=NOW)
    path = f"/tilda-events/{tilda_token(SECRET, 'newsletter')}"
    assert checkout.post(path, data={"test": "test"}).get_data(as_text=True) == "ok"
    error(checkout.post(f"/tilda-events/newsletter-{'0' * 32}", data={"Email": "anna@mail.example"}), 403, "forbidden")
    credited = ok(checkout.post(path, data={"Email": "Anna@mail.example", "formid": "form123", "tranid": "1:1"}))
    assert credited["result"] == "credited" and credited["customer_id"] == "anna" and credited["amount"] == 100
    assert ok(checkout.post(path, data={"Email": "anna@mail.example", "formid": "form123"})) == {"result": "ignored", "reason": "already_credited", "formid": "form123"}
    assert ok(checkout.post(path, data={"Email": "stranger@mail.example", "formid": "form123"}))["reason"] == "unknown_customer"
    repost = f"/tilda-events/{tilda_token(SECRET, 'repost')}"
    assert ok(checkout.post(repost, data={"Email": "anna@mail.example", "url": "https://t.me/shop/55"}))["amount"] == 30
    assert total(shop, "anna") == WELCOME + 130


def test_a_manager_credits_a_review_checked_by_hand(shop, clock):
    admin = load_function("admin")
    staff = Staff(shop, admin)
    clock.now = None  # the authenticator's codes are of the real time
    tokens = {role: staff[role] for role in ("manager", "marketer", "accountant")}
    clock.now = NOW
    answer = ok(call(admin, "POST", "/customers/anna/events", {"event": "review", "key": "PAINT-10L", "note": "отзыв проверен"}, token=tokens["manager"]))
    assert answer["result"] == "credited" and answer["amount"] == 50
    error(call(admin, "POST", "/customers/anna/events", {"event": "review", "key": "PAINT-10L"}, token=tokens["marketer"]), 409, "already_credited")
    error(call(admin, "POST", "/customers/anna/events", {"event": "review", "key": "PRIMER-5L"}, token=tokens["accountant"]), 403, "forbidden")
    error(call(admin, "POST", "/customers/nobody/events", {"event": "newsletter"}, token=tokens["manager"]), 404, "unknown_customer")
    records = [r for r in audit_entries(shop) if r["action"] == "customer.event"]
    assert len(records) == 1 and records[0]["target"] == "customer:anna" and records[0]["params"]["key"] == "PAINT-10L"
    assert total(shop, "anna") == WELCOME + 50
