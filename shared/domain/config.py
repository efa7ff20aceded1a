"""The loyalty program as data.

One :class:`ProgramConfig` document describes a shop's whole program: levels,
groups, coefficients, exclusions, welcome bonuses, holds, lifetimes, the
referral schedule, the clawback policy, the payout minimum, the rounding rule
and the thresholds of the back office's maker-checker approvals. It is
validated here (pydantic v2), stored versioned with an effective date, and
every rule in the engine reads it; no program is hard-coded.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.domain.campaigns import Campaign
from shared.domain.errors import ValidationFailed
from shared.domain.message_config import Messages
from shared.domain.messages import Trigger

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=3)]
Coefficient = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
Kopecks = Annotated[int, Field(ge=0)]
Bonuses = Annotated[int, Field(ge=0)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LevelBasisKind(str, Enum):
    LIFETIME = "lifetime"
    ROLLING = "rolling"


class LevelBasis(_Model):
    """What the level thresholds are measured on: the customer's paid total."""

    kind: LevelBasisKind = LevelBasisKind.LIFETIME
    window_days: int | None = Field(default=None, ge=1, le=3660)
    downgrade: bool = Field(default=False, description="Let the sweep move customers down when the window total falls.")

    @model_validator(mode="after")
    def _window(self) -> LevelBasis:
        if self.kind is LevelBasisKind.ROLLING and self.window_days is None:
            raise ValueError("window_days is required for a rolling level basis")
        if self.kind is LevelBasisKind.LIFETIME and self.downgrade:
            raise ValueError("downgrade needs a rolling level basis: a lifetime total never falls")
        return self


class Level(_Model):
    code: Code
    name: str = Field(min_length=1, max_length=80)
    threshold: Kopecks = Field(description="Paid purchase total (kopecks) that enters this level.")
    accrual_percent: Percent
    max_redeem_percent: Percent = Field(default=Decimal(50), description="Share of the eligible order sum payable with bonuses.")
    privileges: tuple[str, ...] = ()


class CustomerGroup(_Model):
    code: Code
    name: str = Field(min_length=1, max_length=80)
    bonuses_excluded: bool = False


class Coefficients(_Model):
    """Multipliers of the accrual percent per product group and per brand."""

    product_groups: dict[Code, Coefficient] = Field(default_factory=dict)
    brands: dict[Code, Coefficient] = Field(default_factory=dict)
    combine: Literal["multiply", "max"] = "multiply"


class PromoConditions(_Model):
    """How bonuses behave on an order that carries a promo code."""

    earn: bool = True
    burn: bool = True
    accrual_percent: Percent | None = Field(default=None, description="Fixed accrual percent instead of the level's, if set.")


class Exclusions(_Model):
    sale_items_earn: bool = True
    sale_items_burn: bool = True
    discount_on_reduced_price: bool = Field(default=True, description="May a promo discount apply to an already reduced price?")
    gift_certificates_with_bonuses: bool = Field(default=True, description="May one order combine a gift certificate and a bonus payment?")
    gift_certificates_earn: bool = False
    excluded_product_groups: tuple[Code, ...] = ()
    excluded_brands: tuple[Code, ...] = ()
    promo: PromoConditions = PromoConditions()


class Redemption(_Model):
    min_bonuses: Bonuses = 0
    max_bonuses: Bonuses | None = None
    min_order: Kopecks = 0

    @model_validator(mode="after")
    def _bounds(self) -> Redemption:
        if self.max_bonuses is not None and self.max_bonuses < self.min_bonuses:
            raise ValueError("max_bonuses must not be below min_bonuses")
        return self


class Welcome(_Model):
    standard: Bonuses = 0
    invited: Bonuses = 0
    activation_days: int = Field(default=0, ge=0, le=365)
    lifetime_days: int | None = Field(default=None, ge=1, le=3660, description="Defaults to the program's lot lifetime.")


class ReferralStep(_Model):
    from_paying_referees: int = Field(ge=0, description="Rate applies once the partner has this many paying referees.")
    percent: Percent


class Referral(_Model):
    enabled: bool = True
    schedule: tuple[ReferralStep, ...] = (ReferralStep(from_paying_referees=0, percent=Decimal(5)),)
    hold_days: int | None = Field(default=None, ge=0, le=365, description="Defaults to the program's hold days.")
    max_depth: int = Field(default=1, ge=1, le=1)

    @field_validator("schedule")
    @classmethod
    def _ascending(cls, steps: tuple[ReferralStep, ...]) -> tuple[ReferralStep, ...]:
        if not steps or steps[0].from_paying_referees != 0:
            raise ValueError("the first step must start at 0 paying referees")
        counts = [s.from_paying_referees for s in steps]
        if counts != sorted(set(counts)):
            raise ValueError("steps must have strictly ascending from_paying_referees")
        return steps


