"""expiry_sweep through functions-framework, on the emulator, travelling in time with time-machine.

Scheduler's OIDC tokens are signed here with a local RSA key and checked by the
real ``google.oauth2.id_token.verify_oauth2_token``, which gets that key from a
local stand-in for Google's certificate endpoint (the injected verifier).
Effects are checked on the ledger: postings per customer, balances, and
``audit_account`` (the stored account is the fold of its postings).
"""

from __future__ import annotations

import calendar
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.adapters import layout
from shared.adapters.layout import sweep as sweep_path
from shared.edge import scheduler_auth
from shared.platform.settings import reload
from shared.presets import preset_data
from shared.services import account_sweep, orders, program, sweeps
from shared.services.ledger import audit_account, balances, load_account
from tests.conftest import load_function
from tests.functions.shop import CART, SWEEP, config, customer, now, paid_order, posting_kinds

AUDIENCE = "https://europe-west3-kopilka.cloudfunctions.net/expiry_sweep"
SCHEDULER = "scheduler@kopilka.iam.gserviceaccount.com"
MSK = timezone(timedelta(hours=3))


# --- OIDC: a local signer and Google's certificate endpoint played locally ---------------


def _rsa():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


class GoogleCerts:
    """Answers ``GET https://www.googleapis.com/oauth2/v1/certs`` as Google does: ``{kid: PEM}``."""

    def __init__(self, certs: dict[str, bytes]) -> None:
        self.certs = {kid: pem.decode() for kid, pem in certs.items()}
        self.urls: list[str] = []

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        self.urls.append(url)
        return SimpleNamespace(status=200, data=json.dumps(self.certs).encode(), headers={})


@pytest.fixture(scope="module")
def keys():
    return {"google": _rsa(), "attacker": _rsa()}


