"""The back office's records as values: approvals, mass-accrual jobs, audit records, and their views."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from msgspec import structs

from shared.api.admin import ApprovalView, AuditEntry, JobResponse, ScheduledVersion
from shared.domain.admin import (
    Approval,
    ApprovalStatus,
    AuditRecord,
    BatchCounts,
    CreditOutcome,
    JobStatus,
    MassAccrualDefinition,
    MassAccrualJob,
    audit_key,
    jsonable,
)


def _approval(now) -> Approval:
    return Approval.request(
        approval_id="A1",
        action="payout.approve",
        target="payout:payout-0001",
        params={"request_id": "payout-0001", "reason": "ok"},
        maker="olga@shop.example",
        maker_roles=("manager",),
        reason="ok",
        now=now,
    )


def _definition(**changes) -> MassAccrualDefinition:
    return structs.replace(MassAccrualDefinition(amount=100, reason="8 Марта", customer_ids=("c1", "c2", "c3"), group=None, lifetime_days=365), **changes)


def test_values_stored_as_json_lose_tuples_decimals_and_models(now):
    assert jsonable({"a": (1, 2), "b": Decimal("1.5"), 3: [{"c": ("x",)}]}) == {"a": [1, 2], "b": "1.5", "3": [{"c": ["x"]}]}
    assert jsonable(ScheduledVersion(version=2, effective_from=now)) == {"version": 2, "effective_from": "2026-03-01T09:00:00Z"}
    assert jsonable(now) is now  # Firestore stores datetimes as timestamps


def test_a_requested_approval_is_pending_with_nobody_deciding_yet(now):
    approval = _approval(now)
    assert (approval.status, approval.checker, approval.decided_at, approval.result, approval.error) == (ApprovalStatus.PENDING, None, None, None, None)
    assert approval.maker_roles == ("manager",) and approval.created_at == now
    with pytest.raises(AttributeError):
        approval.status = ApprovalStatus.EXECUTED  # type: ignore[misc]


def test_an_approval_is_claimed_then_executed_or_failed_and_a_pending_one_rejected(now):
    later = now + timedelta(minutes=3)
    pending = _approval(now)
    claimed = pending.claimed("ivan@shop.example", later)
    assert (claimed.status, claimed.checker, claimed.decided_at) == (ApprovalStatus.APPROVED, "ivan@shop.example", later)

    executed = claimed.executed("ivan@shop.example", later, {"amount": Decimal(500), "lines": ("a",)})
    assert executed.status is ApprovalStatus.EXECUTED and executed.result == {"amount": "500", "lines": ["a"]}
    failed = claimed.failed({"code": "invalid_state"})
    assert (failed.status, failed.error, failed.checker) == (ApprovalStatus.FAILED, {"code": "invalid_state"}, "ivan@shop.example")
    rejected = pending.rejected("ivan@shop.example", later, "duplicate")
    assert (rejected.status, rejected.result, rejected.decided_at) == (ApprovalStatus.REJECTED, {"reason": "duplicate"}, later)
    assert pending.status is ApprovalStatus.PENDING  # each change is a new value
    assert [s.value for s in ApprovalStatus] == ["pending", "approved", "executed", "rejected", "failed"]


def test_an_approval_view_carries_the_record_and_whether_it_was_a_replay(now):
    view = ApprovalView.of(_approval(now).executed("ivan@shop.example", now, {"ok": True}), replayed=True)
    assert view.model_dump() == {
        "id": "A1",
        "action": "payout.approve",
        "target": "payout:payout-0001",
        "params": {"request_id": "payout-0001", "reason": "ok"},
        "maker": "olga@shop.example",
        "maker_roles": ["manager"],
        "reason": "ok",
        "status": "executed",
        "created_at": now,
        "checker": "ivan@shop.example",
        "decided_at": now,
        "result": {"ok": True},
        "error": None,
        "replayed": True,
    }


def test_the_audit_key_orders_by_utc_time_then_id(now):
    assert audit_key(now, "ff") == "2026-03-01T09:00:00.000000Z-ff"
    moscow = now.astimezone(ZoneInfo("Europe/Moscow"))
    assert audit_key(moscow, "ff") == audit_key(now, "ff")
    keys = [audit_key(now + timedelta(microseconds=1), "00"), audit_key(now, "ff"), audit_key(now, "aa")]
    assert sorted(keys, reverse=True) == keys


def test_an_audit_record_stores_its_params_and_result_as_json(now):
    record = AuditRecord.new(
        audit_id="a1", actor="olga@shop.example", roles=("admin",), action="promo.create", target="promo:X", params={"limits": (1, 2)}, result=Decimal(2), at=now
    )
    assert (record.params, record.result, record.key) == ({"limits": [1, 2]}, "2", audit_key(now, "a1"))
    assert AuditEntry.of(record).model_dump() == {
        "id": "a1",
        "actor": "olga@shop.example",
        "roles": ["admin"],
        "action": "promo.create",
        "target": "promo:X",
        "params": {"limits": [1, 2]},
        "at": now,
        "result": "2",
        "key": audit_key(now, "a1"),
    }


def test_a_job_starts_at_the_head_of_its_list_or_before_the_first_of_its_group(now):
    listed = MassAccrualJob.start(job_id="j", definition=_definition(), created_by="m@shop.example", now=now)
    grouped = MassAccrualJob.start(job_id="g", definition=_definition(customer_ids=None, group="vip"), created_by="m@shop.example", now=now)
    assert (listed.cursor, grouped.cursor) == (0, None)
    assert (listed.status, listed.complete, listed.kind, listed.completed_at) == (JobStatus.RUNNING, False, "mass_accrual", None)
    assert (listed.definition.customers, grouped.definition.customers) == (3, None)


def test_a_batch_moves_the_cursor_adds_the_counters_and_completes_the_job_at_its_end(now):
    job = MassAccrualJob.start(job_id="j", definition=_definition(), created_by="m@shop.example", now=now)
    counts = BatchCounts().add(CreditOutcome.CREDITED).add(CreditOutcome.REPLAYED).add(CreditOutcome.BLOCKED)
    assert counts == BatchCounts(credited=1, replayed=1, blocked=1)

    later = now + timedelta(seconds=5)
    moved = job.advanced(cursor=2, counts=counts, done=False, now=later)
    assert (moved.cursor, moved.credited, moved.bonuses, moved.replayed, moved.skipped_blocked, moved.batches, moved.updated_at) == (2, 2, 200, 1, 1, 1, later)
    assert not moved.complete and moved.completed_at is None
    last = moved.advanced(cursor=3, counts=BatchCounts(unknown=1), done=True, now=later)
    assert (last.status, last.completed_at, last.skipped_unknown, last.credited) == (JobStatus.COMPLETE, later, 1, 2)
    assert last.progress_since(job) == {"credited": 2, "replayed": 1, "skipped_unknown": 1, "skipped_blocked": 1, "skipped_excluded": 0}
    assert job.credited == 0  # each batch is a new value


def test_a_job_view_counts_the_list_instead_of_showing_it(now):
    job = MassAccrualJob.start(job_id="j", definition=_definition(activation_days=2), created_by="m@shop.example", now=now)
    view = JobResponse.of(job).model_dump()
    assert view["definition"] == {"amount": 100, "reason": "8 Марта", "group": None, "level": None, "birthday": None, "audience": None, "customers": 3, "lifetime_days": 365, "activation_days": 2}
    assert (view["status"], view["cursor"], view["kind"], view["completed_at"]) == ("running", 0, "mass_accrual", None)