class Clawback(_Model):
    """What happens to accruals of a returned purchase.

    The bonuses are taken from the order's own lot first, then from other
    pending lots, then from available ones (earliest expiry first). What is
    still missing is either forgiven (``floor``: never below zero) or kept as
    a debt that later accruals repay (``allow_negative``).
    """

    negative_balance: Literal["floor", "allow_negative"] = "floor"


class Approvals(_Model):
    """When a back-office change waits for a second person (maker-checker). Bonuses, credits and
    debits alike; "past" means above: a change that reaches a threshold exactly is done at once."""

    adjustments_per_customer: Bonuses = Field(
        default=5000, description="A maker's adjustments and mass accruals to one customer over a rolling 24 hours past which the next one waits for approval."
    )
    adjustments_total: Bonuses = Field(default=20000, description="A maker's adjustments and mass accruals to all customers over a rolling 24 hours, likewise.")
    mass_accrual_total: Bonuses = Field(default=5000, description="A mass accrual whose amount × customers passes this waits for approval.")


class Payouts(_Model):
    """What a partner may cash out: only referral rewards past their hold, from ``min_amount`` bonuses."""

    min_amount: int = Field(default=500, ge=1, le=10**9, description="The smallest payout a partner may ask for, in bonuses.")


FallbackDays = Annotated[int, Field(ge=0, le=365)]


class Shipping(_Model):
    """When a purchase's bonuses activate with no carrier to report its delivery (pickup, the shop's
    own courier, a carrier Kopilka does not track): a fallback per shipping method."""

    fallback_days: dict[Code, FallbackDays] = Field(
        default_factory=dict,
        description="Shipping method -> days after payment at which an order no carrier (nor a manager) reported delivered counts as delivered, its bonuses active from then.",
    )
    default_fallback_days: FallbackDays | None = Field(
        default=None,
        description="The same for an order whose method is not listed or unknown; none: such orders wait for a carrier's or a manager's delivered.",
    )

    def fallback_for(self, method: str | None) -> int | None:
        """Days after payment of the fallback of an order shipped by ``method`` (``None``: no fallback)."""
        if method is not None and method in self.fallback_days:
            return self.fallback_days[method]
        return self.default_fallback_days


class Payments(_Model):
    """How far the payment providers' figures are trusted."""

    refund_lines_tolerance: Kopecks = Field(
        default=100,
        le=1_000_000,
        description="A partial refund that names its lines must refund the money paid for those units within this many kopecks (receipt rounding); otherwise nothing is returned.",
    )
    yoomoney_max_fee_percent: Percent = Field(
        default=Decimal(3),
        description="YooMoney's fee at most: the signed credited amount must be within this share below the unsigned withdraw_amount, else the transfer is not settled.",
    )
    receipt: bool = Field(default=False, description="Send a 54-FZ receipt (the customer's phone or e-mail, every line) with each YooKassa payment Kopilka creates at checkout.")
    receipt_vat_code: int = Field(default=1, ge=1, le=12, description="YooKassa's vat_code of the receipt's items (1: without VAT).")
    receipt_payment_subject: Literal["commodity", "service", "job", "payment"] = Field(default="commodity", description="payment_subject of the receipt's items.")
    receipt_payment_mode: Literal["full_payment", "full_prepayment"] = Field(default="full_payment", description="payment_mode of the receipt's items.")


class GiftCertificateMarker(_Model):
    """How an imported product is known to be a gift certificate: its shop category is one of
    ``categories``, or its ``field`` (a CSV column such as ``Mark``, a YML offer ``param`` name)
    is non-empty and not ``0``/``no``/``false``/``нет``."""

    categories: tuple[str, ...] = ()
    field: str | None = Field(default=None, min_length=1, max_length=120)


class CatalogSettings(_Model):
    """The shop's product catalog: how its exports map onto the program, and what a line the
    catalog does not know earns (see :mod:`shared.domain.catalog`)."""

    missing_product: Literal["refuse", "base_rate"] = Field(
        default="base_rate",
        description="A cart line whose product the catalog does not know: refuse the cart (422), or earn at the base rate with no coefficient and no flag the browser sent.",
    )
    categories: dict[str, Code] = Field(default_factory=dict, description="Shop category (as exported, case-insensitive) -> program product group.")
    brands: dict[str, Code] = Field(default_factory=dict, description="Brand (as exported, case-insensitive) -> program brand.")
    gift_certificate: GiftCertificateMarker = GiftCertificateMarker()
    feed_url: str | None = Field(default=None, max_length=2000, pattern=r"^https://\S+$", description="A YML product feed the sweep imports on every run (https only).")


