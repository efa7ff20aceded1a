"""order_paid: payment notifications from YooKassa (JSON) and YooMoney (urlencoded form).

Both answer 200 once a notification is applied, was applied before, or is
authentic but not ours to act upon (``ignored`` says why); a non-200 asks the
provider to deliver it again.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api import Endpoint


class YooKassaNotificationObject(BaseModel):
    """The payment or refund the event is about. Only its id is read: the object is fetched again."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class YooKassaNotification(BaseModel):
    """``{"type": "notification", "event": "payment.succeeded", "object": {...}}``.

    Payments must be created with ``metadata: {"order_id": "<order id>"}``. A
    partial refund is applied only when it carries ``metadata: {"lines": "{\\"<line id>\\": <units>}"}``
    (metadata values are strings in YooKassa, so ``lines`` is JSON text) and
    its amount is the money paid for those units (within the program's
    ``payments.refund_lines_tolerance``).
    """

    model_config = ConfigDict(extra="ignore")

    type: Literal["notification"]
    event: str = Field(min_length=1, max_length=64)
    object: YooKassaNotificationObject


class YooMoneyNotification(BaseModel):
    """The urlencoded fields of a wallet notification (``label`` carries the order id)."""

    notification_type: str = Field(description="p2p-incoming or card-incoming")
    operation_id: str
    amount: str = Field(description="Credited to the wallet, after the fee.")
    withdraw_amount: str = Field(
        description="Paid by the customer; must equal the order's money to pay. Unsigned: the signed amount must agree with it (at most it, less by no more than yoomoney_max_fee_percent).",
    )
    currency: str = Field(description="643")
    datetime: str
    sender: str = ""
    codepro: str = Field(description="true or false; true is never credited")
    unaccepted: str = Field(default="false", description="true (on hold) is never credited")
    label: str = Field(description="The order id.")
    sha1_hash: str = Field(description="hex SHA-1 of notification_type&operation_id&amount&currency&datetime&sender&codepro&notification_secret&label")


class PaymentNotificationResult(BaseModel):
    result: str = Field(description="paid | declined (the order stays payable) | refunded (the payment could not settle the order and was given back) | returned | ignored")
    order_id: str | None = None
    status: str | None = Field(default=None, description="The order's status afterwards.")
    ignored: str | None = Field(default=None, description="Why nothing was done, e.g. amount_mismatch, unknown_order.")


ENDPOINTS = [
    Endpoint(
        function="order_paid",
        method="POST",
        path="/yookassa",
        summary="YooKassa notification: sender allowlisted, the payment or refund fetched again and applied to its order",
        request=YooKassaNotification,
        response=PaymentNotificationResult,
        auth="provider",
        errors=(400, 403, 409, 413, 503),
    ),
    Endpoint(
        function="order_paid",
        method="POST",
        path="/yoomoney",
        summary="YooMoney wallet notification: sha1_hash verified, the order marked paid once per operation",
        request=YooMoneyNotification,
        response=PaymentNotificationResult,
        auth="provider",
        content_type="application/x-www-form-urlencoded",
        errors=(400, 403, 409, 413),
    ),
]
