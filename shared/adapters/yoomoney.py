"""YooMoney wallet HTTP notifications (p2p-incoming, card-incoming): parsing and the ``sha1_hash`` check.

A notification is a urlencoded POST. Its authenticity is ``sha1_hash``, the
hex SHA-1 of ``notification_type&operation_id&amount&currency&datetime&sender&codepro&notification_secret&label``
over the values as received (``codepro`` as the literal ``true``/``false``).
It is compared in constant time, and only in the exact form YooMoney sends
(40 lowercase hex digits). ``withdraw_amount`` (what the customer paid) is not
covered by the hash: only ``amount`` (what the wallet was credited) is signed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl

from shared.adapters.amounts import BadAmount, to_kopecks
from shared.domain.errors import Forbidden, ValidationFailed

RUB = "643"
HASHED = ("notification_type", "operation_id", "amount", "currency", "datetime", "sender", "codepro")
REQUIRED = (*HASHED, "label", "withdraw_amount", "sha1_hash")
MAX_FIELDS = 64


@dataclass(frozen=True)
class Notification:
    notification_type: str
    operation_id: str
    amount: str  # credited to the wallet, after YooMoney's fee
    withdraw_amount: str  # paid by the customer
    currency: str
    datetime: str
    sender: str
    codepro: str
    label: str
    sha1_hash: str
    unaccepted: str = "false"

    @property
    def protected_by_code(self) -> bool:
        return self.codepro == "true"

    @property
    def on_hold(self) -> bool:
        """The transfer is not credited yet (``unaccepted=true``)."""
        return self.unaccepted == "true"

    @property
    def paid_kopecks(self) -> int:
        """What the customer paid (``withdraw_amount``), in kopecks. Not covered by ``sha1_hash``."""
        return to_kopecks(self.withdraw_amount)

    @property
    def credited_kopecks(self) -> int:
        """What the wallet was credited (``amount``, after YooMoney's fee), in kopecks: the signed figure."""
        return to_kopecks(self.amount)


def parse(body: bytes) -> Notification:
    """A urlencoded notification; a missing, repeated or malformed field is a ValidationFailed."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed("the notification is not a urlencoded form", message_ru="Некорректный запрос.") from None
    fields: dict[str, str] = {}
    repeated = set()
    for name, value in pairs:
        if name in fields:
            repeated.add(name)
        fields[name] = value
    problems = [{"field": name, "error": "missing"} for name in REQUIRED if name not in fields]
    problems += [{"field": name, "error": "repeated"} for name in sorted(repeated)]
    for name in ("operation_id", "sha1_hash", "withdraw_amount", "amount"):
        if name in fields and not fields[name]:
            problems.append({"field": name, "error": "empty"})
    for name in ("withdraw_amount", "amount"):
        if fields.get(name):
            try:
                to_kopecks(fields[name])
            except BadAmount:
                problems.append({"field": name, "error": "not an amount"})
    if problems:
        raise ValidationFailed(
            "invalid notification: " + ", ".join(p["field"] for p in problems),
            message_ru="Некорректное уведомление.",
            errors=problems,
        )
    return Notification(**{name: fields[name] for name in REQUIRED}, unaccepted=fields.get("unaccepted", "false"))


def expected_hash(notification: Notification, secret: str) -> str:
    n = notification
    text = "&".join([n.notification_type, n.operation_id, n.amount, n.currency, n.datetime, n.sender, n.codepro, secret, n.label])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def verify(notification: Notification, secret: str) -> None:
    """Raise :class:`Forbidden` unless ``sha1_hash`` was made with our notification secret."""
    if not secret:
        raise Forbidden("YooMoney notifications are not configured (no notification secret)")
    expected = expected_hash(notification, secret).encode("ascii")
    if not hmac.compare_digest(expected, notification.sha1_hash.encode("utf-8")):
        raise Forbidden("the notification's sha1_hash does not match", message_ru="Подпись уведомления неверна.")
