"""Payment provider edges without I/O: amounts, the YooMoney hash, the YooKassa allowlist and
client (against the in-memory fake), and which X-Forwarded-For entry is the caller."""

from __future__ import annotations

import base64
import hashlib
import os
from types import SimpleNamespace

import httpx
import pytest

from shared.adapters import yookassa, yoomoney
from shared.adapters.amounts import BadAmount, to_kopecks, to_roubles
from shared.domain.errors import Forbidden, ValidationFailed
from shared.edge.http import client_ip
from shared.platform import bootstrap
from shared.platform.settings import reload
from tests.fakes import yoomoney as fake_yoomoney
from tests.fakes.yookassa import FakeYooKassa

SECRET = "yoomoney-secret"


@pytest.fixture
def env():
    """Change the environment for one test; settings are re-read before and after."""

    def apply(**values: str) -> None:
        os.environ.update(values)
        reload()

    yield apply
    for name in ("YOOKASSA_NETWORKS", "KOPILKA_TRUSTED_PROXY_HOPS"):
        os.environ.pop(name, None)
    reload()


# --- amounts -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kopecks"), [("1000.00", 100000), ("990.5", 99050), ("0.01", 1), ("7", 700), ("0", 0), ("2100.10", 210010)])
def test_amounts_become_exact_kopecks(text, kopecks):
    assert to_kopecks(text) == kopecks
    assert to_kopecks(to_roubles(kopecks)) == kopecks


@pytest.mark.parametrize("text", ["1.005", "-1.00", "1e3", "NaN", "Infinity", " 1.00", "1.00 ", "1,00", "", ".5", "1.", "١.٠٠", "+1", "0x10", "1_000"])
def test_amounts_not_exactly_in_kopecks_are_refused(text):
    with pytest.raises(BadAmount):
        to_kopecks(text)


# --- YooMoney sha1_hash --------------------------------------------------------------


def _notification(label: str = "A1", **overrides: str) -> yoomoney.Notification:
    return yoomoney.parse(fake_yoomoney.body(fake_yoomoney.fields(SECRET, label=label, paid=260000, **overrides)).encode())


def test_hash_is_sha1_of_the_documented_fields_in_order():
    n = _notification(sender="", label="заказ 7&x")
    text = f"p2p-incoming&{n.operation_id}&{n.amount}&643&{n.datetime}&&false&{SECRET}&заказ 7&x"
    assert yoomoney.expected_hash(n, SECRET) == hashlib.sha1(text.encode()).hexdigest() == n.sha1_hash
    yoomoney.verify(n, SECRET)
    assert n.label == "заказ 7&x"  # urlencoding round-trips; the hash covers the decoded value


def test_withdraw_amount_is_what_the_customer_paid():
    n = _notification()
    assert (n.paid_kopecks, to_kopecks(n.amount)) == (260000, 257400)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h: h.upper(),
        lambda h: h[:-1],
        lambda h: h[:20],
        lambda h: h + "0",
        lambda h: "",
        lambda h: ("0" if h[0] != "0" else "1") + h[1:],
        lambda h: "é" * 40,  # non-ASCII: refused, not a TypeError from compare_digest
    ],
)
def test_a_wrong_uppercase_or_truncated_hash_is_forbidden(tamper):
    n = _notification()
    forged = yoomoney.Notification(**{**n.__dict__, "sha1_hash": tamper(n.sha1_hash)})
    with pytest.raises(Forbidden):
        yoomoney.verify(forged, SECRET)


def test_a_changed_signed_field_or_another_secret_is_forbidden():
    n = _notification()
    for field, value in [("amount", "9999.00"), ("label", "B2"), ("operation_id", "1"), ("codepro", "true")]:
        with pytest.raises(Forbidden):
            yoomoney.verify(yoomoney.Notification(**{**n.__dict__, field: value}), SECRET)
    with pytest.raises(Forbidden):
        yoomoney.verify(n, "another-secret")
    with pytest.raises(Forbidden):
        yoomoney.verify(n, "")  # not configured: nothing is accepted


