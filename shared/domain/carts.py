"""A logged-in customer's last quoted cart: what the abandoned-cart reminder is about. Pure."""

from __future__ import annotations

import hashlib
from datetime import datetime

from msgspec import Struct

from shared.domain.cart import CartLine


class LastCart(Struct, frozen=True):
    """``carts/{customer_id}``: the cart the customer last had quoted, by its hash (lines and quantities)."""

    customer_id: str
    cart_hash: str
    quoted_at: datetime
    lines: int  # how many lines the cart had


def cart_hash(lines: list[CartLine]) -> str:
    """The cart's identity for the reminder: its products and quantities, whatever their order."""
    text = "|".join(sorted(f"{line.id}×{line.quantity}" for line in lines))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
