"""Tilda's order-form webhook body as a typed order (pure: no I/O, no clock).

What Tilda sends: ``application/x-www-form-urlencoded``
by default, JSON in some setups; the form's own fields (``Name``, ``Phone``,
``Email`` …, any case) plus ``formid``, ``tranid`` and ``payment``. ``payment``
arrives either as a JSON string or as bracketed keys (``payment[orderid]``,
``payment[products][0][name]`` …); its numbers are strings (``"485.1"``);
its products are strings (``"Name x 2 ≡ 960"``, ``"Name=1399"``) or objects
(``{name, quantity, amount, price, sku?}``). ``test=test`` is the ping Tilda
sends when the receiver is connected.

Conventions of this adapter:

* **The order** is named by a hidden form field ``kopilka_order`` that the
  storefront kit fills with the signed order token ``POST /checkout/tilda``
  answered (:mod:`shared.platform.order_tokens`): the order was placed, and
  its bonuses reserved, before the customer went to pay. The customer's
  access token never rides in a form field (Tilda copies form fields into its
  Leads, e-mails and CRM exports); an old form's ``kopilka_token`` field is
  noted (:attr:`TildaOrder.sent_customer_token`) and never read as a token.
* **Money** becomes integer kopecks exactly: amounts are parsed as decimals
  (never floats; JSON numbers included), a space or a comma as the decimal
  separator are accepted, more than two decimals is refused. In
  ``"Name x 2 ≡ 960"`` the number is the line's total, and it must divide
  into whole kopecks per unit; an object's ``price`` is the unit price and,
  when ``amount`` is also given, it must equal price × quantity.
* Lines get ids ``"1"``, ``"2"`` … in Tilda's order; a product's ``sku`` (or
  ``externalid``) is kept in ``CartLine.sku``.
* ``paid`` is Tilda's own claim (``systranid`` present and not ``"0"``); it
  is never taken as proof of payment: the payment ``systranid`` names is
  fetched from the provider. ``delivery_price`` (kopecks) is what Tilda
  added to the cart's total for delivery.

Anything malformed raises :class:`~shared.domain.errors.ValidationFailed`
naming the field.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.domain.cart import MAX_LINES, CartLine
from shared.domain.errors import ValidationFailed
from shared.domain.ids import is_digits

MAX_FIELDS = 5000
MAX_DEPTH = 6
MAX_INDEX = 9999
MAX_KOPECKS = 10**11
NAME_LENGTH = 300
FORM = "application/x-www-form-urlencoded"

_MESSAGE_RU = "Некорректные данные заказа Tilda."
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
# ASCII digits only: ``\d`` (and ``int``, ``Decimal``) would read other scripts' digits too
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_AMOUNT = r"(?P<amount>[0-9][0-9\s\u00a0\u202f.,]*?)"
_CURRENCY = r"(?:\s*(?:₽|руб\.?|р\.?|RUB|rub))?"
_TIMES = re.compile(r"(?P<name>.*\S)\s+[xх×]\s*(?P<qty>[0-9]+)\s*[≡=]\s*" + _AMOUNT + _CURRENCY + r"\s*", re.DOTALL)
_EQUALS = re.compile(r"(?P<name>.*\S)\s*[≡=]\s*" + _AMOUNT + _CURRENCY + r"\s*", re.DOTALL)


class TildaOrder(BaseModel):
    """One order from Tilda's cart form, money in kopecks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,58}$", description="Tilda's payment.orderid.")
    form_id: str | None = None
    tran_id: str | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    lines: list[CartLine] = Field(min_length=1, max_length=MAX_LINES)
    promo_code: str | None = Field(default=None, max_length=64)
    discount: int | None = Field(default=None, ge=0, description="Tilda's own discount, kopecks (informational).")
    amount: int | None = Field(default=None, ge=0, description="Tilda's order total, kopecks (informational).")
    payment_system: str | None = None
    systranid: str | None = None
    paid: bool = False
    delivery_price: int | None = Field(default=None, ge=0, description="Tilda's delivery price, kopecks (in the amount paid).")
    kopilka_order: str | None = Field(default=None, max_length=65536, description="The signed order token the storefront kit put in the form.")
    sent_customer_token: bool = Field(default=False, description="An old form's kopilka_token field was present (never read).")


def _invalid(message: str, field: str) -> ValidationFailed:
    return ValidationFailed(message, message_ru=_MESSAGE_RU, field=field)


# --- the body as nested fields --------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _json(text: str, field: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _invalid(f"{field} is not valid JSON", field) from None


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        items = {key: _listify(value) for key, value in node.items()}
        if items and all(isinstance(key, str) and is_digits(key) for key in items):
            return [items[key] for key in sorted(items, key=int)]
        return items
    if isinstance(node, list):
        return [_listify(value) for value in node]
    return node


