"""Signed single-purpose order tokens: what a Tilda order form carries instead of a customer token.

``POST /checkout/tilda`` places the order and answers an order token, which
the storefront kit puts in the hidden form field ``kopilka_order``. Tilda
copies form fields into its Leads, e-mails and CRM exports, so the token
grants nothing but the settlement of that one order: it is an HS256 token
signed with a key derived from the customer token secret and a purpose label
(:func:`purpose_key`), so a customer access token is never accepted where an
order token is expected and an order token is refused by every customer route
(their key is the secret itself). It binds:

* the order id (``sub``) and its customer (``cus``);
* the cart lines: per line the identifiers a form product may carry
  (product, SKU, line id) and the quantity (``ln``);
* the single discount the kit applies in Tilda's cart (``dis``, kopecks) and
  the money to pay (``pay``, kopecks);
* its expiry (``exp``, whole seconds), :data:`shared.platform.settings.Settings.order_token_minutes`
  after issue.

:func:`read` tells a forged token (:class:`ForgedOrderToken`: nothing in it
can be trusted) from an expired one (:class:`ExpiredOrderToken`, which still
names its order, so the order can be flagged).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

import jwt
from msgspec import Struct

from shared.platform.tokens import ISSUER

PURPOSE = "tilda-order"
KIND = "tilda_order"


class TokenLine(Struct, frozen=True):
    """One cart line as the token binds it: the identifiers a form product may name it by, and its quantity."""

    keys: tuple[str, ...]
    quantity: int


class OrderClaims(Struct, frozen=True):
    """What an order token says."""

    order_id: str
    customer_id: str
    lines: tuple[TokenLine, ...]
    discount: int
    money_to_pay: int
    expires_at: datetime


class InvalidOrderToken(Exception):
    """The order token cannot settle an order."""

    reason = "order_token_invalid"


class ForgedOrderToken(InvalidOrderToken):
    """Not signed by us for this purpose (or not a token at all): nothing in it counts."""

    reason = "order_token_invalid"


class ExpiredOrderToken(InvalidOrderToken):
    """Signed by us, but past its expiry: its order is known (``claims``) and is flagged."""

    reason = "order_token_expired"

    def __init__(self, claims: OrderClaims) -> None:
        super().__init__("the order token has expired")
        self.claims = claims


def purpose_key(secret: str, purpose: str = PURPOSE) -> bytes:
    """The signing key of one purpose: HMAC-SHA256 of the purpose label under the token secret."""
    if not secret:
        raise RuntimeError("the token secret is not configured")
    return hmac.new(secret.encode(), f"kopilka purpose:{purpose}".encode(), hashlib.sha256).digest()


def issue(secret: str, claims: OrderClaims, *, now: datetime) -> str:
    payload = {
        "iss": ISSUER,
        "typ": KIND,
        "sub": claims.order_id,
        "cus": claims.customer_id,
        "ln": [[list(line.keys), line.quantity] for line in claims.lines],
        "dis": claims.discount,
        "pay": claims.money_to_pay,
        "iat": int(now.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    return jwt.encode(payload, purpose_key(secret), algorithm="HS256")


def expiry(now: datetime, minutes: int) -> datetime:
    """When a token issued at ``now`` expires (whole seconds)."""
    return datetime.fromtimestamp(int((now + timedelta(minutes=minutes)).timestamp()), tz=now.tzinfo)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _claims(payload: dict[str, object], now: datetime) -> OrderClaims:
    lines_raw, exp = payload.get("ln"), payload.get("exp")
    order_id, customer_id, discount, money = payload.get("sub"), payload.get("cus"), payload.get("dis"), payload.get("pay")
    if not (isinstance(order_id, str) and isinstance(customer_id, str) and _whole(discount) and _whole(money) and _whole(exp) and isinstance(lines_raw, list)):
        raise ForgedOrderToken("the order token's claims are malformed")
    lines = []
    for item in lines_raw:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], list) and all(isinstance(k, str) for k in item[0]) and _whole(item[1])):
            raise ForgedOrderToken("the order token's lines are malformed")
        lines.append(TokenLine(keys=tuple(item[0]), quantity=item[1]))
    assert isinstance(discount, int) and isinstance(money, int) and isinstance(exp, int)
    return OrderClaims(order_id=order_id, customer_id=customer_id, lines=tuple(lines), discount=discount, money_to_pay=money, expires_at=datetime.fromtimestamp(exp, tz=now.tzinfo))


def read(secret: str, token: str, *, now: datetime) -> OrderClaims:
    """The claims of a valid order token; :class:`ForgedOrderToken` or :class:`ExpiredOrderToken` otherwise."""
    try:
        payload = jwt.decode(token, purpose_key(secret), algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub", "iat"], "verify_exp": False})
    except jwt.PyJWTError as exc:
        raise ForgedOrderToken(f"invalid order token: {exc}") from None
    if payload.get("typ") != KIND:
        raise ForgedOrderToken("not an order token")
    claims = _claims(payload, now)
    if claims.expires_at.timestamp() <= now.timestamp():
        raise ExpiredOrderToken(claims)
    return claims