@pytest.fixture
def oidc(keys, function_env, monkeypatch):
    from google.oauth2 import id_token

    monkeypatch.setenv("KOPILKA_SWEEP_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("KOPILKA_SCHEDULER_EMAILS", SCHEDULER)
    reload()
    certs = GoogleCerts({"k1": keys["google"][1]})
    scheduler_auth.set_verifier(lambda token, audiences: id_token.verify_oauth2_token(token, certs, audience=audiences))
    yield certs
    scheduler_auth.set_verifier(None)


def sign(keys, *, signer="google", kid="k1", **claims):
    issued = int(datetime.now(timezone.utc).timestamp())
    payload = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "sub": "1077", "email": SCHEDULER, "email_verified": True, "iat": issued, "exp": issued + 3600, **claims}
    return jwt.encode(payload, keys[signer][0], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def client(function_env):
    return load_function("expiry_sweep")


@pytest.fixture
def store(function_env):
    return function_env


def run(client, at: datetime | None = None, headers=SWEEP, **body):
    if at is None:
        return client.post("/run", json=body, headers=headers)
    with time_machine.travel(at, tick=True):
        return client.post("/run", json=body, headers=headers)


# --- auth ------------------------------------------------------------------------------


def test_scheduler_oidc_token_or_the_secret(client, oidc, keys, store):
    bearer = lambda token: {"Authorization": f"Bearer {token}"}  # noqa: E731
    assert run(client, headers=bearer(sign(keys))).status_code == 200
    assert oidc.urls == ["https://www.googleapis.com/oauth2/v1/certs"]
    assert run(client, headers=SWEEP).status_code == 200
    refused = {
        "no credentials": ({}, 401),
        "wrong secret": ({"X-Kopilka-Sweep-Secret": "sweep-secreT"}, 401),
        "wrong audience": (bearer(sign(keys, aud="https://elsewhere.example/run")), 401),
        "foreign signer": (bearer(sign(keys, signer="attacker")), 401),
        "unknown key id": (bearer(sign(keys, kid="k2")), 401),
        "expired": (bearer(sign(keys, iat=1_700_000_000, exp=1_700_003_600)), 401),
        "not Google": (bearer(sign(keys, iss="https://evil.example")), 401),
        "garbage": (bearer("not.a.jwt"), 401),
        "another service account": (bearer(sign(keys, email="someone@else.iam.gserviceaccount.com")), 403),
        "unverified email": (bearer(sign(keys, email_verified=False)), 403),
    }
    for case, (headers, status) in refused.items():
        assert run(client, headers=headers).status_code == status, case
    assert store.get(sweep_path("expiry")) is not None  # only the two accepted runs wrote


def test_oidc_is_refused_when_not_configured(client, oidc, keys, monkeypatch):
    monkeypatch.setenv("KOPILKA_SCHEDULER_EMAILS", "")
    reload()
    assert run(client, headers={"Authorization": f"Bearer {sign(keys)}"}).status_code == 401
    assert oidc.urls == []  # refused before any verification
    assert run(client, headers=SWEEP).status_code == 200


@pytest.mark.parametrize("raw", [b"null", b"[]", b'{"batch": "5"}', b'{"max_pages": true}'])
def test_a_body_is_an_object_of_the_documented_types_and_an_empty_one_the_defaults(client, store, raw):
    # found by tests/reliability/test_fuzz.py: null ran the sweep with the defaults, "5" and true were coerced
    refused = client.post("/run", data=raw, headers=SWEEP, content_type="application/json")
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "validation_failed"
    assert store.get(sweep_path("expiry")) is None  # refused before anything ran
    assert client.post("/run", data=b"", headers=SWEEP).status_code == 200
    assert store.get(sweep_path("expiry")) is not None


# --- expiry, reservations, crash and overlap ------------------------------------------------


def _people(store, t0, count, *, with_stale_order=True):
    for i in range(count):
        customer(store, f"c{i}", at=t0 + timedelta(seconds=i))
    if with_stale_order:
        orders.place_order(store, config=config(t0), customer_id="c0", order_id="A0", lines=CART, bonuses=300, now=t0)
        assert balances(store, "c0", t0).reserved == 300


def _all_written_off(store, count):
    for i in range(count):
        cid = f"c{i}"
        kinds = posting_kinds(store, cid)
        assert kinds["expire"] == 1, (cid, kinds)
        assert balances(store, cid, now() + timedelta(days=400)).total == 0
        assert audit_account(store, cid) == []
    assert posting_kinds(store, "c0")["release"] == 1
    assert orders.get_order(store, "A0").status == "canceled"
    assert len([e for e in orders.get_order(store, "A0").events if e.type == "canceled"]) == 1


def test_a_crash_half_way_loses_nothing_and_a_rerun_doubles_nothing(client, store, monkeypatch):
    t0 = now()
    _people(store, t0, 5)
    later = t0 + timedelta(days=366)

    first = run(client, later, batch=2, max_pages=1).get_json()
    assert (first["canceled"], first["accounts"], first["expired"], first["expiry_complete"]) == (1, 2, 1000, 0)
    assert store.get(sweep_path("expiry"))["pass"]["after"][1] == "c1"

    calls = {"n": 0}
    real = account_sweep._sweep_in

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("instance killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(account_sweep, "_sweep_in", crashing)
    with time_machine.travel(later + timedelta(minutes=1), tick=True):
        try:
            crashed = client.post("/run", json={"batch": 2, "max_pages": 1}, headers=SWEEP).status_code
        except RuntimeError:
            crashed = 500
    assert crashed == 500
    assert store.get(sweep_path("expiry"))["pass"]["after"][1] == "c1"  # the half-done page is done again
    monkeypatch.setattr(account_sweep, "_sweep_in", real)

    rest = run(client, later + timedelta(minutes=2), batch=2, max_pages=10).get_json()
    assert rest["expiry_complete"] == 1
    assert rest["expired"] == 1500  # c2, c3 and c4: the crashed page's group (c2, c3) committed nothing
    assert store.get(sweep_path("expiry"))["pass"] is None
    _all_written_off(store, 5)

    again = run(client, later + timedelta(minutes=3)).get_json()
    assert (again["accounts"], again["expired"], again["released"], again["canceled"]) == (0, 0, 0, 0)
    _all_written_off(store, 5)


def test_two_overlapping_runs_double_nothing(client, store):
    t0 = now()
    _people(store, t0, 6)
    app = client.application
    barrier = threading.Barrier(2)

    def one_run(_):
        barrier.wait()
        return app.test_client().post("/run", json={"batch": 2, "max_pages": 10}, headers=SWEEP)

    with time_machine.travel(t0 + timedelta(days=366), tick=True):  # the clock is process-wide: travel once
        with ThreadPoolExecutor(max_workers=2) as pool:
            replies = list(pool.map(one_run, range(2)))
    assert [r.status_code for r in replies] == [200, 200], [r.get_json() for r in replies]
    results = [r.get_json() for r in replies]
    assert sum(r["expired"] for r in results) == 6 * 500  # every welcome bonus written off once
    assert all(r["expiry_complete"] == 1 for r in results)
    _all_written_off(store, 6)


def test_an_unpaid_order_is_canceled_after_the_timeout_and_its_bonuses_come_back(client, store):
    t0 = now()
    _people(store, t0, 1)
    early = run(client, t0 + timedelta(minutes=30)).get_json()
    assert early["canceled"] == 0
    assert orders.get_order(store, "A0").status == "awaiting_payment"
    late = run(client, t0 + timedelta(minutes=61)).get_json()
    assert late["canceled"] == 1
    assert orders.get_order(store, "A0").status == "canceled"
    b = balances(store, "c0", t0 + timedelta(minutes=62))
    assert (b.available, b.reserved) == (500, 0)
    assert run(client, t0 + timedelta(minutes=63)).get_json()["orders_checked"] == 0  # the watermark moved on
    assert posting_kinds(store, "c0")["release"] == 1
    assert audit_account(store, "c0") == []


# --- expiry warnings --------------------------------------------------------------------


def msk_noon(moment: datetime) -> datetime:
    """Noon (Moscow) of the moment's Moscow day: runs 'later the same day' stay on that day."""
    day = moment.astimezone(MSK).date()
    return datetime(day.year, day.month, day.day, 12, tzinfo=MSK).astimezone(timezone.utc)


def test_expiry_warnings_are_recorded_once_seven_days_ahead(client, store):
    t0 = now()
    customer(store, "soon", at=t0)
    customer(store, "later", at=t0 + timedelta(days=5))
    paid_order(store, "P1", "held", bonuses=0, at=t0)  # its accrual is held (not delivered): only the welcome lot is warned
    warn_day = 365 - sweeps.WARNING_DAYS
    assert run(client, msk_noon(t0 + timedelta(days=warn_day - 2))).get_json()["notices"] == 0  # 7.5 to 8.5 days ahead
    first = run(client, msk_noon(t0 + timedelta(days=warn_day + 1))).get_json()
    assert first["notices"] == 2  # "soon" and "held"; "later" expires 5 days after them
    lot = next(iter(load_account(store, "soon").lots.values()))
    key = f"expiry:{lot.expires_at.astimezone(MSK).date().isoformat()}"
    notice = store.get(layout.notice("soon", key))
    assert (notice["amount"], notice["kind"], notice["expires_at"], notice["sent_at"]) == (500, "expiry_warning", lot.expires_at, None)
    assert store.get(layout.notice("later", key)) is None
    assert run(client, msk_noon(t0 + timedelta(days=warn_day + 1)) + timedelta(hours=1)).get_json()["notices"] == 0  # once a day
    assert run(client, msk_noon(t0 + timedelta(days=warn_day + 2))).get_json()["notices"] == 0  # next day: already recorded
    assert run(client, msk_noon(t0 + timedelta(days=warn_day + 6))).get_json()["notices"] == 1  # now "later"'s turn
    for cid in ("soon", "later", "held"):
        assert audit_account(store, cid) == []


# --- birthdays --------------------------------------------------------------------------


def _set(store, customer_id, **fields):
    path = f"customers/{customer_id}"
    store.run(lambda uow: uow.put(path, {**uow.get(path), **fields}))


def _msk(year, month, day, hour=10):
    return datetime(year, month, day, hour, tzinfo=MSK).astimezone(timezone.utc)


def test_birthday_bonus_once_a_year(client, store):
    year = now().year + 2
    t0 = _msk(year, 3, 1)
    for cid, md in (("vera", "03-15"), ("gleb", "03-16"), ("nina", "03-15")):
        customer(store, cid, at=t0)
        _set(store, cid, birthday=md, birthday_md=md)
    customer(store, "ivan", at=t0)  # no birthday known
    day = _msk(year, 3, 15)
    first = run(client, day, batch=1).get_json()
    assert (first["birthdays"], first["birthday_bonuses"]) == (2, 600)
    assert run(client, day + timedelta(hours=2)).get_json()["birthdays"] == 0
    store.run(lambda uow: uow.put(sweep_path("birthdays"), {"name": "birthdays", "passes": 0}))  # forget the day's pass
    assert run(client, day + timedelta(hours=3)).get_json()["birthdays"] == 0  # the posting key holds
    vera = load_account(store, "vera")
    gift = next(lot for lot in vera.lots.values() if lot.source == "birthday")
    assert (gift.amount, gift.expires_at - gift.accrued_at) == (300, timedelta(days=30))
    assert balances(store, "vera", day + timedelta(hours=4)).available == 800
    assert balances(store, "gleb", day + timedelta(hours=4)).available == 500
    assert posting_kinds(store, "ivan")["accrue"] == 1
    next_year = run(client, _msk(year + 1, 3, 15)).get_json()
    assert next_year["birthdays"] == 2
    for cid in ("vera", "nina", "gleb", "ivan"):
        assert audit_account(store, cid) == []


def test_a_february_29_birthday_is_kept_on_february_28(client, store):
    year = next(y for y in range(now().year + 1, now().year + 9) if not calendar.isleap(y))
    customer(store, "leap", at=_msk(year, 2, 1))
    _set(store, "leap", birthday="2000-02-29", birthday_md="02-29")
    assert run(client, _msk(year, 2, 27)).get_json()["birthdays"] == 0
    assert run(client, _msk(year, 2, 28)).get_json()["birthdays"] == 1


# --- rolling-window levels ---------------------------------------------------------------


def test_rolling_window_downgrade_without_any_expiry_due(client, store):
    t0 = now()
    raw = preset_data("biomiq")
    raw["level_basis"] = {"kind": "rolling", "window_days": 30, "downgrade": True}
    program.publish(store, raw=raw, author="test", reason="rolling window", effective_from=t0, now=t0 - timedelta(seconds=1))
    big = [CART[0].model_copy(update={"price": 3_000_000})]
    paid_order(store, "BIG", "olga", lines=big, bonuses=0, at=t0 + timedelta(seconds=1))
    assert load_account(store, "olga").level == "level2"
    still = run(client, msk_noon(t0 + timedelta(days=20))).get_json()
    assert (still["levels_reviewed"], still["levels_changed"]) == (1, 0)
    after = run(client, msk_noon(t0 + timedelta(days=40))).get_json()
    assert (after["accounts"], after["levels_changed"]) == (0, 1)  # nothing was due: the level walk found it
    account = load_account(store, "olga")
    assert (account.level, account.paid_by_day) == ("level1", {})
    assert run(client, msk_noon(t0 + timedelta(days=40)) + timedelta(hours=1)).get_json()["levels_reviewed"] == 0  # once a day
    assert audit_account(store, "olga") == []


def test_a_pickup_order_checked_out_online_is_delivered_by_its_fallback_the_configured_days_after_payment(client, store):
    from shared.domain.cart import cart_fingerprint
    from tests.conftest import SHOP_ORIGIN, customer_token

    t0 = now()
    raw = {**preset_data("biomiq"), "shipping": {"fallback_days": {"pickup": 10}}}
    program.publish(store, raw=raw, author="test", reason="pickup fallback", effective_from=t0 - timedelta(seconds=1), now=t0 - timedelta(seconds=2))
    customer(store, "anna", at=t0)
    lines = [line.model_dump(mode="json") for line in CART]
    body = {"order_id": "P1", "lines": lines, "bonuses": 0, "quote_fingerprint": cart_fingerprint(CART, None, 0, False), "shipping_method": "pickup"}
    placed = load_function("checkout").post("/checkout", json=body, headers={"Authorization": f"Bearer {customer_token('anna', t0)}", "Origin": SHOP_ORIGIN})
    assert placed.status_code == 200, placed.get_data(as_text=True)
    order_id = placed.get_json()["order_id"]
    paid = orders.mark_paid(store, config=config(t0), order_id=order_id, payment=orders.PaymentRef(provider="test", id="p-P1", amount=placed.get_json()["money_to_pay"]), now=t0)
    assert paid.shipping_method == "pickup" and paid.points_earned > 0
    assert run(client, t0 + timedelta(days=9)).get_json()["fallback_delivered"] == 0
    result = run(client, t0 + timedelta(days=10, minutes=1)).get_json()
    assert (result["fallback_checked"], result["fallback_delivered"]) == (1, 1)
    assert orders.get_order(store, order_id).status == "delivered"
    assert balances(store, "anna", t0 + timedelta(days=10)).pending == 0  # active from the tenth day
    assert run(client, t0 + timedelta(days=10, minutes=2)).get_json()["fallback_checked"] == 0
    assert audit_account(store, "anna") == []
