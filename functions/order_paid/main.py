"""order_paid: payment notifications from YooKassa and YooMoney.

    POST /yookassa   JSON notification; the sender must be a YooKassa address
                     (the X-Forwarded-For entry our proxy appended), and the
                     payment or refund is fetched again from the API
    POST /yoomoney   urlencoded notification authenticated by its sha1_hash

200 means "applied, applied before, or authentic but not ours to act upon"
(the body says which); 503 (``provider_unavailable``, with ``Retry-After``)
asks YooKassa to deliver again because its API could not be reached: the
adapter raises :class:`~shared.domain.errors.ProviderUnavailable` and the
router maps it. Nothing is written before a notification is verified.

What the storefront must do (see shared/services/payments.py):

* create each YooKassa payment with ``metadata: {"order_id": "<order id>"}``
  and exactly the order's ``money_to_pay`` (``capture: true``; with
  ``capture: false`` the engine captures a payment that counts and releases
  one that does not); a YooMoney form with
  ``label=<order id>`` and that sum;
* give a partial YooKassa refund ``metadata: {"lines": "{\"<line id>\": <units>}"}``
  (JSON text: metadata values are strings) and exactly the money paid for
  those units; a refund of everything not yet refunded needs no lines.
"""

from __future__ import annotations

from typing import Any

from shared.adapters import yookassa, yoomoney
from shared.api.order_paid import PaymentNotificationResult, YooKassaNotification
from shared.domain.errors import Forbidden
from shared.edge import entry
from shared.edge.http import Context, Router, client_ip
from shared.platform import bootstrap
from shared.platform.settings import settings
from shared.services import payments

router = Router("order_paid")


def _result(outcome: payments.Outcome) -> PaymentNotificationResult:
    return PaymentNotificationResult(result=outcome.result.value, order_id=outcome.order_id, status=outcome.status.value if outcome.status else None, ignored=outcome.ignored)


@router.post("/yookassa")
def yookassa_endpoint(request: Any, ctx: Context) -> Any:
    sender = client_ip(request)
    if not yookassa.is_yookassa_address(sender):
        raise Forbidden("the sender is not a YooKassa address", sender=sender)
    notification = ctx.body(YooKassaNotification)
    # YooKassaUnavailable is a ProviderUnavailable: the router answers 503 and YooKassa delivers again
    outcome = payments.yookassa_notification(
        entry.store(),
        config=entry.config(ctx.now),
        gateway=bootstrap.yookassa(),
        event=notification.event,
        object_id=notification.object.id,
        now=ctx.now,
    )
    return _result(outcome)


@router.post("/yoomoney")
def yoomoney_endpoint(request: Any, ctx: Context) -> Any:
    notification = yoomoney.parse(ctx.raw_body())
    yoomoney.verify(notification, settings().yoomoney_secret)
    outcome = payments.yoomoney_notification(entry.store(), config=entry.config(ctx.now), notification=notification, now=ctx.now)
    return _result(outcome)


def order_paid(request: Any) -> Any:
    """The functions-framework target."""
    return router.dispatch(request)
