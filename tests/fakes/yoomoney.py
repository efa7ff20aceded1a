"""YooMoney wallet notifications as YooMoney sends them: urlencoded, signed with ``sha1_hash``.

The hash is spelled out here independently of the adapter (docs: INTEGRATIONS §3):
hex SHA-1 of ``notification_type&operation_id&amount&currency&datetime&sender&codepro&notification_secret&label``.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from shared.adapters.amounts import to_roubles


def fields(secret: str, *, label: str, paid: int, fee_permille: int = 10, operation_id: str = "904035776918098009", **overrides: str) -> dict[str, str]:
    """A p2p-incoming notification's fields for ``paid`` kopecks; ``overrides`` change fields before signing."""
    data = {
        "notification_type": "p2p-incoming",
        "operation_id": operation_id,
        "amount": to_roubles(paid - paid * fee_permille // 1000),
        "withdraw_amount": to_roubles(paid),
        "currency": "643",
        "datetime": "2026-11-23T15:16:00Z",
        "sender": "41001000040",
        "codepro": "false",
        "unaccepted": "false",
        "label": label,
    }
    data.update(overrides)
    signed = [data[k] for k in ("notification_type", "operation_id", "amount", "currency", "datetime", "sender", "codepro")]
    data["sha1_hash"] = hashlib.sha1("&".join([*signed, secret, data["label"]]).encode("utf-8")).hexdigest()
    return data


def body(data: dict[str, str]) -> str:
    return urlencode(data)
