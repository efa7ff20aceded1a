"""The per-order line book: what each order line earned and spent, and what came back.

Stored per customer and order, it makes partial returns exact: returning
``r`` of a line's ``q`` units cumulatively takes back ``floor(x * r / q)`` of
each line figure ``x``, so the parts of successive returns add up to the
whole figure when the whole line is back.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field
from msgspec.structs import asdict

from shared.domain.errors import ValidationFailed
from shared.domain.ledger import Allocation
from shared.domain.money import prorate

# fields of a book written only when set, so a book written before they existed keeps its stored shape
WRITTEN_WHEN_SET = ("paid_on", "level_before")


class BookLine(Struct):
    """One order line in the book: its units, money and bonuses, and the units returned so far."""

    quantity: int
    paid: int  # money paid for the line, kopecks
    earned: int = 0  # bonuses accrued on the line (or the partner reward on it)
    spent: int = 0  # bonuses that paid for the line
    returned: int = 0  # units returned so far
    campaign: str | None = None  # the campaign that raised the line's points (frozen at checkout)

    def to_dict(self) -> dict[str, Any]:
        """Stored without ``campaign`` when none raised the line, so such books keep their shape."""
        data = asdict(self)
        if data["campaign"] is None:
            del data["campaign"]
        return data


class OrderLineBook(Struct):
    """The line book of one order of one customer (``customers/{id}/orders/{order_id}``)."""

    order_id: str
    customer_id: str
    kind: str  # "purchase" or "referral" (a partner's reward on a referee's order)
    lines: dict[str, BookLine]
    status: str = "paid"
    earned_lot_id: str | None = None
    spend_allocations: list[Allocation] = field(default_factory=list)
    refunded_by_lot: dict[str, int] = field(default_factory=dict)
    referrer_id: str | None = None
    delivered_at: Any = None
    paid_on: str | None = None  # the day (ISO) the purchase counted on: its returns count there too
    level_before: str | None = None  # the customer's earned level before the purchase counted

    @property
    def earned(self) -> int:
        return sum(line.earned for line in self.lines.values())

    @property
    def spent(self) -> int:
        return sum(line.spent for line in self.lines.values())

    @property
    def paid(self) -> int:
        return sum(line.paid for line in self.lines.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k not in ("lines", "spend_allocations") and not (k in WRITTEN_WHEN_SET and v is None)},
            "lines": {k: v.to_dict() for k, v in self.lines.items()},
            "spend_allocations": [a.to_dict() for a in self.spend_allocations],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderLineBook:
        return cls(
            order_id=data["order_id"],
            customer_id=data["customer_id"],
            kind=data["kind"],
            lines={k: BookLine(**v) for k, v in data["lines"].items()},
            status=data.get("status", "paid"),
            earned_lot_id=data.get("earned_lot_id"),
            spend_allocations=[Allocation.from_dict(a) for a in data.get("spend_allocations") or []],
            refunded_by_lot=dict(data.get("refunded_by_lot") or {}),
            referrer_id=data.get("referrer_id"),
            delivered_at=data.get("delivered_at"),
            paid_on=data.get("paid_on"),
            level_before=data.get("level_before"),
        )


class ReturnPlan(Struct, frozen=True):
    returned: dict[str, int]  # line -> units returned by this return
    earned_back: int
    spent_back: int
    paid_back: int
    refund_allocations: list[Allocation]
    book: OrderLineBook  # the book after the return


def plan_return(book: OrderLineBook, returns: dict[str, int]) -> ReturnPlan:
    """What a return of ``returns`` (line -> units) takes back and gives back.

    Spent bonuses go back to the lots that paid, latest expiry first (the
    customer keeps the longest-lived bonuses).
    """
    if not returns:
        raise ValidationFailed("a return needs at least one line", field="lines")
    new_lines = {k: BookLine(**v.to_dict()) for k, v in book.lines.items()}
    earned_back = spent_back = paid_back = 0
    for line_id, units in returns.items():
        line = new_lines.get(line_id)
        if line is None:
            raise ValidationFailed(f"order {book.order_id} has no line {line_id}", field="lines", line_id=line_id)
        if not isinstance(units, int) or units <= 0 or line.returned + units > line.quantity:
            raise ValidationFailed(
                f"line {line_id}: cannot return {units} of {line.quantity - line.returned} remaining units",
                field="lines",
                line_id=line_id,
                message_ru="Количество возвращаемых товаров больше купленного.",
            )
        before, after = line.returned, line.returned + units
        earned_back += prorate(line.earned, after, line.quantity) - prorate(line.earned, before, line.quantity)
        spent_back += prorate(line.spent, after, line.quantity) - prorate(line.spent, before, line.quantity)
        paid_back += prorate(line.paid, after, line.quantity) - prorate(line.paid, before, line.quantity)
        line.returned = after
    refunds: list[Allocation] = []
    refunded = dict(book.refunded_by_lot)
    left = spent_back
    for a in sorted(book.spend_allocations, key=lambda a: (a.expires_at, a.accrued_at, a.lot_id), reverse=True):
        room = a.amount - refunded.get(a.lot_id, 0)
        part = min(room, left)
        if part > 0:
            refunds.append(Allocation(a.lot_id, part, a.expires_at, a.source, a.accrued_at))
            refunded[a.lot_id] = refunded.get(a.lot_id, 0) + part
            left -= part
    if left:
        raise AssertionError("spent bonuses of an order exceed its spend allocations")
    fully = all(line.returned == line.quantity for line in new_lines.values())
    new_book = OrderLineBook(**{**asdict(book), "lines": new_lines, "refunded_by_lot": refunded, "status": "returned" if fully else "partially_returned"})
    return ReturnPlan({k: v for k, v in returns.items()}, earned_back, spent_back, paid_back, refunds, new_book)
