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
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.config import Level, ProgramConfig
from shared.domain.money import KOPECKS_PER_BONUS, bonuses_floor, distribute, percent

MAX_LINES = 500


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CartLine(_In):
    id: str = Field(min_length=1, max_length=64)
    sku: str = Field(default="", max_length=128)
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


class Reason(BaseModel):
    code: str
    message: str
    message_ru: str


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
        "lines": [line.model_dump(mode="json") for line in lines],
        "promo": promo_code,
        "bonuses": bonuses,
        "gift_certificate_payment": pays_with_gift_certificate,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def coefficient(config: ProgramConfig, line: CartLine) -> Fraction:
    found = []
    if line.product_group in config.coefficients.product_groups:
        found.append(Fraction(config.coefficients.product_groups[line.product_group]))
    if line.brand in config.coefficients.brands:
        found.append(Fraction(config.coefficients.brands[line.brand]))
    if not found:
        return Fraction(1)
    if config.coefficients.combine == "max":
        return max(found)
    result = Fraction(1)
    for value in found:
        result *= value
    return result


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
        if promo.brands and line.brand not in promo.brands:
            return False
        return True

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


def points_for(config: ProgramConfig, level: Level, amounts: dict[str, int], lines: dict[str, CartLine], rate: Decimal | None = None) -> dict[str, int]:
    """Points earned per line on the money paid per line: exact, floored once, spread by largest remainder."""
    exact = {line_id: Fraction(amount) * percent(rate if rate is not None else level.accrual_percent) * coefficient(config, lines[line_id]) for line_id, amount in amounts.items()}
    total = bonuses_floor(sum(exact.values(), Fraction(0)))
    return distribute(total, exact) if total else {line_id: 0 for line_id in amounts}


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
    """
    if not lines:
        raise ValueError("a cart needs at least one line")
    if len({line.id for line in lines}) != len(lines):
        raise ValueError("line ids must be unique")
    if bonuses_requested < 0:
        raise ValueError("bonuses_requested must not be negative")
    by_id = {line.id: line for line in lines}
    reasons: list[Reason] = []
    line_reasons: dict[str, list[Reason]] = {line.id: [] for line in lines}
    anonymous = customer is None
    level = config.level(customer.level) if customer and customer.level in {lv.code for lv in config.levels} else config.levels[0]
    excluded = bool(customer and config.group(customer.group).bonuses_excluded)
    subtotal = sum(line.amount for line in lines)
    code = promo.code if promo else promo_code

    discounts: dict[str, int] = {}
    if promo is not None:
        discounts, promo_reasons = _promo_discounts(config, lines, promo, subtotal, now)
        reasons += promo_reasons
    elif promo_code:
        reasons.append(_reason("promo_unknown", f"promo code {promo_code} does not exist or is not active", f"Промокод {promo_code} не найден или не действует."))
    promo_applied = bool(discounts) and sum(discounts.values()) > 0
    after = {line.id: line.amount - discounts.get(line.id, 0) for line in lines}

    # --- burning ---
    burnable: dict[str, int] = {}
    order_burn_block: Reason | None = None
    if excluded:
        order_burn_block = _reason("group_excluded", "your customer group does not take part in the bonus program", "Ваша группа покупателей не участвует в бонусной программе.")
    elif pays_with_gift_certificate and not config.exclusions.gift_certificates_with_bonuses:
        order_burn_block = _reason("gift_certificate_payment", "an order paid with a gift certificate cannot also be paid with bonuses", "Нельзя одновременно оплатить заказ подарочным сертификатом и бонусами.")
    elif promo_applied and not (config.exclusions.promo.burn and promo.combinable_with_bonuses):
        order_burn_block = _reason("promo_no_burn", "bonuses cannot be combined with this promo code", "Бонусы нельзя использовать вместе с этим промокодом.")
    elif subtotal < config.redemption.min_order:
        rub = config.redemption.min_order // 100
        order_burn_block = _reason("min_order_for_bonuses", f"bonuses can be used on orders from {rub} RUB", f"Бонусами можно оплатить заказ от {rub} ₽.")
    if order_burn_block is None:
        for line in lines:
            refusal = _burn_refusal(config, line)
            if refusal:
                line_reasons[line.id].append(refusal)
            elif after[line.id] > 0:
                burnable[line.id] = after[line.id]
    eligible = sum(burnable.values())
    cap = bonuses_floor(Fraction(eligible) * percent(level.max_redeem_percent))
    cap = min(cap, sum(amount // KOPECKS_PER_BONUS for amount in burnable.values()))
    if config.redemption.max_bonuses is not None:
        cap = min(cap, config.redemption.max_bonuses)
    available = customer.available if customer and not excluded else 0
    if cap < config.redemption.min_bonuses:
        cap = 0  # the order cannot carry the minimum bonus payment
    max_bonuses = min(cap, available)
    applied = min(bonuses_requested, max_bonuses)
    if bonuses_requested and order_burn_block:
        reasons.append(order_burn_block)
    elif bonuses_requested and anonymous:
        reasons.append(_reason("login_required", "log in to pay with bonuses", "Войдите, чтобы оплатить бонусами."))
    elif bonuses_requested:
        if bonuses_requested > cap:
            share = format(level.max_redeem_percent.normalize(), "f")
            if config.redemption.max_bonuses is not None and cap == config.redemption.max_bonuses:
                reasons.append(_reason("bonus_cap", f"at most {cap} bonuses can be used on one order", f"Бонусами можно оплатить не более {cap} за один заказ."))
            elif cap == 0 and config.redemption.min_bonuses:
                reasons.append(_reason("below_min_bonuses", f"this order cannot carry the minimum payment of {config.redemption.min_bonuses} bonuses", f"Минимальное списание — {config.redemption.min_bonuses} бонусов; для этого заказа оно недоступно."))
            else:
                reasons.append(_reason("bonus_cap", f"at most {cap} bonuses ({share}% of the eligible sum) can be used on this order", f"Бонусами можно оплатить не более {cap} ({share}% суммы заказа)."))
        if bonuses_requested > available and available < cap:
            reasons.append(_reason("insufficient_bonuses", f"only {available} bonuses are available", f"Доступно только {available} бонусов."))
        if 0 < applied < config.redemption.min_bonuses:
            reasons.append(_reason("below_min_bonuses", f"at least {config.redemption.min_bonuses} bonuses must be used at once", f"Минимальное списание — {config.redemption.min_bonuses} бонусов."))
            applied = 0
    elif order_burn_block and order_burn_block.code != "group_excluded":
        reasons.append(order_burn_block)
    burn_caps = {line_id: amount // KOPECKS_PER_BONUS for line_id, amount in burnable.items()}
    spent = distribute_capped(applied, burnable, burn_caps) if applied else {}

    # --- earning ---
    money = {line.id: after[line.id] - spent.get(line.id, 0) * KOPECKS_PER_BONUS for line in lines}
    earnable: dict[str, int] = {}
    earn_block: Reason | None = None
    if excluded:
        earn_block = order_burn_block
    elif promo_applied and not config.exclusions.promo.earn:
        earn_block = _reason("promo_no_earn", "orders with this promo code earn no bonuses", "Заказы с промокодом не участвуют в начислении бонусов.")
        reasons.append(earn_block)
    for line in lines:
        refusal = None if earn_block else _earn_refusal(config, line)
        if refusal:
            line_reasons[line.id].append(refusal)
        elif earn_block is None and money[line.id] > 0:
            earnable[line.id] = money[line.id]
    rate = config.exclusions.promo.accrual_percent if promo_applied else None
    earned = points_for(config, level, earnable, by_id, rate) if earnable else {}
    potential_level = config.top_level if not excluded else None
    potential = 0
    if potential_level is not None:
        base = {line_id: after[line_id] for line_id in earnable} if anonymous else earnable
        potential = sum(points_for(config, potential_level, base, by_id, rate).values()) if base else 0

    quote_lines = [
        QuoteLine(
            id=line.id,
            quantity=line.quantity,
            amount=line.amount,
            discount=discounts.get(line.id, 0),
            amount_after_discount=after[line.id],
            earn_eligible=line.id in earnable,
            burn_eligible=line.id in burnable,
            bonuses_applied=spent.get(line.id, 0),
            money_to_pay=money[line.id],
            points_to_earn=earned.get(line.id, 0),
            reasons=line_reasons[line.id],
        )
        for line in lines
    ]
    return Quote(
        cart_fingerprint=cart_fingerprint(lines, code, bonuses_requested, pays_with_gift_certificate),
        anonymous=anonymous,
        bonuses_excluded=excluded,
        level=level.code,
        level_name=level.name,
        lines=quote_lines,
        subtotal=subtotal,
        discount=sum(discounts.values()),
        promo_code=code,
        promo_applied=promo_applied,
        eligible_for_bonuses=0 if excluded else eligible,
        max_bonuses_by_rules=0 if excluded else cap,
        available_bonuses=available,
        max_bonuses=max_bonuses,
        bonuses_requested=bonuses_requested,
        bonuses_applied=applied,
        money_to_pay=sum(money.values()),
        points_to_earn=sum(earned.values()),
        potential_points=potential,
        potential_level=potential_level.code if potential_level else None,
        reasons=reasons,
    )


@dataclass(frozen=True)
class Settlement:
    """A paid order settled on its checkout's figures, per line."""

    level: str  # the level the points were earned at
    spent: dict[str, int]  # bonuses spent per line
    paid: dict[str, int]  # money paid per line, kopecks (the agreed figures)
    earned: dict[str, int]  # points earned per line
    shortfall: int  # agreed bonuses that could not be spent at payment

    @property
    def bonuses_spent(self) -> int:
        return sum(self.spent.values())

    @property
    def money_paid(self) -> int:
        return sum(self.paid.values())

    @property
    def points_earned(self) -> int:
        return sum(self.earned.values())


