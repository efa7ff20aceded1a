"""The console's sign-in, session and security headers, in headless Chromium."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.conftest import Console


def test_sign_in_needs_the_second_factor_and_sign_out_ends_the_session(page: Any, console: Console) -> None:
    user = console.users["manager"]
    page.goto(console.url + "/")
    assert "/login" in page.url  # signed out: the sign-in page
    page.get_by_label("Электронная почта").fill(user["email"])
    page.get_by_label("Пароль").fill(user["password"])
    page.get_by_role("button", name="Войти").click()
    assert page.get_by_role("alert").filter(has_text="Введите код").is_visible()
    page.get_by_label("Пароль").fill(user["password"])
    page.get_by_label("Код из приложения-аутентификатора").fill("000000" if console.code("manager") != "000000" else "111111")
    page.get_by_role("button", name="Войти").click()
    assert page.get_by_text("Код не подошёл").is_visible()
    page.get_by_label("Пароль").fill(user["password"])
    page.get_by_label("Код из приложения-аутентификатора").fill(console.code("manager"))
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(lambda url: "/login" not in url)
    cookie = next(c for c in page.context.cookies() if c["name"] == "__Host-kopilka_console")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("kopilka_console=") == -1  # out of the page scripts' reach
    assert page.get_by_text(user["email"]).is_visible()
    copied = cookie["value"]
    page.get_by_role("button", name="Выйти").click()
    page.wait_for_url(lambda url: "/login" in url)
    # the session is over server-side: the old cookie opens nothing
    answer = httpx.get(console.url + "/", cookies={"__Host-kopilka_console": copied}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_pages_carry_a_strict_content_security_policy_and_posts_need_the_csrf_token(console: Console) -> None:
    tab = console.page_as("marketer")
    try:
        answer = tab.request.get(console.url + "/")
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["cache-control"] == "no-store"
        refused = tab.request.post(console.url + "/logout", form={"csrf": "forged"}, max_redirects=0)
        assert refused.status == 403
        assert tab.request.get(console.url + "/", max_redirects=0).status == 200  # still signed in
    finally:
        tab.context.close()


def test_the_navigation_shows_only_what_the_role_may_open(console: Console) -> None:
    tab = console.page_as("marketer")
    try:
        nav = tab.get_by_role("navigation", name="Разделы")
        assert nav.get_by_role("link", name="Программа").is_visible()
        assert nav.get_by_role("link", name="Выплаты").count() == 0
    finally:
        tab.context.close()
