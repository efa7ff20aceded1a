"""``carts/{customer_id}``: a logged-in customer's last quoted cart ``{customer_id, cart_hash, quoted_at, lines}``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters import layout
from shared.adapters.repositories.base import Repository
from shared.domain.carts import LastCart

QUOTED_AT = "quoted_at"


def _cart(data: dict[str, Any]) -> LastCart:
    return LastCart(customer_id=data["customer_id"], cart_hash=data["cart_hash"], quoted_at=data[QUOTED_AT], lines=int(data.get("lines") or 0))


class CartRepository(Repository):
    def get(self, customer_id: str) -> LastCart | None:
        data = self._docs.get(layout.cart(customer_id))
        return None if data is None else _cart(data)

    def put(self, cart: LastCart) -> None:
        """The customer's last cart, replacing the one before (a blind write: no read)."""
        self._docs.put(layout.cart(cart.customer_id), {"customer_id": cart.customer_id, "cart_hash": cart.cart_hash, QUOTED_AT: cart.quoted_at, "lines": cart.lines})

    def quoted_until(self, *, until: datetime, limit: int, after: tuple[datetime, str] | None = None) -> list[tuple[str, datetime]]:
        """``(customer id, quoted_at)`` of carts last quoted at or before ``until``, earliest first."""
        return self._queries.due(layout.CARTS, field=QUOTED_AT, until=until, limit=limit, start_after=after)