def test_missing_repeated_or_malformed_fields_are_invalid():
    data = fake_yoomoney.fields(SECRET, label="A1", paid=100)
    for name in ("sha1_hash", "operation_id", "withdraw_amount", "codepro", "label"):
        with pytest.raises(ValidationFailed) as exc:
            yoomoney.parse(fake_yoomoney.body({k: v for k, v in data.items() if k != name}).encode())
        assert {"field": name, "error": "missing"} in exc.value.details["errors"]
    with pytest.raises(ValidationFailed):
        yoomoney.parse((fake_yoomoney.body(data) + "&label=B2").encode())
    with pytest.raises(ValidationFailed):
        yoomoney.parse(fake_yoomoney.body({**data, "withdraw_amount": "1e3"}).encode())
    with pytest.raises(ValidationFailed):
        yoomoney.parse(b"\xff\xfe")


def test_codepro_and_unaccepted_flags():
    assert _notification(codepro="true").protected_by_code
    assert _notification(unaccepted="true").on_hold
    n = _notification()
    assert not n.protected_by_code and not n.on_hold


# --- YooKassa allowlist ----------------------------------------------------------------


INSIDE = [
    *("185.71.76.0", "185.71.76.31", "185.71.77.1", "77.75.153.0", "77.75.153.127", "77.75.156.11", "77.75.156.35", "77.75.154.128", "77.75.154.255"),
    *("2a02:5180:0:1509::1", "2a02:5180:0:2655::17", "2a02:5180::1", "::ffff:185.71.76.10", " 185.71.76.1 "),
]
OUTSIDE = [
    *("185.71.76.32", "185.71.75.255", "77.75.153.128", "77.75.156.12", "77.75.154.127", "2a02:5181::1", "203.0.113.9", "127.0.0.1", "10.0.0.1"),
    *("::1", "::ffff:203.0.113.9", "185.71.76.1, 203.0.113.9", "185.71.76.1:443", "not an ip", "", None),
]


@pytest.mark.parametrize("address", INSIDE)
def test_yookassa_networks_are_allowed(address):
    assert yookassa.is_yookassa_address(address)


@pytest.mark.parametrize("address", OUTSIDE)
def test_other_addresses_are_not(address):
    assert not yookassa.is_yookassa_address(address)


def test_the_allowlist_is_overridable_from_settings(env):
    env(YOOKASSA_NETWORKS="198.51.100.0/24, 2001:db8::/32")
    assert yookassa.is_yookassa_address("198.51.100.7")
    assert yookassa.is_yookassa_address("2001:db8::5")
    assert not yookassa.is_yookassa_address("185.71.76.1")


def test_a_misconfigured_network_fails_loudly(env):
    env(YOOKASSA_NETWORKS="185.71.76.1/27")
    with pytest.raises(ValueError):
        yookassa.is_yookassa_address("185.71.76.1")


# --- which X-Forwarded-For entry is the caller -----------------------------------------


def _request(xff: str | None, remote: str = "169.254.1.1"):
    return SimpleNamespace(headers={} if xff is None else {"X-Forwarded-For": xff}, remote_addr=remote)


def test_the_caller_is_the_entry_our_proxy_appended_not_the_leftmost():
    # the client sent "185.71.76.1" itself; Google's front end appended the real peer
    assert client_ip(_request("185.71.76.1, 203.0.113.9"), trusted_hops=1) == "203.0.113.9"
    assert not yookassa.is_yookassa_address(client_ip(_request("185.71.76.1, 203.0.113.9"), trusted_hops=1))
    # a junk left entry does not hide a real YooKassa peer
    assert client_ip(_request("203.0.113.9, 185.71.76.1"), trusted_hops=1) == "185.71.76.1"
    assert client_ip(_request("185.71.76.1"), trusted_hops=1) == "185.71.76.1"


