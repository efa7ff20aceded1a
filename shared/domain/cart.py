"""Cart maths: one pure function from (config, customer, cart, promo, bonuses, now) to a quote.

The quote says, per line and in total: the discount, whether the line may
earn and burn bonuses, the most bonuses payable, the bonuses applied, the
money to pay and the points to earn, with a readable reason (English and
Russian) for every refusal. Spent and earned bonuses are allocated to lines
so that a later partial return can be reversed exactly.

Rounding (see :mod:`shared.domain.money`): money discounts round down to the
kopeck per line; the bonus cap rounds down; points to earn are computed
exactly, rounded down once for the order and spread over the lines by
largest remainder.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from msgspec import Struct
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.accrual_rate import Earning, points_for
from shared.domain.campaigns import Campaign
from shared.domain.config import Level, ProgramConfig
from shared.domain.money import KOPECKS_PER_BONUS, bonuses_floor, distribute, percent
from shared.domain.segments import CustomerFacts

MAX_LINES = 500


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CartLine(_In):
    id: str = Field(min_length=1, max_length=64)
    sku: str = Field(default="", max_length=128)
    product: str | None = Field(default=None, min_length=1, max_length=200, description="The Tilda product UID, SKU or external id the cart carries: the catalog's key.")
    name: str = Field(default="", max_length=300)
    price: int = Field(ge=0, le=10**11, description="Unit price paid, kopecks.")
    original_price: int | None = Field(default=None, ge=0, le=10**11, description="Unit price before a shop reduction, kopecks.")
    quantity: int = Field(ge=1, le=10_000)
    product_group: str | None = Field(default=None, max_length=64)
    brand: str | None = Field(default=None, max_length=64)
    sale: bool = False
    gift_certificate: bool = False

    @property
    def amount(self) -> int:
        return self.price * self.quantity

    def document(self) -> dict[str, object]:
        """The line as JSON values; ``product`` only when the line has one (as lines were before it existed)."""
        return self.model_dump(mode="json", exclude={"product"} if self.product is None else None)

    @property
    def reduced(self) -> bool:
        return self.sale or (self.original_price is not None and self.original_price > self.price)


class PromoRule(_In):
    """A promo code's discount rule, already looked up (and limits checked) by the caller."""

    code: str = Field(min_length=1, max_length=64)
    kind: Literal["percent", "fixed", "combined"]
    percent: Decimal = Field(default=Decimal(0), ge=0, le=100)
    fixed: int = Field(default=0, ge=0, description="Kopecks off the order.")
    min_order: int = Field(default=0, ge=0)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    product_groups: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    combinable_with_bonuses: bool = True

    @model_validator(mode="after")
    def _shape(self) -> PromoRule:
        if self.kind in ("percent", "combined") and self.percent <= 0:
            raise ValueError("a percent promo needs a positive percent")
        if self.kind in ("fixed", "combined") and self.fixed <= 0:
            raise ValueError("a fixed promo needs a positive fixed amount")
        return self


class CustomerView(_In):
    """What cart maths needs to know of a customer (nothing for an anonymous visitor)."""

    customer_id: str
    level: str
    group: str
    available: int = Field(ge=0)
    facts: CustomerFacts | None = Field(default=None, description="What campaign audiences look at; none: only campaigns for everyone apply.")


class Reason(BaseModel):
    code: str
    message: str
    message_ru: str


class CampaignRef(BaseModel):
    """The campaign that raised a line's points: its code and Russian name."""

    code: str
    name: str


class QuoteLine(BaseModel):
    id: str
    quantity: int
    amount: int
    discount: int
    amount_after_discount: int
    earn_eligible: bool
    burn_eligible: bool
    bonuses_applied: int
    money_to_pay: int
    points_to_earn: int
    campaign: CampaignRef | None = Field(default=None, description="The campaign that raised this line's points, if any.")
    reasons: list[Reason] = []


class Quote(BaseModel):
    cart_fingerprint: str
    anonymous: bool
    bonuses_excluded: bool
    level: str = Field(description="The level code; shown as a label even to groups excluded from bonuses.")
    level_name: str
    lines: list[QuoteLine]
    subtotal: int
    discount: int
    promo_code: str | None
    promo_applied: bool
    eligible_for_bonuses: int
    max_bonuses_by_rules: int
    available_bonuses: int
    max_bonuses: int
    bonuses_requested: int
    bonuses_applied: int
    money_to_pay: int
    points_to_earn: int
    potential_points: int
    potential_level: str | None
    reasons: list[Reason] = []