class EarningEvent(str, Enum):
    FIRST_ORDER = "first_order"
    BIRTHDAY = "birthday"
    REVIEW = "review"
    NEWSLETTER = "newsletter"
    REPOST = "repost"
    STICKER_CODE = "sticker_code"


class EarningRule(_Model):
    """A bonus for an event other than a purchase; credited once per natural key."""

    code: Code
    event: EarningEvent
    amount: Bonuses
    activation_days: int = Field(default=0, ge=0, le=365)
    lifetime_days: int | None = Field(default=None, ge=1, le=3660)
    active_from: datetime | None = None
    active_to: datetime | None = None
    groups: tuple[Code, ...] = ()
    registered_after: datetime | None = Field(default=None, description="Only customers registered at or after this moment.")
    registered_before: datetime | None = Field(default=None, description="Only customers registered before this moment.")
    paid_total_min: Kopecks | None = Field(default=None, description="Only customers whose paid purchase total (kopecks) is at least this.")
    paid_total_max: Kopecks | None = Field(default=None, description="Only customers whose paid purchase total (kopecks) is at most this.")
    min_order_total: Kopecks | None = Field(default=None, description="An order-linked event: only an order of at least this total (kopecks).")
    skus: tuple[Annotated[str, Field(min_length=1, max_length=120)], ...] = Field(default=(), description="Only these products (SKUs): a review's product, an order's lines.")
    categories: tuple[Code, ...] = Field(default=(), description="Only products of these program product groups.")
    max_per_period: int | None = Field(default=None, ge=1, le=10000, description="At most this many credits of the rule per customer per period (reposts).")
    period_days: int = Field(default=30, ge=1, le=3660, description="The period of max_per_period, in days.")

    @model_validator(mode="after")
    def _windows(self) -> EarningRule:
        if self.active_from is not None and self.active_to is not None and self.active_to <= self.active_from:
            raise ValueError("active_to must be after active_from")
        if self.registered_after is not None and self.registered_before is not None and self.registered_before <= self.registered_after:
            raise ValueError("registered_before must be after registered_after")
        if self.paid_total_min is not None and self.paid_total_max is not None and self.paid_total_max < self.paid_total_min:
            raise ValueError("paid_total_max must not be below paid_total_min")
        return self


class Stickers(_Model):
    """How sticker codes are guarded against guessing: each wrong code doubles the wait before
    the next attempt (from ``first_delay_seconds`` up to ``max_delay_seconds``), and
    ``max_failures`` wrong codes block redemption for the customer and the address for ``block_minutes``."""

    max_failures: int = Field(default=20, ge=1, le=1000)
    block_minutes: int = Field(default=60, ge=1, le=10080)
    first_delay_seconds: int = Field(default=1, ge=0, le=3600)
    max_delay_seconds: int = Field(default=60, ge=0, le=3600)