def test_more_proxies_count_from_the_right_and_too_few_entries_mean_no_caller():
    assert client_ip(_request("198.51.100.1, 185.71.76.1, 10.0.0.2"), trusted_hops=2) == "185.71.76.1"
    assert client_ip(_request("185.71.76.1"), trusted_hops=2) is None
    assert client_ip(_request(None), trusted_hops=1) == "169.254.1.1"
    assert client_ip(_request("a, b"), trusted_hops=0) == "169.254.1.1"


def test_the_hops_come_from_settings(env):
    env(KOPILKA_TRUSTED_PROXY_HOPS="2")
    assert client_ip(_request("185.71.76.1, 203.0.113.9")) == "185.71.76.1"


# --- the YooKassa client against the fake ------------------------------------------------


@pytest.fixture
def fake():
    return FakeYooKassa(shop_id="123456", secret_key="test_secret_key")


def _client(fake: FakeYooKassa, *, secret_key: str = "test_secret_key", sleeps: list[float] | None = None) -> yookassa.YooKassaClient:
    record = sleeps if sleeps is not None else []
    return yookassa.YooKassaClient(base_url="https://api.yookassa.ru/v3", shop_id="123456", secret_key=secret_key, timeout=1.0, transport=fake.transport, sleep=record.append)


def test_get_payment_uses_basic_auth_and_the_v3_path(fake):
    payment = fake.create_payment(amount=260000, order_id="A1")
    seen: list[httpx.Request] = []

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return fake.handle(request)

    c = yookassa.YooKassaClient(base_url="https://api.yookassa.ru/v3", shop_id="123456", secret_key="test_secret_key", timeout=1.0, transport=httpx.MockTransport(spy))
    got = c.get_payment(payment["id"])
    assert (got.id, got.status, got.amount.kopecks, got.metadata) == (payment["id"], "pending", 260000, {"order_id": "A1"})
    assert seen[0].url == f"https://api.yookassa.ru/v3/payments/{payment['id']}"
    assert seen[0].headers["Authorization"] == "Basic " + base64.b64encode(b"123456:test_secret_key").decode()


def test_unknown_objects_are_none_and_odd_ids_never_reach_the_api(fake):
    c = _client(fake)
    assert c.get_payment("2c2d7d2a-000f-5000-8000-1b2c3d4e5f60") is None
    assert c.get_refund("2c2d7d2a-0015-5000-8000-1b2c3d4e5f60") is None
    assert len(fake.requests) == 2
    for odd in ("../refunds/x", "a/b", "", "x" * 65, "id?x=1", "%2e%2e"):
        assert c.get_payment(odd) is None
    assert len(fake.requests) == 2


@pytest.mark.parametrize("fault", ["timeout", "connect", "500", "503", "202"])
def test_transient_faults_are_retried_within_the_bound(fake, fault):
    payment = fake.create_payment(amount=100, order_id="A1")
    sleeps: list[float] = []
    c = _client(fake, sleeps=sleeps)
    fake.fail_next(fault, times=2)
    assert c.get_payment(payment["id"]).id == payment["id"]
    assert len(fake.requests) == 3 and len(sleeps) == 2 and all(0 <= s <= 0.4 for s in sleeps)
    fake.fail_next(fault, times=3)
    with pytest.raises(yookassa.YooKassaUnavailable):
        c.get_payment(payment["id"])
    assert len(fake.requests) == 6