def _reason(code: str, message: str, message_ru: str) -> Reason:
    return Reason(code=code, message=message, message_ru=message_ru)


def cart_fingerprint(lines: list[CartLine], promo_code: str | None, bonuses: int, pays_with_gift_certificate: bool) -> str:
    """A hash binding a quote to the exact cart it was computed for."""
    payload = {
        "lines": [line.document() for line in lines],
        "promo": promo_code,
        "bonuses": bonuses,
        "gift_certificate_payment": pays_with_gift_certificate,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def _promo_discounts(config: ProgramConfig, lines: list[CartLine], promo: PromoRule, subtotal: int, now: datetime) -> tuple[dict[str, int], list[Reason]]:
    if promo.valid_from and now < promo.valid_from:
        return {}, [_reason("promo_not_started", f"promo code {promo.code} is not valid yet", f"Промокод {promo.code} ещё не действует.")]
    if promo.valid_to and now >= promo.valid_to:
        return {}, [_reason("promo_expired", f"promo code {promo.code} has expired", f"Срок действия промокода {promo.code} истёк.")]
    if subtotal < promo.min_order:
        rub = promo.min_order // 100
        return {}, [_reason("promo_min_order", f"promo code {promo.code} needs an order of at least {rub} RUB", f"Промокод {promo.code} действует от суммы заказа {rub} ₽.")]

    def in_scope(line: CartLine) -> bool:
        if line.gift_certificate:
            return False
        if line.reduced and not config.exclusions.discount_on_reduced_price:
            return False
        if promo.product_groups and line.product_group not in promo.product_groups:
            return False
        return not (promo.brands and line.brand not in promo.brands)

    scoped = [line for line in lines if in_scope(line)]
    if not scoped:
        return {}, [_reason("promo_no_eligible_items", f"promo code {promo.code} applies to none of the items", f"Промокод {promo.code} не распространяется на товары в корзине.")]
    discounts = {line.id: 0 for line in scoped}
    if promo.kind in ("percent", "combined"):
        for line in scoped:
            discounts[line.id] = int(Fraction(line.amount) * percent(promo.percent) // 1)
    if promo.kind in ("fixed", "combined"):
        rest = {line.id: line.amount - discounts[line.id] for line in scoped}
        fixed = min(promo.fixed, sum(rest.values()))
        for line_id, part in distribute(fixed, rest).items():
            discounts[line_id] += part
    return discounts, []


def _burn_refusal(config: ProgramConfig, line: CartLine) -> Reason | None:
    if line.gift_certificate:
        return _reason("gift_certificate_no_bonuses", "gift certificates cannot be paid with bonuses", "Подарочный сертификат нельзя оплатить бонусами.")
    if line.reduced and not config.exclusions.sale_items_burn:
        return _reason("sale_item_no_burn", "items on sale cannot be paid with bonuses", "Товары по акции нельзя оплатить бонусами.")
    if line.product_group in config.exclusions.excluded_product_groups or line.brand in config.exclusions.excluded_brands:
        return _reason("excluded_item_no_burn", "this item is excluded from the bonus program", "Товар не участвует в бонусной программе.")
    return None


def _earn_refusal(config: ProgramConfig, line: CartLine) -> Reason | None:
    if line.gift_certificate and not config.exclusions.gift_certificates_earn:
        return _reason("gift_certificate_no_earn", "gift certificates earn no bonuses", "За подарочный сертификат бонусы не начисляются.")
    if line.reduced and not config.exclusions.sale_items_earn:
        return _reason("sale_item_no_earn", "items on sale earn no bonuses", "За товары по акции бонусы не начисляются.")
    if line.product_group in config.exclusions.excluded_product_groups or line.brand in config.exclusions.excluded_brands:
        return _reason("excluded_item_no_earn", "this item is excluded from the bonus program", "Товар не участвует в бонусной программе.")
    return None


def distribute_capped(total: int, weights: dict[str, int], caps: dict[str, int]) -> dict[str, int]:
    """Largest-remainder split of ``total`` over ``weights`` where no key exceeds its cap."""
    result = {key: 0 for key in weights}
    open_keys = [key for key in weights if caps[key] > 0 and weights[key] > 0]
    left = total
    while left and open_keys:
        shares = distribute(left, {key: weights[key] for key in open_keys})
        over = [key for key in open_keys if result[key] + shares[key] > caps[key]]
        if not over:
            for key in open_keys:
                result[key] += shares[key]
            break
        for key in over:
            left -= caps[key] - result[key]
            result[key] = caps[key]
        open_keys = [key for key in open_keys if key not in over]
    return result


def require_unique_line_ids(lines: list[CartLine]) -> list[CartLine]:
    """The cart's lines, refused with a :class:`ValueError` naming the first id that appears twice."""
    seen: set[str] = set()
    for line in lines:
        if line.id in seen:
            raise ValueError(f"line id {line.id!r} appears twice")
        seen.add(line.id)
    return lines


class _Pricing(Struct, frozen=True):
    """A cart's figures before bonuses: its level, the promo discount per line and what is left to pay."""

    level: Level
    excluded: bool
    subtotal: int
    discounts: dict[str, int]
    promo_applied: bool
    after: dict[str, int]  # per line: the amount after the promo discount


class _Burn(Struct, frozen=True):
    """Which lines bonuses may pay for, the order's cap, and the bonuses applied per line."""

    burnable: dict[str, int]
    block: Reason | None  # why bonuses cannot pay for this order at all
    cap: int
    available: int
    max_bonuses: int
    applied: int
    spent: dict[str, int]


class _Earn(Struct, frozen=True):
    """The money paid per line, the lines that earn, and the points they earn (now and at best)."""

    money: dict[str, int]
    earnable: dict[str, int]
    earned: dict[str, int]
    campaigns: dict[str, Campaign]
    potential_level: Level | None
    potential: int


def _price(config: ProgramConfig, customer: CustomerView | None, lines: list[CartLine], *, now: datetime, promo: PromoRule | None, promo_code: str | None, reasons: list[Reason]) -> _Pricing:
    """The customer's level and group, and the promo code's discount on each line."""
    level = config.level(customer.level) if customer and customer.level in {lv.code for lv in config.levels} else config.levels[0]
    excluded = bool(customer and config.group(customer.group).bonuses_excluded)
    subtotal = sum(line.amount for line in lines)
    discounts: dict[str, int] = {}
    if promo is not None:
        discounts, promo_reasons = _promo_discounts(config, lines, promo, subtotal, now)
        reasons += promo_reasons
    elif promo_code:
        reasons.append(_reason("promo_unknown", f"promo code {promo_code} does not exist or is not active", f"Промокод {promo_code} не найден или не действует."))
    promo_applied = bool(discounts) and sum(discounts.values()) > 0
    after = {line.id: line.amount - discounts.get(line.id, 0) for line in lines}
    return _Pricing(level, excluded, subtotal, discounts, promo_applied, after)


def _order_burn_block(config: ProgramConfig, pricing: _Pricing, promo: PromoRule | None, pays_with_gift_certificate: bool) -> Reason | None:
    """Why no bonuses at all may pay for this order (``None``: they may, line by line)."""
    if pricing.excluded:
        return _reason("group_excluded", "your customer group does not take part in the bonus program", "Ваша группа покупателей не участвует в бонусной программе.")
    if pays_with_gift_certificate and not config.exclusions.gift_certificates_with_bonuses:
        return _reason("gift_certificate_payment", "an order paid with a gift certificate cannot also be paid with bonuses", "Нельзя одновременно оплатить заказ подарочным сертификатом и бонусами.")
    if pricing.promo_applied and not (config.exclusions.promo.burn and promo is not None and promo.combinable_with_bonuses):
        return _reason("promo_no_burn", "bonuses cannot be combined with this promo code", "Бонусы нельзя использовать вместе с этим промокодом.")
    if pricing.subtotal < config.redemption.min_order:
        rub = config.redemption.min_order // 100
        return _reason("min_order_for_bonuses", f"bonuses can be used on orders from {rub} RUB", f"Бонусами можно оплатить заказ от {rub} ₽.")
    return None


def _bonus_cap(config: ProgramConfig, level: Level, burnable: dict[str, int]) -> int:
    """The most bonuses the rules let pay for the burnable lines (0 below the minimum bonus payment)."""
    cap = bonuses_floor(Fraction(sum(burnable.values())) * percent(level.max_redeem_percent))
    cap = min(cap, sum(amount // KOPECKS_PER_BONUS for amount in burnable.values()))
    if config.redemption.max_bonuses is not None:
        cap = min(cap, config.redemption.max_bonuses)
    if cap < config.redemption.min_bonuses:
        cap = 0  # the order cannot carry the minimum bonus payment
    return cap


def _cap_reasons(config: ProgramConfig, level: Level, *, requested: int, cap: int, available: int) -> list[Reason]:
    """Why fewer bonuses than requested can be applied: the cap, or the customer's balance."""
    reasons = []
    if requested > cap:
        share = format(level.max_redeem_percent.normalize(), "f")
        if config.redemption.max_bonuses is not None and cap == config.redemption.max_bonuses:
            reasons.append(_reason("bonus_cap", f"at most {cap} bonuses can be used on one order", f"Бонусами можно оплатить не более {cap} за один заказ."))
        elif cap == 0 and config.redemption.min_bonuses:
            reasons.append(_reason("below_min_bonuses", f"this order cannot carry the minimum payment of {config.redemption.min_bonuses} bonuses",
                f"Минимальное списание — {config.redemption.min_bonuses} бонусов; для этого заказа оно недоступно."))
        else:
            reasons.append(_reason("bonus_cap", f"at most {cap} bonuses ({share}% of the eligible sum) can be used on this order", f"Бонусами можно оплатить не более {cap} ({share}% суммы заказа)."))
    if requested > available and available < cap:
        reasons.append(_reason("insufficient_bonuses", f"only {available} bonuses are available", f"Доступно только {available} бонусов."))
    return reasons


def _burn(
    config: ProgramConfig,
    customer: CustomerView | None,
    lines: list[CartLine],
    pricing: _Pricing,
    *,
    promo: PromoRule | None,
    bonuses_requested: int,
    pays_with_gift_certificate: bool,
    reasons: list[Reason],
    line_reasons: dict[str, list[Reason]],
) -> _Burn:
    """Which lines bonuses may pay for, how many bonuses apply, and their split over the lines."""
    block = _order_burn_block(config, pricing, promo, pays_with_gift_certificate)
    burnable: dict[str, int] = {}
    if block is None:
        for line in lines:
            refusal = _burn_refusal(config, line)
            if refusal:
                line_reasons[line.id].append(refusal)
            elif pricing.after[line.id] > 0:
                burnable[line.id] = pricing.after[line.id]
    cap = _bonus_cap(config, pricing.level, burnable)
    available = customer.available if customer and not pricing.excluded else 0
    max_bonuses = min(cap, available)
    applied = min(bonuses_requested, max_bonuses)
    if bonuses_requested and block:
        reasons.append(block)
    elif bonuses_requested and customer is None:
        reasons.append(_reason("login_required", "log in to pay with bonuses", "Войдите, чтобы оплатить бонусами."))
    elif bonuses_requested:
        reasons += _cap_reasons(config, pricing.level, requested=bonuses_requested, cap=cap, available=available)
        if 0 < applied < config.redemption.min_bonuses:
            reasons.append(_reason("below_min_bonuses", f"at least {config.redemption.min_bonuses} bonuses must be used at once", f"Минимальное списание — {config.redemption.min_bonuses} бонусов."))
            applied = 0
    elif block and block.code != "group_excluded":
        reasons.append(block)
    burn_caps = {line_id: amount // KOPECKS_PER_BONUS for line_id, amount in burnable.items()}
    spent = distribute_capped(applied, burnable, burn_caps) if applied else {}
    return _Burn(burnable, block, cap, available, max_bonuses, applied, spent)


def _earn(
    config: ProgramConfig, customer: CustomerView | None, lines: list[CartLine], pricing: _Pricing, burn: _Burn, *, now: datetime, reasons: list[Reason], line_reasons: dict[str, list[Reason]]
) -> _Earn:
    """The money left to pay per line and the points it earns, for this customer and at the top level."""
    money = {line.id: pricing.after[line.id] - burn.spent.get(line.id, 0) * KOPECKS_PER_BONUS for line in lines}
    earnable: dict[str, int] = {}
    earn_block: Reason | None = None
    if pricing.excluded:
        earn_block = burn.block
    elif pricing.promo_applied and not config.exclusions.promo.earn:
        earn_block = _reason("promo_no_earn", "orders with this promo code earn no bonuses", "Заказы с промокодом не участвуют в начислении бонусов.")
        reasons.append(earn_block)
    for line in lines:
        refusal = None if earn_block else _earn_refusal(config, line)
        if refusal:
            line_reasons[line.id].append(refusal)
        elif earn_block is None and money[line.id] > 0:
            earnable[line.id] = money[line.id]
    by_id = {line.id: line for line in lines}
    rate = config.exclusions.promo.accrual_percent if pricing.promo_applied else None
    facts = customer.facts if customer else None
    earning = points_for(config, pricing.level, earnable, by_id, rate, facts=facts, now=now) if earnable else Earning({}, {})
    potential_level = config.top_level if not pricing.excluded else None
    potential = 0
    if potential_level is not None:
        base = {line_id: pricing.after[line_id] for line_id in earnable} if customer is None else earnable
        top_facts = facts.model_copy(update={"level": potential_level.code}) if facts else None
        potential = sum(points_for(config, potential_level, base, by_id, rate, facts=top_facts, now=now).points.values()) if base else 0
    return _Earn(money, earnable, earning.points, earning.campaigns, potential_level, potential)


def quote(
    config: ProgramConfig,
    customer: CustomerView | None,
    lines: list[CartLine],
    *,
    now: datetime,
    promo: PromoRule | None = None,
    promo_code: str | None = None,
    bonuses_requested: int = 0,
    pays_with_gift_certificate: bool = False,
) -> Quote:
    """Price a cart for a customer (or an anonymous visitor). Pure; writes nothing.

    ``promo`` is the resolved rule of the code the customer typed
    (``promo_code``); an unknown code is passed as ``promo_code`` with no rule.
    The steps: the promo discount per line (:func:`_price`), the bonuses that
    may and do pay for each line (:func:`_burn`), then the money left to pay
    and the points it earns (:func:`_earn`).
    """
    if not lines:
        raise ValueError("a cart needs at least one line")
    require_unique_line_ids(lines)
    if bonuses_requested < 0:
        raise ValueError("bonuses_requested must not be negative")
    reasons: list[Reason] = []
    line_reasons: dict[str, list[Reason]] = {line.id: [] for line in lines}
    code = promo.code if promo else promo_code
    pricing = _price(config, customer, lines, now=now, promo=promo, promo_code=promo_code, reasons=reasons)
    burn = _burn(config, customer, lines, pricing, promo=promo, bonuses_requested=bonuses_requested, pays_with_gift_certificate=pays_with_gift_certificate, reasons=reasons, line_reasons=line_reasons)
    earn = _earn(config, customer, lines, pricing, burn, now=now, reasons=reasons, line_reasons=line_reasons)
    quote_lines = [
        QuoteLine(
            id=line.id,
            quantity=line.quantity,
            amount=line.amount,
            discount=pricing.discounts.get(line.id, 0),
            amount_after_discount=pricing.after[line.id],
            earn_eligible=line.id in earn.earnable,
            burn_eligible=line.id in burn.burnable,
            bonuses_applied=burn.spent.get(line.id, 0),
            money_to_pay=earn.money[line.id],
            points_to_earn=earn.earned.get(line.id, 0),
            campaign=CampaignRef(code=earn.campaigns[line.id].code, name=earn.campaigns[line.id].name) if line.id in earn.campaigns else None,
            reasons=line_reasons[line.id],
        )
        for line in lines
    ]
    excluded = pricing.excluded
    return Quote(
        cart_fingerprint=cart_fingerprint(lines, code, bonuses_requested, pays_with_gift_certificate),
        anonymous=customer is None,
        bonuses_excluded=excluded,
        level=pricing.level.code,
        level_name=pricing.level.name,
        lines=quote_lines,
        subtotal=pricing.subtotal,
        discount=sum(pricing.discounts.values()),
        promo_code=code,
        promo_applied=pricing.promo_applied,
        eligible_for_bonuses=0 if excluded else sum(burn.burnable.values()),
        max_bonuses_by_rules=0 if excluded else burn.cap,
        available_bonuses=burn.available,
        max_bonuses=burn.max_bonuses,
        bonuses_requested=bonuses_requested,
        bonuses_applied=burn.applied,
        money_to_pay=sum(earn.money.values()),
        points_to_earn=sum(earn.earned.values()),
        potential_points=earn.potential,
        potential_level=earn.potential_level.code if earn.potential_level else None,
        reasons=reasons,
    )


def catalog_preview(config: ProgramConfig, customer: CustomerView | None, products: list[CartLine], *, now: datetime) -> dict[str, tuple[int, int]]:
    """Points each product (one unit) would earn: (for this customer or a new one, at best)."""
    result = {}
    for product in products:
        single = product.model_copy(update={"quantity": 1})
        q = quote(config, customer, [single], now=now)
        result[product.id] = (q.points_to_earn, q.potential_points)
    return result
