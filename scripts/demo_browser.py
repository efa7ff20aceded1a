"""The Anna & Maria story in headless Chromium, on the demo shop page of the local stack.

``make demo`` plays it this way when Debian's ``/usr/bin/chromium`` (or the
browser ``KOPILKA_CHROMIUM`` names) is there and Playwright imports. The local
stack (:mod:`scripts.local_stack`: every function, the provider fakes, the kit
and the demo shop, in this process) has seeded Maria, the partner; Anna lands
by Maria's link, puts two products in Tilda's cart, logs in in the cart widget
by the code the SMS.ru fake received, spends her bonuses there and sends
Tilda's order form, which the forms fake pays through the YooKassa fake before
it posts Tilda's webhook. The delivery, the hold, the sweep and the audit are
the story's own steps (:mod:`scripts.demo_story`). On the day the hold ends
(this process's clock moved there, and the browser's) Anna and Maria log in
on the account page, and what its widgets show is printed; the cart, account
and partner widgets are saved as screenshots in ``.run/``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scripts import demo_story as steps
from scripts.demo_story import Story, rub
from scripts.shop_page import CHROMIUM, CHROMIUM_ARGS, CREAM, SERUM, add, cart, customer_id, digits, login_form, login_in_cart, number, spend, submit_order, tilda_total, wait_for_total

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / ".run"
ANNA_PHONE = "+79163330003"
ANNA_NAME, ANNA_FORM_PHONE = "Анна", "+7 916 333-00-03"
LINE_NAMES = {SERUM: "serum", CREAM: "cream"}
SPEND = 1000


def chromium() -> str:
    return os.environ.get("KOPILKA_CHROMIUM") or CHROMIUM


def missing() -> str | None:
    """Why the story cannot play in a browser here, or ``None``."""
    path = chromium()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return f"no browser at {path}"
    for module, name in (("playwright.sync_api", "Playwright"), ("time_machine", "time-machine")):
        try:
            importlib.import_module(module)
        except ImportError:
            return f"{name} does not import here"
    return None


def utcnow() -> datetime:
    """Now: what the browser did has just happened, later than the story's start."""
    return datetime.now(timezone.utc)


def plain(text: str) -> str:
    return re.sub(r"[\u00a0\u202f]", " ", text).strip()


class Browser:
    """One Chromium; a fresh profile per person, the kit's errors in the page collected."""

    def __init__(self, chromium_browser: Any) -> None:
        self.browser = chromium_browser
        self.errors: list[str] = []
        self.contexts: list[Any] = []

    def page(self, at: datetime | None = None) -> Any:
        context = self.browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU", timezone_id="Europe/Moscow")
        context.set_default_timeout(20_000)
        if at is not None:
            context.clock.set_fixed_time(at)  # the page's Date agrees with the functions' clock
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


