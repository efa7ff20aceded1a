"""The console's payouts, dashboards, audit log and flagged orders, in headless Chromium.

Maria (the stack's partner) asks for a payout over the account API; the manager reveals its
destination, approves it (a second manager confirms the approval), downloads the bank's batch
and marks it paid; the reveal and the export are in the audit log. A marketer never sees the
payout queue and the server refuses it a hand-made request. The stack here is one of this
module's own, with a second manager (:mod:`tests.browser.money_stack`), so the program change
and Maria's payout touch no other test's data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts import serve, shop_page
from scripts.shop_page import SERUM, add
from shared.platform import tokens
from tests.browser.conftest import Console, LocalStack, launched, login_in_cart, screenshot, spend, wait_for_total
from tests.workers import per_worker

PROJECT = per_worker("kopilka-browser-money")


@pytest.fixture(scope="module")
def money_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with launched(tmp_path_factory.mktemp("money-stack"), module="tests.browser.money_stack", project=PROJECT, start_port=19500) as running:
        yield running


@pytest.fixture(scope="module")
def money(money_stack: LocalStack, browser: Any) -> Console:
    return Console(money_stack, browser)


def admin_api(stack: LocalStack, console: Console, role: str) -> httpx.Client:
    """The admin JSON API as ``role``'s user (e-mail, password and a fresh authenticator code)."""
    user = console.users[role]
    login = httpx.post(stack.urls["admin"] + "/login", json={"email": user["email"], "password": user["password"], "otp": console.code(role)}, timeout=30)
    assert login.status_code == 200, login.text
    return httpx.Client(base_url=stack.urls["admin"], headers={"Authorization": "Bearer " + login.json()["token"]}, timeout=30)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def make_rewards_payable_at_once(stack: LocalStack, console: Console) -> None:
    """The marketer sets the partners' hold to 0 days and the payout minimum to 50 (a change that
    touches money: the admin approves it); the manager hands a friend's order over (pickup)."""
    marketer, admin, manager = (admin_api(stack, console, r) for r in ("marketer", "admin", "manager"))
    config = ok(marketer.get("/config"))["config"]
    config["referral"]["hold_days"] = 0
    config["payouts"] = {**config.get("payouts", {}), "min_amount": 50}
    change = ok(marketer.post("/config", json={"config": config, "reason": "выплаты партнёрам сразу", "idempotency_key": "money-hold-0"}))
    if change["status"] == "pending_approval":
        assert ok(admin.post(f"/approvals/{change['approval_id']}/approve"))["status"] == "executed"
    delivered = ok(manager.post("/orders/B-1001/delivered", json={"reason": "самовывоз"}))
    assert delivered["applied"] is True
    for client in (marketer, admin, manager):
        client.close()


