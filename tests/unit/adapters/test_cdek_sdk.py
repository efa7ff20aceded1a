"""The fake CDEK against the ``cdek`` package's models (a test-only dependency, pinned in requirements-dev.txt).

What the fake answers must be what the package's ``OrderEntityResponse`` and
``parse_webhook`` accept, and our adapter must read the same links and flags
out of it as the package's models do.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from cdek.apps.order.responses import OrderEntityResponse
from cdek.apps.webhook.events import OrderStatusEvent, parse_webhook

from shared.adapters import carriers
from shared.adapters.carrier_clients import CdekClient
from shared.api.delivery_status import CdekWebhook
from tests.fakes.carriers import FakeCarriers, cdek_webhook

T = datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc)


def order_read(fake: FakeCarriers, uuid: str) -> dict:
    with httpx.Client(transport=fake.transport) as http:
        form = {"grant_type": "client_credentials", "client_id": fake.cdek_client_id, "client_secret": fake.cdek_client_secret}
        token = http.post("https://api.cdek.ru/v2/oauth/token", data=form).json()["access_token"]
        return http.get(f"https://api.cdek.ru/v2/orders/{uuid}", headers={"Authorization": f"Bearer {token}"}).json()


@pytest.mark.parametrize("kind", ["direct", "return", "client_return"])
def test_the_fake_cdek_order_read_is_what_the_sdk_models_accept_and_we_read_the_same_link(kind):
    fake = FakeCarriers()
    direct = fake.add_cdek_order(number="A1", statuses=[("ACCEPTED", T), ("DELIVERED", T + timedelta(days=2))])
    if kind == "direct":
        uuid = direct
    else:
        link = {"type": "direct_order" if kind == "return" else "client_direct_order", "uuid": direct}
        uuid = fake.add_cdek_order(number=None, is_return=kind == "return", is_client_return=kind == "client_return", related=[link], statuses=[("DELIVERED", T + timedelta(days=9))])
    fake.cdek_status(uuid, "NOT_DELIVERED", T + timedelta(days=10), deleted=True)
    body = order_read(fake, uuid)
    parsed = OrderEntityResponse.model_validate(body)
    assert parsed.entity is not None and parsed.entity.uuid == uuid
    sdk_links = tuple(str(r.uuid) for r in parsed.related_entities or [] if r.type.value in ("DIRECT_ORDER", "CLIENT_DIRECT_ORDER"))
    assert [s.deleted for s in parsed.entity.statuses][0] is True
    ours = CdekClient(base_url="https://api.cdek.ru/v2", client_id=fake.cdek_client_id, client_secret=fake.cdek_client_secret, timeout=1, transport=fake.transport).get_order(uuid)
    assert ours.related_direct == sdk_links == (() if kind == "direct" else (direct,))
    assert ours.is_return == bool(parsed.entity.is_return or parsed.entity.is_client_return) == (kind != "direct")
    assert ours.status.state == (carriers.DELIVERED if kind == "direct" else carriers.RETURNED)  # the deleted NOT_DELIVERED does not count


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"number": "A1"},
        {"is_return": True, "related": [{"type": "direct_order", "uuid": "0b6e5c2e-3c1f-4c2a-9a43-6f2d1f4a0c11"}]},
        {"is_client_return": True, "related": [{"type": "client_direct_order", "uuid": "0b6e5c2e-3c1f-4c2a-9a43-6f2d1f4a0c11"}]},
        {"deleted": True},
    ],
)
def test_every_fake_cdek_webhook_is_an_sdk_order_status_event_and_ours_reads_the_same(options):
    body = cdek_webhook("8f0e5a32-1d7b-4d4e-9a5a-0b4b8b7f6e21", "DELIVERED", T, **options)
    event = parse_webhook(body)
    assert isinstance(event, OrderStatusEvent)
    ours = CdekWebhook.model_validate(body)
    assert ours.attributes.is_return == event.attributes.is_return
    assert ours.attributes.is_client_return == event.attributes.is_client_return
    assert ours.attributes.deleted == bool(event.attributes.deleted)
    sdk_links = tuple(str(r.uuid) for r in event.attributes.related_entities or [])
    assert carriers.cdek_direct_links([r.model_dump() for r in ours.attributes.related_entities]) == sdk_links
