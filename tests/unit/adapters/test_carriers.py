"""Carrier status mapping and parsing (pure), and the clients against the fakes (no network)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from shared.adapters import carriers
from shared.adapters.carrier_clients import BoxberryClient, CdekClient, RussianPostClient
from shared.adapters.carriers import (
    DELIVERED,
    IN_TRANSIT,
    NOT_DELIVERED,
    RETURNED,
    CarrierError,
    CarrierUnavailable,
    SoapFault,
    TrackingNotFound,
)
from shared.platform import bootstrap
from tests.fakes.carriers import FakeCarriers

UTC = timezone.utc
T = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def no_sleep(_: float) -> None:
    return None


# --- time ------------------------------------------------------------------------------


def test_times_become_utc_whatever_the_offset_style():
    assert carriers.to_utc("2020-08-10T21:32:14+0700") == datetime(2020, 8, 10, 14, 32, 14, tzinfo=UTC)
    assert carriers.to_utc("2015-01-08T14:50:00.000+03:00") == datetime(2015, 1, 8, 11, 50, tzinfo=UTC)
    assert carriers.to_utc("2024-02-07 13:38:13", naive_tz=carriers.MSK) == datetime(2024, 2, 7, 10, 38, 13, tzinfo=UTC)
    assert carriers.to_utc("2024-02-07 13:38:13") is None  # no zone and none given: not guessed
    assert carriers.to_utc("yesterday") is None
    assert carriers.to_utc(None) is None


# --- CDEK ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "is_return", "state"),
    [
        ("DELIVERED ", False, DELIVERED),
        ("  NOT_DELIVERED  ", False, NOT_DELIVERED),
        ("ACCEPTED_AT_DELIVERY_WAREHOUSE", False, IN_TRANSIT),
        ("RETURNED_TO_SENDER_WAREHOUSE ", False, IN_TRANSIT),
        ("SOMETHING_NEW", False, IN_TRANSIT),
        ("", False, IN_TRANSIT),
        ("DELIVERED ", True, RETURNED),  # a return order handed back to the sender
        ("NOT_DELIVERED", True, IN_TRANSIT),
        ("ISSUED_FOR_DELIVERY", True, IN_TRANSIT),
    ],
)
def test_cdek_codes(code, is_return, state):
    status = carriers.cdek_status(code, "2026-03-05T16:00:00+0700", is_return=is_return)
    assert status.state == state
    assert status.at == T
    assert status.detail == code.strip()


def test_cdek_order_entity_takes_the_last_final_status_and_the_links():
    entity = {
        "uuid": "u-ret",
        "is_return": True,
        "cdek_number": "1106321645",
        "im_number": "A1",
        "statuses": [  # newest first, as CDEK lists them
            {"code": "DELIVERED ", "date_time": "2026-03-09T12:00:00+0700"},
            {"code": "ACCEPTED", "date_time": "2026-03-06T12:00:00+0700"},
        ],
    }
    # the links are answered next to the entity (the order read's top level), in either case
    related = [{"type": "DIRECT_ORDER", "uuid": "u-direct"}, {"type": "waybill", "uuid": "doc"}, {"type": "direct_order", "uuid": "bad/uuid"}]
    order = carriers.cdek_order(entity, related)
    assert (order.number, order.is_return, order.related_direct, order.cdek_number) == ("A1", True, ("u-direct",), "1106321645")
    assert (order.status.state, order.status.at) == (RETURNED, datetime(2026, 3, 9, 5, 0, tzinfo=UTC))


def test_cdek_order_entity_skips_deleted_statuses_and_counts_client_returns():
    statuses = [{"code": "DELIVERED", "date_time": "2026-03-09T12:00:00+0700", "deleted": True}, {"code": "ACCEPTED", "date_time": "2026-03-06T12:00:00+0700"}]
    direct = carriers.cdek_order({"uuid": "u", "number": "A1", "statuses": statuses})
    assert (direct.is_return, direct.status.state, direct.status.detail) == (False, IN_TRANSIT, "ACCEPTED")
    back = carriers.cdek_order({"uuid": "r", "is_client_return": True, "statuses": statuses[1:] + [{"code": "DELIVERED", "date_time": "2026-03-10T12:00:00+0700"}]})
    assert (back.is_return, back.status.state) == (True, RETURNED)


def test_cdek_order_without_a_final_status_is_in_transit_at_its_latest_event():
    statuses = [{"code": "CREATED", "date_time": "2026-03-01T10:00:00+0300"}, {"code": "ACCEPTED", "date_time": "2026-03-02T10:00:00+0300"}]
    order = carriers.cdek_order({"uuid": "u", "number": "A1", "statuses": statuses})
    assert (order.status.state, order.status.at, order.status.detail) == (IN_TRANSIT, datetime(2026, 3, 2, 7, 0, tzinfo=UTC), "ACCEPTED")
    assert carriers.cdek_order({"uuid": "u"}).status.state == IN_TRANSIT


# --- Boxberry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("Выдано", DELIVERED),
        ("  выдано ", DELIVERED),
        ("Возвращено в ИМ", RETURNED),
        ("Заказ возвращён в Интернет-магазин", RETURNED),
        ("Загружен реестр ИМ", IN_TRANSIT),
        ("Принято к доставке", IN_TRANSIT),
        ("Поступило в пункт выдачи", IN_TRANSIT),
        ("Готовится к возврату", IN_TRANSIT),
        ("Возвращено в пункт приема", IN_TRANSIT),
        ("Новый статус, которого нет в таблице", IN_TRANSIT),
    ],
)
def test_boxberry_names(name, state):
    status = carriers.boxberry_event(name, "2026-03-05 12:00:00")
    assert status.state == state
    assert status.at == T  # Moscow time, UTC+3


def test_boxberry_history_verdict():
    delivered = [{"Date": "2026-03-01 10:00:00", "Name": "Принято к доставке"}, {"Date": "2026-03-05 12:00:00", "Name": "Выдано"}]
    assert (carriers.boxberry_status(delivered).state, carriers.boxberry_status(delivered).at) == (DELIVERED, T)
    refused = [
        {"Date": "2026-03-01 10:00:00", "Name": "Поступило в пункт выдачи"},
        {"Date": "2026-03-08 10:00:00", "Name": "Готовится к возврату"},
        {"Date": "2026-03-12 10:00:00", "Name": "Возвращено в ИМ"},
    ]
    assert carriers.boxberry_status(refused).state == RETURNED
    on_the_way = [{"Date": "2026-03-01 10:00:00", "Name": "Принято к доставке"}, {"Date": "2026-03-02 10:00:00", "Name": "Передано на сортировку"}]
    assert (carriers.boxberry_status(on_the_way).state, carriers.boxberry_status(on_the_way).detail) == (IN_TRANSIT, "Передано на сортировку")
    assert carriers.boxberry_status([]).state == IN_TRANSIT


def test_boxberry_error_shapes():
    with pytest.raises(TrackingNotFound):
        carriers.parse_boxberry([{"err": "Посылка не найдена"}])
    with pytest.raises(CarrierError, match="Ключ"):
        carriers.parse_boxberry({"err": "Ключ интеграции не найден"})
    with pytest.raises(CarrierError):
        carriers.parse_boxberry("nonsense")
    assert carriers.parse_boxberry([{"Date": "2026-03-05 12:00:00", "Name": "Выдано"}]) == [{"Date": "2026-03-05 12:00:00", "Name": "Выдано"}]


# --- Russian Post --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("oper_type", "attr", "state"),
    [
        (2, 1, DELIVERED),  # Вручение адресату
        (2, 2, IN_TRANSIT),  # handed over, but not to the addressee
        (3, 1, RETURNED),  # Возврат
        (5, 1, NOT_DELIVERED),  # Невручение
        (1, 1, IN_TRANSIT),
        (8, 2, IN_TRANSIT),
        (12, 3, IN_TRANSIT),  # a failed attempt is not final
        (None, None, IN_TRANSIT),
    ],
)
def test_russianpost_operations(oper_type, attr, state):
    assert carriers.russianpost_event(oper_type, attr, "2026-03-05T12:00:00.000+03:00").state == state


def test_russianpost_history_verdict_is_the_return_not_the_trip_back():
    at = lambda day: f"2026-03-{day:02d}T12:00:00.000+03:00"  # noqa: E731
    history = [
        {"oper_type": 1, "oper_attr": 1, "date": at(1)},
        {"oper_type": 12, "oper_attr": 3, "date": at(4)},
        {"oper_type": 3, "oper_attr": 1, "date": at(5)},
        {"oper_type": 8, "oper_attr": 2, "date": at(7)},
        {"oper_type": 2, "oper_attr": 2, "date": at(12)},  # back at the sender
    ]
    verdict = carriers.russianpost_status(history)
    assert (verdict.state, verdict.at) == (RETURNED, T)


def test_soap_envelope_is_soap_1_2_with_the_authorization_header():
    raw = carriers.soap_request("RA123456785RU", login="shop", password='p<&>"ss')
    root = ET.fromstring(raw)
    soap, oper, data = carriers.SOAP_ENV, carriers.RP_OPER, carriers.RP_DATA
    assert root.tag == f"{{{soap}}}Envelope"
    call = root.find(f"{{{soap}}}Body/{{{oper}}}getOperationHistory")
    assert call.findtext(f"{{{data}}}OperationHistoryRequest/{{{data}}}Barcode") == "RA123456785RU"
    assert call.findtext(f"{{{data}}}OperationHistoryRequest/{{{data}}}MessageType") == "0"
    assert call.findtext(f"{{{data}}}OperationHistoryRequest/{{{data}}}Language") == "RUS"
    header = call.find(f"{{{data}}}AuthorizationHeader")
    assert header.get(f"{{{soap}}}mustUnderstand") == "1"
    assert (header.findtext(f"{{{data}}}login"), header.findtext(f"{{{data}}}password")) == ("shop", 'p<&>"ss')


def test_soap_fault_and_malformed_answers():
    fake = FakeCarriers()
    fault = fake._fault("soap:Sender", "Ошибка авторизации", detail="AuthorizationFaultReason")
    with pytest.raises(SoapFault) as caught:
        carriers.parse_operation_history(fault.content)
    assert (caught.value.code, caught.value.reason) == ("soap:Sender", "Ошибка авторизации")
    with pytest.raises(CarrierError):
        carriers.parse_operation_history(b"<html>gateway error</html")
    with pytest.raises(CarrierError):
        carriers.parse_operation_history(b"<x/>")


# --- clients against the fakes -----------------------------------------------------------


@pytest.fixture
def fake():
    return FakeCarriers()


def cdek(fake, **kw):
    return CdekClient(base_url="https://api.cdek.ru/v2", client_id=fake.cdek_client_id, client_secret=fake.cdek_client_secret, timeout=2, transport=fake.transport, sleep=no_sleep, **kw)


def test_cdek_token_is_fetched_once_and_renewed_once_on_401(fake):
    uuid = fake.add_cdek_order(number="A1", statuses=[("ACCEPTED", T), ("DELIVERED", T + timedelta(days=2))])
    client = cdek(fake)
    first = client.get_order(uuid)
    assert (first.number, first.status.state, first.status.at) == ("A1", DELIVERED, T + timedelta(days=2))
    client.get_order(uuid)
    assert fake.calls("api.cdek.ru", "/v2/oauth/token") == 1
    fake.expire_cdek_tokens()
    assert client.track(uuid).state == DELIVERED
    assert fake.calls("api.cdek.ru", "/v2/oauth/token") == 2


def test_cdek_unknown_order_and_bad_credentials(fake):
    with pytest.raises(TrackingNotFound):
        cdek(fake).get_order("no-such-uuid")
    bad = CdekClient(base_url="https://api.cdek.ru/v2", client_id="x", client_secret="y", timeout=2, transport=fake.transport, sleep=no_sleep)
    with pytest.raises(CarrierError, match="refused"):
        bad.get_order("anything")
    unconfigured = CdekClient(base_url="https://api.cdek.ru/v2", client_id="", client_secret="", timeout=2, transport=fake.transport)
    with pytest.raises(CarrierError, match="not configured"):
        unconfigured.get_order("anything")


def test_retries_are_bounded_and_cover_network_errors_and_5xx(fake):
    uuid = fake.add_cdek_order(number="A1", statuses=[("DELIVERED", T)])
    client = cdek(fake)
    fake.fail("api.cdek.ru", "connect", "503")  # token call: refused, then 503, then fine
    assert client.track(uuid).state == DELIVERED
    fake.fail("api.cdek.ru", "timeout", "timeout", "timeout")
    before = len(fake.requests)
    with pytest.raises(CarrierUnavailable):
        client.get_order(uuid)
    assert len(fake.requests) - before == 3
    fake.fail("api.cdek.ru", "500", "500", "500")
    with pytest.raises(CarrierUnavailable):
        client.get_order(uuid)


def test_boxberry_client(fake):
    fake.add_boxberry("BB123", [("Принято к доставке", T - timedelta(days=3)), ("Выдано", T)])
    client = BoxberryClient(base_url="https://api.boxberry.ru/json.php", token=fake.boxberry_token, timeout=2, transport=fake.transport, sleep=no_sleep)
    assert (client.track("BB123").state, client.track("BB123").at) == (DELIVERED, T)
    with pytest.raises(TrackingNotFound):
        client.track("nope")
    wrong = BoxberryClient(base_url="https://api.boxberry.ru/json.php", token="wrong", timeout=2, transport=fake.transport, sleep=no_sleep)
    with pytest.raises(CarrierError, match="Ключ"):
        wrong.track("BB123")
    fake.fail("api.boxberry.ru", "503", "503", "503")
    with pytest.raises(CarrierUnavailable):
        client.track("BB123")


def test_russianpost_client(fake):
    fake.add_russianpost("80080012345678", [(1, 1, T - timedelta(days=4)), (8, 2, T - timedelta(days=2)), (2, 1, T)])
    client = RussianPostClient(url="https://tracking.russianpost.ru/rtm34", login=fake.russianpost_login, password=fake.russianpost_password, timeout=2, transport=fake.transport, sleep=no_sleep)
    status = client.track("80080012345678")
    assert (status.state, status.at, status.detail) == (DELIVERED, T, "2/1")
    assert b"getOperationHistory" in fake.soap_bodies[-1]
    before = len(fake.requests)
    wrong = RussianPostClient(url="https://tracking.russianpost.ru/rtm34", login="x", password="y", timeout=2, transport=fake.transport, sleep=no_sleep)
    with pytest.raises(SoapFault, match="авторизации"):
        wrong.track("80080012345678")
    assert len(fake.requests) - before == 1  # a sender fault is not asked again
    fake.fail("tracking.russianpost.ru", "503", "503", "503")
    with pytest.raises(CarrierUnavailable):
        client.track("80080012345678")


def test_instance_clients_are_built_lazily_with_the_settings_timeout(fake, monkeypatch):
    from shared.platform.settings import reload

    monkeypatch.setenv("KOPILKA_HTTP_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("BOXBERRY_TOKEN", fake.boxberry_token)
    reload()
    bootstrap.set_transport("carriers", fake.transport)
    try:
        assert bootstrap.built_carriers() == ()  # nothing built before first use
        fake.add_boxberry("BB1", [("Выдано", T)])
        assert bootstrap.track("boxberry", "BB1").state == DELIVERED
        client = bootstrap.carrier("boxberry")
        assert client is bootstrap.carrier("boxberry")
        assert client.http.client.timeout == httpx.Timeout(2.5)
    finally:
        bootstrap.set_transport("carriers", None)
        monkeypatch.undo()
        reload()


def test_a_cdek_uuid_cannot_walk_out_of_the_orders_path(fake):
    seen = []

    def spy(request):
        seen.append(request.url.raw_path)
        return fake.handle(request)

    client = CdekClient(base_url="https://api.cdek.ru/v2", client_id=fake.cdek_client_id, client_secret=fake.cdek_client_secret, timeout=2, transport=httpx.MockTransport(spy), sleep=no_sleep)
    with pytest.raises(TrackingNotFound):
        client.get_order("../oauth/token")
    assert seen[-1] == b"/v2/orders/..%2Foauth%2Ftoken"