def _nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``a[b][0][c]=v`` pairs as nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.fullmatch(key)
        if match is None:
            root[key] = value
            continue
        parts = [match.group(1), *_BRACKETS.findall(match.group(2))]
        if len(parts) > MAX_DEPTH:
            raise _invalid(f"field {key!r} is nested too deeply", key)
        node = root
        for depth, part in enumerate(parts):
            if part == "":
                part = str(len(node))
            if is_digits(part) and int(part) > MAX_INDEX:
                raise _invalid(f"index {part} in {key!r} is too large", key)
            if depth == len(parts) - 1:
                if isinstance(node.get(part), dict):
                    raise _invalid(f"field {key!r} is given both as a value and as a group", key)
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise _invalid(f"field {key!r} is given both as a value and as a group", key)
                node = child
    return {key: _listify(value) for key, value in root.items()}  # the top level stays fields, even named "0", "1"


def read_fields(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The webhook body (form-encoded or JSON) as a nested dict of its fields."""
    kind = (content_type or "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid("the body is not UTF-8", "(body)") from None
    is_json = kind == "application/json" or kind.endswith("+json")
    if not is_json and kind not in (FORM, "", "text/plain"):
        raise _invalid(f"unsupported content type {kind!r}: send {FORM} or application/json", "(body)")
    if is_json or (kind != FORM and text.lstrip().startswith("{")):
        data = _json(text, "(body)")
        if not isinstance(data, dict):
            raise _invalid("the JSON body must be an object", "(body)")
        return _nest(list(data.items())) if any("[" in key for key in data) else data
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise _invalid(f"the form has more than {MAX_FIELDS} fields", "(body)") from None
    return _nest(pairs)


def _get(fields: dict[str, Any], name: str) -> Any:
    """A top-level field by name, ignoring case (Tilda keeps the form's own spelling)."""
    if name in fields:
        return fields[name]
    for key, value in fields.items():
        if key.lower() == name:
            return value
    return None


def _text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise _invalid(f"{field} must be text", field)
    text = str(value).strip()
    return text or None


def is_ping(fields: dict[str, Any]) -> bool:
    """Tilda's connection check: ``test=test`` and no order."""
    return _text(_get(fields, "test"), "test") == "test" and _get(fields, "payment") is None


def has_order(fields: dict[str, Any]) -> bool:
    """Does the submission carry a cart order (a ``payment`` block)? Lead forms do not."""
    return _get(fields, "payment") not in (None, "", {}, [])


def order_token(fields: dict[str, Any]) -> str | None:
    """The order token the storefront kit put in the hidden ``kopilka_order`` field, if any."""
    return _text(_get(fields, "kopilka_order"), "kopilka_order")


def sent_customer_token(fields: dict[str, Any]) -> bool:
    """Whether an old form still sends a ``kopilka_token`` field (a customer token: never accepted here)."""
    value = _get(fields, "kopilka_token")
    return value not in (None, "") and not isinstance(value, (dict, list))


# --- numbers ---------------------------------------------------------------------------------


def kopecks(value: Any, field: str) -> int:
    """A rouble amount (``"485.1"``, ``"1 399,50"``, ``960``) as integer kopecks, exactly."""
    if isinstance(value, bool) or value is None:
        raise _invalid(f"{field} must be an amount", field)
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, float):
        amount = Decimal(repr(value))  # only from callers passing Python floats; the shortest repr is the intended decimal
    elif isinstance(value, str):
        text = re.sub(r"[\s\u00a0\u202f]", "", value)
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        if not _NUMBER.fullmatch(text):
            raise _invalid(f"{field} is not an amount: {value!r}", field)
        amount = Decimal(text)
    else:
        raise _invalid(f"{field} must be an amount", field)
    if not amount.is_finite() or amount < 0 or amount > Decimal(MAX_KOPECKS) / 100:
        raise _invalid(f"{field} is out of range: {value!r}", field)
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise _invalid(f"{field} has fractions of a kopeck: {value!r}", field)
    return int(scaled)


def whole(value: Any, field: str, *, default: int | None = None) -> int:
    """A whole non-negative number given as text or a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise _invalid(f"{field} is required", field)
        return default
    if isinstance(value, bool):
        raise _invalid(f"{field} must be a whole number", field)
    if isinstance(value, int):
        number = value
    elif isinstance(value, Decimal) and value.is_finite() and abs(value) <= 10**12 and value == value.to_integral_value():
        number = int(value)
    elif isinstance(value, str) and is_digits(value.strip()) and len(value.strip()) <= 12:
        number = int(value.strip())
    else:
        raise _invalid(f"{field} must be a whole number: {value!r}", field)
    if number < 0:
        raise _invalid(f"{field} must not be negative", field)
    return number


def _unit_price(total: int, quantity: int, field: str) -> int:
    if quantity <= 0:
        raise _invalid(f"{field}: the quantity must be at least 1", field)
    if total % quantity:
        raise _invalid(f"{field}: the total {total} kopecks does not divide into {quantity} equal unit prices", field)
    return total // quantity


# --- products and the order ------------------------------------------------------------------


def _line(index: int, name: str, sku: str, price: int, quantity: int, field: str) -> CartLine:
    try:
        return CartLine(id=str(index + 1), name=name[:NAME_LENGTH], sku=sku, price=price, quantity=quantity)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        raise _invalid(f"{field}.{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}", field) from None


def _product_from_text(index: int, text: str, field: str) -> CartLine:
    match = _TIMES.fullmatch(text)
    if match is not None:
        quantity = whole(match["qty"], field)
        return _line(index, match["name"], "", _unit_price(kopecks(match["amount"], field), quantity, field), quantity, field)
    match = _EQUALS.fullmatch(text)
    if match is not None:
        return _line(index, match["name"], "", kopecks(match["amount"], field), 1, field)
    raise _invalid(f"{field}: cannot read the product {text!r} (expected 'Name x 2 ≡ 960' or 'Name=1399')", field)


def _product_from_object(index: int, item: dict[str, Any], field: str) -> CartLine:
    name = _text(item.get("name"), f"{field}.name") or ""
    sku = _text(item.get("sku"), f"{field}.sku") or _text(item.get("externalid"), f"{field}.externalid") or ""
    quantity = whole(item.get("quantity"), f"{field}.quantity", default=1)
    if item.get("price") not in (None, ""):
        price = kopecks(item["price"], f"{field}.price")
        if item.get("amount") not in (None, "") and kopecks(item["amount"], f"{field}.amount") != price * quantity:
            raise _invalid(f"{field}: amount is not price × quantity", f"{field}.amount")
    elif item.get("amount") not in (None, ""):
        price = _unit_price(kopecks(item["amount"], f"{field}.amount"), quantity, f"{field}.amount")
    else:
        raise _invalid(f"{field}: a product needs a price or an amount", f"{field}.price")
    return _line(index, name, sku, price, quantity, field)


def _payment(fields: dict[str, Any]) -> dict[str, Any]:
    raw = _get(fields, "payment")
    if isinstance(raw, str):
        raw = _json(raw, "payment") if raw.strip() else None
    if not isinstance(raw, dict):
        raise _invalid("the submission has no payment block (not a cart order)", "payment")
    return raw


def _products(payment: dict[str, Any]) -> list[CartLine]:
    raw = payment.get("products")
    if isinstance(raw, str) and raw.strip().startswith("["):
        raw = _json(raw, "payment.products")
    if not isinstance(raw, list) or not raw:
        raise _invalid("payment.products must list at least one product", "payment.products")
    if len(raw) > MAX_LINES:
        raise _invalid(f"an order has at most {MAX_LINES} products", "payment.products")
    lines = []
    for index, item in enumerate(raw):
        field = f"payment.products.{index}"
        if isinstance(item, str):
            lines.append(_product_from_text(index, item.strip(), field))
        elif isinstance(item, dict):
            lines.append(_product_from_object(index, item, field))
        else:
            raise _invalid(f"{field} must be text or an object", field)
    return lines


def order_from_fields(fields: dict[str, Any]) -> TildaOrder:
    """The order carried by a parsed submission (see :func:`read_fields`)."""
    payment = _payment(fields)
    promo_code = _text(payment.get("promocode"), "payment.promocode")
    systranid = _text(payment.get("systranid"), "payment.systranid")
    money = {key: kopecks(payment[key], f"payment.{key}") for key in ("discount", "amount", "delivery_price") if payment.get(key) not in (None, "")}
    data = {
        "order_id": _text(payment.get("orderid"), "payment.orderid"),
        "form_id": _text(_get(fields, "formid"), "formid"),
        "tran_id": _text(_get(fields, "tranid"), "tranid"),
        "name": _text(_get(fields, "name"), "name"),
        "phone": _text(_get(fields, "phone"), "phone"),
        "email": _text(_get(fields, "email"), "email"),
        "lines": _products(payment),
        # Kopilka's codes are at most 64 characters; a longer one cannot be ours
        "promo_code": promo_code if promo_code and len(promo_code) <= 64 else None,
        **money,
        "payment_system": _text(payment.get("sys"), "payment.sys") or _text(_get(fields, "paymentsystem"), "paymentsystem"),
        "systranid": systranid,
        "paid": systranid not in (None, "0"),
        "kopilka_order": order_token(fields),
        "sent_customer_token": sent_customer_token(fields),
    }
    if data["order_id"] is None:
        raise _invalid("payment.orderid is required", "payment.orderid")
    try:
        return TildaOrder.model_validate(data)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "error": e["msg"]} for e in exc.errors(include_url=False)]
        raise ValidationFailed("invalid Tilda order: " + ", ".join(p["field"] for p in problems), message_ru=_MESSAGE_RU, errors=problems) from None


def parse_form(body: bytes, content_type: str | None) -> TildaOrder:
    """Tilda's webhook body (either encoding) as a :class:`TildaOrder`."""
    return order_from_fields(read_fields(body, content_type))
