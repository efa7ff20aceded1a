"""Every provider's parser fuzzed with Hypothesis text: whatever arrives is a typed result or a
refusal (``ValidationFailed``, ``Forbidden``, ``Unauthorized``, a carrier's error), never another
exception, which the edge would answer as a 500.

Tilda's order webhook, YooMoney's notification, CDEK's webhook and order entity, and Telegram's
Login Widget data, each from whole bodies of arbitrary text and from well-shaped bodies whose
values are arbitrary text. Derandomized, without a database: the same cases on every run.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters import carriers, tilda, yoomoney
from shared.api.delivery_status import CdekWebhook
from shared.api.sms_otp import TelegramAuth
from shared.domain.errors import DomainError
from shared.edge.http import parse_json
from shared.services.identity import TelegramLoginInvalid, telegram_hash, verify_telegram

FUZZ = settings(max_examples=150, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
BOT = "123456:bot"

# Text as it comes: every script's digits ("²", "٣", "①"), brackets, separators, controls.
tricky = st.sampled_from(["²", "٣", "①", "𝟡", "0", "1", "99999", "-1", "1e3", "NaN", "[", "]", "[]", "=", "≡", " x ", ",", ".", "\x00", "\u202e", "__x__", "..", "/"])
text = st.one_of(st.text(max_size=40), st.lists(tricky, max_size=6).map("".join))
json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)


def refused_or(result_type, call):
    """Run ``call``; its result is a ``result_type`` unless it raised a refusal."""
    try:
        result = call()
    except DomainError as refusal:
        assert refusal.code and refusal.message_ru
        return None
    assert isinstance(result, result_type)
    return result


# --- Tilda -----------------------------------------------------------------------------------------

tilda_keys = st.one_of(
    text,
    st.builds(lambda index, leaf: f"payment[products][{index}]{leaf}", text, st.sampled_from(["", "[name]", "[price]", "[quantity]", "[amount]", "[sku]"])),
    st.sampled_from(["payment[orderid]", "payment[amount]", "payment[systranid]", "payment[promocode]", "kopilka_bonuses", "kopilka_token", "payment", "test", "Name", "Phone"]),
)


@FUZZ
@given(body=st.binary(max_size=200) | text.map(str.encode), content_type=st.sampled_from([tilda.FORM, "application/json", "", None, "text/plain"]))
def test_tilda_refuses_or_parses_any_body(body, content_type):
    refused_or(tilda.TildaOrder, lambda: tilda.parse_form(body, content_type))


@FUZZ
@given(fields=st.dictionaries(tilda_keys, text, max_size=8), orderid=text, product=text, as_json=st.booleans())
def test_tilda_refuses_or_parses_any_field_values(fields, orderid, product, as_json):
    data = {"payment[orderid]": orderid, "payment[products][0]": product, **fields}
    body, content_type = (json.dumps(data).encode(), "application/json") if as_json else (urlencode(data).encode(), tilda.FORM)
    refused_or(tilda.TildaOrder, lambda: tilda.parse_form(body, content_type))


@FUZZ
@given(payment=json_value)
def test_tilda_refuses_or_parses_any_payment_json(payment):
    body = json.dumps({"payment": payment, "kopilka_bonuses": "1"}).encode()
    refused_or(tilda.TildaOrder, lambda: tilda.parse_form(body, "application/json"))


# --- YooMoney ------------------------------------------------------------------------------------


@FUZZ
@given(body=st.binary(max_size=200) | text.map(str.encode))
def test_yoomoney_refuses_or_parses_any_body(body):
    refused_or(yoomoney.Notification, lambda: yoomoney.parse(body))


@FUZZ
@given(values=st.fixed_dictionaries({name: text for name in yoomoney.REQUIRED}), extra=st.dictionaries(text, text, max_size=3))
def test_yoomoney_refuses_or_parses_any_field_values(values, extra):
    notification = refused_or(yoomoney.Notification, lambda: yoomoney.parse(urlencode({**extra, **values}).encode()))
    if notification is not None:
        refused_or(type(None), lambda: yoomoney.verify(notification, "yoomoney-secret"))
        assert isinstance(notification.paid_kopecks, int) and isinstance(notification.credited_kopecks, int)


# --- CDEK ------------------------------------------------------------------------------------------


@FUZZ
@given(body=text, shaped=st.fixed_dictionaries({"type": text, "uuid": text, "date_time": text, "attributes": st.dictionaries(text, json_value, max_size=4)}))
def test_cdek_webhooks_refuse_or_parse_any_body(body, shaped):
    refused_or(CdekWebhook, lambda: parse_json(CdekWebhook, body))
    refused_or(CdekWebhook, lambda: parse_json(CdekWebhook, json.dumps(shaped)))


@FUZZ
@given(entity=st.dictionaries(st.sampled_from(["uuid", "number", "im_number", "cdek_number", "is_return", "statuses", "related_entities"]) | text, json_value, max_size=6),
       statuses=st.lists(st.dictionaries(st.sampled_from(["code", "date_time"]), json_value | text, max_size=2), max_size=3))
def test_a_cdek_order_entity_of_any_content_maps_to_a_status(entity, statuses):
    order = carriers.cdek_order({**entity, "statuses": statuses})
    assert isinstance(order, carriers.CdekOrder) and isinstance(order.status, carriers.CarrierStatus)
    assert isinstance(carriers.cdek_order(entity), carriers.CdekOrder)


# --- Telegram --------------------------------------------------------------------------------------


@FUZZ
@given(body=text, shaped=st.dictionaries(st.sampled_from(["id", "auth_date", "hash", "username", "first_name", "photo_url"]) | text, json_value, max_size=8))
def test_telegram_login_data_refuses_or_parses_any_body(body, shaped):
    refused_or(TelegramAuth, lambda: parse_json(TelegramAuth, body))
    auth = refused_or(TelegramAuth, lambda: parse_json(TelegramAuth, json.dumps(shaped)))
    if auth is not None:
        fields = auth.signed_fields()
        signed = {**fields, "hash": telegram_hash(fields, BOT)}
        for candidate in (fields, signed):
            try:
                verify_telegram(candidate, bot_token=BOT, now=NOW)
            except TelegramLoginInvalid:
                pass


@FUZZ
@given(user_id=text | st.integers(), auth_date=text | st.integers(), username=st.none() | text)
def test_signed_telegram_fields_of_any_value_verify_or_are_refused(user_id, auth_date, username):
    fields = {"id": user_id, "auth_date": auth_date, **({"username": username} if username is not None else {})}
    signed = {**fields, "hash": telegram_hash(fields, BOT)}
    try:
        user = verify_telegram(signed, bot_token=BOT, now=NOW)
    except TelegramLoginInvalid:
        return
    assert isinstance(user.id, int) and user.auth_date.tzinfo is not None
