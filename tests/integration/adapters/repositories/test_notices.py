"""Contract of the notice repository (``uow.notices``), on both stores."""

from __future__ import annotations

from datetime import timedelta

from shared.adapters import layout
from shared.domain.notices import ExpiryNotice


def test_an_expiry_notice_round_trips_in_todays_shape(store, now):
    assert store.read(lambda uow: uow.notices.get("anna", "expiry:2027-01-08")) is None
    notice = ExpiryNotice(key="expiry:2027-01-08", customer_id="anna", amount=500, expires_at=now + timedelta(days=7), expires_on="2027-01-08", lots=("l1", "l2"), created_at=now)
    store.run(lambda uow: uow.notices.create(notice))
    assert store.read(lambda uow: uow.notices.get("anna", "expiry:2027-01-08")) == notice
    assert store.read(lambda uow: uow.get(layout.notice("anna", "expiry:2027-01-08"))) == {
        "key": "expiry:2027-01-08",
        "kind": "expiry_warning",
        "customer_id": "anna",
        "amount": 500,
        "expires_at": now + timedelta(days=7),
        "expires_on": "2027-01-08",
        "lots": ["l1", "l2"],
        "created_at": now,
        "sent_at": None,
    }
    assert layout.notice("anna", "expiry:2027-01-08") == "customers/anna/notices/expiry:2027-01-08"

