"""The admin function's customer routes the console's customer screen uses: one search text, the
customer's overview, a manager's return by line, and an approval decided with a comment."""

from __future__ import annotations

from shared.api.account import ProfileUpdate
from shared.domain.cart import CartLine
from shared.edge import entry
from shared.services import account, orders
from tests.functions.test_admin import CART, audit_entries, call, client, env, error, now, ok, register, sound, staff  # noqa: F401  (fixtures)


def delivered(store, order_id: str = "A1") -> None:
    moment = now()
    record, _ = orders.place_order(store, config=entry.config(moment), customer_id="anna", order_id=order_id, lines=[CartLine.model_validate({**CART[0], "quantity": 2})], bonuses=0, now=moment)
    orders.mark_paid(store, config=entry.config(moment), order_id=order_id, payment=orders.PaymentRef(provider="test", id=f"p-{order_id}", amount=record.money_to_pay), now=moment)
    orders.mark_delivered(store, config=entry.config(moment), order_id=order_id, delivered_at=moment, now=moment, carrier="manager")


def test_one_search_text_finds_the_customer_by_name_e_mail_or_order_and_the_overview_shows_the_order(client, env, staff):  # noqa: F811
    register(env, "anna", "boris")
    account.update_profile(env, customer_id="anna", update=ProfileUpdate(name="Анна Смирнова", email="anna@example.ru"), now=now())
    delivered(env)
    for text in ("анна", "Anna@Example.ru", "A1", "anna"):
        found = ok(call(client, "POST", "/customers/search", {"query": text}, token=staff["accountant"]))
        assert [c["customer_id"] for c in found["customers"]] == ["anna"], text
    error(call(client, "POST", "/customers/search", {"query": " "}, token=staff["accountant"]), 400, "validation_failed")
    view = ok(call(client, "POST", "/customers/anna/overview", {}, token=staff["accountant"]))
    (order,) = view["orders"]
    assert order["order_id"] == "A1" and order["lines"][0]["earned"] == order["points_earned"] > 0
    assert [e["label_ru"] for e in order["events"]] == ["Оплачен", "Доставлен"]
    assert view["audit"] == [] and view["customer"]["profile"]["email"] == "anna@example.ru"
    assert ok(call(client, "POST", "/customers/anna/overview", {}, token=staff["manager"]))["audit"] is None  # a manager reads no audit log
    error(call(client, "POST", "/customers/ghost/overview", {}, token=staff["manager"]), 404, "not_found")


def test_a_manager_returns_one_unit_once_and_it_is_audited(client, env, staff):  # noqa: F811
    register(env, "anna")
    delivered(env)
    body = {"return_id": "R1", "lines": {"serum": 1}, "reason": "Вернули в магазин"}
    error(call(client, "POST", "/orders/A1/return", body, token=staff["marketer"]), 403, "forbidden")
    error(call(client, "POST", "/orders/A1/return", {**body, "lines": {"serum": 3}}, token=staff["manager"]), 400, "validation_failed")
    first = ok(call(client, "POST", "/orders/A1/return", body, token=staff["manager"]))
    assert (first["status"], first["returned_units"], first["applied"]) == ("partially_returned", {"serum": 1}, True) and first["earned_back"] > 0
    assert ok(call(client, "POST", "/orders/A1/return", body, token=staff["manager"]))["applied"] is False
    assert [e["action"] for e in audit_entries(env) if e["target"] == "order:A1"] == ["order.return"]
    sound(env, "anna")


def test_a_checker_approves_an_adjustment_with_a_comment_kept_in_the_audit_log(client, env, staff):  # noqa: F811
    register(env, "anna")
    asked = ok(call(client, "POST", "/customers/anna/adjust", {"amount": 6000, "reason": "Компенсация", "idempotency_key": "k1"}, token=staff["marketer"]))
    assert asked["status"] == "pending_approval"
    done = ok(call(client, "POST", f"/approvals/{asked['approval_id']}/approve", {"comment": "Проверено"}, token=staff["admin"]))
    assert done["status"] == "executed"
    (decision,) = [e for e in audit_entries(env) if e["action"] == "approval.approve"]
    assert decision["params"]["comment"] == "Проверено" and decision["actor"] == "admin@shop.example"
