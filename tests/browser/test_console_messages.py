"""The customer 360 page lists the customer's messages (trigger, channel, status, attempts, sent time)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from shared.domain.clock import MSK
from tests.browser.conftest import Console, LocalStack, screenshot
from tests.browser.test_console_customers import anna, open_anna_by_phone


def test_the_manager_sees_annas_messages_section(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    # the seed's delivery of A-2001 (55 days ago) enqueued "bonuses available" on each channel, none sent
    seeded = {m["key"]: m for m in anna(stack)["messages"]}
    delivered = [seeded[f"bonus_available:A-2001:{channel}"] for channel in ("sms", "telegram", "email")]
    assert {(m["trigger"], m["status"]) for m in delivered} == {("bonus_available", "pending")}
    tab = open_anna_by_phone(console, "manager", "8 (916) 111-00-02")
    try:
        section = tab.get_by_role("region", name="Сообщения")
        section.wait_for()
        headers = [h.strip() for h in section.locator("thead th").all_inner_texts()]
        assert headers == ["Повод", "Канал", "Состояние", "Попыток", "Создано", "Отправлено"]
        rows = [tuple(cell.strip() for cell in row.locator("td").all_inner_texts()) for row in section.locator("tbody tr").all()]
        for message, channel in zip(delivered, ("SMS", "Telegram", "E-mail"), strict=True):
            created = datetime.fromisoformat(message["created_at"]).astimezone(MSK).strftime("%d.%m.%Y %H:%M")
            assert ("Бонусы доступны", channel, "ждёт отправки", "0", created, "—") in rows, rows
        assert section.get_by_text("Сообщений этому покупателю не было.").count() == 0
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
