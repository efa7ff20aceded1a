"""What the approvals inbox says an approval will do, for each kind of request."""

from __future__ import annotations

from datetime import UTC, datetime

from console.pages.approvals import effect
from shared.api.admin import ApprovalView

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SEEN = {"to_customer_after": 6000, "per_customer_threshold": 5000, "total_after": 6000, "total_threshold": 20000, "passed": ["per_customer"]}


def approval(action: str, target: str, **params: object) -> ApprovalView:
    return ApprovalView(
        id="A1", action=action, target=target, params=params, maker="m@shop.example", maker_roles=["marketer"], reason="why", status="pending",
        created_at=AT, checker=None, decided_at=None, result=None, error=None,
    )


def test_an_adjustment_names_the_customer_the_amount_and_the_makers_day():
    lines = effect(approval("ledger.adjust", "customer:anna", customer_id="anna", amount=6000, effect=SEEN))
    assert lines == [
        "Начислить 6\u202f000 бонусов клиенту anna",
        "За сутки у автора: этому клиенту 6\u202f000 из 5\u202f000, всего 6\u202f000 из 20\u202f000",
        "Превышен порог на одного клиента",
    ]
    assert effect(approval("ledger.adjust", "customer:anna", customer_id="anna", amount=-700))[0] == "Списать 700 бонусов клиенту anna"


def test_a_mass_accrual_names_its_customers_and_budget_a_config_change_its_fields_a_payout_its_request():
    mass = effect(approval("mass_accrual.run", "job:j1", job_id="j1", amount=100, customers=80, total=8000))
    assert mass[0] == "Начислить по 100 бонусов 80 клиентам: бюджет не больше 8\u202f000 бонусов (задание j1)"
    group = effect(approval("mass_accrual.run", "job:j2", job_id="j2", amount=50, group="vip", customers=3, total=150))
    assert group[0].startswith("Начислить по 50 бонусов группе «vip»")
    config = effect(approval("config.replace", "program:biomiq", program="biomiq", base_version=3, changes=[{"path": "welcome.standard", "before": 500, "after": 700}]))
    assert config == ["Опубликовать новую версию программы biomiq (на основе версии 3)", "welcome.standard: 500 → 700"]
    assert effect(approval("payout.approve", "payout:p1", request_id="p1")) == ["Одобрить заявку на выплату p1"]
