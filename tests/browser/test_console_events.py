"""The customer page's «Начислить бонус за действие» form, in headless Chromium on the local stack
(the Biomiq program there credits no review: the manager sees the program's refusal in Russian at
the form, and nothing is credited; the crediting itself is proven over HTTP in
tests/functions/test_earning_events.py)."""

from __future__ import annotations

import re
from pathlib import Path

from shared.domain.stickers import normalize
from tests.browser.conftest import Console, LocalStack, screenshot
from tests.browser.test_console_customers import UNLABELLED, open_anna_by_phone


def test_the_manager_credits_a_checked_review_from_the_customer_page(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    tab = open_anna_by_phone(console, "manager", "8 (916) 111-00-02")
    try:
        form = tab.get_by_role("form", name="Начислить бонус за действие")
        form.get_by_label("Действие").select_option("review")
        form.get_by_role("button", name="Начислить бонус").click()
        tab.get_by_text("Укажите артикул товара или ссылку на публикацию.").wait_for()  # a review names its product
        form = tab.get_by_role("form", name="Начислить бонус за действие")
        form.get_by_label("Действие").select_option("review")
        form.get_by_label("Товар (артикул) или ссылка на публикацию").fill("SERUM-30")
        form.get_by_label("Комментарий").fill("отзыв проверен")
        form.get_by_role("button", name="Начислить бонус").click()
        tab.get_by_text("Бонус за это действие сейчас не начисляется.").wait_for()
        assert tab.evaluate(UNLABELLED) == []
        form = tab.get_by_role("form", name="Начислить бонус за действие")
        screenshot(form, "console-event-form.png", tmp_path)
    finally:
        tab.context.close()


def test_the_accountant_sees_no_event_form(console: Console, stack: LocalStack) -> None:
    tab = open_anna_by_phone(console, "accountant", "+7 916 111 00 02")
    try:
        assert tab.get_by_role("heading", name="Начислить бонус за действие").count() == 0
    finally:
        tab.context.close()


def test_the_marketer_creates_a_sticker_batch_and_downloads_its_codes(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    tab = console.page_as("marketer", "/stickers")
    try:
        assert tab.get_by_role("navigation", name="Разделы").get_by_role("link", name="Стикеры").is_visible()
        form = tab.get_by_role("form", name="Новая партия")
        form.get_by_label("Название партии").fill("Банки краски, весна")
        form.get_by_label("Количество кодов").fill("200001")
        form.get_by_label("Бонусов за код").fill("50")
        form.get_by_role("button", name="Создать и сгенерировать").click()
        form = tab.get_by_role("form", name="Новая партия")
        assert form.get_by_label("Количество кодов").get_attribute("aria-invalid") == "true"  # more than a batch may hold
        form.get_by_label("Количество кодов").fill("120")
        form.get_by_role("button", name="Создать и сгенерировать").click()
        tab.get_by_text("Партия создана, коды сгенерированы.").wait_for()
        row = tab.get_by_role("row", name=re.compile("Банки краски, весна"))
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        assert cells[1] == "120" and cells[2] == "120" and cells[3] == "0" and cells[4] == "50", cells
        with tab.expect_download() as download:
            row.get_by_role("link", name="Скачать CSV партии «Банки краски, весна»").click()
        saved = tmp_path / "codes.csv"
        download.value.save_as(saved)
        lines = saved.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "index;code;points;valid_until" and len(lines) == 121
        assert all(normalize(line.split(";")[1]) is not None for line in lines[1:])
        assert tab.evaluate(UNLABELLED) == []
        screenshot(tab, "console-stickers.png", tmp_path, full_page=True)
    finally:
        tab.context.close()
