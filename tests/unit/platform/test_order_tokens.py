"""Order tokens: signed for one purpose under a key derived from the token secret, bound to the order, refused elsewhere."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest

from shared.domain.errors import Unauthorized
from shared.platform import order_tokens, tokens
from shared.platform.order_tokens import OrderClaims, TokenLine

SECRET = "a-token-secret-of-at-least-thirty-two-bytes"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
CLAIMS = OrderClaims(
    order_id="anna:K1",
    customer_id="anna",
    lines=(TokenLine(keys=("SER-30", "t-uid-1"), quantity=2), TokenLine(keys=("t-uid-2",), quantity=1)),
    discount=50000,
    money_to_pay=210000,
    expires_at=order_tokens.expiry(NOW, 60),
)


def test_a_token_reads_back_as_its_claims_until_it_expires():
    token = order_tokens.issue(SECRET, CLAIMS, now=NOW)
    assert order_tokens.read(SECRET, token, now=NOW + timedelta(minutes=59)) == CLAIMS
    with pytest.raises(order_tokens.ExpiredOrderToken) as expired:
        order_tokens.read(SECRET, token, now=NOW + timedelta(minutes=60))
    assert expired.value.claims == CLAIMS and expired.value.reason == "order_token_expired"
    assert order_tokens.issue(SECRET, CLAIMS, now=NOW) == token  # the same order: the same token


def test_an_order_token_is_no_customer_token_and_a_customer_token_is_no_order_token():
    order_token = order_tokens.issue(SECRET, CLAIMS, now=NOW)
    with pytest.raises(Unauthorized):
        tokens.verify(SECRET, order_token, now=NOW)
    customer = tokens.issue(SECRET, subject="anna", now=NOW, ttl_seconds=3600)
    with pytest.raises(order_tokens.ForgedOrderToken):
        order_tokens.read(SECRET, customer, now=NOW)


def _resigned(token: str, key: bytes | str, **changes) -> str:
    return jwt.encode({**jwt.decode(token, options={"verify_signature": False}), **changes}, key, algorithm="HS256")


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),  # the signature changed
        lambda t: t.split(".")[0] + "." + _resigned(t, "x" * 32, dis=210000).split(".")[1] + "." + t.split(".")[2],  # other figures, the old signature
        lambda t: _resigned(t, SECRET, dis=210000),  # signed with the secret itself, as a customer token is
        lambda t: _resigned(t, order_tokens.purpose_key(SECRET, "another-purpose"), pay=1),
        lambda t: _resigned(t, order_tokens.purpose_key(SECRET), typ="customer"),
        lambda t: _resigned(t, order_tokens.purpose_key(SECRET), ln=[["x", 1]]),
        lambda t: _resigned(t, order_tokens.purpose_key(SECRET), exp=1.5e12),
        lambda t: "not-a-token",
    ],
    ids=["tampered", "figures-changed", "customer-key", "other-purpose", "wrong-type", "malformed-lines", "float-exp", "junk"],
)
def test_forged_tokens_are_refused(forge):
    with pytest.raises(order_tokens.ForgedOrderToken):
        order_tokens.read(SECRET, forge(order_tokens.issue(SECRET, CLAIMS, now=NOW)), now=NOW)


def test_the_purpose_key_is_not_the_secret_and_depends_on_the_purpose():
    assert order_tokens.purpose_key(SECRET) != SECRET.encode()
    assert order_tokens.purpose_key(SECRET) != order_tokens.purpose_key(SECRET, "another-purpose")
    assert order_tokens.purpose_key(SECRET) != order_tokens.purpose_key(SECRET + "x")
