"""The dashboards' daily snapshot, the dashboards by role, the filtered audit log and the bank's batch."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared.adapters import layout
from shared.domain.cart import CartLine
from shared.domain.clock import MSK
from shared.domain.errors import Forbidden
from shared.edge.admin_auth import ROLES, Admin
from shared.platform.sealing import Sealer
from shared.services import orders, payouts, registration, report_snapshots
from shared.services.admin import audit as admin_audit
from shared.services.admin import dashboards, reports
from shared.services.admin import payouts as admin_payouts
from tests.integration.services.payout_story import REWARD, past_hold, referee_order

SEALER = Sealer("test-payout-secret-of-at-least-32-bytes!")
OWNER = Admin("owner@shop.example", ROLES)
MANAGER = Admin("manager@shop.example", ("manager",))
ACCOUNTANT = Admin("accountant@shop.example", ("accountant",))
MARKETER = Admin("marketer@shop.example", ("marketer",))
CART = [CartLine(id="serum", price=190000, quantity=1)]


def _liability_total(store, config, now) -> int:
    return reports.liability_report(store, OWNER, config=config, now=now, limit=500).outstanding


def test_the_snapshot_is_taken_page_by_page_across_runs_and_counts_each_account_once(store, biomiq, now):
    yesterday = now - timedelta(days=1)
    for i in range(5):
        registration.register_customer(store, config=biomiq, customer_id=f"c{i}", now=yesterday)
    placed, _ = orders.place_order(store, config=biomiq, customer_id="c1", order_id="o1", lines=CART, bonuses=0, now=yesterday)
    orders.mark_paid(store, config=biomiq, order_id="o1", payment=orders.PaymentRef(provider="test", id="p1", amount=placed.money_to_pay), now=yesterday)
    orders.place_order(store, config=biomiq, customer_id="c2", order_id="o2", lines=CART, bonuses=0, now=yesterday)  # never paid

    first = report_snapshots.take_snapshot(store, config=biomiq, now=now, batch=2, max_pages=2)
    assert first == {"snapshot_accounts": 4, "snapshot_complete": 0}  # cut short: the next run continues
    for _ in range(5):
        last = report_snapshots.take_snapshot(store, config=biomiq, now=now + timedelta(minutes=1), batch=2, max_pages=2)
    assert last == {"snapshot_accounts": 5, "snapshot_complete": 1}
    day = report_snapshots.moscow_day(now)
    stored = store.read(lambda uow: uow.report_days.get(day))
    assert stored is not None and stored.activity_day == (now.astimezone(MSK).date() - timedelta(days=1)).isoformat()
    assert stored.outstanding == _liability_total(store, biomiq, now) > 0
    paid = orders.find_order(store, "o1")
    assert (stored.orders, stored.earned, stored.spent, stored.orders_with_bonuses) == (2, paid.points_earned, 0, 0)
    assert sum(stored.expiring.values()) == stored.pending + stored.available  # every lot expires within the year
    assert len([d for d, _ in store.ordered(layout.REPORT_DAYS, order_by="day", limit=10)]) == 1  # one document per day


def test_each_role_sees_the_dashboards_its_permissions_open(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", at=now)
    later = past_hold(biomiq, now)
    payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="maria-cashout-1", amount=REWARD, method="card", details="4111 1111 1111 1111", now=later, sealer=SEALER)
    report_snapshots.take_snapshot(store, config=biomiq, now=later, batch=50, max_pages=10)

    marketer = dashboards.dashboard(store, MARKETER, now=later, weeks=4)
    assert marketer.liability and marketer.liability[-1].day == date.fromisoformat(report_snapshots.moscow_day(later))
    assert marketer.liability[-1].outstanding == _liability_total(store, biomiq, later)
    assert marketer.activity is not None and len(marketer.activity) == 4 and marketer.partners.payouts_requested is None
    manager = dashboards.dashboard(store, MANAGER, now=later)
    assert manager.liability is None and manager.activity is None and manager.expiring is None
    assert (manager.partners.payouts_requested, manager.partners.payouts_requested_amount, manager.partners.payouts_approved) == (1, REWARD, 0)
    both = dashboards.dashboard(store, ACCOUNTANT, now=later)
    assert both.liability and both.partners.payouts_requested == 1
    with pytest.raises(Forbidden):
        dashboards.dashboard(store, Admin("nobody@shop.example", ()), now=later)


def test_the_audit_log_filters_by_actor_action_customer_and_moscow_days(store, now):
    other = Admin("second@shop.example", ("admin",))
    for i in range(6):
        who = OWNER if i % 2 == 0 else other
        admin_audit.audit(store, who, action="payout.reveal" if i < 3 else "ledger.adjust", target=f"customer:c{i % 3}", params={}, result={}, now=now - timedelta(days=i))
    everything = admin_audit.search_audit(store, OWNER)
    assert len(everything.entries) == 6
    by_actor = admin_audit.search_audit(store, OWNER, actor="Second@shop.example")
    assert {e.actor for e in by_actor.entries} == {"second@shop.example"} and len(by_actor.entries) == 3
    assert len(admin_audit.search_audit(store, OWNER, action="payout.").entries) == 3
    assert len(admin_audit.search_audit(store, OWNER, action="payout.reveal", customer_id="c1").entries) == 1
    days = [(now - timedelta(days=i)).astimezone(MSK).date() for i in range(6)]
    window = admin_audit.search_audit(store, OWNER, date_from=days[3], date_to=days[1])
    assert [e.at for e in window.entries] == [now - timedelta(days=i) for i in (1, 2, 3)] and window.next_cursor is None
    first = admin_audit.search_audit(store, OWNER, action="ledger.adjust", limit=2)
    rest = admin_audit.search_audit(store, OWNER, action="ledger.adjust", limit=2, cursor=first.next_cursor)
    assert len(first.entries) == 2 and [e.at for e in rest.entries] == [now - timedelta(days=5)]
    with pytest.raises(Forbidden):
        admin_audit.search_audit(store, MARKETER, actor="owner@shop.example")


def test_the_banks_batch_holds_approved_payouts_masked_unless_revealed_and_every_export_of_one_is_audited(store, biomiq, now):
    registration.register_customer(store, config=biomiq, customer_id="maria", now=now)
    referee_order(store, biomiq, partner="maria", referee="anna", order_id="A1", at=now)
    later = past_hold(biomiq, now)
    payouts.request_payout(store, config=biomiq, customer_id="maria", request_id="maria-cashout-1", amount=REWARD, method="card", details="4111 1111 1111 1111", now=later, sealer=SEALER)
    assert admin_payouts.export_approved(store, MANAGER, reveal=False, sealer=None, now=later).rows == []  # not approved yet
    payouts.decide_request(store, request_id="maria-cashout-1", decision="approve", actor="checker@shop.example", now=later)

    masked = admin_payouts.export_approved(store, ACCOUNTANT, reveal=False, sealer=None, now=later + timedelta(minutes=1))
    assert [(r.request_id, r.amount, r.destination) for r in masked.rows] == [("maria-cashout-1", REWARD * 100, None)] and masked.total == REWARD * 100
    assert "4111111111111111" not in masked.model_dump_json()
    with pytest.raises(Forbidden):
        admin_payouts.export_approved(store, ACCOUNTANT, reveal=True, sealer=SEALER, now=later)
    with pytest.raises(Forbidden):
        admin_payouts.export_approved(store, MARKETER, reveal=False, sealer=None, now=later)
    full = admin_payouts.export_approved(store, MANAGER, reveal=True, sealer=SEALER, now=later + timedelta(minutes=2))
    assert [r.destination for r in full.rows] == ["4111111111111111"]
    exports = [e for e in admin_audit.search_audit(store, OWNER, action="payout.export").entries]
    assert [(e.actor, e.params["reveal"], e.result["rows"]) for e in exports] == [("manager@shop.example", True, 1), ("accountant@shop.example", False, 1)]  # an empty batch leaves no record
    payouts.settle(store, request_id="maria-cashout-1", actor="manager@shop.example", now=later)
    assert admin_payouts.export_approved(store, MANAGER, reveal=False, sealer=None, now=later).rows == []  # paid: out of the batch
