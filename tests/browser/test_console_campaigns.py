"""The console's promo codes, mass accruals and catalog, in headless Chromium on the local stack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from scripts.shop_page import SERUM
from tests.browser.conftest import Console, LocalStack, screenshot

FRIENDS = ("olga", "irina")  # the seed's buyers through Maria's link


def go(tab: Any, control: Any) -> None:
    """Click a link or a form's button and wait for the page it leads to."""
    with tab.expect_navigation():
        control.click()


def admin_token(stack: LocalStack, console: Console, role: str) -> str:
    """A token of the admin JSON API for ``role``'s user (password and a fresh authenticator code)."""
    user = console.users[role]
    answer = httpx.post(stack.urls["admin"] + "/login", json={"email": user["email"], "password": user["password"], "otp": console.code(role)}, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def quote(stack: LocalStack, promo_code: str) -> dict[str, Any]:
    """The cart of one serum (1 900 ₽) priced by the cart_quote function with ``promo_code``, as the kit asks."""
    line = {"id": "1", "product": SERUM, "name": "Сыворотка", "price": 190000, "quantity": 1}
    answer = httpx.post(stack.urls["cart_quote"] + "/quote", json={"lines": [line], "promo_code": promo_code}, headers={"Origin": stack.shop}, timeout=10)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def test_a_marketer_creates_a_promo_code_that_prices_the_cart_and_switches_it_off(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    tab = console.page_as("marketer", "/promo")
    try:
        go(tab, tab.get_by_role("link", name="Создать промокод"))
        tab.get_by_role("textbox", name="Промокод", exact=True).fill("ZIMA300")
        tab.get_by_label("Вид скидки").select_option("combined")
        tab.get_by_label("Процент").fill("150")
        tab.get_by_label("Сумма скидки, ₽").fill("300")
        tab.get_by_label("Минимальная сумма заказа, ₽").fill("1000")
        tab.get_by_label("Всего использований").fill("0")
        go(tab, tab.get_by_role("button", name="Создать промокод"))
        # refused at the fields, nothing created
        percent = tab.get_by_label("Процент")
        assert percent.get_attribute("aria-invalid") == "true"
        assert tab.get_by_role("alert").filter(has_text="Процент — число больше 0 и не больше 100.").is_visible()
        assert tab.get_by_role("alert").filter(has_text="Целое число от 1").is_visible()
        assert tab.get_by_role("textbox", name="Промокод", exact=True).input_value() == "ZIMA300"  # what was typed stays
        screenshot(tab, "console-promo-new.png", tmp_path, full_page=True)
        percent.fill("5")
        tab.get_by_label("Всего использований").fill("100")
        tab.get_by_label("Использований на одного клиента").fill("1")
        go(tab, tab.get_by_role("button", name="Создать промокод"))
        tab.wait_for_url(re.compile(r"/promo/ZIMA300"))
        assert tab.get_by_role("status").filter(has_text="Промокод создан.").is_visible()
        assert tab.get_by_text("5 % + 300,00 ₽").is_visible()
        # the cart is priced with it: 5 % of 1 900 ₽ and 300 ₽ off
        priced = quote(stack, "zima300")
        assert priced["promo_applied"] is True and priced["discount"] == 9500 + 30000
        # a call-centre order with the code: its use shows on the code's page
        manager = admin_token(stack, console, "manager")
        line = {"id": "1", "product": SERUM, "name": "Сыворотка", "price": 190000, "quantity": 1}
        order = {"customer_id": FRIENDS[0], "order_id": "cc-zima300", "lines": [line], "promo_code": "ZIMA300"}
        placed = httpx.post(stack.urls["admin"] + "/orders", json=order, headers={"Authorization": f"Bearer {manager}"}, timeout=10)
        assert placed.status_code == 200, placed.text
        tab.goto(console.url + "/promo")
        row = tab.get_by_role("row").filter(has_text="ZIMA300")
        assert row.get_by_text("Действует").is_visible() and row.get_by_role("cell", name="100").is_visible()
        assert row.get_by_role("cell", name="5 % + 300,00 ₽").is_visible() and row.get_by_role("cell", name="1", exact=True).count() == 2  # one use, one per customer
        screenshot(tab, "console-promo.png", tmp_path, full_page=True)
        go(tab, row.get_by_role("link", name="ZIMA300"))
        used = tab.get_by_role("row").filter(has_text=FRIENDS[0])
        assert used.get_by_role("cell", name="cc-zima300").is_visible()
        assert tab.locator("dt:has-text('Осталось') + dd").inner_text() == "99"
        screenshot(tab, "console-promo-usage.png", tmp_path, full_page=True)
        tab.once("dialog", lambda dialog: dialog.accept())
        go(tab, tab.get_by_role("button", name="Выключить промокод"))
        assert tab.get_by_role("status").filter(has_text="Промокод выключен").is_visible()
        assert tab.get_by_role("button", name="Выключить промокод").count() == 0
        assert quote(stack, "ZIMA300")["promo_applied"] is False
    finally:
        tab.context.close()


def test_a_manager_has_no_promo_screen_and_a_hand_made_post_is_refused(console: Console) -> None:
    tab = console.page_as("manager")
    try:
        assert tab.get_by_role("navigation", name="Разделы").get_by_role("link", name="Промокоды").count() == 0
        assert tab.request.get(console.url + "/promo/new", max_redirects=0).status == 403
        csrf = tab.locator("input[name=csrf]").first.get_attribute("value")
        refused = tab.request.post(console.url + "/promo/new", form={"csrf": csrf or "", "code": "HACK", "kind": "percent", "percent": "50"}, max_redirects=0)
        assert refused.status == 403
        tab.goto(console.url + "/catalog")  # the catalog is for every role to read, not to change
        assert tab.get_by_role("heading", name="Каталог").is_visible()
        assert tab.get_by_role("button", name="Загрузить").count() == 0
    finally:
        tab.context.close()


def _fill_accrual(tab: Any, *, amount: str, reason: str, step: str) -> None:
    tab.get_by_label("Бонусов каждому").fill(amount)
    tab.get_by_label("Причина").fill(reason)
    tab.get_by_label("Клиентов за один шаг").fill(step)


def _friends(stack: LocalStack, console: Console) -> list[str]:
    """The two friends Maria invited (scripts/demo_story.py): the accruals credit them, never Maria,
    whose balance the storefront's story counts."""
    token = admin_token(stack, console, "marketer")
    for friend in FRIENDS:
        assert httpx.get(stack.urls["admin"] + f"/customers/{friend}", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    return list(FRIENDS)


def test_a_mass_accrual_is_previewed_then_runs_step_by_step_to_the_end(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    friends = _friends(stack, console)
    tab = console.page_as("marketer", "/accruals")
    try:
        tab.get_by_label("Сегмент").select_option("list")
        tab.get_by_label("Список клиентов").fill("\n".join(friends))
        _fill_accrual(tab, amount="7", reason="Зимняя акция", step="1")  # one customer a step: two steps at least
        go(tab, tab.get_by_role("button", name="Посчитать"))
        preview = tab.locator("#preview-h").locator("..")
        assert preview.locator("dt:has-text('Клиентов') + dd").inner_text() == "2"
        assert preview.locator("dt:has-text('Бонусов всего') + dd").inner_text() == "14"
        assert preview.locator("dt:has-text('Получат бонусы') + dd").inner_text() == "2"
        screenshot(tab, "console-accruals.png", tmp_path, full_page=True)
        tab.once("dialog", lambda dialog: dialog.accept())
        go(tab, tab.get_by_role("button", name=re.compile("Запустить начисление|Отправить на согласование")))
        tab.wait_for_url(re.compile(r"/accruals/mass-"))
        job_id = tab.url.split("/accruals/")[1].split("?")[0]
        if tab.locator("h1").get_by_text("Ждёт согласования").is_visible():  # the marketer's 24 hours passed a threshold: another admin approves
            token = admin_token(stack, console, "admin")
            job = httpx.get(stack.urls["admin"] + f"/mass_accruals/{job_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
            approved = httpx.post(stack.urls["admin"] + f"/approvals/{job['approval_id']}/approve", headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert approved.status_code == 200, approved.text
            tab.reload()
        # the page continues by itself, step by step, until the job is complete
        tab.locator("h1").get_by_text("Завершено", exact=True).wait_for(timeout=30_000)
        progress = tab.locator("progress")
        assert progress.get_attribute("value") == progress.get_attribute("max") == "2"
        facts = tab.locator("#result-h").locator("..")
        assert facts.locator("dt:has-text('Начислено клиентам') + dd").inner_text() == "2"
        assert facts.locator("dt:has-text('Начислено бонусов') + dd").inner_text() == "14"
        assert facts.locator("dt:has-text('Пропущено') + dd").inner_text() == "0"
        assert int(facts.locator("dt:has-text('Шагов') + dd").inner_text()) >= 2
        assert tab.get_by_role("button", name="Продолжить").count() == 0
        screenshot(tab, "console-accrual-job.png", tmp_path, full_page=True)
        tab.goto(console.url + "/accruals")
        row = tab.get_by_role("row").filter(has_text="Зимняя акция")
        assert row.get_by_text("Завершено").is_visible() and row.get_by_text("список (2)").is_visible()
    finally:
        tab.context.close()


def test_a_group_s_preview_counts_its_customers_and_a_large_accrual_waits_for_approval(console: Console, stack: LocalStack) -> None:
    tab = console.page_as("marketer", "/accruals")
    try:
        tab.get_by_label("Сегмент").select_option("group")
        tab.get_by_label("Группа").select_option("b2c")
        _fill_accrual(tab, amount="6000", reason="Слишком щедро", step="10")
        go(tab, tab.get_by_role("button", name="Посчитать"))
        preview = tab.locator("#preview-h").locator("..")
        customers = int(preview.locator("dt:has-text('Клиентов') + dd").inner_text())
        assert customers >= 3
        assert preview.get_by_text("будет ждать согласования второго сотрудника").is_visible()
        # by a level instead: the customers at the first level now
        tab.get_by_label("Сегмент").select_option("level")
        tab.get_by_label("Уровень", exact=True).select_option("level1")
        go(tab, tab.get_by_role("button", name="Посчитать"))
        assert int(tab.locator("#preview-h").locator("..").locator("dt:has-text('Клиентов') + dd").inner_text()) >= 1
        assert tab.get_by_label("Уровень", exact=True).input_value() == "level1"  # the form keeps what was chosen
        tab.get_by_label("Сегмент").select_option("group")
        tab.once("dialog", lambda dialog: dialog.accept())
        go(tab, tab.get_by_role("button", name="Отправить на согласование"))
        tab.wait_for_url(re.compile(r"/accruals/mass-"))
        assert tab.locator("h1").get_by_text("Ждёт согласования").is_visible()
        assert tab.get_by_role("link", name="Все согласования").get_attribute("href") == "/approvals"
        assert tab.get_by_role("button", name="Продолжить").count() == 0  # nothing runs before the approval
        job_id = tab.url.split("/accruals/")[1].split("?")[0]
        token = admin_token(stack, console, "admin")
        job = httpx.get(stack.urls["admin"] + f"/mass_accruals/{job_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert (job["status"], job["credited"], job["budget"]) == ("pending_approval", 0, 6000 * customers)
        rejected = httpx.post(stack.urls["admin"] + f"/approvals/{job['approval_id']}/reject", json={"reason": "слишком много"}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert rejected.status_code == 200, rejected.text
        tab.reload()
        assert tab.locator("h1").get_by_text("Отклонено").is_visible() and tab.get_by_text("бонусы не начислялись").is_visible()
    finally:
        tab.context.close()


def test_a_segment_by_conditions_is_refused_at_its_field_then_previewed_and_its_job_says_who(console: Console, stack: LocalStack) -> None:
    tab = console.page_as("marketer", "/accruals")
    try:
        tab.get_by_label("Сегмент", exact=True).select_option("segment")
        conditions = tab.get_by_role("group", name="Условия сегмента")
        conditions.get_by_role("group", name="Группы покупателей").get_by_role("checkbox", name="Розница").check()
        tab.get_by_label("Сумма покупок от, ₽").fill("много")
        _fill_accrual(tab, amount="6000", reason="Покупателям от суммы", step="10")
        go(tab, tab.get_by_role("button", name="Посчитать"))
        paid_from = tab.get_by_label("Сумма покупок от, ₽")
        assert paid_from.get_attribute("aria-invalid") == "true"
        assert tab.get_by_role("alert").filter(has_text="Введите сумму в рублях").is_visible()
        assert tab.get_by_role("checkbox", name="Розница").is_checked()  # what was chosen stays
        paid_from.fill("1")
        go(tab, tab.get_by_role("button", name="Посчитать"))
        customers = int(tab.locator("#preview-h").locator("..").locator("dt:has-text('Клиентов') + dd").inner_text())
        assert customers >= 1  # the seed's buyers
        tab.once("dialog", lambda dialog: dialog.accept())
        go(tab, tab.get_by_role("button", name="Отправить на согласование"))
        tab.wait_for_url(re.compile(r"/accruals/mass-"))
        assert tab.get_by_text("сегмент: группа «Розница»; сумма покупок от 1,00").is_visible()
        job_id = tab.url.split("/accruals/")[1].split("?")[0]
        token = admin_token(stack, console, "admin")
        job = httpx.get(stack.urls["admin"] + f"/mass_accruals/{job_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert job["definition"]["audience"]["groups"] == ["b2c"] and job["definition"]["audience"]["paid_total_min"] == 100
        rejected = httpx.post(stack.urls["admin"] + f"/approvals/{job['approval_id']}/reject", json={"reason": "проверка"}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert rejected.status_code == 200, rejected.text  # nothing is credited to the seed's customers
    finally:
        tab.context.close()


def test_a_customer_list_with_a_bad_line_says_which_line_and_why(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    tab = console.page_as("marketer", "/accruals")
    try:
        tab.get_by_label("Сегмент").select_option("list")
        _fill_accrual(tab, amount="5", reason="Бонус по списку", step="50")
        csv = f"Телефон\n{stack.maria['phone']}\nне телефон!\n".encode()
        tab.get_by_label("Или файл CSV со списком").set_input_files(files=[{"name": "list.csv", "mimeType": "text/csv", "buffer": csv}])
        go(tab, tab.get_by_role("button", name="Посчитать"))
        alert = tab.get_by_role("alert").filter(has_text="Строка 3")
        assert alert.get_by_text("Строка 3: «не телефон!» — не номер телефона и не идентификатор клиента.").is_visible()
        assert tab.get_by_label("Или файл CSV со списком").get_attribute("aria-invalid") == "true"
        preview = tab.locator("#preview-h").locator("..")
        assert preview.locator("dt:has-text('Клиентов') + dd").inner_text() == "1"
        assert tab.get_by_label("Список клиентов").input_value() == stack.maria["customer_id"]  # the good line, resolved to the customer
        screenshot(tab, "console-accruals-list.png", tmp_path, full_page=True)
    finally:
        tab.context.close()


def test_a_catalog_import_refuses_the_bad_row_with_its_reason_and_the_product_is_edited(console: Console, tmp_path: Path) -> None:
    tab = console.page_as("marketer", "/catalog")
    try:
        export = (
            "Tilda UID;Brand;SKU;Category;Title;Price;Price Old;Quantity;External ID\n"
            "412045678911;Biomiq;BQ-MASK-1;Уход за лицом;Маска;950;1200;10;412045678911\n"
            "412045678912;Biomiq;BQ-BAD-1;Уход за лицом;Бальзам;дорого;;5;412045678912\n"
        ).encode()
        tab.get_by_label("Файл выгрузки товаров").set_input_files(files=[{"name": "tilda.csv", "mimeType": "text/csv", "buffer": export}])
        go(tab, tab.get_by_role("button", name="Загрузить", exact=True))
        assert tab.get_by_role("status").filter(has_text="Каталог загружен.").is_visible()
        refused = tab.get_by_role("table", name="Отклонённые строки")
        assert refused.get_by_role("row").filter(has_text="412045678912").get_by_text("Строка 3: цена «дорого» не является суммой в рублях.").is_visible()
        tab.get_by_label("UID, артикул или внешний код").fill("BQ-MASK-1")
        go(tab, tab.get_by_role("button", name="Найти"))
        row = tab.get_by_role("row").filter(has_text="Маска")
        assert row.get_by_text("950,00").is_visible() and row.get_by_text("Распродажа").is_visible()
        screenshot(tab, "console-catalog.png", tmp_path, full_page=True)
        go(tab, row.get_by_role("link", name="Маска"))
        tab.get_by_role("textbox", name="Цена, ₽", exact=True).fill("1300")
        tab.get_by_label("Причина изменения").fill("новая цена")
        go(tab, tab.get_by_role("button", name="Сохранить"))
        assert tab.get_by_label("Старая цена, ₽").get_attribute("aria-invalid") == "true"
        assert tab.get_by_text("Старая цена должна быть больше цены").is_visible()
        tab.get_by_label("Старая цена, ₽").fill("")
        tab.get_by_label("Подарочный сертификат").check()
        go(tab, tab.get_by_role("button", name="Сохранить"))
        assert tab.get_by_role("status").filter(has_text="Товар сохранён.").is_visible()
        assert tab.get_by_role("textbox", name="Цена, ₽", exact=True).input_value() == "1300" and tab.get_by_label("Подарочный сертификат").is_checked()
    finally:
        tab.context.close()



def test_without_javascript_the_continue_button_runs_the_next_step(console: Console, stack: LocalStack) -> None:
    friends = _friends(stack, console)
    console.page_as("marketer").context.close()  # signed in once: the session is kept for new tabs
    context = console._context(storage_state=console._states["marketer"], java_script_enabled=False)
    tab = context.new_page()
    try:
        tab.goto(console.url + "/accruals")
        tab.get_by_label("Сегмент").select_option("list")
        tab.get_by_label("Список клиентов").fill("\n".join(friends))
        _fill_accrual(tab, amount="3", reason="Без скриптов", step="1")
        go(tab, tab.get_by_role("button", name="Посчитать"))
        go(tab, tab.get_by_role("button", name="Запустить начисление"))  # no confirmation without JavaScript
        tab.wait_for_url(re.compile(r"/accruals/mass-"))
        assert tab.locator("progress").get_attribute("value") == "1"  # the first step: one customer
        go(tab, tab.get_by_role("button", name="Продолжить"))
        tab.wait_for_load_state()
        assert tab.locator("progress").get_attribute("value") == "2"
        assert tab.get_by_role("button", name="Продолжить").count() == 0  # the end of the list: nothing left to continue
        assert tab.locator("h1").get_by_text("Завершено", exact=True).is_visible()
        assert tab.locator("#result-h").locator("..").locator("dt:has-text('Начислено бонусов') + dd").inner_text() == "6"
    finally:
        context.close()
