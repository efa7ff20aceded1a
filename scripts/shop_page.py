"""What a shopper does on the demo Tilda shop (``storefront/demo-shop``) in a Playwright page.

Shared by ``make demo`` in the browser (:mod:`scripts.demo_browser`) and the
browser tests (``tests/browser``); each takes a Playwright sync ``Page``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

CHROMIUM = "/usr/bin/chromium"  # Debian's; KOPILKA_CHROMIUM names another
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
SERUM, CREAM, TONIC = "312045678901", "312045678902", "312045678903"  # the demo shop's Tilda product UIDs


def cart(page: Any) -> Any:
    """The kit's widget in Tilda's cart window."""
    return page.locator("[data-kopilka-cartwin] .k")


def add(page: Any, uid: str) -> None:
    page.locator(f".t-store__card[data-product-uid='{uid}'] .js-store-prod-btn").click()


def tilda_total(page: Any) -> float:
    """The total Tilda's cart window shows, in roubles."""
    text = page.locator(".t706__cartwin-prodamount").inner_text()
    return float(re.sub(r"[^\d,.]", "", text.replace("\u00a0", "")).replace(",", "."))


def wait_for_total(page: Any, roubles: float) -> float:
    """Tilda's cart total once it is ``roubles``: the total the page shows."""
    page.wait_for_function("want => Math.abs(window.tcart.amount - want) < 0.005", arg=roubles)
    return tilda_total(page)


def digits(n: int) -> str:
    """A pattern for ``n`` as the kit writes it (its digits grouped by a space of some kind)."""
    return r"\s?".join(str(n))


def number(text: str) -> int:
    """``"1 000 бонусов"`` → 1000 (the kit groups digits with (narrow) no-break spaces)."""
    return int(re.sub(r"\D", "", text))


def login_form(widget: Any, phone: str, sms_code: Callable[[str], str]) -> None:
    """The kit's login form in ``widget``: the phone, then the code that came by SMS."""
    widget.get_by_role("textbox", name="Телефон").fill(phone)
    widget.get_by_role("button", name="Получить код").click()
    widget.get_by_role("textbox", name="Код из SMS").wait_for()
    widget.get_by_role("textbox", name="Код из SMS").fill(sms_code(phone))
    widget.get_by_role("button", name="Войти").click()


def login_in_cart(page: Any, phone: str, sms_code: Callable[[str], str]) -> None:
    widget = cart(page)
    widget.get_by_role("button", name="Войдите, чтобы списать бонусы").click()
    login_form(widget, phone, sms_code)
    widget.get_by_text("Ваш баланс:").wait_for()


def spend(page: Any, bonuses: int) -> dict[str, Any]:
    """Choose ``bonuses`` in the cart widget and apply them; the answer of the ``POST /checkout/tilda`` that placed the order."""
    widget = cart(page)
    widget.get_by_role("spinbutton", name="Списать бонусов").fill(str(bonuses))
    widget.get_by_text(re.compile(r"скидка " + digits(bonuses))).wait_for()
    with page.expect_response(lambda r: r.url.endswith("/checkout/tilda") and r.request.method == "POST") as answer:
        widget.get_by_role("button", name="Применить", exact=True).click()
    if not answer.value.ok:
        raise AssertionError(f"POST /checkout/tilda answered {answer.value.status}: {answer.value.text()}")
    widget.get_by_text("применена к заказу").wait_for()
    placed: dict[str, Any] = answer.value.json()
    return placed


def submit_order(page: Any, name: str, phone: str) -> None:
    """Fill Tilda's order form and send it; back once the form says it went through."""
    form = page.locator(".t706__orderform form")
    form.locator("input[name=Name]").fill(name)
    form.locator("input[name=Phone]").fill(phone)
    page.get_by_role("button", name="Оформить заказ").click()
    page.locator(".t706__form-status").get_by_text(re.compile("^(Спасибо|Заказ принят)")).wait_for()


def access_token(page: Any) -> str:
    return str(page.evaluate("JSON.parse(localStorage.getItem('kopilka.session')).access"))


def customer_id(page: Any) -> str:
    """The customer the page's session is of."""
    return str(page.evaluate("JSON.parse(localStorage.getItem('kopilka.session')).customer"))
