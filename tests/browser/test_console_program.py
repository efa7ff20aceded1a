"""The console's program editor, in headless Chromium: the form built from the config, errors at
their field, the diff, a sample cart priced both ways, publishing now, at a date and through
approval, the history and restoring a version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from scripts.shop_page import SERUM
from shared.domain.clock import MSK
from tests.browser.conftest import Console, LocalStack, screenshot


def top_of_page(tab: Any, name: str, tmp_path: Path) -> Path:
    """What the window shows from the top of the page (the editor is far longer than a screen)."""
    tab.set_viewport_size({"width": 1280, "height": 1500})
    tab.evaluate("window.scrollTo(0, 0)")
    return screenshot(tab, name, tmp_path)


def admin_api(stack: LocalStack, console: Console, role: str = "admin") -> httpx.Client:
    """The admin JSON API with a bearer token of ``role``'s user."""
    user = console.users[role]
    login = httpx.post(stack.urls["admin"] + "/login", json={"email": user["email"], "password": user["password"], "otp": console.code(role)}, timeout=10)
    assert login.status_code == 200, login.text
    return httpx.Client(base_url=stack.urls["admin"], headers={"Authorization": "Bearer " + login.json()["token"]}, timeout=10)


def field(tab: Any, name: str) -> Any:
    return tab.locator("#f-" + name.replace(".", "-"))


def check(tab: Any) -> None:
    tab.get_by_role("button", name="Проверить и сравнить").click()
    tab.wait_for_load_state()


def test_the_accountant_has_no_program_screen(console: Console) -> None:
    tab = console.page_as("accountant")
    try:
        assert tab.get_by_role("navigation", name="Разделы").get_by_role("link", name="Программа").count() == 0
        refused = tab.request.get(console.url + "/program", max_redirects=0)
        assert refused.status == 403
        assert tab.request.post(console.url + "/program", form={"action": "check"}, max_redirects=0).status == 403
    finally:
        tab.context.close()


def test_an_invalid_accrual_percent_is_refused_at_its_field_in_russian_keeping_what_was_typed(console: Console, tmp_path: Path) -> None:
    tab = console.page_as("marketer", "/program")
    try:
        assert tab.get_by_role("heading", name="Программа лояльности").is_visible()
        field(tab, "name").fill("Biomiq — черновик")
        field(tab, "levels.0.accrual_percent").fill("150")
        field(tab, "levels.1.threshold").fill("30 000")
        check(tab)
        percent = field(tab, "levels.0.accrual_percent")
        assert percent.get_attribute("aria-invalid") == "true"
        assert tab.locator("#f-levels-0-accrual_percent-error").inner_text() == "Допустимо не больше 100."
        assert tab.locator("#f-levels-0-accrual_percent-error").get_attribute("role") == "alert"
        assert percent.input_value() == "150" and field(tab, "name").input_value() == "Biomiq — черновик"
        assert field(tab, "levels.1.threshold").input_value() == "30 000"
        summary = tab.get_by_role("alert").filter(has_text="ничего не сохранено")
        assert summary.get_by_role("link", name="Уровни › level1 › Начисление, %").get_attribute("href") == "#f-levels-0-accrual_percent"
        assert tab.get_by_role("button", name="Опубликовать").count() == 0  # nothing to publish from an invalid draft
        field(tab, "levels.0.accrual_percent").fill("пять")
        check(tab)
        assert tab.locator("#f-levels-0-accrual_percent-error").inner_text() == "Введите число."
        # a cross-field rule lands at its list: the thresholds must ascend
        field(tab, "levels.0.accrual_percent").fill("5")
        field(tab, "levels.1.threshold").fill("200000")
        check(tab)
        assert "Пороги уровней должны строго возрастать." in tab.locator("#s-levels").inner_text()
    finally:
        tab.context.close()


