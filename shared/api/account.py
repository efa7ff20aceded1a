"""The personal account: profile, balance and level, history, orders, partner dashboard, payouts.

Every route needs a customer token (``Authorization: Bearer …``) and answers
about the token's customer only: no route, parameter or body field names a
customer. A customer of a group excluded from bonuses (B2B) gets only
``{level, bonuses_excluded: true}`` where bonus data would be.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictBool, field_validator

from shared.api import Endpoint
from shared.api.events import StickerRedeemRequest, StickerRedeemResponse
from shared.domain import profile as rules
from shared.domain.messages import DEFAULT_TZ
from shared.services.payouts import DETAILS_MAX, LIST_MAX_LIMIT, METHODS

HISTORY_MAX_LIMIT = 100  # history items per page at most
ORDERS_MAX_LIMIT = 50  # orders per page at most


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- query strings -----------------------------------------------------------------------------


class NoQuery(_In):
    """The route takes no query parameters (in particular, never a customer id)."""


class HistoryQuery(_In):
    cursor: str | None = Field(default=None, pattern=r"^[1-9][0-9]{0,17}$", description="The previous page's next_cursor.")
    limit: int = Field(default=20, ge=1, le=HISTORY_MAX_LIMIT)


OrderIdCursor = Annotated[str | None, Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", description="The previous page's next_cursor.")]


class OrdersQuery(_In):
    cursor: OrderIdCursor = None
    limit: int = Field(default=20, ge=1, le=ORDERS_MAX_LIMIT)


class PayoutsQuery(_In):
    cursor: OrderIdCursor = None
    limit: int = Field(default=20, ge=1, le=LIST_MAX_LIMIT)


# --- profile ---------------------------------------------------------------------------------


class Notifications(BaseModel):
    sms: bool
    email: bool
    telegram: bool


class NotificationsUpdate(_In):
    sms: StrictBool | None = None
    email: StrictBool | None = None
    telegram: StrictBool | None = None


def _name(value: str | None) -> str | None:
    return None if value is None else rules.clean_name(value)


def _email(value: str | None) -> str | None:
    return None if value is None else rules.clean_email(value)


def _tz(value: str | None) -> str | None:
    if value is not None and not rules.known_time_zone(value):
        raise ValueError("tz must be an IANA time zone such as Europe/Moscow")
    return value


class ProfileUpdate(_In):
    """Only the fields sent change; ``null`` removes a name or an e-mail."""

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=rules.EMAIL_MAX)
    birthday: str | None = Field(
        default=None,
        pattern=r"^(\d{4}-)?\d{2}-\d{2}$",
        description='"YYYY-MM-DD" or "MM-DD". Set once: later only the year may be added or corrected.',
    )
    notifications: NotificationsUpdate | None = None
    tz: str | None = Field(
        default=None,
        max_length=64,
        description='An IANA time zone ("Asia/Yekaterinburg") for the quiet hours of messages (21:00-09:00 there); null: Europe/Moscow.',
    )

    clean_name = field_validator("name")(_name)
    clean_tz = field_validator("tz")(_tz)
    clean_email = field_validator("email")(_email)

    def sent(self, name: str) -> bool:
        """Whether the request named the field (``null`` included)."""
        return name in self.model_fields_set

    def channel_choices(self) -> dict[str, bool]:
        """The notification channels the request sets (the others stay)."""
        if self.notifications is None:
            return {}
        return {k: v for k, v in self.notifications.model_dump().items() if v is not None}


class Profile(BaseModel):
    phone: str | None = Field(default=None, description="The login phone (read-only here).")
    name: str | None = None
    email: str | None = None
    birthday: str | None = None
    notifications: Notifications
    tz: str = Field(default=DEFAULT_TZ, description="The time zone of the quiet hours of messages.")


# --- balance and level -------------------------------------------------------------------------


class LevelLabel(BaseModel):
    code: str
    name: str


class BonusesExcluded(BaseModel):
    """All a customer of a group excluded from bonuses is told."""

    level: LevelLabel
    bonuses_excluded: Literal[True] = True


class NextLevel(BaseModel):
    code: str
    name: str
    remaining_kopecks: int = Field(description="Paid purchases still needed for the next level, kopecks.")
    remaining_roubles: int = Field(description="The same, in whole roubles rounded up.")


class ExpiringSoon(BaseModel):
    days: int
    amount: int = Field(description="Bonuses (available or pending) that expire within `days` days.")
    next_expiry_at: datetime | None = None


class Balance(BaseModel):
    bonuses_excluded: Literal[False] = False
    level: LevelLabel
    next_level: NextLevel | None = Field(description="None at the top level.")
    qualifying_total_kopecks: int = Field(description="The paid purchase total the level is measured on.")
    total: int = Field(description="pending + available + reserved - debt")
    available: int = Field(description="Spendable now.")
    pending: int = Field(description="Held until the order's hold ends.")
    reserved: int = Field(description="Held by open checkouts and open payout requests.")
    held_for_payouts: int
    debt: int
    expiring_soon: ExpiringSoon


class BalanceResponse(RootModel[Balance | BonusesExcluded]):
    pass


# --- history -------------------------------------------------------------------------------------


class HistoryItem(BaseModel):
    id: str
    at: datetime
    kind: Literal["accrual", "spend", "refund", "clawback", "expiry", "adjustment", "payout_hold", "payout_release", "payout"]
    reason: str = Field(description="What happened, in Russian.")
    delta: int = Field(description="Change of the customer's bonuses, signed.")
    held: int = Field(default=0, description="Bonuses put on hold (+) or taken off hold (-) by a payout request.")
    order_id: str | None = None
    activates_at: datetime | None = Field(default=None, description="An accrual: when it becomes spendable (None: after delivery and the hold).")
    expires_at: datetime | None = None


class HistoryPage(BaseModel):
    bonuses_excluded: Literal[False] = False
    items: list[HistoryItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; None on the last page.")


class HistoryResponse(RootModel[HistoryPage | BonusesExcluded]):
    pass


# --- orders ----------------------------------------------------------------------------------------


class Delivery(BaseModel):
    carrier: str | None = None
    tracking: str | None = None
    state: str | None = Field(default=None, description="The carrier's last verdict: in_transit, delivered, not_delivered, returned.")
    detail: str | None = None
    updated_at: datetime | None = None


class OrderItem(BaseModel):
    order_id: str
    created_at: datetime | None = None
    status: str = Field(description="awaiting_payment, paid, delivered, partially_returned, returned, canceled, not_delivered")
    money_kopecks: int | None = Field(default=None, description="Money paid (or to pay), kopecks.")
    delivery: Delivery | None = None
    bonuses_spent: int | None = Field(default=None, description="Net of returns; absent for groups excluded from bonuses.")
    points_earned: int | None = Field(default=None, description="Net of returns; absent for groups excluded from bonuses.")


class OrdersPage(BaseModel):
    items: list[OrderItem]
    next_cursor: str | None


# --- partner ---------------------------------------------------------------------------------------


class ReferralRate(BaseModel):
    enabled: bool
    percent: Decimal
    next_percent: Decimal | None = None
    next_from_paying: int | None = Field(default=None, description="Paying referees from which next_percent applies.")


class PartnerMonth(BaseModel):
    month: str = Field(description="YYYY-MM (Moscow time).")
    purchases: int = Field(description="Referees' purchases rewarded (delivered) this month.")
    reward: int = Field(description="Bonuses credited less taken back on returns.")
    new_paying: int = Field(description="Referees whose first paid order fell in this month.")


class PartnerReward(BaseModel):
    """One reward on a referee's delivered order, and where it stands (never the referee or the order)."""

    amount: int = Field(description="Bonuses credited.")
    credited_at: datetime
    state: Literal["pending", "payable", "held", "paid", "spent", "clawed_back", "expired"] = Field(
        description="pending: in its hold until pending_until; payable: past it, may be paid out; held: an open payout request holds it; "
        "paid: paid out; spent: spent on purchases; clawed_back: taken back on a return; expired."
    )
    pending_until: datetime | None = Field(default=None, description="When a pending reward becomes payable (None: at a delivery not yet reported).")
    remaining: int = Field(description="Bonuses of it still on the account.")
    paid: int = Field(default=0, description="Bonuses of it paid out.")
    clawed_back: int = Field(default=0, description="Bonuses of it taken back on returns.")