def settle(
    config: ProgramConfig,
    customer: CustomerView,
    lines: list[CartLine],
    *,
    now: datetime,
    promo: PromoRule | None,
    agreed_bonuses: dict[str, int],
    agreed_money: dict[str, int],
) -> Settlement:
    """Settle a paid order on what its checkout agreed. Pure.

    The checkout quote is what the customer paid for (a payment counts only
    when it equals the order's ``money_to_pay``), so the order is not priced
    again:

    * **money paid** per line is the agreed figure (``agreed_money``), whatever
      the customer's level, balance or the program are at payment;
    * **bonuses spent** are the agreed ones (``agreed_bonuses``), but never more
      than the rules allow now (the cap of the customer's level, the minimum
      and maximum bonus payment, a group excluded from bonuses, a promo code
      not combinable with bonuses) nor more than ``customer.available`` (the
      caller passes the order's reservation, or the free balance when the
      reservation lapsed). A cut is spread over the lines in proportion to the
      agreed split, never above a line's agreed figure, and reported as
      ``shortfall``: bonuses the shop is not paid; the customer, who paid the
      agreed money, is never charged for them;
    * **points** are earned on the money paid per line (the accrual base is what
      was actually paid), at the customer's level at payment (the level the
      purchase is counted at), on the lines the rules let earn, at the promo
      code's accrual rate when the code applies.
    """
    ids = [line.id for line in lines]
    if set(agreed_bonuses) != set(ids) or set(agreed_money) != set(ids):
        raise ValueError("the agreed figures must name exactly the order's lines")
    if any(v < 0 for v in (*agreed_bonuses.values(), *agreed_money.values())):
        raise ValueError("agreed figures must not be negative")
    agreed_total = sum(agreed_bonuses.values())
    capped = quote(config, customer, lines, now=now, promo=promo, bonuses_requested=agreed_total)
    allowed = capped.bonuses_applied  # <= agreed, the rules' cap and what the customer holds
    spent = dict(agreed_bonuses) if allowed == agreed_total else distribute_capped(allowed, agreed_bonuses, agreed_bonuses)
    rules = quote(config, customer, lines, now=now, promo=promo)  # without bonuses: which lines may earn
    earnable = {ql.id: agreed_money[ql.id] for ql in rules.lines if ql.earn_eligible and agreed_money[ql.id] > 0}
    level = config.level(capped.level)
    rate = config.exclusions.promo.accrual_percent if capped.promo_applied else None
    earned = points_for(config, level, earnable, {line.id: line for line in lines}, rate) if earnable else {}
    return Settlement(
        level=level.code,
        spent={line_id: spent.get(line_id, 0) for line_id in ids},
        paid={line_id: agreed_money[line_id] for line_id in ids},
        earned={line_id: earned.get(line_id, 0) for line_id in ids},
        shortfall=agreed_total - allowed,
    )


def referral_reward(config: ProgramConfig, *, paying_referees: int, paid_by_line: dict[str, int]) -> dict[str, int]:
    """A partner's reward per line of a referee's paid purchase, by the rate schedule."""
    if not config.referral.enabled:
        return {line_id: 0 for line_id in paid_by_line}
    rate = config.referral.schedule[0].percent
    for step in config.referral.schedule:
        if paying_referees >= step.from_paying_referees:
            rate = step.percent
    exact = {line_id: Fraction(amount) * percent(rate) for line_id, amount in paid_by_line.items()}
    total = bonuses_floor(sum(exact.values(), Fraction(0)))
    return distribute(total, exact) if total else {line_id: 0 for line_id in paid_by_line}


def catalog_preview(config: ProgramConfig, customer: CustomerView | None, products: list[CartLine], *, now: datetime) -> dict[str, tuple[int, int]]:
    """Points each product (one unit) would earn: (for this customer or a new one, at best)."""
    result = {}
    for product in products:
        single = product.model_copy(update={"quantity": 1})
        q = quote(config, customer, [single], now=now)
        result[product.id] = (q.points_to_earn, q.potential_points)
    return result