def test_a_refund_is_made_once_per_idempotence_key_through_retried_faults(fake):
    payment = fake.succeed(fake.create_payment(amount=260000, order_id="A1")["id"])
    c = _client(fake)
    fake.fail_next("503", times=2)  # the first two attempts fail: the third makes the refund
    refund = c.create_refund(payment_id=payment["id"], kopecks=260000, idempotence_key="kopilka-refund-1", description="Возврат")
    again = c.create_refund(payment_id=payment["id"], kopecks=260000, idempotence_key="kopilka-refund-1", description="Возврат")
    assert (refund.id, refund.payment_id, refund.amount.kopecks, refund.status) == (again.id, payment["id"], 260000, "succeeded")
    assert len(fake.refunds) == 1 and [m for m, _ in fake.requests] == ["POST"] * 4
    with pytest.raises(yookassa.YooKassaUnavailable):  # more than is left: refused, not retried
        c.create_refund(payment_id=payment["id"], kopecks=100, idempotence_key="kopilka-refund-2", description="Возврат")
    with pytest.raises(ValueError):
        c.create_refund(payment_id="../payments", kopecks=100, idempotence_key="k", description="")


def test_refused_credentials_are_not_retried_and_say_unavailable(fake):
    payment = fake.create_payment(amount=100, order_id="A1")
    c = _client(fake, secret_key="wrong")
    with pytest.raises(yookassa.YooKassaUnavailable) as exc:
        c.get_payment(payment["id"])
    assert exc.value.details["status"] == 401 and len(fake.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"text": "<html>"},
        {"json": [1]},
        {"json": {"id": "p1", "status": "succeeded"}},
        {"json": {"id": "p1", "status": "succeeded", "amount": {"value": "1.001", "currency": "RUB"}}},
        {"json": {"id": "p2", "status": "succeeded", "amount": {"value": "1.00", "currency": "RUB"}}},  # another payment
    ],
)
def test_an_unreadable_answer_is_unavailable_not_unknown(answer):
    transport = httpx.MockTransport(lambda request: httpx.Response(200, **answer))
    c = yookassa.YooKassaClient(base_url="https://api.yookassa.ru/v3", shop_id="1", secret_key="k", timeout=1.0, transport=transport)
    with pytest.raises(yookassa.YooKassaUnavailable):
        c.get_payment("p1")


def test_the_instance_client_is_built_lazily_from_settings(env, fake):
    env(YOOKASSA_SHOP_ID="123456", YOOKASSA_SECRET_KEY="test_secret_key")
    bootstrap.set_transport("yookassa", fake.transport)
    try:
        payment = fake.create_payment(amount=100, order_id="A1")
        assert fake.requests == []
        assert bootstrap.yookassa() is bootstrap.yookassa()
        assert bootstrap.yookassa().get_payment(payment["id"]).id == payment["id"]
        env(YOOKASSA_SHOP_ID="", YOOKASSA_SECRET_KEY="")
        bootstrap.set_transport("yookassa", fake.transport)
        with pytest.raises(yookassa.YooKassaUnavailable):
            bootstrap.yookassa()
    finally:
        bootstrap.set_transport("yookassa", None)
        os.environ.pop("YOOKASSA_SHOP_ID", None)
        os.environ.pop("YOOKASSA_SECRET_KEY", None)
        reload()


def test_the_fake_replays_an_idempotence_key_and_checks_auth(fake):
    http = httpx.Client(base_url="https://api.yookassa.ru/v3", transport=fake.transport, auth=("123456", "test_secret_key"))
    body = {"amount": {"value": "2600.00", "currency": "RUB"}, "capture": True, "metadata": {"order_id": "A1"}}
    first = http.post("/payments", json=body, headers={"Idempotence-Key": "k1"}).json()
    again = http.post("/payments", json=body, headers={"Idempotence-Key": "k1"}).json()
    assert first == again and len(fake.payments) == 1
    assert http.post("/payments", json={**body, "amount": {"value": "1.00", "currency": "RUB"}}, headers={"Idempotence-Key": "k1"}).status_code == 400
    assert http.post("/payments", json=body).status_code == 400
    assert httpx.Client(base_url="https://api.yookassa.ru/v3", transport=fake.transport, auth=("123456", "nope")).get(f"/payments/{first['id']}").status_code == 401
