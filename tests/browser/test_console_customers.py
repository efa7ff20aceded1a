"""The console's customer screens and the approvals inbox, in headless Chromium on the local stack
(Anna is seeded by scripts/local_stack.py: two delivered orders, one of three lines still on hold)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import Console, LocalStack, screenshot

DUPLICATE_IDS = "[...document.querySelectorAll('[id]')].map(e => e.id).filter((id, i, all) => all.indexOf(id) !== i)"
UNLABELLED = "[...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter(e => !e.labels.length).map(e => e.name)"


def anna(stack: LocalStack) -> dict[str, Any]:
    seeded: dict[str, Any] = stack.info["seed"]["anna"]
    return seeded


def stat(tab: Any, title: str) -> int:
    """The figure of a balance card («Всего», «В холде» …), without its notes."""
    text = tab.locator(".stat", has_text=title).locator("dd").evaluate("el => el.firstChild.textContent")
    return int(re.sub(r"\D", "", text.replace("−", "-")) or 0) * (-1 if text.strip().startswith("−") else 1)


def order_card(tab: Any, order_id: str) -> Any:
    return tab.locator("article", has=tab.get_by_role("heading", name=re.compile(f"Заказ {order_id}")))


def line_row(tab: Any, order_id: str, name: str) -> list[str]:
    return [cell.strip() for cell in order_card(tab, order_id).get_by_role("row", name=re.compile(name)).locator("td").all_inner_texts()]


def open_anna_by_phone(console: Console, role: str, phone: str) -> Any:
    tab = console.page_as(role, "/customers")
    tab.get_by_label("Найти клиента").fill(phone)
    tab.get_by_role("button", name="Найти").click()
    tab.get_by_role("link", name="Анна Смирнова").click()
    tab.get_by_role("heading", name=re.compile("Анна Смирнова")).wait_for()
    return tab


def test_the_manager_and_the_marketer_find_anna_by_phone_and_see_her_lots_and_per_line_bonuses(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    for role, phone in (("manager", "8 (916) 111-00-02"), ("marketer", "+7 916 111 00 02")):
        tab = open_anna_by_phone(console, role, phone)
        try:
            lots = tab.get_by_role("region", name="Начисления (лоты)")
            assert lots.get_by_role("row", name=re.compile("за заказ A-2002.*в холде")).count() == 1
            assert lots.get_by_role("row", name=re.compile("за заказ A-2001.*активны")).count() == 1
            assert lots.get_by_role("row", name=re.compile("приветственный.*активны")).count() == 1
            # the three-line order: what each line spent and earned, and its timeline
            serum = line_row(tab, "A-2002", "Сыворотка")
            cream = line_row(tab, "A-2002", "Крем")
            assert serum[1] == "1" and int(serum[4]) > 0 and int(serum[5]) > 0, serum
            assert cream[1] == "2" and int(cream[4]) > 0 and int(cream[5]) > 0, cream
            timeline = order_card(tab, "A-2002").get_by_role("list").inner_text()
            assert "Оплачен" in timeline and "Доставлен (вручную)" in timeline
            assert tab.get_by_text("Начисление за заказ A-2002").count() == 1  # the ledger's Russian reason
            assert tab.evaluate(DUPLICATE_IDS) == [] and tab.evaluate(UNLABELLED) == []
            if role == "manager":
                screenshot(tab, "console-customer.png", tmp_path, full_page=True)
        finally:
            tab.context.close()
    # the same box finds her by name, e-mail and order id
    tab = console.page_as("manager", "/customers")
    try:
        for text in ("анна", "ANNA@example.ru", "A-2001"):
            tab.get_by_label("Найти клиента").fill(text)
            tab.get_by_role("button", name="Найти").click()
            assert tab.get_by_role("link", name="Анна Смирнова").count() == 1, text
    finally:
        tab.context.close()


def test_an_adjustment_above_the_threshold_waits_in_the_inbox_until_another_user_approves_it(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    path = f"/customers/{anna(stack)['customer_id']}"
    tab = console.page_as("marketer", path)
    try:
        before = stat(tab, "Всего")
        form = tab.get_by_role("form", name="Корректировка бонусов")
        form.get_by_role("spinbutton", name="Бонусов").fill("6000")
        form.get_by_label("Причина").fill("Компенсация за задержку доставки")
        form.get_by_role("button", name="Провести корректировку").click()
        assert tab.get_by_role("status").filter(has_text="ждёт согласования").is_visible()
        assert stat(tab, "Всего") == before
        assert tab.get_by_role("region", name="Ждут согласования").get_by_text("Компенсация за задержку доставки").is_visible()
        tab.goto(console.url + "/approvals")
        mine = tab.locator("article", has_text="Компенсация за задержку доставки")
        assert mine.get_by_text("Начислить 6\u202f000 бонусов").is_visible()
        assert mine.get_by_role("button", name="Одобрить").count() == 0  # the maker never sees approve for their own
    finally:
        tab.context.close()
    checker = console.page_as("admin", "/approvals")
    try:
        request = checker.locator("article", has_text="Компенсация за задержку доставки")
        assert request.get_by_text("marketer@kopilka.local").is_visible()
        screenshot(checker, "console-approvals.png", tmp_path, full_page=True)
        request.get_by_label("Комментарий").fill("Согласовано с руководителем")
        request.get_by_role("button", name="Одобрить").click()
        assert checker.get_by_role("status").filter(has_text="одобрен").is_visible()
        assert checker.get_by_role("region", name="Решённые").get_by_role("row", name=re.compile("Компенсация за задержку доставки.*выполнено")).count() == 1
        checker.goto(console.url + path)
        assert stat(checker, "Всего") == before + 6000
    finally:
        checker.context.close()


def test_a_marketer_sees_no_block_button_and_a_hand_made_block_is_refused(console: Console, stack: LocalStack) -> None:
    path = f"/customers/{anna(stack)['customer_id']}"
    tab = console.page_as("marketer", path)
    try:
        assert tab.get_by_role("button", name="Заблокировать").count() == 0
        csrf = tab.locator("input[name=csrf]").first.get_attribute("value")
        refused = tab.request.post(console.url + path + "/block", form={"csrf": csrf or "", "block.reason": "проверка"}, max_redirects=0)
        assert refused.status == 403
        tab.reload()
        assert tab.get_by_text("заблокирован", exact=True).count() == 0
    finally:
        tab.context.close()
    manager = console.page_as("manager", path)
    try:
        assert manager.get_by_role("button", name="Заблокировать").is_visible()  # the roles that may, see it
    finally:
        manager.context.close()


def test_the_manager_returns_one_unit_of_a_line_and_its_bonuses_are_taken_back(console: Console, stack: LocalStack) -> None:
    tab = console.page_as("manager", f"/customers/{anna(stack)['customer_id']}")
    try:
        held = stat(tab, "В холде")
        earned = int(line_row(tab, "A-2002", "Крем")[5])
        card = order_card(tab, "A-2002")
        card.get_by_text("Оформить возврат").click()
        card.get_by_label(re.compile("Крем")).fill("1")
        card.get_by_label("Причина").fill("Вернула в магазин")
        tab.once("dialog", lambda dialog: dialog.accept())
        card.get_by_role("button", name="Записать возврат").click()
        tab.get_by_role("status").filter(has_text="Возврат записан").wait_for()  # the page after the redirect, however loaded the machine
        cream = line_row(tab, "A-2002", "Крем")
        assert cream[6] == "1", cream
        assert stat(tab, "В холде") == held - earned // 2
        assert "Возврат" in order_card(tab, "A-2002").get_by_role("list").inner_text()
    finally:
        tab.context.close()


def test_the_manager_takes_an_order_by_phone_for_anna(console: Console, stack: LocalStack) -> None:
    tab = console.page_as("manager", f"/customers/{anna(stack)['customer_id']}")
    try:
        form = tab.get_by_role("form", name="Заказ по телефону")
        form.get_by_role("textbox", name="Товар").fill("BQ-TONIC-200")
        form.get_by_role("button", name="Оформить заказ").click()
        assert tab.get_by_role("status").filter(has_text="Заказ оформлен").is_visible()
        placed = tab.locator("article", has=tab.get_by_role("heading", name=re.compile("Заказ cc-.*ждёт оплаты")))
        assert placed.get_by_text("Принят по телефону").is_visible()
        assert placed.get_by_role("row", name=re.compile("Тоник")).count() == 1
    finally:
        tab.context.close()


def test_a_refused_form_shows_its_message_at_the_field(console: Console, stack: LocalStack) -> None:
    tab = console.page_as("manager", f"/customers/{anna(stack)['customer_id']}")
    try:
        form = tab.get_by_role("form", name="Заказ по телефону")
        form.get_by_role("textbox", name="Товар").fill("нет-такого")
        form.get_by_role("button", name="Оформить заказ").click()
        field = tab.get_by_role("form", name="Заказ по телефону").get_by_role("textbox", name="Товар")
        assert field.get_attribute("aria-invalid") == "true"
        assert tab.get_by_role("alert").filter(has_text="Такого товара нет в каталоге").is_visible()
    finally:
        tab.context.close()


def test_the_manager_marks_a_pickup_order_delivered_and_its_bonuses_start_their_hold(console: Console, stack: LocalStack) -> None:
    path = f"/customers/{anna(stack)['customer_id']}"
    marketer = console.page_as("marketer", path)
    try:
        assert order_card(marketer, "A-2003").get_by_role("button", name="Отметить доставленным").count() == 0
    finally:
        marketer.context.close()
    tab = console.page_as("manager", path)
    try:
        card = order_card(tab, "A-2003")
        card.get_by_label(re.compile("Как вручён")).fill("Выдан в пункте самовывоза")
        card.get_by_role("button", name="Отметить доставленным").click()
        assert tab.get_by_role("status").filter(has_text="Заказ отмечен доставленным").is_visible()
        card = order_card(tab, "A-2003")
        assert card.get_by_role("heading", name=re.compile("доставлен")).count() == 1
        assert "Доставлен (вручную)" in card.get_by_role("list").inner_text()
        assert card.get_by_role("button", name="Отметить доставленным").count() == 0
    finally:
        tab.context.close()


def test_the_marketer_sets_a_level_by_hand_and_lifts_it(console: Console, stack: LocalStack) -> None:
    tab = console.page_as("marketer", f"/customers/{anna(stack)['customer_id']}")
    try:
        form = tab.get_by_role("form", name="Уровень")
        form.get_by_label("Назначить уровень").select_option(label="2-й уровень")
        form.get_by_label("Причина").fill("Постоянный клиент салона")
        form.get_by_role("button", name="Изменить уровень").click()
        assert tab.get_by_role("status").filter(has_text="Уровень изменён").is_visible()
        assert tab.get_by_text("2-й уровень (назначен вручную)").is_visible()
        form = tab.get_by_role("form", name="Уровень")
        form.get_by_label("Назначить уровень").select_option(value="")
        form.get_by_label("Причина").fill("Ошибка")
        form.get_by_role("button", name="Изменить уровень").click()
        assert tab.get_by_text("(назначен вручную)").count() == 0
    finally:
        tab.context.close()