def shot(locator: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    locator.screenshot(path=str(SHOTS / name), animations="disabled")


def widget_values(widget: Any, keys: dict[str, str]) -> str:
    """``label value, …`` of the widget's fields (``data-k`` → the label the widget shows)."""
    return ", ".join(f"{label} {plain(widget.locator(f'[data-k={key}]').inner_text())}" for key, label in keys.items())


@contextmanager
def launched() -> Iterator[tuple[Any, str | None]]:
    """Headless Chromium, or ``None`` and why it is not here or did not start."""
    why = missing()
    if why is not None:
        yield None, why
        return
    from playwright.sync_api import Error, sync_playwright

    try:
        playwright = sync_playwright().start()
    except Exception as exc:  # Playwright's driver did not start
        yield None, f"Playwright did not start ({first_line(exc)})"
        return
    try:
        try:
            browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        except Error as exc:
            yield None, f"{chromium()} did not start ({first_line(exc)})"
            return
        try:
            yield browser, None
        finally:
            browser.close()
    finally:
        playwright.stop()


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def play(stack: Any, chromium_browser: Any, *, label: str) -> int:
    """The story on ``stack`` (started) in ``chromium_browser``; 0 when the ledger audit passes and the kit threw nothing."""
    from shared.services import program

    now = datetime.now(timezone.utc)
    config = program.in_force(stack.store, os.environ["KOPILKA_PROGRAM"], now).config
    maria = stack.seed["maria"]
    story = Story(stack.store, stack.urls, ids={"maria": maria["customer_id"]})
    print(f"Kopilka demo in the browser — {config.name} ({label})")
    story.urls_list(shop=stack.shop_url + "/")
    steps.program_in_force(story, config)
    steps.partner(story, now)

    browser = Browser(chromium_browser)
    try:
        order_id = shop(story, stack, browser, config, maria, now)
        delivered_at = steps.delivered(story, stack.carriers, config, order_id=order_id, now=now, cdek_token=os.environ["KOPILKA_CDEK_TOKEN"])
        back_office(story, stack, browser)
        after_hold = steps.hold_passed(story, config, delivered_at)
        accounts(story, stack, browser, maria, after_hold)
    finally:
        browser.close()
    steps.swept(story, config, now)
    audit = steps.audited(story)
    console_users(stack)
    if browser.errors:
        print(f"\nThe kit threw into the page: {browser.errors}")
        return 1
    return audit


def back_office(story: Story, stack: Any, browser: Browser) -> None:
    """The shop's manager signs in to the console (password and authenticator code), finds Anna by
    the phone she gave and reads her balance and her order as the customer screen shows them."""
    import pyotp

    manager = next(u for u in stack.seed["console"] if u["role"] == "manager")
    page = browser.page()
    page.goto(stack.urls["console"] + "/customers")
    page.get_by_label("Электронная почта").fill(manager["email"])
    page.get_by_label("Пароль").fill(manager["password"])
    page.get_by_label("Код из приложения-аутентификатора").fill(pyotp.TOTP(manager["totp_secret"]).now())
    page.get_by_role("button", name="Войти").click()
    page.get_by_label("Найти клиента").fill(ANNA_FORM_PHONE)
    page.get_by_role("button", name="Найти").click()
    page.locator("section[aria-labelledby=found-title] tbody a").first.click()
    page.get_by_role("heading", name="Баланс").wait_for()
    figures = ", ".join(" ".join(plain(t).split("\n")[0:2]).replace("\n", " ") for t in page.locator(".stat").all_inner_texts()[:3])
    order = " ".join(plain(page.locator("article.card h3").first.inner_text()).split())
    story.say(
        "The shop's manager opens the back-office console",
        f"signs in at {stack.urls['console']}/ with a password and an authenticator code, finds Anna by the phone {ANNA_FORM_PHONE}:",
        f"her screen shows {figures}; {order}",
    )


def console_users(stack: Any) -> None:
    """Where the console was and who may sign in to it (``make run`` serves one that stays up)."""
    print(f"\nThe back-office console ran at {stack.urls['console']}/ with these local users; `make run` serves one that stays up:")
    for user in stack.seed["console"]:
        print(f"   {user['role']:<11} {user['email']:<26} password {user['password']:<20} authenticator secret {user['totp_secret']}")


def shop(story: Story, stack: Any, browser: Browser, config: Any, maria: dict[str, str], now: datetime) -> str:
    """Anna's visit to the shop, from Maria's link to the paid order; its id."""
    page = browser.page()
    quotes: list[Any] = []
    page.on("response", lambda r: quotes.append(r) if r.url.endswith("/quote") and r.request.method == "POST" else None)
    page.goto(f"{stack.shop_url}/?ref={maria['code']}")
    add(page, SERUM)
    with page.expect_response(lambda r: r.url.endswith("/quote") and r.request.method == "POST" and len((r.request.post_data_json or {}).get("lines", [])) == 2) as whole:
        add(page, CREAM)
    earn = cart(page).get_by_text(re.compile(rf"^За этот заказ вы получите {digits(whole.value.json()['points_to_earn'])} "))  # the quote of both, drawn
    earn.wait_for()
    points, potential = (number(n) for n in re.findall(r"\d[\d\s\u00a0\u202f]*\d|\d", earn.inner_text())[:2])
    subtotal = round(tilda_total(page) * 100)
    steps.anonymous_cart(story, subtotal=subtotal, points=points, potential=potential, how="two products in Tilda's cart, quoted by the cart widget (its POST cart_quote/quote)")

    login_in_cart(page, ANNA_PHONE, stack.sms.last_code)
    balance = cart(page).get_by_text(re.compile("^Ваш баланс:"))
    welcome = number(plain(balance.inner_text()).split(".")[0])
    story.ids["anna"] = customer_id(page)
    steps.logged_in(story, utcnow(), welcome=welcome, standard=config.welcome.standard, how=" in the cart widget by the SMS code (read from the SMS.ru fake)")

    placed = spend(page, SPEND)
    quote = next((r.json() for r in reversed(quotes) if r.ok and r.request.post_data_json.get("bonuses") == SPEND), None)
    if quote is None:
        raise SystemExit(f"kopilka demo: the cart widget showed the discount of {SPEND} bonuses without a quote for them")
    steps.bonuses_quoted(story, quote, bonuses=SPEND, how="chosen in the cart widget (its POST cart_quote/quote)", names=LINE_NAMES)
    total = wait_for_total(page, (subtotal - placed["discount"]) / 100)
    shot(cart(page), "demo-cart.png")
    steps.checked_out(
        story,
        utcnow(),
        f"Tilda's cart takes the {rub(placed['discount'])} as its one discount: it shows {rub(round(total * 100))}",
        how="«Применить» in the cart widget places the order (POST checkout/tilda) and",
        order_id=placed["order_id"],
        status=placed["status"],
    )

    submit_order(page, ANNA_NAME, ANNA_FORM_PHONE)
    record = stack.forms.submissions[-1]
    if record["webhook"]["status"] != 200:
        raise SystemExit(f"kopilka demo: checkout/tilda answered Tilda's webhook {record['webhook']['status']}: {record['webhook']['body']}")
    answer = json.loads(record["webhook"]["body"])
    again = story.post("checkout", f"/tilda/{os.environ['KOPILKA_TILDA_TOKEN']}", data=record["sent"])  # Tilda delivers it again
    steps.paid(
        story,
        utcnow(),
        "She sends Tilda's order form: Tilda takes the payment through YooKassa and posts its webhook, POST checkout/tilda/<secret> (the function re-fetches the payment first)",
        f"paid {rub(record['amount'])} (YooKassa payment {record['payment_id']}); answer: {answer}",
        f"the same webhook again: {again}",
    )
    return str(placed["order_id"])


def accounts(story: Story, stack: Any, browser: Browser, maria: dict[str, str], after_hold: datetime) -> None:
    """On the day the hold ends, Anna and Maria log in on the account page; what its widgets show."""
    import time_machine

    with time_machine.travel(after_hold, tick=True):
        anna = browser.page(at=after_hold)
        anna.goto(stack.shop_url + "/account.html")
        account = anna.locator("[data-kopilka=account] .k")
        login_form(account, ANNA_PHONE, stack.sms.last_code)
        account.locator("[data-k=total]").wait_for()
        shot(account, "demo-account.png")
        mine = {"total": "Всего", "available": "Доступно", "pending": "Ожидают начисления"}
        story.note("That day Anna and Maria log in by SMS on the account page (account.html):", f"Anna's account widget: {widget_values(account, mine)}")

        page = browser.page(at=after_hold)
        page.goto(stack.shop_url + "/account.html")
        account = page.locator("[data-kopilka=account] .k")
        login_form(account, maria["phone"], stack.sms.last_code)
        account.locator("[data-k=total]").wait_for()
        partner = page.locator("[data-kopilka=partner] .k")
        partner.locator("[data-k=payable]").wait_for()
        shot(partner, "demo-partner.png")
        story.note(
            f"Maria's account widget: {widget_values(account, mine)}",
            "Maria's partner widget: " + widget_values(partner, {"paying": "Сделали покупку", "rate": "Ваш процент", "reward_pending": "Ожидают окончания срока", "payable": "Можно вывести"}),
        )
        browser.close()  # while the clock is still on that day: the kit calls nothing more
