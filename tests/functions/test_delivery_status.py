"""delivery_status through functions-framework, on the emulator, with the carriers faked in memory.

CDEK webhooks are built as CDEK posts them (code with a trailing space, ``+0700``
times); every final status is re-read from the fake CDEK API. Every test checks
the stored order and the customer's ledger, not the response alone.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from shared.adapters import layout
from shared.adapters.layout import sweep as sweep_path
from shared.platform import bootstrap
from shared.platform.settings import reload
from shared.services import delivery, orders
from shared.services.ledger import audit_account, balances, load_account
from tests.conftest import TEST_ENV, load_function
from tests.fakes.carriers import FakeCarriers, boxberry_time, cdek_webhook
from tests.functions.shop import EARNED, SWEEP, events, now, paid_order, posting_kinds

CDEK_URL = f"/cdek/{TEST_ENV['KOPILKA_CDEK_TOKEN']}"


@pytest.fixture
def fake(function_env, monkeypatch):
    api = FakeCarriers()
    for name, value in api.environment().items():
        monkeypatch.setenv(name, value)
    reload()
    bootstrap.set_transport("carriers", api.transport)
    yield api
    bootstrap.set_transport("carriers", None)


@pytest.fixture
def client(fake):
    return load_function("delivery_status")


@pytest.fixture
def store(function_env):
    return function_env


def moment(hours_ago: float = 2):
    return (now() - timedelta(hours=hours_ago)).replace(microsecond=0)


def purchase_lot(store, order_id="A1", customer="anna"):
    return next(lot for lot in load_account(store, customer).lots.values() if lot.source == "purchase" and lot.ref == order_id)


# --- CDEK webhook -------------------------------------------------------------------------


def test_a_wrong_url_token_is_refused_and_nothing_is_read_or_written(client, fake, store):
    paid_order(store)
    uuid = fake.add_cdek_order(number="A1", statuses=[("DELIVERED", moment())])
    body = cdek_webhook(uuid, "DELIVERED", moment(), number="A1")
    for path in ("/cdek/wrong-token", "/cdek/" + TEST_ENV["KOPILKA_CDEK_TOKEN"] + "x", "/cdek/cdek-url-secreT"):
        assert client.post(path, json=body).status_code == 403
    assert client.post("/cdek", json=body).status_code == 404
    assert fake.requests == []
    assert orders.get_order(store, "A1").status == "paid"


def test_a_webhook_url_the_framework_cannot_route_is_a_json_404(client, fake, store):
    # a secret segment with a newline never reaches the function: functions-framework's URL rule does
    # not match it, and Flask answered an HTML page (found by tests/reliability/test_fuzz.py)
    response = client.post(CDEK_URL + "%0A", json={"type": "ORDER_STATUS"})
    assert (response.status_code, response.headers["Content-Type"]) == (404, "application/json; charset=utf-8")
    assert response.get_json()["error"]["code"] == "not_found"
    assert fake.requests == []


@pytest.mark.parametrize("change", [{"is_return": 0}, {"is_return": "false"}, {"code": 4}])
def test_a_webhook_of_other_json_types_is_400_and_reads_nothing(client, fake, store, change):
    # found by tests/reliability/test_fuzz.py: is_return 0 was taken for false
    paid_order(store)
    uuid = fake.add_cdek_order(number="A1", statuses=[("DELIVERED", moment())])
    body = cdek_webhook(uuid, "DELIVERED", moment(), number="A1")
    body["attributes"].update(change)
    response = client.post(CDEK_URL, json=body)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_failed"
    assert fake.requests == [] and orders.get_order(store, "A1").status == "paid"


@pytest.mark.parametrize("raw", [b"null", b"[]", b'{"batch": "5"}'])
def test_poll_takes_an_object_of_the_documented_types_or_nothing(client, fake, store, raw):
    refused = client.post("/poll", data=raw, headers=SWEEP, content_type="application/json")
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "validation_failed"
    assert fake.requests == []
    assert client.post("/poll", data=b"", headers=SWEEP).get_json()["checked"] == 0


@pytest.mark.reliability
def test_delivered_starts_the_hold_at_the_carrier_time_and_duplicates_apply_once(client, fake, store):
    paid_order(store)
    delivered_at = moment(5)
    uuid = fake.add_cdek_order(number="A1", statuses=[("ACCEPTED", delivered_at - timedelta(days=2)), ("DELIVERED", delivered_at)])
    body = cdek_webhook(uuid, "DELIVERED", delivered_at, number="A1")

    first = client.post(CDEK_URL, json=body)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"outcome": "applied", "order_id": "A1", "status": "delivered", "reason": None}
    order = orders.get_order(store, "A1")
    assert (order.status, order.delivered_at) == ("delivered", delivered_at)
    assert purchase_lot(store).activates_at == delivered_at + timedelta(days=14)
    kinds = posting_kinds(store, "anna")

    app = client.application
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda _: app.test_client().post(CDEK_URL, json=body), range(4)))
    assert [r.status_code for r in replies] == [200] * 4
    assert {r.get_json()["outcome"] for r in replies} <= {"applied", "already_applied"}
    assert len(events(store, "A1", "delivered")) == 1
    assert posting_kinds(store, "anna") == kinds
    assert fake.calls("api.cdek.ru", "/v2/oauth/token") == 1  # the token is reused
    assert audit_account(store, "anna") == []


def test_the_body_is_only_a_hint_the_api_decides(client, fake, store):
    paid_order(store)
    uuid = fake.add_cdek_order(number="A1", statuses=[("ACCEPTED", moment(30))])
    forged = cdek_webhook(uuid, "DELIVERED", moment(), number="A1")
    reply = client.post(CDEK_URL, json=forged)
    assert reply.status_code == 200
    assert reply.get_json()["outcome"] == "not_confirmed"
    assert orders.get_order(store, "A1").status == "paid"
    # a body naming another of our orders does not move it either: the API's number counts
    paid_order(store, "B2", "boris")
    fake.cdek_status(uuid, "DELIVERED", moment(1))
    assert client.post(CDEK_URL, json=cdek_webhook(uuid, "DELIVERED", moment(1), number="B2")).get_json()["order_id"] == "A1"
    assert orders.get_order(store, "B2").status == "paid"
    assert orders.get_order(store, "A1").status == "delivered"


def test_not_delivered_is_a_full_return(client, fake, store):
    paid_order(store)
    uuid = fake.add_cdek_order(number="A1", statuses=[("NOT_DELIVERED", moment())])
    reply = client.post(CDEK_URL, json=cdek_webhook(uuid, "NOT_DELIVERED", moment(), number="A1"))
    assert reply.get_json()["status"] == "not_delivered"
    order = orders.get_order(store, "A1")
    assert [e["key"] for e in events(store, "A1", "return")] == ["return:cdek-not-delivered"]
    assert order.returned_units == {"serum": 1, "cream": 2}
    b = balances(store, "anna", now())
    assert (b.available, b.pending, b.reserved) == (500, 0, 0)  # the welcome bonuses back, the accrual gone
    assert client.post(CDEK_URL, json=cdek_webhook(uuid, "NOT_DELIVERED", moment(), number="A1")).get_json()["outcome"] == "already_applied"
    assert len(events(store, "A1", "return")) == 1
    assert audit_account(store, "anna") == []


def test_a_return_order_linked_to_ours_returns_it(client, fake, store):
    paid_order(store)
    direct = fake.add_cdek_order(number="A1", statuses=[("DELIVERED", moment(72))])
    assert client.post(CDEK_URL, json=cdek_webhook(direct, "DELIVERED", moment(72), number="A1")).get_json()["status"] == "delivered"
    back = fake.add_cdek_order(number=None, is_return=True, related=[{"type": "direct_order", "uuid": direct}], statuses=[("ACCEPTED", moment(24)), ("DELIVERED", moment(1))])
    in_transit = cdek_webhook(back, "ACCEPTED", moment(24), is_return=True, related=[{"type": "direct_order", "uuid": direct}])
    assert client.post(CDEK_URL, json=in_transit).get_json()["outcome"] == "in_transit"
    reply = client.post(CDEK_URL, json=cdek_webhook(back, "DELIVERED", moment(1), is_return=True, related=[{"type": "direct_order", "uuid": direct}]))
    assert reply.get_json() == {"outcome": "applied", "order_id": "A1", "status": "returned", "reason": None}
    assert balances(store, "anna", now()).total == 500
    assert audit_account(store, "anna") == []


def test_a_client_return_linked_only_by_the_webhook_returns_the_order_and_a_withdrawn_status_does_nothing(client, fake, store):
    paid_order(store)
    direct = fake.add_cdek_order(number="A1", statuses=[("DELIVERED", moment(72))])
    assert client.post(CDEK_URL, json=cdek_webhook(direct, "DELIVERED", moment(72), number="A1")).get_json()["status"] == "delivered"
    back = fake.add_cdek_order(number=None, is_client_return=True, statuses=[("DELIVERED", moment(1))])
    calls = len(fake.requests)
    withdrawn = cdek_webhook(back, "DELIVERED", moment(1), is_client_return=True, related=[{"type": "client_direct_order", "uuid": direct}], deleted=True)
    assert client.post(CDEK_URL, json=withdrawn).get_json()["outcome"] == "ignored"
    assert len(fake.requests) == calls and orders.get_order(store, "A1").status == "delivered"
    reply = client.post(CDEK_URL, json=cdek_webhook(back, "DELIVERED", moment(1), is_client_return=True, related=[{"type": "client_direct_order", "uuid": direct}]))
    assert reply.get_json() == {"outcome": "applied", "order_id": "A1", "status": "returned", "reason": None}
    assert balances(store, "anna", now()).total == 500
    assert audit_account(store, "anna") == []


def test_unknown_orders_and_other_events_are_acknowledged_without_effect(client, fake, store):
    paid_order(store)
    foreign = fake.add_cdek_order(number="SOMEONE-ELSE-7", statuses=[("DELIVERED", moment())])
    assert client.post(CDEK_URL, json=cdek_webhook(foreign, "DELIVERED", moment(), number="SOMEONE-ELSE-7")).get_json()["outcome"] == "unknown_order"
    assert client.post(CDEK_URL, json=cdek_webhook("no-such-uuid", "DELIVERED", moment(), number="A1")).get_json()["outcome"] == "unknown_order"
    calls = len(fake.requests)
    assert client.post(CDEK_URL, json=cdek_webhook(foreign, "ACCEPTED_AT_DELIVERY_WAREHOUSE", moment(), number="A1")).get_json()["outcome"] == "in_transit"
    assert client.post(CDEK_URL, json={"type": "PRINT_FORM", "uuid": foreign, "attributes": {}}).get_json()["outcome"] == "ignored"
    assert len(fake.requests) == calls  # nothing final: CDEK's API was not even asked
    assert client.post(CDEK_URL, data=b"{not json", content_type="application/json").status_code == 400
    assert orders.get_order(store, "A1").status == "paid"


def test_cdek_down_asks_for_redelivery_and_the_retry_applies(client, fake, store):
    paid_order(store)
    uuid = fake.add_cdek_order(number="A1", statuses=[("DELIVERED", moment())])
    body = cdek_webhook(uuid, "DELIVERED", moment(), number="A1")
    fake.fail("api.cdek.ru", "503", "timeout", "connect")
    reply = client.post(CDEK_URL, json=body)
    assert reply.status_code == 503
    assert reply.get_json()["error"]["code"] == "provider_unavailable"
    assert int(reply.headers["Retry-After"]) > 0
    assert orders.get_order(store, "A1").status == "paid"
    assert client.post(CDEK_URL, json=body).get_json()["status"] == "delivered"


def test_cdek_refusing_our_credentials_asks_for_redelivery_too(client, fake, store, monkeypatch):
    paid_order(store)
    uuid = fake.add_cdek_order(number="A1", statuses=[("DELIVERED", moment())])
    body = cdek_webhook(uuid, "DELIVERED", moment(), number="A1")
    monkeypatch.setenv("CDEK_CLIENT_SECRET", "rotated-by-someone")
    reload()
    bootstrap.set_transport("carriers", fake.transport)  # forget the client built with the old secret
    reply = client.post(CDEK_URL, json=body)
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (503, "provider_unavailable")
    assert "Retry-After" in reply.headers
    assert orders.get_order(store, "A1").status == "paid"
    monkeypatch.setenv("CDEK_CLIENT_SECRET", fake.cdek_client_secret)
    reload()
    bootstrap.set_transport("carriers", fake.transport)
    assert client.post(CDEK_URL, json=body).get_json()["status"] == "delivered"


# --- tracking, polling, returns ---------------------------------------------------------


def test_tracking_is_internal_and_stored_once(client, fake, store):
    paid_order(store)
    body = {"order_id": "A1", "carrier": "boxberry", "tracking": "BB0001"}
    assert client.post("/tracking", json=body).status_code == 401
    assert client.post("/tracking", json=body, headers={"X-Kopilka-Sweep-Secret": "guess"}).status_code == 401
    reply = client.post("/tracking", json=body, headers=SWEEP)
    assert reply.status_code == 200, reply.get_json()
    order = orders.get_order(store, "A1")
    assert (order.delivery.carrier, order.delivery.tracking, order.status) == ("boxberry", "BB0001", "paid")
    assert order.delivery_poll_at is not None
    assert store.get(layout.tracking("boxberry", "BB0001"))["order_id"] == "A1"
    assert client.post("/tracking", json=body, headers=SWEEP).status_code == 200
    assert orders.get_order(store, "A1").delivery == order.delivery
    paid_order(store, "B2", "boris")
    taken = client.post("/tracking", json={**body, "order_id": "B2"}, headers=SWEEP)
    assert (taken.status_code, taken.get_json()["error"]["code"]) == (409, "invalid_state")
    assert client.post("/tracking", json={"order_id": "A1", "carrier": "russianpost", "tracking": "12345"}, headers=SWEEP).status_code == 400
    assert client.post("/tracking", json={"order_id": "A1", "carrier": "dhl", "tracking": "X1"}, headers=SWEEP).status_code == 400
    assert client.post("/tracking", json={**body, "order_id": "NOPE"}, headers=SWEEP).status_code == 404


def attach(client, order_id, carrier, tracking):
    reply = client.post("/tracking", json={"order_id": order_id, "carrier": carrier, "tracking": tracking}, headers=SWEEP)
    assert reply.status_code == 200, reply.get_json()


def test_poll_applies_final_statuses_in_bounded_batches_with_a_stored_cursor(client, fake, store):
    handed = moment(20)
    fake.add_boxberry("BB1", [("Принято к доставке", moment(100)), ("Выдано", handed)])
    fake.add_russianpost("80080000000002", [(1, 1, moment(200)), (12, 3, moment(100)), (3, 1, moment(50)), (8, 2, moment(10))])
    fake.add_russianpost("80080000000003", [(1, 1, moment(200)), (5, 1, moment(30))])
    fake.add_boxberry("BB4", [("Принято к доставке", moment(50)), ("Передано на сортировку", moment(40))])
    fake.add_russianpost("80080000000005", [(1, 1, moment(200)), (2, 1, moment(3))])
    for n, (carrier, code) in enumerate([("boxberry", "BB1"), ("russianpost", "80080000000002"), ("russianpost", "80080000000003"), ("boxberry", "BB4"), ("russianpost", "80080000000005")], 1):
        paid_order(store, f"A{n}", f"c{n}")
        attach(client, f"A{n}", carrier, code)

    assert client.post("/poll", json={}).status_code == 401
    first = client.post("/poll", json={"batch": 2, "max_pages": 1}, headers=SWEEP).get_json()
    assert (first["checked"], first["complete"]) == (2, 0)
    assert store.get(sweep_path(delivery.POLL_JOB))["pass"]["after"][1] == "A2"
    second = client.post("/poll", json={"batch": 2, "max_pages": 1}, headers=SWEEP).get_json()
    assert (second["checked"], second["complete"]) == (2, 0)
    third = client.post("/poll", json={"batch": 2, "max_pages": 1}, headers=SWEEP).get_json()
    assert (third["checked"], third["complete"]) == (1, 1)
    assert first["applied"] + second["applied"] + third["applied"] == 4
    assert store.get(sweep_path(delivery.POLL_JOB))["pass"] is None

    a1 = orders.get_order(store, "A1")
    assert (a1.status, a1.delivered_at) == ("delivered", handed)
    assert boxberry_time(handed) == (handed + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S")  # Moscow time on the wire
    assert purchase_lot(store, "A1", "c1").activates_at == handed + timedelta(days=14)
    assert orders.get_order(store, "A2").status == "not_delivered"  # turned back before anyone collected it
    assert orders.get_order(store, "A3").status == "not_delivered"
    assert orders.get_order(store, "A5").status == "delivered"
    a4 = orders.get_order(store, "A4")
    assert (a4.status, a4.delivery.last_state, a4.delivery.last_detail) == ("paid", "in_transit", "Передано на сортировку")
    assert a4.delivery_poll_at > now() + timedelta(minutes=50)
    for n in (1, 2, 3, 5):
        assert orders.get_order(store, f"A{n}").delivery_poll_at is None
        assert audit_account(store, f"c{n}") == []
    assert balances(store, "c2", now()).total == 500

    again = client.post("/poll", json={}, headers=SWEEP).get_json()
    assert (again["checked"], again["complete"]) == (0, 1)
    assert posting_kinds(store, "c1")["schedule"] == 1


def test_poll_survives_a_carrier_outage(client, fake, store):
    fake.add_boxberry("BB1", [("Выдано", moment(3))])
    fake.add_russianpost("80080000000002", [(2, 1, moment(3))])
    paid_order(store, "A1", "c1")
    paid_order(store, "A2", "c2")
    attach(client, "A1", "boxberry", "BB1")
    attach(client, "A2", "russianpost", "80080000000002")
    fake.fail("api.boxberry.ru", "503", "503", "503")
    result = client.post("/poll", data="", headers=SWEEP).get_json()
    assert (result["checked"], result["errors"], result["applied"]) == (2, 1, 1)
    a1 = orders.get_order(store, "A1")
    assert (a1.status, a1.delivery.errors) == ("paid", 1)
    assert a1.delivery_poll_at > now() + timedelta(minutes=50)
    assert orders.get_order(store, "A2").status == "delivered"


def test_partial_returns_by_line_and_quantity(client, fake, store):
    paid_order(store)
    uuid = fake.add_cdek_order(number="A1", statuses=[("DELIVERED", moment())])
    client.post(CDEK_URL, json=cdek_webhook(uuid, "DELIVERED", moment(), number="A1"))
    one = {"order_id": "A1", "return_id": "R1", "lines": {"cream": 1}}
    assert client.post("/return", json=one).status_code == 401
    first = client.post("/return", json=one, headers=SWEEP)
    assert first.get_json() == {"order_id": "A1", "status": "partially_returned", "returned_units": {"cream": 1}}
    assert client.post("/return", json=one, headers=SWEEP).get_json()["returned_units"] == {"cream": 1}
    too_many = client.post("/return", json={"order_id": "A1", "return_id": "R9", "lines": {"cream": 2}}, headers=SWEEP)
    assert too_many.status_code == 400
    assert client.post("/return", json={"order_id": "A1", "return_id": "R8", "lines": {"cream": 0}}, headers=SWEEP).status_code == 400
    rest = client.post("/return", json={"order_id": "A1", "return_id": "R2", "lines": {"cream": 1, "serum": 1}}, headers=SWEEP)
    assert rest.get_json()["status"] == "returned"
    returns = events(store, "A1", "return")
    assert [e["key"] for e in returns] == ["return:R1", "return:R2"]
    assert sum(e["earned_back"] for e in returns) == EARNED
    assert sum(e["spent_back"] for e in returns) == 500
    assert balances(store, "anna", now()).total == 500
    assert audit_account(store, "anna") == []
