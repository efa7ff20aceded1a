"""The storefront order: what the checkout agreed, its payment, its delivery, and its status machine.

    awaiting_payment -> paid -> delivered -> (partially_)returned
    awaiting_payment -> canceled          (timed out: a declined payment leaves it payable)
    canceled -> paid                      (paid late, while what the checkout agreed still holds;
                                           otherwise the payment is refunded: refund_due)
    paid -> not_delivered                 (carrier gave up: a full return)

An :class:`Order` is immutable: each transition (:meth:`Order.pay`,
:meth:`Order.refund_due`, :meth:`Order.cancel`, :meth:`Order.deliver`, :meth:`Order.return_units`,
:meth:`Order.ship`) returns the order moved on, with its event recorded under
an idempotency key (the last 50 events are kept), or refuses with
:class:`~shared.domain.errors.InvalidState`. The guards that say whether a
transition still applies (``accepts_payment``, ``awaiting_payment``,
``accepts_delivery``, ``accepts_return``) decide on the order as read in the
transaction that writes it.

The stored document keeps exactly the fields an order was written with (an
order placed before a field existed has no such field), so every model here
remembers which fields it was given.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from msgspec import Struct
from pydantic import BaseModel, ConfigDict, Field

from shared.domain.cart import CartLine, PromoRule, QuoteLine
from shared.domain.errors import InvalidState

EVENTS_KEPT = 50


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    DELIVERED = "delivered"
    PARTIALLY_RETURNED = "partially_returned"
    RETURNED = "returned"
    CANCELED = "canceled"
    NOT_DELIVERED = "not_delivered"


FINAL = frozenset({OrderStatus.CANCELED, OrderStatus.RETURNED, OrderStatus.NOT_DELIVERED})
UNPAID = frozenset({OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELED})
# an order past delivery: a delivery report changes nothing any more
PAST_DELIVERY = frozenset({OrderStatus.DELIVERED, OrderStatus.PARTIALLY_RETURNED, OrderStatus.RETURNED, OrderStatus.NOT_DELIVERED})
# an order some of whose goods the customer may still send back
RETURNABLE = frozenset({OrderStatus.PAID, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_RETURNED})


def customer_order_id(customer_id: str, reference: str) -> str:
    """The id of a storefront order: the storefront's ``reference`` in its customer's namespace.

    Issued by the server, so no one can take another customer's order id first
    (and make their checkout an idempotency conflict); the same customer and
    reference give the same id, so a retried checkout is still a replay. A
    reference never holds ``:``, so the id is never another pair's.
    """
    if not reference or ":" in reference:
        raise ValueError("an order reference is a non-empty string without ':'")
    return f"{customer_id}:{reference}"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class QuotedLine(_Frozen):
    """The checkout quote's figures for one line: what payment settles on."""

    bonuses: int
    money_to_pay: int
    points_to_earn: int
    campaign: str | None = None  # the code of the campaign that raised the line's points

    @classmethod
    def of(cls, line: QuoteLine) -> QuotedLine:
        """The checkout quote's figures of one line, the campaign that raised its points included."""
        raised = {"campaign": line.campaign.code} if line.campaign else {}  # unset otherwise: the stored shape of before
        return cls(bonuses=line.bonuses_applied, money_to_pay=line.money_to_pay, points_to_earn=line.points_to_earn, **raised)


class PaymentRef(_Frozen):
    """The payment that counted for the order: its provider, id and amount (kopecks)."""

    provider: str | None = None
    id: str | None = None
    amount: int | None = None


class PaymentClaim(_Frozen):
    """A payment made on the shop's side (Tilda's own YooKassa) and the one order it settled."""

    provider: str
    payment_id: str
    order_id: str
    at: datetime


class TrackingRef(_Frozen):
    carrier: str | None = None
    tracking: str | None = None