class PartnerTotals(BaseModel):
    purchases: int
    reward: int


class PartnerDashboard(BaseModel):
    """Counts and sums only: never a referee's name, phone, e-mail, id or order."""

    bonuses_excluded: Literal[False] = False
    code: str = Field(description="The personal promo code.")
    link: str | None = Field(description="The personal referral link (None while KOPILKA_SHOP_URL is not set).")
    invited: int = Field(description="People the link or code brought: new accounts plus existing customers who used the code.")
    registered: int = Field(description="Accounts opened through the link or code.")
    paying: int = Field(description="Referees bound by a first paid order.")
    rate: ReferralRate
    reward_pending: int = Field(description="Reward bonuses still in their hold.")
    payable: int = Field(description="Reward bonuses past their hold and not held: what a payout may ask for (other bonuses are spendable, never payable).")
    payouts_held: int = Field(description="Bonuses held by open payout requests.")
    months: list[PartnerMonth]
    totals: PartnerTotals
    rewards: list[PartnerReward] = Field(default_factory=list, description="The latest rewards, newest first, each with its state.")
    complete: bool = Field(description="False when a count reached its read cap.")


class PartnerResponse(RootModel[PartnerDashboard | BonusesExcluded]):
    pass


# --- payouts ---------------------------------------------------------------------------------------


