"""The Tilda order path end to end: the kit's discount, Tilda's order form, Tilda's own YooKassa
payment (the forms fake) and Tilda's webhook to the checkout function, which settles the order
once, or flags it when what was paid does not match what the kit placed."""

from __future__ import annotations

from typing import Any

import httpx

from scripts import serve, shop_page
from scripts.shop_page import CREAM, SERUM, access_token, add
from tests.browser.conftest import LocalStack, login_in_cart, spend, wait_for_total

SERUM_RUB, CREAM_RUB = 1900, 1200


def customer_get(stack: LocalStack, page: Any, path: str) -> Any:
    answer = httpx.get(stack.urls["account"] + path, headers={"Authorization": "Bearer " + access_token(page), "Origin": stack.shop}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def submit_order(page: Any, stack: LocalStack) -> dict[str, Any]:
    sent = len(stack.state()["tilda"])
    shop_page.submit_order(page, "Анна", "+7 916 000-00-00")
    submissions = stack.state()["tilda"]
    assert len(submissions) == sent + 1
    record: dict[str, Any] = submissions[-1]
    return record


def webhook(stack: LocalStack) -> str:
    return f"{stack.urls['checkout']}/tilda/{serve.LOCAL_ENV['KOPILKA_TILDA_TOKEN']}"


def test_a_paid_tilda_order_settles_once(page, stack):
    page.goto(stack.shop + "/")
    add(page, SERUM)
    add(page, CREAM)
    login_in_cart(page, stack, "+79167770007")  # 500 welcome bonuses
    spend(page, 500)
    wait_for_total(page, SERUM_RUB + CREAM_RUB - 500)
    token = page.evaluate("document.querySelector('input[name=kopilka_order]').value")

    record = submit_order(page, stack)
    assert record["fields"]["kopilka_order"] == token  # the hidden input went with the form
    assert record["amount"] == (SERUM_RUB + CREAM_RUB - 500) * 100  # Tilda's YooKassa took the discounted total
    assert record["webhook"]["status"] == 200, record["webhook"]
    assert "flagged" not in record["webhook"]["body"]
    orders = customer_get(stack, page, "/orders")["items"]
    assert [(o["status"], o["bonuses_spent"], o["points_earned"]) for o in orders] == [("paid", 500, 130)]  # 5 % of 2600 ₽
    assert customer_get(stack, page, "/balance")["available"] == 0

    again = httpx.post(webhook(stack), data=record["sent"], timeout=10)  # Tilda delivers again
    assert again.status_code == 200
    assert customer_get(stack, page, "/orders")["items"] == orders
    assert customer_get(stack, page, "/balance")["available"] == 0


def test_a_discount_edited_in_the_page_ends_in_a_flagged_order(page, stack):
    page.goto(stack.shop + "/")
    add(page, SERUM)
    login_in_cart(page, stack, "+79168880008")  # 500 welcome bonuses
    spend(page, 500)
    wait_for_total(page, SERUM_RUB - 500)
    page.evaluate("window.tcart.promocode.discountsum = 1400; tcart__updateTotalProductsinCartObj(); tcart__reDrawTotal(); tcart__saveLocalObj()")
    wait_for_total(page, SERUM_RUB - 1400)

    record = submit_order(page, stack)
    assert record["amount"] == (SERUM_RUB - 1400) * 100
    assert record["webhook"]["status"] == 200, record["webhook"]  # a verdict: Tilda must not retry it
    assert "flagged" in record["webhook"]["body"]
    orders = customer_get(stack, page, "/orders")["items"]
    assert all(o["status"] != "paid" and not o["points_earned"] for o in orders)
    assert sum(o["bonuses_spent"] or 0 for o in orders) == 0
    balance = customer_get(stack, page, "/balance")
    assert (balance["available"], balance["reserved"]) == (500, 0)  # the reservation was released
