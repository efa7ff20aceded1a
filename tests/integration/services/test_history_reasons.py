"""Every credit the customer sees in the history has its own Russian reason, never the generic one."""

from __future__ import annotations

from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.domain.history import HistoryKind
from shared.edge.admin_auth import ROLES, Admin
from shared.presets import preset_data
from shared.services import account, orders, registration
from shared.services.admin import mass_accruals

OWNER = Admin("owner@shop.example", ROLES)


def test_first_order_and_mass_accrual_credits_have_their_own_history_reasons(store, now):
    data = preset_data("biomiq")
    data["earning_rules"] = [*data["earning_rules"], {"code": "first", "event": "first_order", "amount": 200}]
    config = ProgramConfig.model_validate(data)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    placed, _ = orders.place_order(store, config=config, customer_id="anna", order_id="A1", lines=[CartLine(id="cup", price=100000, quantity=1)], bonuses=0, now=now)
    orders.mark_paid(store, config=config, order_id="A1", payment=orders.PaymentRef(provider="test", id="p-A1", amount=placed.money_to_pay), now=now)
    mass_accruals.create_mass_accrual(store, OWNER, config=config, job_id="march-8", amount=100, reason="8 Марта", customer_ids=["anna"], now=now)
    mass_accruals.run_mass_accrual(store, OWNER, config=config, job_id="march-8", now=now)

    page = account.history(store, config=config, customer_id="anna", now=now)
    credits = sorted((item.delta, item.reason) for item in page.items if item.kind == HistoryKind.ACCRUAL.value)
    assert credits == [(50, "Начисление за заказ A1"), (100, "Бонусы по акции"), (200, "Бонус за первый заказ"), (500, "Приветственный бонус")]
    assert all(item.reason != "Начисление бонусов" for item in page.items)
