"""The customer 360 page lists the customer's messages (trigger, channel, status, attempts, sent time)."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import Console, LocalStack, screenshot
from tests.browser.test_console_customers import open_anna_by_phone


def test_the_manager_sees_annas_messages_section(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    tab = open_anna_by_phone(console, "manager", "8 (916) 111-00-02")
    try:
        section = tab.get_by_role("region", name="Сообщения")
        section.wait_for()
        rows = section.get_by_role("row")
        if rows.count():
            headers = [h.strip() for h in section.locator("thead th").all_inner_texts()]
            assert headers == ["Повод", "Канал", "Состояние", "Попыток", "Создано", "Отправлено"]
        else:
            assert section.get_by_text("Сообщений этому покупателю не было.").count() == 1
        screenshot(section, "console-customer-messages.png", tmp_path)
    finally:
        tab.context.close()


def test_the_admin_opens_the_failed_messages_and_a_manager_has_no_such_section(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    tab = console.page_as("admin", "/")
    try:
        tab.get_by_role("navigation", name="Разделы").get_by_role("link", name="Недоставленные сообщения").click()
        tab.get_by_role("heading", name="Недоставленные сообщения").wait_for()
        assert tab.get_by_text("Недоставленных сообщений нет.").count() + tab.get_by_role("table").count() == 1
        screenshot(tab, "console-messages-failed.png", tmp_path)
    finally:
        tab.context.close()
    manager = console.page_as("manager", "/")
    try:
        assert manager.get_by_role("link", name="Недоставленные сообщения").count() == 0
        response = manager.goto(console.url + "/messages/failed")
        assert response is not None and response.status == 403
    finally:
        manager.context.close()


def test_the_marketer_previews_the_programs_messages_as_customers_read_them(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    tab = console.page_as("marketer", "/")
    try:
        tab.get_by_role("navigation", name="Разделы").get_by_role("link", name="Сообщения", exact=True).click()
        tab.get_by_role("heading", name="Сообщения покупателям").wait_for()
        section = tab.get_by_role("region", name="Новый покупатель по ссылке")
        assert "включено" in section.inner_text()
        sms = section.locator("dt", has_text="SMS").locator("xpath=following-sibling::dd[1]").inner_text()
        assert "по вашей ссылке пришёл новый покупатель" in sms and "https://shop.example/#kopilka-partner" in sms and "{" not in sms
        assert "выключено" in tab.get_by_role("region", name="Начислены бонусы").inner_text()
        assert tab.get_by_role("link", name="редакторе программы").get_attribute("href") == "/program#s-messages"
        screenshot(tab, "console-messages.png", tmp_path, full_page=True)
    finally:
        tab.context.close()