def test_a_partners_payout_is_revealed_approved_exported_and_paid_in_the_console(money_stack: LocalStack, money: Console, tmp_path: Path) -> None:
    make_rewards_payable_at_once(money_stack, money)
    maria = money_stack.maria["customer_id"]
    token = tokens.issue(serve.LOCAL_ENV["KOPILKA_TOKEN_SECRET"], subject=maria, now=datetime.now(timezone.utc), ttl_seconds=600)
    asked = httpx.post(
        money_stack.urls["account"] + "/payouts",
        json={"request_id": "maria-cashout-1", "amount": 75, "method": "card", "details": "4111 1111 1111 1111"},
        headers={"Authorization": "Bearer " + token, "Origin": money_stack.shop},
        timeout=30,
    )
    assert asked.status_code == 200, asked.text  # 5 % of her friend's 1 500 ₽ order

    tab = money.page_as("manager", "/payouts")
    try:
        row = tab.get_by_role("row").filter(has_text="maria-cashout-1")
        assert "75,00" in row.inner_text() and "4111" not in row.inner_text() and "ждёт решения" in row.inner_text()
        screenshot(tab, "console-payouts.png", tmp_path, full_page=True)
        row.get_by_role("link", name="maria-cashout-1").click()
        tab.get_by_role("heading", name="Заявка на выплату maria-cashout-1").wait_for()
        assert tab.locator("#destination").count() == 0  # masked until asked
        tab.get_by_role("button", name="Показать полные реквизиты").click()
        assert tab.locator("#destination").inner_text() == "4111111111111111"
        csrf = tab.locator("input[name=csrf]").first.get_attribute("value") or ""
        empty = tab.request.post(money.url + "/payouts/maria-cashout-1/reject", form={"csrf": csrf, "reject_reason": " "}, max_redirects=0)
        assert empty.status == 400 and 'aria-invalid="true"' in empty.text() and "Заполните поле." in empty.text()  # at the field, nothing done
        tab.get_by_role("button", name="Одобрить выплату").click()
        tab.get_by_text("Одобрение отправлено на согласование").wait_for()
        waiting = tab.get_by_role("status").filter(has_text="ждёт второго менеджера")
        assert waiting.get_by_role("link", name="Открыть согласования").get_attribute("href") == "/approvals"
        screenshot(tab, "console-payout.png", tmp_path, full_page=True)

        checker = admin_api(money_stack, money, "checker")  # the second manager confirms in the approvals inbox
        pending = [a for a in ok(checker.post("/approvals/search", json={}))["approvals"] if a["target"] == "payout:maria-cashout-1"]
        assert len(pending) == 1 and ok(checker.post(f"/approvals/{pending[0]['id']}/approve"))["status"] == "executed"
        checker.close()

        tab.goto(money.url + "/payouts?status=approved")
        assert tab.get_by_role("row").filter(has_text="maria-cashout-1").count() == 1
        tab.get_by_label("Полные реквизиты в файле (записывается в журнал)").check()
        with tab.expect_download() as downloaded:
            tab.get_by_role("button", name="Скачать реестр CSV").click()
        text = Path(downloaded.value.path()).read_bytes().decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        assert rows[0] == ["Номер заявки", "Партнёр", "Сумма, руб.", "Способ", "Реквизиты", "Одобрена (МСК)"]
        assert rows[1][:5] == ["maria-cashout-1", maria, "75,00", "на карту", "4111111111111111"]
        assert rows[-1][:3] == ["Итого", "", "75,00"]

        tab.get_by_role("link", name="maria-cashout-1").click()
        tab.once("dialog", lambda dialog: dialog.accept())
        tab.get_by_role("button", name="Отметить выплаченной").click()
        tab.get_by_text("Выплата отмечена как проведённая.").wait_for()
        assert "выплачена" in tab.locator("dl.facts").inner_text()
    finally:
        tab.context.close()

    audit = money.page_as("accountant", "/audit?action=payout.")
    try:
        table = audit.get_by_role("table")
        for action in ("Показ реквизитов", "Реестр выплат для банка", "Выплата проведена"):
            assert table.get_by_role("row").filter(has_text=action).filter(has_text=money.users["manager"]["email"]).count() >= 1, action
        audit.get_by_label("Кто (e-mail)").fill(money.users["checker"]["email"])
        audit.get_by_label("Действие (код или начало: payout.)").fill("")
        audit.get_by_role("button", name="Найти").click()
        assert "Согласование одобрено" in audit.get_by_role("table").inner_text()
        screenshot(audit, "console-audit.png", tmp_path, full_page=True)
    finally:
        audit.context.close()


