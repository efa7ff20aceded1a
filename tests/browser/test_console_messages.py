"""The customer 360 page lists the customer's messages (trigger, channel, status, attempts, sent time);
the program's messages previewed, the version in force's and a draft's in the program editor."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

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
        assert "Сообщения действующей версии программы: версия" in tab.locator("main").inner_text()
        section = tab.get_by_role("region", name="Новый покупатель по ссылке")
        assert "включено" in section.inner_text()
        sms = section.locator("dt", has_text="SMS").locator("xpath=following-sibling::dd[1]").inner_text()
        assert "по вашей ссылке пришёл новый покупатель" in sms and "https://shop.example/#kopilka-partner" in sms and "{" not in sms
        assert "выключено" in tab.get_by_role("region", name="Начислены бонусы").inner_text()
        assert tab.get_by_role("link", name="редакторе программы").get_attribute("href") == "/program#s-messages"
        screenshot(tab, "console-messages.png", tmp_path, full_page=True)
    finally:
        tab.context.close()


def sms_of(region: Any) -> str:
    return str(region.locator("dt", has_text="SMS").locator("xpath=following-sibling::dd[1]").inner_text())


def test_the_marketer_previews_an_edited_sms_in_the_editor_before_publishing(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    tab = console.page_as("marketer", "/messages")
    try:
        in_force = sms_of(tab.get_by_role("region", name="Новый покупатель по ссылке"))
        tab.get_by_role("link", name="редакторе программы").click()
        tab.get_by_role("heading", name="Программа лояльности").wait_for()
        program = tab.locator("#f-name").input_value()
        sms = tab.get_by_role("textbox", name="Текст SMS").and_(tab.locator("#f-messages-referral_new-templates-sms"))
        sms.fill("{program}: друзей, купивших по вашей ссылке, уже {referees}. Кабинет: {dashboard}")
        preview = tab.locator("#s-messages").get_by_role("button", name="Предпросмотр сообщений")
        preview.focus()
        tab.keyboard.press("Enter")  # the keyboard alone, no script: the form is posted to the preview
        panel = tab.get_by_role("region", name="Предпросмотр сообщений черновика")
        panel.wait_for()
        assert tab.url.endswith("/program/messages#messages-preview")
        new_referral = panel.get_by_role("region", name="Новый покупатель по ссылке")
        assert new_referral.get_by_role("heading", level=3).count() == 1
        assert sms_of(new_referral) == f"{program}: друзей, купивших по вашей ссылке, уже 3. Кабинет: https://shop.example/#kopilka-partner"
        assert "по вашей ссылке пришёл новый покупатель" in new_referral.locator("dt", has_text="Telegram").locator("xpath=following-sibling::dd[1]").inner_text()
        assert panel.get_by_role("region", name="Начислены бонусы").count() == 0 and "Начислены бонусы" in panel.inner_text()  # off: named, not shown
        assert tab.locator("#f-messages-referral_new-templates-sms").input_value().startswith("{program}: друзей")  # the draft is kept as typed
        heading, toolbar = panel.get_by_role("heading", name="Предпросмотр сообщений черновика").bounding_box(), tab.locator(".prog-toolbar").bounding_box()
        assert heading and toolbar and toolbar["y"] + toolbar["height"] <= heading["y"] < 900  # landed on, not under the sticky toolbar
        screenshot(tab, "console-program-messages-preview.png", tmp_path)

        tab.locator("#f-messages-referral_new-templates-sms").fill("{program}: пришёл {name}, друзей уже {referees}")
        tab.locator(".prog-toolbar").get_by_role("button", name="Предпросмотр сообщений").click()
        panel.wait_for()
        error = tab.locator("#f-messages-referral_new-templates-sms-error")
        assert error.inner_text() == "Переменной {name} у этого сообщения нет. Можно: {dashboard}, {month}, {program}, {referees}."
        assert tab.locator("#f-messages-referral_new-templates-sms").get_attribute("aria-invalid") == "true"
        told = panel.get_by_role("region", name="Новый покупатель по ссылке").locator("dd .error")
        assert told.count() == 1 and told.get_attribute("data-code") == "validation_failed"
        assert told.get_attribute("data-field") == "messages.referral_new.templates.sms" and "{name}" in told.inner_text()
        assert told.get_by_role("link").get_attribute("href") == "#f-messages-referral_new-templates-sms"
        screenshot(tab, "console-program-messages-refused.png", tmp_path)
        summary = tab.locator(".prog-summary")
        assert "Текст SMS" in summary.inner_text() and "{name}" in summary.inner_text()
        tab.locator("#f-messages-referral_new-templates-sms").evaluate("element => element.scrollIntoView({block: 'center'})")
        screenshot(tab, "console-program-messages-field.png", tmp_path)  # the window as the marketer sees the field
    finally:
        tab.context.close()
    again = console.page_as("marketer", "/messages")
    try:
        assert sms_of(again.get_by_role("region", name="Новый покупатель по ссылке")) == in_force  # nothing was published
    finally:
        again.context.close()
