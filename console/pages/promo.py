"""Promo codes: the list with their usage, a new code (every option of a discount rule), one code's
usage, and switching a code off."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from pydantic import ValidationError

from console.app import NOTICES, FormInvalid, Page, Reply, field_errors, page, redirect, rubles
from shared.domain import errors
from shared.domain.cart import PromoRule
from shared.domain.clock import MSK
from shared.edge import entry
from shared.services import promo as promo_rules
from shared.services.admin import promos

NOTICES.update(promo_created="Промокод создан.", promo_deactivated="Промокод выключен: новые заказы его больше не примут.")

KINDS = [("percent", "Процент от заказа"), ("fixed", "Фиксированная сумма"), ("combined", "Процент и сумма")]
_MONEY = re.compile(r"^\d{1,9}([.,]\d{1,2})?$")
_CODES = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def parse_rubles(text: str) -> int:
    """``"1 500,50"`` (roubles as a person types them) -> ``150050`` kopecks; else :class:`ValueError`."""
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("₽", "")
    if not _MONEY.match(cleaned):
        raise ValueError(text)
    return int(Decimal(cleaned.replace(",", ".")) * 100)


def parse_moscow(text: str) -> datetime:
    """A ``datetime-local`` value, read as Moscow time -> an aware UTC datetime; else :class:`ValueError`."""
    return datetime.fromisoformat(text).replace(tzinfo=MSK)


def moscow_input(value: datetime | None) -> str:
    """A moment as a ``datetime-local`` value in Moscow time."""
    return "" if value is None else value.astimezone(MSK).strftime("%Y-%m-%dT%H:%M")


def _codes(text: str, name: str, problems: dict[str, str]) -> tuple[str, ...]:
    codes = tuple(dict.fromkeys(c.strip() for c in text.replace(";", ",").split(",") if c.strip()))
    if any(not _CODES.match(c) for c in codes):
        problems[name] = "Коды через запятую: латинские буквы, цифры, «_» и «-»."
    return codes


def _limit(text: str, name: str, problems: dict[str, str]) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit() or int(text) < 1:
        problems[name] = "Целое число от 1 (пусто — без ограничения)."
        return None
    return int(text)


def rule_from_form(fields: dict[str, str]) -> tuple[PromoRule, int | None, int | None]:
    """The rule and limits a filled-in form stands for; every refused field has its Russian message."""
    problems: dict[str, str] = {}
    code = promo_rules.normalize(fields.get("code", ""))
    if not code:
        problems["code"] = "Введите промокод."
    elif not promo_rules.is_well_formed(code):
        problems["code"] = "Промокод — до 64 букв, цифр, «_» и «-», без пробелов."
    kind = fields.get("kind", "")
    if kind not in {k for k, _ in KINDS}:
        problems["kind"] = "Выберите вид скидки."
    percent = Decimal(0)
    if kind in ("percent", "combined"):
        try:
            percent = Decimal(fields.get("percent", "").replace(",", ".").strip() or "x")
            if not 0 < percent <= 100:
                raise InvalidOperation
        except InvalidOperation:
            problems["percent"] = "Процент — число больше 0 и не больше 100."
    fixed = 0
    if kind in ("fixed", "combined"):
        try:
            fixed = parse_rubles(fields.get("fixed", ""))
            if fixed <= 0:
                raise ValueError
        except ValueError:
            problems["fixed"] = "Сумма скидки в рублях, больше нуля (например, 500 или 499,90)."
    min_order = 0
    if fields.get("min_order", "").strip():
        try:
            min_order = parse_rubles(fields["min_order"])
        except ValueError:
            problems["min_order"] = "Сумма в рублях (например, 3000)."
    window: dict[str, datetime | None] = {}
    for name in ("valid_from", "valid_to"):
        try:
            window[name] = parse_moscow(fields[name]) if fields.get(name, "").strip() else None
        except ValueError:
            problems[name] = "Введите дату и время."
    if window.get("valid_from") and window.get("valid_to") and window["valid_to"] <= window["valid_from"]:  # type: ignore[operator]
        problems["valid_to"] = "Окончание должно быть позже начала."
    groups = _codes(fields.get("product_groups", ""), "product_groups", problems)
    brands = _codes(fields.get("brands", ""), "brands", problems)
    total_limit = _limit(fields.get("total_limit", ""), "total_limit", problems)
    per_customer = _limit(fields.get("per_customer_limit", ""), "per_customer_limit", problems)
    if problems:
        raise FormInvalid(problems)
    try:
        rule = PromoRule(
            code=code,
            kind=kind,
            percent=percent,
            fixed=fixed,
            min_order=min_order,
            valid_from=window.get("valid_from"),
            valid_to=window.get("valid_to"),
            product_groups=groups,
            brands=brands,
            combinable_with_bonuses=fields.get("combinable_with_bonuses") == "on",
        )
    except ValidationError as exc:
        raise FormInvalid(field_errors(exc)) from exc
    return rule, total_limit, per_customer


def describe(rule: PromoRule | None) -> str:
    """A discount as the marketer reads it: ``10 %``, ``500,00 ₽`` or ``10 % + 500,00 ₽``."""
    if rule is None:
        return "—"
    percent = f"{rule.percent.normalize():f}".replace(".", ",") + "\u00a0%"
    return {"percent": percent, "fixed": rubles(rule.fixed), "combined": f"{percent} + {rubles(rule.fixed)}"}[rule.kind]


@page("GET", "/promo")
def promo_list(p: Page) -> Reply:
    p.require("promo.read")
    cursor = p.ctx.request.args.get("cursor") or None
    listed = promos.list_promos(entry.store(), p.admin, cursor=cursor, limit=50)
    discounts = {c.code: describe(None if c.rule is None else PromoRule.model_validate(c.rule)) for c in listed.codes}
    return p.render("promo_list.html", codes=listed.codes, discounts=discounts, next_cursor=listed.next_cursor, first=cursor is None)


def _new_form(p: Page, *, values: dict[str, str], errors_at: dict[str, str], status: int = 200, message: str | None = None) -> Reply:
    config = entry.config(p.now)
    known_groups = sorted(set(config.coefficients.product_groups) | set(config.catalog.categories.values()))
    known_brands = sorted(set(config.coefficients.brands) | set(config.catalog.brands.values()))
    return p.render("promo_new.html", status=status, values=values, errors=errors_at, kinds=KINDS, message=message, known_groups=known_groups, known_brands=known_brands)


@page("GET", "/promo/new")
def promo_new(p: Page) -> Reply:
    p.require("promo.create")
    return _new_form(p, values={"kind": "percent", "combinable_with_bonuses": "on"}, errors_at={})


@page("POST", "/promo/new")
def promo_create(p: Page) -> Reply:
    p.require("promo.create")
    fields = p.form()
    fields.setdefault("combinable_with_bonuses", "")
    try:
        rule, total_limit, per_customer = rule_from_form(fields)
        created = promos.create_promo(entry.store(), p.admin, rule=rule, total_limit=total_limit, per_customer_limit=per_customer, now=p.now)
    except FormInvalid as exc:
        return _new_form(p, values=fields, errors_at=exc.fields, status=400, message="Проверьте выделенные поля.")
    except errors.IdempotencyConflict:
        return _new_form(p, values=fields, errors_at={"code": "Такой промокод уже есть: выберите другой."}, status=409, message="Проверьте выделенные поля.")
    except errors.ValidationFailed as exc:
        name = str(exc.details.get("field") or "code")
        return _new_form(p, values=fields, errors_at={name: exc.message_ru or "Неверное значение."}, status=400, message="Проверьте выделенные поля.")
    return redirect(f"/promo/{created.code}?done=promo_created")


@page("GET", "/promo/{code}")
def promo_view(p: Page) -> Reply:
    p.require("promo.read")
    cursor = p.ctx.request.args.get("cursor") or None
    usage = promos.promo_usage(entry.store(), p.admin, code=p.ctx.params["code"], cursor=cursor, limit=50)
    rule = None if usage.rule is None else PromoRule.model_validate(usage.rule)
    return p.render("promo_view.html", usage=usage, rule=rule, discount=describe(rule), first=cursor is None)


@page("POST", "/promo/{code}/deactivate")
def promo_deactivate(p: Page) -> Reply:
    p.require("promo.deactivate")
    off = promos.deactivate_promo(entry.store(), p.admin, code=p.ctx.params["code"], now=p.now)
    return redirect(f"/promo/{off.code}?done=promo_deactivated")