class Delivery(_Frozen):
    """The shipment of an order: the carrier and tracking code, and what the poller last saw."""

    carrier: str | None = None
    tracking: str | None = None
    attached_at: datetime | None = None
    checked_at: datetime | None = None
    last_state: str | None = None
    last_detail: str | None = None
    last_status_at: datetime | None = None
    errors: int = 0
    replaced: TrackingRef | None = None  # the tracking code this one replaced (a re-shipment)
    last_error: str | None = None
    gave_up_at: datetime | None = None
    outcome: str | None = None  # what applying the carrier's final status did


class TrackingLink(_Frozen):
    """A carrier's tracking code pointing back at the order it ships."""

    order_id: str
    carrier: str
    tracking: str
    attached_at: datetime | None = None


class _Event(_Frozen):
    key: str
    at: datetime


class PaidEvent(_Event):
    type: Literal["paid"]
    referrer_notified: str | None = None  # the partner whose paying-referee count this payment raises
    bonuses_shortfall: int | None = None


class CanceledEvent(_Event):
    type: Literal["canceled"]
    reason: str


class DeliveredEvent(_Event):
    type: Literal["delivered"]
    carrier: str | None = None
    referral_reward: int | None = None  # the partner's reward; None while it is still to be credited


class ReturnEvent(_Event):
    type: Literal["return"]
    units: dict[str, int] | None = None
    spent_back: int = 0
    earned_back: int = 0
    referrer_id: str | None = None


class RefundDueEvent(_Event):
    """A payment the order could not be settled with (what its checkout agreed can no longer be
    honoured): the money goes back to the customer, nothing is spent or earned. Keyed like a
    payment (``paid:<payment id>``), so the same payment is decided once."""

    type: Literal["refund_due"]
    provider: str | None = None
    payment_id: str | None = None
    amount: int | None = None
    reason: str


# why an order waits for a manager (ReviewFlag.reason), in Russian for the back office
REVIEW_REASONS_RU: dict[str, str] = {
    "order_token_invalid": "Подпись заказа недействительна: заказ не проведён, проверьте оплату вручную.",
    "order_token_expired": "Срок действия заказа истёк до оплаты: бонусы не списаны и не начислены.",
    "discount_mismatch": "Скидка в корзине Tilda не совпадает со скидкой Копилки.",
    "cart_mismatch": "Состав корзины изменён после оформления заказа.",
    "amount_mismatch": "Сумма оплаты не совпадает с суммой заказа.",
    "payment_missing": "В заказе нет оплаты через ЮKassa.",
    "payment_not_found": "Платёж не найден в ЮKassa.",
    "payment_not_succeeded": "Платёж в ЮKassa не завершён.",
    "payment_used": "Этот платёж уже засчитан за другой заказ.",
    "paid_by_another_payment": "Заказ уже оплачен другим платежом.",
    "agreement_lapsed": "Условия заказа больше не действуют (бонусы или промокод уже использованы): верните оплату.",
    "refund_due": "Оплата пришла, когда условия заказа уже не действовали; вернуть её автоматически нельзя: верните деньги покупателю вручную.",
}


class ReviewFlag(_Frozen):
    """A payment that could not settle the order, for a manager: nothing was spent or earned by it."""

    reason: str  # a key of REVIEW_REASONS_RU
    message_ru: str
    at: datetime
    payment_id: str | None = None
    details: dict[str, Any] | None = None


def review_flag(reason: str, *, at: datetime, payment_id: str | None = None, **details: Any) -> ReviewFlag:
    """The flag of ``reason`` with its Russian text."""
    return ReviewFlag(reason=reason, message_ru=REVIEW_REASONS_RU[reason], at=at, payment_id=payment_id, details=details or None)


OrderEvent = Annotated[PaidEvent | CanceledEvent | DeliveredEvent | ReturnEvent | RefundDueEvent, Field(discriminator="type")]


