"""The back office's token secret for the unit tests of admin logins and console sessions
(import the fixture into a test module to use it there)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shared.platform.settings import reload


@pytest.fixture(autouse=True)
def admin_secret() -> Iterator[None]:
    os.environ["KOPILKA_ADMIN_TOKEN_SECRET"] = "unit-admin-secret-distinct-from-the-customers"
    reload()
    yield
    os.environ.pop("KOPILKA_ADMIN_TOKEN_SECRET", None)
    reload()