class PayoutRequest(_In):
    request_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$", description="Chosen by the client (e.g. a UUID): the idempotency key.")
    amount: int = Field(ge=1, le=10**9, description="Whole bonuses, at least the program's payouts.min_amount, at most the payable balance (referral rewards past their hold).")
    method: Literal[METHODS]  # type: ignore[valid-type]
    details: str = Field(
        default="",
        max_length=DETAILS_MAX,
        description='The full destination the manager pays to: the card number, the mobile phone, or for SBP the bank and the phone ("Сбербанк, +7 916 123-45-67"); '
        "kept sealed, answered masked. Empty for bonus_account.",
    )


class PayoutEvent(BaseModel):
    status: str
    at: datetime
    reason: str | None = None


class PayoutView(BaseModel):
    request_id: str
    amount: int
    method: str
    details: str = Field(description='The destination, masked ("**** 1234", "+7 *** ***-12-34").')
    status: Literal["requested", "approved", "rejected", "paid", "canceled"] = Field(description="canceled: a return's clawback took back bonuses the request held; the rest went back.")
    created_at: datetime
    updated_at: datetime
    history: list[PayoutEvent]


class Payout(PayoutView):
    replayed: bool = Field(description="True when this request had been made before (nothing changed).")


class PayoutsPage(BaseModel):
    bonuses_excluded: Literal[False] = False
    items: list[PayoutView]
    next_cursor: str | None


class PayoutsResponse(RootModel[PayoutsPage | BonusesExcluded]):
    pass


_ERRORS = (400, 401, 403, 404, 409)


class UnsubscribeQuery(BaseModel):
    token: str = Field(description="The signed token of the letter's unsubscribe link.")


class Unsubscribed(BaseModel):
    unsubscribed: bool


def _ep(method: str, path: str, summary: str, response: type[BaseModel], *, request: type[BaseModel] | None = None, query: type[BaseModel] = NoQuery, errors: tuple[int, ...] = _ERRORS) -> Endpoint:
    return Endpoint(function="account", method=method, path=path, summary=summary, request=request, response=response, auth="customer", errors=errors, query=query)


ENDPOINTS = [
    _ep("GET", "/profile", "The customer's profile: phone, name, e-mail, birthday, notification channels", Profile),
    _ep("POST", "/profile", "Change name, e-mail, birthday (once) or notification channels; only the fields sent change", Profile, request=ProfileUpdate, errors=(*_ERRORS, 413, 422)),
    _ep("GET", "/balance", "Bonuses (total, available, pending, reserved), level and the way to the next one, bonuses expiring within 30 days", BalanceResponse),
    _ep("GET", "/history", "Bonus history, newest first, with a reason in Russian (cursor pagination)", HistoryResponse, query=HistoryQuery),
    _ep("GET", "/orders", "The customer's orders: status, delivery and tracking, bonuses spent and points earned (cursor pagination)", OrdersPage, query=OrdersQuery),
    _ep("GET", "/partner", "Partner dashboard: personal code and link, invited / registered / paying counts, purchases and rewards by month (no referee data)", PartnerResponse),
    _ep("POST", "/payouts", "Ask for a payout of payable bonuses (referral rewards past their hold): card, phone, SBP or bonus account; held until a manager decides", Payout, request=PayoutRequest,
        errors=(*_ERRORS, 413, 422)),
    _ep("GET", "/payouts", "The partner's payout requests with their status (cursor pagination)", PayoutsResponse, query=PayoutsQuery),
    _ep("POST", "/stickers/redeem", "Redeem a sticker code for its batch's points (once per code: 422 sticker_used / sticker_wrong / sticker_expired; "
        "429 retry_after after a wrong code, sticker_blocked after stickers.max_failures of them)", StickerRedeemResponse, request=StickerRedeemRequest, errors=(*_ERRORS, 413, 422, 429)),
    Endpoint(function="account", method="GET", path="/unsubscribe", summary="The unsubscribe link of a letter: switch e-mail off and answer a Russian page (HTML)", response=None, auth="none",
             errors=(400,), query=UnsubscribeQuery, html=True),
    Endpoint(function="account", method="POST", path="/unsubscribe", summary="One-click unsubscribe (RFC 8058): switch e-mail off for the link's customer", request=None, response=Unsubscribed,
             auth="none", errors=(401,), query=UnsubscribeQuery),
]