def test_a_marketer_never_sees_the_payout_queue_and_the_server_refuses_it(money: Console) -> None:
    tab = money.page_as("marketer")
    try:
        assert tab.get_by_role("navigation", name="Разделы").get_by_role("link", name="Выплаты").count() == 0
        csrf = tab.locator("input[name=csrf]").first.get_attribute("value")
        assert tab.request.get(money.url + "/payouts", max_redirects=0).status == 403
        assert tab.request.get(money.url + "/payouts/maria-cashout-1", max_redirects=0).status == 403
        refused = tab.request.post(money.url + "/payouts/maria-cashout-1/approve", form={"csrf": csrf or ""}, max_redirects=0)
        assert refused.status == 403 and "Недостаточно прав" in refused.text()
        assert tab.request.post(money.url + "/payouts/export", form={"csrf": csrf or ""}, max_redirects=0).status == 403
        assert tab.request.get(money.url + "/audit", max_redirects=0).status == 403
    finally:
        tab.context.close()


def test_the_overview_draws_each_dashboard_as_svg_with_its_figures(money_stack: LocalStack, money: Console, tmp_path: Path) -> None:
    swept = httpx.post(money_stack.urls["expiry_sweep"] + "/run", json={}, headers={"X-Kopilka-Sweep-Secret": serve.LOCAL_ENV["KOPILKA_SWEEP_SECRET"]}, timeout=60)
    assert swept.status_code == 200 and swept.json()["snapshot_complete"] == 1, swept.text
    tab = money.page_as("accountant")
    try:
        charts = tab.locator("svg.chart")
        titles = [charts.nth(i).locator("title").first.text_content() for i in range(charts.count())]
        assert titles == ["Бонусные обязательства по дням", "Сгорание бонусов по месяцам", "Начислено и списано бонусов по неделям", "Заказы с бонусами по неделям", "Награды партнёров и выплаты"]
        for i in range(charts.count()):
            assert charts.nth(i).locator("desc").count() == 1 and charts.nth(i).get_attribute("role") == "img"
        liability = tab.get_by_role("region", name="Бонусные обязательства")
        liability.get_by_text("Таблица по дням").click()
        first = liability.get_by_role("row").nth(1).inner_text()
        assert any(ch.isdigit() for ch in first.split("\t", 1)[1])  # the day's figures, in the table too
        orders = tab.get_by_role("region", name="Заказы с бонусами").get_by_role("table").inner_text()
        assert "Неделя с" in orders
        assert tab.get_by_role("link", name="Выплаты").count() >= 1  # the section cards stay below
        screenshot(tab, "console-dashboard.png", tmp_path, full_page=True)
    finally:
        tab.context.close()
    manager = money.page_as("manager")
    try:  # no liability for the manager: only the partners' rewards and the payouts due
        titles = [t.text_content() for t in manager.locator("svg.chart > title").all()]
        assert titles == ["Награды партнёров и выплаты"]
    finally:
        manager.context.close()


def test_an_order_whose_discount_was_edited_waits_for_the_manager_with_what_to_do(page: Any, money_stack: LocalStack, money: Console, tmp_path: Path) -> None:
    page.goto(money_stack.shop + "/")
    add(page, SERUM)
    login_in_cart(page, money_stack, "+79168880018")
    spend(page, 500)
    wait_for_total(page, 1900 - 500)
    page.evaluate("window.tcart.promocode.discountsum = 1400; tcart__updateTotalProductsinCartObj(); tcart__reDrawTotal(); tcart__saveLocalObj()")
    wait_for_total(page, 1900 - 1400)
    sent = len(money_stack.state()["tilda"])
    shop_page.submit_order(page, "Анна", "+7 916 000-00-18")
    record = money_stack.state()["tilda"][sent]
    assert "flagged" in record["webhook"]["body"]

    tab = money.page_as("manager", "/orders/flagged")
    try:
        row = tab.get_by_role("row").filter(has_text="Скидка в корзине Tilda не совпадает")
        assert row.count() == 1
        assert "Сверьте скидку" in row.inner_text() and "discount_mismatch" in row.inner_text()
        customer = row.get_by_role("link").first.get_attribute("href") or ""
        assert customer.startswith("/customers/")
        screenshot(tab, "console-flagged.png", tmp_path, full_page=True)
    finally:
        tab.context.close()
