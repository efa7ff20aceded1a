"""The fake YooKassa and our adapter against the official ``yookassa`` SDK (a test-only dependency,
pinned in requirements-dev.txt).

* every payment and refund the fake answers parses with the SDK's response
  models, with the values (and the cancellation codes) the SDK knows, and our
  adapter reads the same figures out of it;
* every notification the SDK's ``WebhookNotificationFactory`` accepts is
  accepted by our request model and answered by the use case;
* our sender allowlist is the SDK's, with the IPv6 networks widened to the
  /32 YooKassa publishes.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from yookassa.domain.common.security_helper import SecurityHelper
from yookassa.domain.models.cancellation_details import CancellationDetailsPartyCode, CancellationDetailsReasonCode
from yookassa.domain.notification import WebhookNotificationEventType, WebhookNotificationFactory
from yookassa.domain.response import PaymentResponse, RefundResponse

from shared.adapters import yookassa
from shared.adapters.memory_store import MemoryStore
from shared.api.order_paid import YooKassaNotification
from shared.presets import load_preset
from shared.services import payments
from tests.fakes.yookassa import FakeYooKassa, client_on, notification

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def codes(cls: type) -> set[str]:
    return {value for name, value in vars(cls).items() if not name.startswith("_") and isinstance(value, str)}


@pytest.fixture
def fake():
    return FakeYooKassa(shop_id="123456", secret_key="test_secret_key")


@pytest.fixture
def client(fake):
    c = client_on(fake)
    yield c
    c.close()


def every_payment(fake: FakeYooKassa) -> list[dict]:
    """A payment in each state the fake can put one in."""
    pending = fake.create_payment(amount=260000, order_id="A1")
    held = fake.authorize(fake.create_payment(amount=260000, order_id="A2", capture=False)["id"])
    captured = fake.capture(fake.authorize(fake.create_payment(amount=260000, order_id="A3", capture=False)["id"])["id"])
    released = fake.cancel(fake.authorize(fake.create_payment(amount=260000, order_id="A4", capture=False)["id"])["id"], party="merchant", reason="canceled_by_merchant")
    succeeded = fake.succeed(fake.create_payment(amount=260000, order_id="A5")["id"])
    declined = fake.cancel(fake.create_payment(amount=260000, order_id="A6")["id"], party="payment_network", reason="insufficient_funds")
    expired = fake.cancel(fake.create_payment(amount=100, order_id="A7")["id"])
    refunded = fake.succeed(fake.create_payment(amount=100000, order_id="A8")["id"])
    fake.refund(refunded["id"], 100000)
    return [pending, held, captured, released, succeeded, declined, expired, fake.payments[refunded["id"]]]


def test_every_fake_payment_parses_with_the_sdk_payment_response_and_reads_as_ours_does(fake, client):
    for raw in every_payment(fake):
        sdk = PaymentResponse(raw)
        ours = client.get_payment(raw["id"])
        assert ours is not None
        assert (ours.id, ours.status, ours.paid) == (sdk.id, sdk.status, sdk.paid)
        assert ours.amount.kopecks == int(sdk.amount.value * 100) and ours.amount.currency == sdk.amount.currency
        assert ours.refunded_amount is not None and ours.refunded_amount.kopecks == int(sdk.refunded_amount.value * 100)
        assert ours.metadata == sdk.metadata
        assert sdk.status in ("pending", "waiting_for_capture", "succeeded", "canceled")
        if sdk.status == "canceled":
            details = sdk.cancellation_details
            assert details.party in codes(CancellationDetailsPartyCode)  # a party the SDK knows
            assert details.reason != CancellationDetailsReasonCode.UNKNOWN  # a reason the SDK knows
            assert ours.cancellation_details is not None and (ours.cancellation_details.party, ours.cancellation_details.reason) == (details.party, details.reason)
        else:
            assert sdk.cancellation_details is None
        assert sdk.paid == (sdk.status in ("waiting_for_capture", "succeeded"))


def test_every_fake_refund_parses_with_the_sdk_refund_response_and_reads_as_ours_does(fake, client):
    paid = fake.succeed(fake.create_payment(amount=260000, order_id="A1")["id"])
    made = [
        fake.refund(paid["id"], 60000, metadata={"lines": '{"cream": 1}'}),
        fake.refund(paid["id"], 100, status="pending"),
        client.create_refund(payment_id=paid["id"], kopecks=1000, idempotence_key="k1", description="x").model_dump(),
    ]
    for raw in made:
        sdk = RefundResponse(fake.refunds[raw["id"]])
        ours = client.get_refund(raw["id"])
        assert ours is not None
        assert (ours.id, ours.payment_id, ours.status) == (sdk.id, sdk.payment_id, sdk.status)
        assert ours.amount.kopecks == int(sdk.amount.value * 100)
        assert sdk.amount.value == Decimal(ours.amount.value)


def notifications(fake: FakeYooKassa) -> list[dict]:
    """A notification of every event the SDK's factory knows, with objects as YooKassa sends them."""
    held = fake.authorize(fake.create_payment(amount=260000, order_id="A1", capture=False)["id"])
    paid = fake.succeed(fake.create_payment(amount=260000, order_id="A2")["id"])
    canceled = fake.cancel(fake.create_payment(amount=260000, order_id="A3")["id"])
    refund = fake.refund(paid["id"], 1000)
    deal = {
        "id": "dl-285e5ee7-0022-5000-8000-01516a44b147",
        "type": "safe_deal",
        "fee_moment": "deal_closed",
        "balance": {"value": "0.00", "currency": "RUB"},
        "payout_balance": {"value": "0.00", "currency": "RUB"},
        "status": "closed",
        "created_at": "2026-03-01T09:00:00.000Z",
        "expires_at": "2026-06-01T09:00:00.000Z",
        "metadata": {},
        "test": True,
    }
    payout = {
        "id": "po-285c0ab7-0003-5000-9000-0e1166498fda",
        "amount": {"value": "320.00", "currency": "RUB"},
        "status": "succeeded",
        "payout_destination": {"type": "bank_card", "card": {"first6": "220220", "last4": "2222", "card_type": "Mir", "issuer_country": "RU"}},
        "description": "Выплата",
        "created_at": "2026-03-01T09:00:00.000Z",
        "deal": {"id": deal["id"]},
        "metadata": {},
        "test": True,
    }
    method = {
        "id": "2d0d6f41-000f-5000-9000-1b5c1a54b4d8",
        "type": "bank_card",
        "saved": True,
        "status": "active",
        "title": "Bank card *4444",
        "card": {"first6": "555555", "last4": "4444", "expiry_month": "07", "expiry_year": "2030", "card_type": "MasterCard"},
    }
    E = WebhookNotificationEventType
    return [
        notification(E.PAYMENT_WAITING_FOR_CAPTURE, held),
        notification(E.PAYMENT_SUCCEEDED, paid),
        notification(E.PAYMENT_CANCELED, canceled),
        notification(E.REFUND_SUCCEEDED, refund),
        notification(E.DEAL_CLOSED, deal),
        notification(E.PAYOUT_SUCCEEDED, payout),
        notification(E.PAYOUT_CANCELED, {**payout, "status": "canceled", "cancellation_details": {"party": "payout_network", "reason": "rejected_by_payee"}}),
        notification(E.PAYMENT_METHOD_ACTIVE, method),
    ]