class Agreed(Struct, frozen=True):
    """The per-line figures the checkout agreed: bonuses, money (kopecks) and points."""

    bonuses: dict[str, int]
    money: dict[str, int]
    points: dict[str, int]
    campaigns: dict[str, str] = {}  # line id -> the campaign that raised its points (lines no campaign raised: absent)


class PaidFigures(Struct, frozen=True):
    """What settling the payment recorded on the customer's side."""

    spent: int
    earned: int
    paid: int
    shortfall: int
    referrer_id: str | None


class ReturnedFigures(Struct, frozen=True):
    """What a return gave back and took back on the customer's side."""

    spent_back: int
    earned_back: int
    referrer_id: str | None


class Order(_Frozen):
    """``orders/{order_id}``: a storefront order as placed and moved on."""

    order_id: str
    customer_id: str
    lines: tuple[CartLine, ...]
    bonuses_requested: int
    bonuses_reserved: int | None = None
    pays_with_gift_certificate: bool = False
    promo_code_entered: str | None = None
    promo_code: str | None = None
    promo_rule: PromoRule | None = None  # the rule the order was placed with, without its validity window
    referral_partner_id: str | None = None  # the partner whose personal code was typed at checkout
    quote_fingerprint: str | None = None
    discount: int = 0
    money_to_pay: int
    points_to_earn: int = 0
    quoted_lines: dict[str, QuotedLine] | None = None
    status: OrderStatus
    source: str = "storefront"
    created_at: datetime | None = None
    payment: PaymentRef | None = None
    delivery: Delivery | None = None
    events: tuple[OrderEvent, ...] = ()
    paid_at: datetime | None = None
    bonuses_spent: int | None = None
    points_earned: int | None = None
    money_paid: int | None = None
    bonuses_shortfall: int | None = None
    delivered_at: datetime | None = None
    returned_units: dict[str, int] | None = None
    delivery_poll_at: datetime | None = None  # when the poller asks the carrier next (None: not polled)
    shipping_method: str | None = None  # how the customer chose to get it (pickup, courier …): its delivery fallback
    delivery_fallback_at: datetime | None = None  # paid and not delivered by then: delivered by the fallback (None: none due)
    review: ReviewFlag | None = None  # a payment that could not settle it, for a manager
    flagged_at: datetime | None = None  # when it was flagged (the back office lists flagged orders by it)

    # --- reading ---------------------------------------------------------------------

    @property
    def entered_code(self) -> str | None:
        """The promo code as the customer typed it (normalized), or the one applied on older orders."""
        return self.promo_code_entered if "promo_code_entered" in self.model_fields_set else self.promo_code

    @property
    def reserved(self) -> int:
        """The bonuses reserved at checkout (older orders: the bonuses requested)."""
        return self.bonuses_requested if self.bonuses_reserved is None else self.bonuses_reserved

    @property
    def money(self) -> int:
        """The money of the order: paid, else to pay (kopecks)."""
        return self.money_to_pay if self.money_paid is None else self.money_paid

    def recorded(self, key: str) -> OrderEvent | None:
        """The event recorded under ``key`` (among those kept), if any."""
        return next((event for event in self.events if event.key == key), None)

    def returns(self) -> list[ReturnEvent]:
        return [event for event in self.events if isinstance(event, ReturnEvent)]

    def remaining_units(self) -> dict[str, int]:
        """Units of each line the customer still keeps (lines fully returned left out)."""
        returned = self.returned_units or {}
        kept = {line.id: line.quantity - returned.get(line.id, 0) for line in self.lines}
        return {line_id: units for line_id, units in kept.items() if units > 0}

    def agreement(self) -> Agreed | None:
        """The per-line figures the checkout agreed (orders placed before they were kept: ``None``)."""
        if not self.quoted_lines:
            return None
        return Agreed(
            bonuses={line_id: figures.bonuses for line_id, figures in self.quoted_lines.items()},
            money={line_id: figures.money_to_pay for line_id, figures in self.quoted_lines.items()},
            points={line_id: figures.points_to_earn for line_id, figures in self.quoted_lines.items()},
            campaigns={line_id: figures.campaign for line_id, figures in self.quoted_lines.items() if figures.campaign},
        )

    def counted_payment(self) -> str | None:
        """The id of the payment the order was paid with."""
        return self.payment.id if self.payment is not None else None

    # --- guards ----------------------------------------------------------------------

    @property
    def awaiting_payment(self) -> bool:
        return self.status is OrderStatus.AWAITING_PAYMENT

    def accepts_payment(self, key: str) -> bool:
        """Whether the payment recorded as ``key`` is still to be decided: not once recorded, nor
        once the order moved on (paid by another payment). An unpaid order takes it, a canceled one
        too: whether it is settled or refunded is the caller's decision (:meth:`pay`, :meth:`refund_due`)."""
        if self.recorded(key) is not None:
            return False
        return self.status in UNPAID

    def accepts_delivery(self) -> bool:
        """Whether a delivery moves the order on: not once past delivery; an unpaid order refuses it."""
        if self.status in PAST_DELIVERY:
            return False
        if self.status is not OrderStatus.PAID:
            raise InvalidState(f"order is {self.status}, cannot be delivered", order_id=self.order_id)
        return True

    def accepts_return(self) -> None:
        """Refuse a return of an order nothing was paid for."""
        if self.status in UNPAID:
            raise InvalidState(f"order is {self.status}: nothing was paid to return", order_id=self.order_id)

    def reward_pending(self) -> bool:
        """Delivered, with the partner's reward not noted yet (its step was lost: a redelivery completes it)."""
        event = self.recorded("delivered")
        return isinstance(event, DeliveredEvent) and event.referral_reward is None

    # --- transitions -----------------------------------------------------------------

    def _moved(self, to: OrderStatus, event: OrderEvent, **fields: Any) -> Order:
        events = (*self.events[-(EVENTS_KEPT - 1) :], event)
        return self.model_copy(update={**fields, "status": to, "events": events})

    def pay(self, payment: PaymentRef, *, key: str, figures: PaidFigures, now: datetime, fallback_at: datetime | None = None) -> Order:
        """Paid by ``payment``, settled on ``figures``; delivered by the fallback at ``fallback_at`` unless a carrier or a manager says so first."""
        event = PaidEvent(key=key, type="paid", referrer_notified=figures.referrer_id, at=now)
        fields: dict[str, Any] = {"payment": payment, "paid_at": now, "bonuses_spent": figures.spent, "points_earned": figures.earned, "money_paid": figures.paid}
        if fallback_at is not None:
            fields["delivery_fallback_at"] = fallback_at
        if figures.shortfall:
            event = event.model_copy(update={"bonuses_shortfall": figures.shortfall})
            fields["bonuses_shortfall"] = figures.shortfall
        return self._moved(OrderStatus.PAID, event, **fields)

    def refund_due(self, payment: PaymentRef, *, key: str, reason: str, now: datetime) -> Order:
        """``payment`` is not settled but refunded; an order still awaiting payment is canceled first
        (the caller gave its reservation and promo use back)."""
        order = self.cancel("late_payment", now=now) if self.awaiting_payment else self
        if order.status is not OrderStatus.CANCELED:
            raise InvalidState(f"order is {self.status}: a payment is not refunded by the order", order_id=self.order_id)
        event = RefundDueEvent(key=key, type="refund_due", provider=payment.provider, payment_id=payment.id, amount=payment.amount, reason=reason, at=now)
        return order._moved(OrderStatus.CANCELED, event)

    def flag(self, review: ReviewFlag) -> Order:
        """Flagged for a manager (the caller released an unpaid order's reservation first)."""
        return self.model_copy(update={"review": review, "flagged_at": review.at})

    def cancel(self, reason: str, *, now: datetime) -> Order:
        """Canceled before it was paid (the caller checked :attr:`awaiting_payment`)."""
        return self._moved(OrderStatus.CANCELED, CanceledEvent(key=f"canceled:{reason}", type="canceled", reason=reason, at=now))

    def deliver(self, *, carrier: str, delivered_at: datetime, with_partner: bool, now: datetime) -> Order:
        """Delivered at ``delivered_at``; with a partner, the reward is noted later (:meth:`note_reward`)."""
        event = DeliveredEvent(key="delivered", type="delivered", carrier=carrier, referral_reward=None if with_partner else 0, at=now)
        return self._moved(OrderStatus.DELIVERED, event, delivered_at=delivered_at, **self._no_fallback())

    def _no_fallback(self) -> dict[str, Any]:
        """The fields that take the order off the fallback's list (none when it never was on it)."""
        return {"delivery_fallback_at": None} if self.delivery_fallback_at is not None else {}

    def fallback_dropped(self) -> Order:
        """Off the fallback's list: delivered, returned or never to be delivered by it."""
        return self.model_copy(update=self._no_fallback()) if self.delivery_fallback_at is not None else self

    def note_reward(self, reward: int) -> Order:
        """The partner's reward credited for the delivery, noted on its event."""
        events = tuple(event.model_copy(update={"referral_reward": reward}) if event.key == "delivered" else event for event in self.events)
        return self if events == self.events else self.model_copy(update={"events": events})

    def return_units(self, units: dict[str, int], *, key: str, figures: ReturnedFigures, not_delivered: bool, now: datetime) -> Order:
        """``units`` (line -> units) come back: partially or fully returned, or not delivered at all."""
        returned = dict(self.returned_units or {})
        for line_id, qty in units.items():
            returned[line_id] = returned.get(line_id, 0) + qty
        everything = all(returned.get(line.id, 0) >= line.quantity for line in self.lines)
        to = (OrderStatus.NOT_DELIVERED if not_delivered else OrderStatus.RETURNED) if everything else OrderStatus.PARTIALLY_RETURNED
        if self.status not in RETURNABLE and self.status is not to:
            raise InvalidState(f"order is {self.status}, cannot become {to}", order_id=self.order_id, status=self.status.value)
        event = ReturnEvent(key=key, type="return", units=dict(units), spent_back=figures.spent_back, earned_back=figures.earned_back, referrer_id=figures.referrer_id, at=now)
        return self._moved(to, event, returned_units=returned, **self._no_fallback())

    # --- shipment --------------------------------------------------------------------

    def ships_with(self, carrier: str, tracking: str) -> bool:
        return self.delivery is not None and self.delivery.carrier == carrier and self.delivery.tracking == tracking

    def ship(self, *, carrier: str, tracking: str, first_poll: datetime, now: datetime) -> Order:
        """Shipped with ``tracking`` (replacing an earlier code), first polled at ``first_poll``."""
        if self.status not in (OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID):
            raise InvalidState(f"order is {self.status}: nothing left to track", order_id=self.order_id, status=self.status.value)
        delivery = Delivery(carrier=carrier, tracking=tracking, attached_at=now, checked_at=None, last_state=None, last_detail=None, last_status_at=None, errors=0)
        if self.delivery is not None and self.delivery.tracking:
            delivery = delivery.model_copy(update={"replaced": TrackingRef(carrier=self.delivery.carrier, tracking=self.delivery.tracking)})
        return self.model_copy(update={"delivery": delivery, "delivery_poll_at": first_poll})

    def polled(self, *, now: datetime, next_at: datetime | None, **seen: Any) -> Order:
        """What the poller saw of the shipment (``seen``: delivery fields) and when to ask again (``None``: stop)."""
        delivery = (self.delivery or Delivery()).model_copy(update={"checked_at": now, **seen})
        return self.model_copy(update={"delivery": delivery, "delivery_poll_at": next_at})
