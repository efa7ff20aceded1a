"""Payout requests as typed results: the partner's answer, the back office's pages and outcomes."""

from __future__ import annotations

import pytest

from shared.domain.errors import InvalidState
from shared.domain.payouts import PayoutMethod, PayoutStatus
from shared.presets import load_preset
from shared.services import payouts, registration
from shared.services.admin.common import payout_result


@pytest.fixture
def biomiq():
    return load_preset("biomiq")


def test_requests_decisions_and_pages_are_typed_and_stored_as_before(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)  # 500 welcome bonuses
    answer = payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="payout-0001", amount=500, method="phone", details="+7 *** ***-00-11", now=now)
    assert (answer.status, answer.amount, answer.replayed, [h.status for h in answer.history]) == ("requested", 500, False, ["requested"])
    assert payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="payout-0001", amount=500, method="phone", details="+7 *** ***-00-11", now=now).replayed
    request = payouts.get(store, "payout-0001")
    assert request is not None and (request.method, request.status, request.customer_id) == (PayoutMethod.PHONE, PayoutStatus.REQUESTED, "maria")
    assert payouts.get(store, "../customers/maria") is None and payouts.get(store, "payout-0404") is None
    assert payouts.with_status(store, PayoutStatus.REQUESTED) == ([request], None)
    seen = []
    outcome = payouts.decide_request(store, request_id="payout-0001", decision="reject", actor="manager@shop", now=now, reason="wrong details", then=lambda uow, o: seen.append(o))
    assert (outcome.replayed, outcome.request.status, outcome.request.reason, outcome.request.decided_by) == (False, PayoutStatus.REJECTED, "wrong details", "manager@shop")
    again = payouts.decide_request(store, request_id="payout-0001", decision="reject", actor="manager@shop", now=now, then=lambda uow, o: seen.append(o))
    assert again.replayed and seen == [outcome]
    assert payout_result(again) == {**store.get("payouts/payout-0001"), "replayed": True}  # what the back office audits
    with pytest.raises(InvalidState):
        payouts.settle(store, request_id="payout-0001", actor="accountant@shop", now=now)
    assert payouts.with_status(store, PayoutStatus.REQUESTED) == ([], None)
    assert [r.request_id for r in payouts.with_status(store, PayoutStatus.REJECTED, limit=1)[0]] == ["payout-0001"]
    page = payouts.list_requests(store, config=biomiq, customer_id="maria")
    assert [(i.request_id, i.status, [h.reason for h in i.history]) for i in page.root.items] == [("payout-0001", "rejected", [None, "wrong details"])]
