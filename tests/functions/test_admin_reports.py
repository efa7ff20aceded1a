"""The admin function's dashboards, filtered audit log and bank's batch over HTTP (emulator)."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.ledger import Accrue
from shared.edge import entry
from shared.platform.sealing import payout_sealer
from shared.services import ledger, payouts
from tests.functions.test_admin import call, client, env, error, now, ok, register, staff  # noqa: F401  (the fixtures)


def test_the_banks_batch_the_one_request_and_the_filtered_audit_log_over_http(client, env, staff):  # noqa: F811
    register(env, "maria")
    moment = now()
    reward = Accrue(amount=1000, source="referral", ref="A1", activates_at=moment, expires_at=moment + timedelta(days=365), order_id="ref-anna-A1")
    ledger.post(env, "maria", "referral:ref-anna-A1", reward, now=moment)
    config = entry.config(moment)
    payouts.request_payout(env, config=config, customer_id="maria", request_id="payout-0001", amount=500, method="card", details="4111 1111 1111 1111", now=moment, sealer=payout_sealer())
    manager, accountant = staff["manager"], staff["accountant"]
    one = ok(call(client, "GET", "/payouts/payout-0001", token=accountant))
    assert (one["status"], one["details"], "destination" in one) == ("requested", "**** 1111", False)
    error(call(client, "GET", "/payouts/payout-0404", token=accountant), 404, "not_found")
    approval = ok(call(client, "POST", "/payouts/payout-0001/approve", {}, token=manager))
    ok(call(client, "POST", f"/approvals/{approval['id']}/approve", token=staff["manager2"]))

    masked = ok(call(client, "POST", "/payouts/export", {}, token=accountant))
    assert [(r["request_id"], r["amount"], r["details"], r["destination"]) for r in masked["rows"]] == [("payout-0001", 50000, "**** 1111", None)]
    error(call(client, "POST", "/payouts/export", {"reveal": True}, token=accountant), 403, "forbidden")
    full = ok(call(client, "POST", "/payouts/export", {"reveal": True}, token=manager))
    assert [r["destination"] for r in full["rows"]] == ["4111111111111111"] and full["total"] == 50000

    exports = ok(call(client, "POST", "/audit/search", {"action": "payout.export"}, token=accountant))["entries"]
    assert [(e["actor"], e["params"]["reveal"]) for e in exports] == [("manager@shop.example", True), ("accountant@shop.example", False)]
    by_manager2 = ok(call(client, "POST", "/audit/search", {"actor": "manager2@shop.example", "date_from": moment.date().isoformat()}, token=accountant))["entries"]
    assert [e["action"] for e in by_manager2] == ["approval.approve"]
    error(call(client, "POST", "/audit/search", {"action": "Payout Export"}, token=accountant), 400, "validation_failed")

    board = ok(call(client, "POST", "/reports/dashboard", {}, token=manager))
    assert board["liability"] is None and (board["partners"]["payouts_approved"], board["partners"]["payouts_approved_amount"]) == (1, 500)
    assert ok(call(client, "POST", "/reports/dashboard", {"weeks": 4}, token=staff["marketer"]))["partners"]["payouts_approved"] is None
    error(call(client, "POST", "/reports/dashboard", {"weeks": 0}, token=manager), 400, "validation_failed")
