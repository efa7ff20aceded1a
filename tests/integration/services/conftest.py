"""Fixtures the use-case tests share: the Biomiq program, and a YooKassa fake with a client on it.

(The two-store ``store`` fixture is the root conftest's.)"""

from __future__ import annotations

import pytest

from shared.presets import load_preset
from tests.fakes.yookassa import FakeYooKassa, client_on


@pytest.fixture
def biomiq():
    return load_preset("biomiq")


@pytest.fixture
def fake():
    return FakeYooKassa(shop_id="123456", secret_key="test_secret_key")


@pytest.fixture
def gateway(fake):
    client = client_on(fake)
    yield client
    client.close()
