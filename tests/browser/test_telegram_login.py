"""«Войти через Telegram» in the kit's login widgets, against the local stack's fake of Telegram's
OpenID Connect provider: its login page approves at once as the demo Telegram account, which the
stack links to Maria (as a phone-proved link leaves it)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from scripts import kit
from scripts.shop_page import SERUM, add, cart
from tests.browser.conftest import LocalStack


def session(page: Any) -> Any:
    return page.evaluate("JSON.parse(localStorage.getItem('kopilka.session'))")


def answer_from_telegram(page: Any, stack: LocalStack, change: dict[str, str]) -> list[dict[str, list[str]]]:
    """Telegram's answers reach the page with ``change`` made to their query (what Telegram was asked is recorded)."""
    asked: list[dict[str, list[str]]] = []

    def handle(route: Any, request: Any) -> None:
        asked.append(parse_qs(urlsplit(request.url).query))
        response = route.fetch(max_redirects=0)
        back = urlsplit(response.headers["location"])
        query = {key: values[0] for key, values in parse_qs(back.query).items()}
        query.update(change)
        route.fulfill(status=302, headers={"Location": back._replace(query=urlencode({k: v for k, v in query.items() if v})).geturl()})

    page.route(stack.info["fakes"] + "/telegram/auth?*", handle)
    return asked


def test_a_customer_logs_in_through_telegram_from_the_cart_and_sees_her_balance(page, stack):
    linked = stack.info["seed"]["telegram"]
    page.goto(stack.shop + "/?ref=somebody")
    add(page, SERUM)
    widget = cart(page)
    widget.get_by_role("button", name="Войдите, чтобы списать бонусы").click()
    with page.expect_response(lambda r: r.url.endswith("/telegram/oidc")) as exchanged:
        widget.get_by_role("button", name="Войти через Telegram").click()
    assert exchanged.value.ok, exchanged.value.text()
    sent = exchanged.value.request.post_data_json
    assert sent["redirect_uri"] == stack.shop + "/"  # the page without its query
    page.wait_for_function("localStorage.getItem('kopilka.session') !== null")
    assert session(page)["customer"] == linked["customer_id"] == stack.maria["customer_id"]
    assert page.url == stack.shop + "/"  # code and state are gone from the address bar
    assert page.evaluate("localStorage.getItem('kopilka.ref')") is None  # kept until the login, as the SMS login does
    assert page.evaluate("sessionStorage.getItem('kopilka.telegram')") is None  # the verifier is used up
    add(page, SERUM)
    cart(page).get_by_text("Ваш баланс:").wait_for()
    assert "Ваш баланс: 500 бонусов." in cart(page).inner_text().replace("\u00a0", " ")  # Maria's welcome bonus


def test_telegram_is_asked_for_a_pkce_login_and_its_refusals_are_told_in_russian(page, stack):
    cases = [
        ({"state": "tampered-state"}, "Вход через Telegram не подтверждён: ответ не относится к этому входу. Попробуйте ещё раз."),
        ({"code": "", "error": "access_denied"}, "Вход через Telegram отменён."),
        ({"code": "not-a-code-telegram-gave"}, "Не удалось подтвердить вход через Telegram. Попробуйте ещё раз."),
    ]
    for change, message in cases:
        asked = answer_from_telegram(page, stack, change)
        page.goto(stack.shop + "/account.html")
        account = page.locator("[data-kopilka=account] .k")
        account.get_by_role("button", name="Войти через Telegram").click()
        account.get_by_role("status").filter(has_text=message).wait_for()
        assert session(page) is None
        assert page.url == stack.shop + "/account.html"
        query = {key: values[0] for key, values in asked[-1].items()}
        assert query["client_id"] == "123456" and query["response_type"] == "code" and query["code_challenge_method"] == "S256"
        assert query["redirect_uri"] == stack.shop + "/account.html"
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", query["code_challenge"]) and len(query["state"]) >= 32 and len(query["nonce"]) >= 32
        page.unroute(stack.info["fakes"] + "/telegram/auth?*")


def test_the_snippet_carries_the_telegram_login():
    built = kit.build()
    urls = {"sms_otp": "https://s.example"}
    start = f'<script async src="https://cdn.example/kit/{built["file"]}" integrity="{built["integrity"]}" crossorigin="anonymous" data-sms-otp="https://s.example"'
    assert kit.snippet(urls, "https://cdn.example/kit", telegram=kit.TelegramLogin(client_id="7012345678")) == start + ' data-telegram-client-id="7012345678"></script>'
    local = kit.TelegramLogin(client_id="123456", auth_url="http://127.0.0.1:8099/telegram/auth?x=1&y=2")
    assert kit.snippet(urls, "https://cdn.example/kit", telegram=local) == (
        start + ' data-telegram-client-id="123456" data-telegram-auth-url="http://127.0.0.1:8099/telegram/auth?x=1&amp;y=2"></script>'
    )
    assert kit.snippet(urls, "https://cdn.example/kit") == start + "></script>"


def test_a_refused_telegram_login_from_the_cart_is_told_in_the_cart(page, stack):
    answer_from_telegram(page, stack, {"state": "tampered-state"})
    page.goto(stack.shop + "/")
    add(page, SERUM)
    cart(page).get_by_role("button", name="Войдите, чтобы списать бонусы").click()
    with page.expect_response(lambda r: r.url.startswith(stack.shop + "/?") and "state=" in r.url):  # back on the shop
        cart(page).get_by_role("button", name="Войти через Telegram").click()
    page.wait_for_load_state()
    page.wait_for_url(stack.shop + "/")
    add(page, SERUM)  # the cart window opens again: its login form is open, with the refusal
    cart(page).get_by_role("status").filter(has_text="Вход через Telegram не подтверждён").wait_for()
    assert cart(page).get_by_role("textbox", name="Телефон").is_visible()
    assert session(page) is None