def test_rows_are_added_and_removed_and_the_diff_names_each_field(console: Console, tmp_path: Path) -> None:
    tab = console.page_as("marketer", "/program")
    try:
        tab.get_by_role("button", name="Добавить строку: уровни").click()
        field(tab, "levels.3.code").fill("level4")
        field(tab, "levels.3.name").fill("4-й уровень")
        field(tab, "levels.3.threshold").fill("200000")
        field(tab, "levels.3.accrual_percent").fill("20")
        field(tab, "levels.1.accrual_percent").fill("12")
        field(tab, "welcome.standard").fill("700")
        check(tab)
        diff = tab.locator("#diff")
        assert diff.get_by_role("row", name="Уровни › level2 › Начисление, %").inner_text().split("\t")[1:3] == ["10", "12"]
        assert "Порог входа, ₽: 200\u00a0000\u00a0₽" in diff.get_by_role("row", name="Уровни › level4").inner_text()
        assert diff.get_by_role("row", name="Приветственные бонусы › При регистрации, бонусов").is_visible()
        assert diff.get_by_text("будет ждать согласования").is_visible()
        top_of_page(tab, "console-program.png", tmp_path)
        tab.get_by_role("button", name="Удалить: уровень 4").click()
        assert field(tab, "levels.3.code").count() == 0 and field(tab, "levels.1.accrual_percent").input_value() == "12"
    finally:
        tab.context.close()


def test_a_sample_cart_is_priced_with_the_draft_beside_the_version_in_force(console: Console) -> None:
    tab = console.page_as("marketer", "/program")
    try:
        field(tab, "levels.0.accrual_percent").fill("8")
        field(tab, "cart.0.price").fill("1000")
        field(tab, "cart.0.quantity").fill("0")
        field(tab, "cart.0.group").fill("g" * 65)
        tab.get_by_role("button", name="Рассчитать корзину").click()
        assert tab.locator("#f-cart-0-quantity-error").inner_text() == "Введите целое число от 1 до 10 000."
        field(tab, "cart.0.quantity").fill("2")
        tab.get_by_role("button", name="Рассчитать корзину").click()
        assert tab.locator("#f-cart-0-group-error").inner_text() == "Слишком длинное значение."
        field(tab, "cart.0.group").fill("")
        field(tab, "cart.1.price").fill("500")
        field(tab, "cart.2.product").fill(SERUM)  # priced on the shop's catalog: 1 900 ₽
        tab.get_by_label("Уровень покупателя").select_option("level1")
        tab.get_by_role("button", name="Рассчитать корзину").click()
        preview = tab.locator("#preview")
        assert "1 900,00 ₽" in preview.get_by_role("row").nth(3).inner_text()
        headers = preview.get_by_role("columnheader")
        assert headers.filter(has_text="Начислится по черновику").count() == 1
        assert headers.filter(has_text="Действующая версия").count() == 1
        earned = preview.get_by_role("row", name="Начислится бонусов").get_by_role("cell")
        assert [c.strip() for c in earned.all_inner_texts()] == ["220", "352"]  # 5 % and 8 % of 4 400 ₽
        assert field(tab, "levels.0.accrual_percent").input_value() == "8"  # the draft stays in the form
        spendable = preview.get_by_role("row", name="Можно оплатить бонусами").get_by_role("cell")
        assert [c.strip() for c in spendable.all_inner_texts()] == ["2\u202f200", "2\u202f200"]  # half of the order either way
    finally:
        tab.context.close()


def _history(tab: Any, console: Console) -> Any:
    tab.goto(console.url + "/program/history")
    return tab.get_by_role("table")


def test_a_change_of_names_is_published_at_once_and_an_older_version_is_restored(console: Console, stack: LocalStack) -> None:
    api = admin_api(stack, console)
    before = api.get("/config").json()
    tab = console.page_as("marketer", "/program")
    try:
        field(tab, "groups.0.name").fill("Розничные покупатели")
        check(tab)
        assert tab.locator("#diff").get_by_text("только названия").first.is_visible()
        tab.get_by_label("Причина изменения").fill("Понятнее для покупателей")
        tab.get_by_role("button", name="Опубликовать").click()
        tab.wait_for_url("**/program/history**")
        assert tab.get_by_role("status").filter(has_text="опубликована и уже действует").is_visible()
        renamed = before["version"] + 1
        row = tab.get_by_role("row").filter(has=tab.get_by_role("link", name=f"Версия {renamed}", exact=True))
        assert "Понятнее для покупателей" in row.inner_text() and "действует" in row.inner_text()
        tab.get_by_role("link", name=f"Версия {before['version']}", exact=True).click()
        assert tab.get_by_role("row", name="Группы покупателей › b2c › Название группы").inner_text().split("\t")[1:3] == ["Розничные покупатели", "Розница"]
        tab.once("dialog", lambda dialog: dialog.accept())
        tab.get_by_role("button", name="Восстановить эту версию").click()
        tab.wait_for_url("**/program/history**")
        restored = tab.get_by_role("row").filter(has=tab.get_by_role("link", name=f"Версия {renamed + 1}", exact=True))
        assert f"Восстановление версии {before['version']}" in restored.inner_text()
        assert api.get("/config").json()["config"] == before["config"]
    finally:
        tab.context.close()
        api.close()