class ProgramConfig(_Model):
    """A whole loyalty program. Validated as a unit: any error refuses all of it."""

    program: Code
    name: str = Field(min_length=1, max_length=120)
    currency: Literal["RUB"] = "RUB"
    rounding: Literal["floor"] = Field(default="floor", description="Accruals round down once per order; see shared.domain.money.")
    levels: tuple[Level, ...] = Field(min_length=1, max_length=12)
    level_basis: LevelBasis = LevelBasis()
    groups: tuple[CustomerGroup, ...] = (CustomerGroup(code="b2c", name="Розница"),)
    default_group: Code = "b2c"
    coefficients: Coefficients = Coefficients()
    exclusions: Exclusions = Exclusions()
    redemption: Redemption = Redemption()
    welcome: Welcome = Welcome()
    hold_days: int = Field(default=14, ge=0, le=365)
    lot_lifetime_days: int = Field(default=365, ge=1, le=3660)
    referral: Referral = Referral()
    clawback: Clawback = Clawback()
    payouts: Payouts = Payouts()
    reservation_timeout_minutes: int = Field(default=60, ge=1, le=10080)
    earning_rules: tuple[EarningRule, ...] = ()
    approvals: Approvals = Approvals()
    payments: Payments = Payments()
    shipping: Shipping = Shipping()
    catalog: CatalogSettings = CatalogSettings()
    stickers: Stickers = Stickers()
    messages: Messages = Messages()
    campaigns: tuple[Campaign, ...] = Field(default=(), max_length=200, description="Time-boxed raised accruals; see shared.domain.campaigns for how they combine.")

    @field_validator("levels")
    @classmethod
    def _levels_ordered(cls, levels: tuple[Level, ...]) -> tuple[Level, ...]:
        if levels[0].threshold != 0:
            raise ValueError("the first level must have threshold 0")
        thresholds = [level.threshold for level in levels]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("level thresholds must be strictly ascending")
        codes = [level.code for level in levels]
        if len(set(codes)) != len(codes):
            raise ValueError("level codes must be unique")
        return levels

    @model_validator(mode="after")
    def _references(self) -> ProgramConfig:
        group_codes = [g.code for g in self.groups]
        if len(set(group_codes)) != len(group_codes):
            raise ValueError("groups: group codes must be unique")
        if self.default_group not in group_codes:
            raise ValueError(f"default_group: '{self.default_group}' is not one of the groups")
        rule_codes = [r.code for r in self.earning_rules]
        if len(set(rule_codes)) != len(rule_codes):
            raise ValueError("earning_rules: codes must be unique")
        for rule in self.earning_rules:
            unknown = set(rule.groups) - set(group_codes)
            if unknown:
                raise ValueError(f"earning_rules.{rule.code}.groups: unknown groups {sorted(unknown)}")
        problems = self.messages.problems()
        if problems:
            raise ValueError(problems[0])
        self._check_campaigns(group_codes)
        return self

    def _check_campaigns(self, group_codes: list[str]) -> None:
        """Unique campaign codes; the levels and groups every audience and message segment names exist."""
        codes = [c.code for c in self.campaigns]
        if len(set(codes)) != len(codes):
            raise ValueError("campaigns: codes must be unique")
        level_codes = {level.code for level in self.levels}
        audiences = [(f"campaigns.{c.code}.audience", c.audience) for c in self.campaigns]
        audiences += [(f"messages.{t.value}.segment", self.messages.of(t).segment) for t in Trigger]
        for path, segment in audiences:
            unknown = set(segment.groups) - set(group_codes)
            if unknown:
                raise ValueError(f"{path}.groups: unknown groups {sorted(unknown)}")
            unknown = set(segment.levels) - level_codes
            if unknown:
                raise ValueError(f"{path}.levels: unknown levels {sorted(unknown)}")

    # -- lookups used by the rules -------------------------------------------------

    def level(self, code: str) -> Level:
        for level in self.levels:
            if level.code == code:
                return level
        raise KeyError(code)

    def group(self, code: str) -> CustomerGroup:
        for group in self.groups:
            if group.code == code:
                return group
        return self.group(self.default_group)

    def rules_for(self, event: EarningEvent, *, group: str | None, now: datetime) -> list[EarningRule]:
        """The earning rules of ``event`` active at ``now`` for a customer of ``group``."""
        return [
            rule
            for rule in self.earning_rules
            if rule.event is event
            and (rule.active_from is None or rule.active_from <= now)
            and (rule.active_to is None or now < rule.active_to)
            and (not rule.groups or (group or self.default_group) in rule.groups)
        ]

    @property
    def top_level(self) -> Level:
        return self.levels[-1]

    @property
    def welcome_lifetime_days(self) -> int:
        return self.welcome.lifetime_days or self.lot_lifetime_days

    @property
    def referral_hold_days(self) -> int:
        return self.hold_days if self.referral.hold_days is None else self.referral.hold_days


def parse_config(data: object) -> ProgramConfig:
    """Validate raw data into a config, or raise :class:`ValidationFailed` naming the fields."""
    try:
        return ProgramConfig.model_validate(data)
    except ValidationError as exc:
        raise _refused(exc) from None


class MessagesDraft(BaseModel):
    """What a draft's messages are read from: the program's name and its messages, whatever the rest holds.

    The templates' variables are not checked here (the whole config's validation refuses them):
    a draft's messages can be previewed with each refused template shown by
    :meth:`Messages.template_problems`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1, max_length=120)
    messages: Messages = Messages()


def parse_messages_draft(data: object) -> MessagesDraft:
    """A draft config's name and messages, or :class:`ValidationFailed` naming their fields as :func:`parse_config` does."""
    try:
        return MessagesDraft.model_validate(data)
    except ValidationError as exc:
        raise _refused(exc) from None


def _refused(exc: ValidationError) -> ValidationFailed:
    errors = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if not field and ": " in message:
            # cross-field checks name their field as "field.path: what is wrong"
            field, message = message.split(": ", 1)
        found: dict[str, str] = {"field": field or "(root)", "error": message, "type": err["type"]}
        limit = next((v for k, v in (err.get("ctx") or {}).items() if k in ("ge", "gt", "le", "lt", "min_length", "max_length")), None)
        if limit is not None:
            found["limit"] = str(limit)
        errors.append(found)
    fields = ", ".join(e["field"] for e in errors)
    return ValidationFailed(
        f"invalid program config: {fields}: {errors[0]['error']}",
        message_ru=f"Некорректная конфигурация программы: {fields}",
        errors=errors,
    )


class ConfigVersion(_Model):
    """A stored version of the config: what is in force from ``effective_from``."""

    version: int = Field(ge=1)
    effective_from: datetime
    config: ProgramConfig
    author: str
    reason: str = ""
    created_at: datetime
