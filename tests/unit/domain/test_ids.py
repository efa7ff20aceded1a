"""Ids from outside (order ids, webhook labels, returns, back-office job and approval ids): one
validated type everywhere, which never names a document Firestore reserves or cannot hold."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.api.admin.customers import MassAccrualRequest
from shared.api.delivery_status import ReturnRequest, TrackingRequest
from shared.api.referral_reward import CreditRequest
from shared.domain.errors import ValidationFailed
from shared.services import payments
from shared.services.admin import common, orders

RESERVED = [".", "..", "__x__", "____", "__name__", "a/b", "/", "", "x" * 201, "²", "٣", " a", "a b", "a\n", "\u202ea"]
GOOD = ["tilda-1869817991", "c_3f2a9b:ref-1", "A1", "a.b", "___", "_x_", "user@example.com", "1"]


class NoReads:
    """A store any read of which fails the test: a refused id never reaches the store."""

    def read(self, fn):
        raise AssertionError("an id of a reserved form reached the store")

    run = read


def test_an_outside_id_is_letters_digits_and_separators_never_a_reserved_form():
    from shared.domain.ids import external_id, is_external_id

    for value in RESERVED:
        assert not is_external_id(value), value
        with pytest.raises(ValidationFailed) as refused:
            external_id(value, field="order_id")
        assert refused.value.details["field"] == "order_id" and refused.value.message_ru
    for value in GOOD:
        assert is_external_id(value) and external_id(value, field="order_id") == value


@pytest.mark.parametrize("value", RESERVED)
def test_every_entry_of_an_outside_id_refuses_the_reserved_forms(value):
    with pytest.raises(ValidationError):
        TrackingRequest.model_validate({"order_id": value, "carrier": "cdek", "tracking": "abc"})
    with pytest.raises(ValidationError):
        ReturnRequest.model_validate({"order_id": value, "return_id": "r1", "lines": {"1": 1}})
    with pytest.raises(ValidationError):
        ReturnRequest.model_validate({"order_id": "A1", "return_id": value, "lines": {"1": 1}})
    with pytest.raises(ValidationError):
        CreditRequest.model_validate({"order_id": value})
    with pytest.raises(ValidationError):
        MassAccrualRequest.model_validate({"job_id": value, "amount": 1, "reason": "r", "group": "vip"})
    assert not common.well_formed_id(value)  # approval and job ids of the back office's paths
    with pytest.raises(ValidationFailed):
        orders.valid_order_id(value)
    with pytest.raises(ValidationFailed):
        common.valid_customer_id(value)
    assert payments._find_order(NoReads(), value) is None  # a YooMoney label, a YooKassa metadata.order_id


@pytest.mark.parametrize("value", GOOD)
def test_well_formed_outside_ids_are_taken_everywhere(value):
    TrackingRequest.model_validate({"order_id": value, "carrier": "cdek", "tracking": "abc"})
    ReturnRequest.model_validate({"order_id": value, "return_id": value, "lines": {"1": 1}})
    CreditRequest.model_validate({"order_id": value})
    assert common.well_formed_id(value) and orders.valid_order_id(value) == value