def test_the_same_publication_sent_twice_publishes_once(console: Console, stack: LocalStack) -> None:
    api = admin_api(stack, console)
    before = api.get("/config").json()["version"]
    tab = console.page_as("marketer", "/program")
    try:
        field(tab, "groups.0.name").fill("Розница и опт")
        check(tab)
        tab.get_by_label("Причина изменения").fill("Двойной щелчок")
        sent = tab.evaluate("Object.fromEntries(new FormData(document.querySelector('form.prog-form')))")
        sent["action"] = "publish"
        answers = [tab.request.post(console.url + "/program", form=sent, max_redirects=0) for _ in range(2)]
        assert [a.status for a in answers] == [303, 303]
        assert api.get("/config").json()["version"] == before + 1
        assert [e["reason"] for e in api.get("/config/history").json()["entries"]].count("Двойной щелчок") == 1
    finally:
        tab.context.close()
        api.close()


def test_a_change_that_touches_money_waits_for_approval_and_the_admin_approves_it(console: Console, stack: LocalStack) -> None:
    api = admin_api(stack, console)
    tab = console.page_as("marketer", "/program")
    try:
        minutes = int(field(tab, "reservation_timeout_minutes").input_value())
        field(tab, "reservation_timeout_minutes").fill(str(minutes + 5))
        check(tab)
        tab.get_by_label("Причина изменения").fill("Дольше держим бонусы под заказ")
        tab.get_by_role("button", name="Опубликовать").click()
        tab.wait_for_url("**/program/history**")
        waiting = tab.get_by_role("status").filter(has_text="ждёт согласования")
        assert waiting.is_visible() and waiting.get_by_role("link", name="Перейти к согласованиям").get_attribute("href") == "/approvals"
        pending = api.post("/approvals/search", json={"status": "pending"}).json()["approvals"]
        approval = next(a for a in pending if a["action"] == "config.replace" and a["params"]["config"]["reservation_timeout_minutes"] == minutes + 5)
        assert api.post(f"/approvals/{approval['id']}/approve").status_code == 200
        tab.goto(console.url + "/program")
        assert field(tab, "reservation_timeout_minutes").input_value() == str(minutes + 5)
    finally:
        tab.context.close()
        api.close()


def test_a_change_scheduled_for_tomorrow_is_in_the_history_with_its_date(console: Console) -> None:
    tab = console.page_as("marketer", "/program")
    try:
        field(tab, "levels.2.name").fill("Золотой уровень")
        check(tab)
        change = tab.locator("#diff").get_by_role("row", name="Уровни › level3 › Название уровня")
        assert change.inner_text().split("\t")[1:3] == ["3-й уровень", "Золотой уровень"]
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).astimezone(MSK).replace(hour=10, minute=0, second=0, microsecond=0)
        tab.get_by_label("Причина изменения").fill("Новое название с завтрашнего дня")
        tab.get_by_label("Когда вступает в силу").select_option("later")
        tab.get_by_label("Дата и время вступления в силу (московское время)").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
        tab.get_by_role("button", name="Опубликовать").click()
        tab.wait_for_url("**/program/history**")
        assert tab.get_by_role("status").filter(has_text="вступит в силу в указанное время").is_visible()
        row = tab.get_by_role("row").filter(has_text="Новое название с завтрашнего дня")
        assert tomorrow.strftime("%d.%m.%Y 10:00") in row.inner_text() and "запланирована" in row.inner_text()
        tab.goto(console.url + "/program")
        assert field(tab, "levels.2.name").input_value() == "3-й уровень"  # still the version in force
        assert tab.get_by_role("status").filter(has_text="Запланирована версия").is_visible()
        # a change to apply at once now would come before it: refused at the date, nothing published
        field(tab, "name").fill("Biomiq — клуб")
        check(tab)
        tab.get_by_label("Причина изменения").fill("Сразу")
        tab.get_by_role("button", name="Опубликовать").click()
        assert tab.locator("#f-publish-at-error").inner_text() == "Дата вступления в силу не может быть раньше уже запланированной версии: выберите более позднее время."
        assert field(tab, "name").input_value() == "Biomiq — клуб" and tab.get_by_label("Причина изменения").input_value() == "Сразу"
    finally:
        tab.context.close()