def test_every_notification_the_sdk_accepts_is_accepted_by_ours_and_answered(fake, client):
    events = {n["event"] for n in notifications(fake)}
    assert events == codes(WebhookNotificationEventType)  # every event the SDK knows is covered
    for body in notifications(fake):
        WebhookNotificationFactory().create(body)  # the SDK accepts it
        parsed = YooKassaNotification.model_validate_json(json.dumps(body), strict=True)
        assert parsed.object.id == body["object"]["id"]
        outcome = payments.yookassa_notification(MemoryStore(), config=load_preset("biomiq"), gateway=client, event=parsed.event, object_id=parsed.object.id, now=NOW)
        assert outcome.result is payments.Result.IGNORED  # no such order here: acknowledged, never an error


def test_the_sender_allowlist_is_the_sdks_with_the_published_ipv6_network():
    sdk = [ipaddress.ip_network(n) for n in SecurityHelper.YOOKASSA_NETWORKS]
    ours = yookassa.networks()
    assert {n for n in ours if n.version == 4} == {n for n in sdk if n.version == 4}
    v6 = [n for n in ours if n.version == 6]
    assert [str(n) for n in v6] == ["2a02:5180::/32"]  # what yookassa.ru publishes; the SDK lists four /64 in it
    assert all(any(n.subnet_of(o) for o in v6) for n in sdk if n.version == 6)
    for network in sdk:  # every address the SDK trusts, we trust
        assert yookassa.is_yookassa_address(str(network[0])) and yookassa.is_yookassa_address(str(network[-1]))
        assert SecurityHelper().is_ip_trusted(str(network[0]))


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("::ffff:185.71.76.10", True),  # a YooKassa IPv4 address seen through a dual-stack socket
        ("::ffff:77.75.156.11", True),
        ("::ffff:203.0.113.9", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:7f00:1", False),
        ("64:ff9b::b947:4c0a", False),  # NAT64 of 185.71.76.10 is not the sender's own address
        ("::b947:4c0a", False),  # the deprecated IPv4-compatible form is not mapped
        ("2002:b947:4c0a::1", False),  # 6to4 of 185.71.76.10
    ],
)
def test_an_ipv4_mapped_sender_is_allowed_only_when_the_mapped_address_is(address, allowed):
    assert yookassa.is_yookassa_address(address) is allowed
