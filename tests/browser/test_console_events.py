"""The customer page's «Начислить бонус за действие» form, in headless Chromium on the local stack
(the Biomiq program there credits no review: the manager sees the program's refusal in Russian at
the form, and nothing is credited; the crediting itself is proven over HTTP in
tests/functions/test_earning_events.py)."""

from __future__ import annotations

from pathlib import Path

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
