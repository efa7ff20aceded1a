"""The console's campaigns and one campaign's results, in headless Chromium on the local stack.

The stack's program has no campaign: the test publishes one through the admin API, raising only a SKU
the shop does not sell, so no price or accrual of the other tests moves. Its figures come from the
stack's own orders; the page must show exactly what the report over HTTP answers (checked figure by
figure in tests/functions/test_campaign_results.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from console.app import bonuses, rubles
from console.pages.campaign_results import per_period, period_ru
from tests.browser.conftest import Console, LocalStack, screenshot
from tests.browser.test_console_campaigns import admin_token, go

CAMPAIGN = {"code": "all_year_x2", "name": "Двойные баллы на набор-сюрприз", "active_from": "2026-01-01T00:00:00Z", "active_to": "2030-01-01T00:00:00Z",
            "multiplier_percent": 200, "skus": ["NO-SUCH-SKU"]}


def publish_campaign(stack: LocalStack, console: Console) -> None:
    marketer = admin_token(stack, console, "marketer")
    admin_url = stack.urls["admin"]
    current = httpx.get(admin_url + "/config", headers={"Authorization": f"Bearer {marketer}"}, timeout=10)
    assert current.status_code == 200, current.text
    config: dict[str, Any] = current.json()["config"]
    config["campaigns"] = [*[c for c in config.get("campaigns", []) if c["code"] != CAMPAIGN["code"]], CAMPAIGN]
    body = {"config": config, "reason": "Кампания для экрана результатов", "idempotency_key": "campaign-results-screen"}
    answer = httpx.post(admin_url + "/config", json=body, headers={"Authorization": f"Bearer {marketer}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    if answer.json()["status"] == "pending_approval":  # a second admin approves a change that touches money
        approver = admin_token(stack, console, "admin")
        approved = httpx.post(f"{admin_url}/approvals/{answer.json()['approval_id']}/approve", json={}, headers={"Authorization": f"Bearer {approver}"}, timeout=10)
        assert approved.status_code == 200, approved.text


def test_a_marketer_opens_a_campaigns_results(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    publish_campaign(stack, console)
    tab = console.page_as("marketer", "/")
    try:
        go(tab, tab.get_by_role("navigation", name="Разделы").get_by_role("link", name="Кампании"))
        assert tab.get_by_role("heading", level=1, name="Кампании").is_visible()
        table = tab.get_by_role("table", name="Кампании программы, их сроки и повышение начислений")
        row = table.get_by_role("row").filter(has_text=CAMPAIGN["name"])
        assert row.get_by_role("rowheader").inner_text() == CAMPAIGN["name"]
        cells = [c.inner_text() for c in row.get_by_role("cell").all()]
        assert cells[:5] == ["all_year_x2", "Идёт", "01.01.2026 03:00", "01.01.2030 03:00", "×2"]  # Moscow time
        screenshot(tab, "console-campaigns.png", tmp_path, full_page=True)

        go(tab, row.get_by_role("link", name=f"Результаты «{CAMPAIGN['name']}»"))
        assert tab.get_by_role("heading", level=1).inner_text().startswith(CAMPAIGN["name"])
        report = httpx.get(stack.urls["admin"] + "/campaigns/all_year_x2/results", headers={"Authorization": f"Bearer {admin_token(stack, console, 'marketer')}"}, timeout=10).json()
        assert tab.get_by_text(re.compile(r"Начислено по кампании: \d")).inner_text() == f"Начислено по кампании: {bonuses(report['campaign_earned'])} бонусов."
        period = period_ru(report["period_seconds"])
        rule = tab.get_by_text(re.compile("^Сравнение — со средним за такой же период до кампании"))
        periods = "это один такой период прямо" if report["periods"] == 1 else f"среднее по {report['periods']} таким периодам подряд"
        assert f"длина периода {period}, {periods} перед её началом" in rule.inner_text()
        figures = tab.get_by_role("table", name="Оплаченные заказы, оформленные в период кампании и в среднем за такой же период до неё")
        assert [h.inner_text() for h in figures.get_by_role("columnheader").all()] == ["Показатель", "В период кампании", f"В среднем за {period} до неё", "Изменение"]
        shown = {r.get_by_role("rowheader").inner_text(): [c.inner_text() for c in r.get_by_role("cell").all()] for r in figures.get_by_role("row").all()[1:]}
        assert shown["Заказы"][:2] == [bonuses(report["orders"]["current"]), per_period(report["orders"]["before_total"], report["periods"])]
        assert shown["Выручка"][:2] == [rubles(report["revenue"]["current"]), rubles(report["revenue"]["before"])]
        assert shown["Списано бонусов"][:2] == [bonuses(report["spent"]["current"]), bonuses(report["spent"]["before"])]
        screenshot(tab, "console-campaign-results.png", tmp_path, full_page=True)
    finally:
        tab.context.close()

    accountant = console.page_as("accountant", "/campaigns")  # the accountant reads the results too
    try:
        assert accountant.get_by_role("heading", level=1, name="Кампании").is_visible()
    finally:
        accountant.context.close()
