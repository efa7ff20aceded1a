"""The back office's repositories on both stores: approvals, mass-accrual jobs, the admin audit log.

Each round-trips its domain value, reads an absent document as ``None``, and
writes exactly the document the data model has always held (read back raw
through the unit of work).
"""

from __future__ import annotations

from datetime import timedelta

from msgspec import structs

from shared.adapters import layout
from shared.domain.admin import (
    Approval,
    ApprovalStatus,
    AuditRecord,
    BatchCounts,
    JobStatus,
    MassAccrualDefinition,
    MassAccrualJob,
)
from shared.domain.maker_checker import DirectChange, MakerWindow


def _raw(store, path):
    return store.run(lambda uow: uow.get(path))


def _approval(now, approval_id="A1", **params) -> Approval:
    return Approval.request(
        approval_id=approval_id,
        action="ledger.adjust",
        target="customer:anna",
        params=params or {"customer_id": "anna", "amount": 9000, "reason": "complaint", "lifetime_days": 365},
        maker="olga@shop.example",
        maker_roles=("admin", "marketer"),
        reason="complaint",
        now=now,
    )


# --- approvals ------------------------------------------------------------------------------


def test_an_approval_round_trips_and_an_absent_one_is_none(store, now):
    approval = _approval(now)
    store.run(lambda uow: uow.approvals.create(approval))

    assert store.read(lambda uow: uow.approvals.get("A1")) == approval
    assert store.run(lambda uow: uow.approvals.get("A1")) == approval
    assert store.read(lambda uow: uow.approvals.get("A2")) is None


def test_a_pending_approval_is_stored_as_the_data_model_has_it(store, now):
    store.run(lambda uow: uow.approvals.create(_approval(now)))

    assert _raw(store, layout.approval("A1")) == {
        "id": "A1",
        "action": "ledger.adjust",
        "target": "customer:anna",
        "params": {"customer_id": "anna", "amount": 9000, "reason": "complaint", "lifetime_days": 365},
        "maker": "olga@shop.example",
        "maker_roles": ["admin", "marketer"],
        "reason": "complaint",
        "status": "pending",
        "created_at": now,
        "checker": None,
        "decided_at": None,
        "result": None,
        "error": None,
    }


def test_decided_approvals_are_stored_with_their_checker_result_and_error(store, now):
    later = now + timedelta(minutes=5)
    executed = _approval(now).executed("ivan@shop.example", later, {"adjusted": 9000, "customer_id": "anna", "approved_by": "ivan@shop.example"})
    failed = _approval(now, "A2", request_id="payout-0001", reason="").claimed("ivan@shop.example", later).failed({"code": "invalid_state", "message": "the request is rejected"})
    rejected = _approval(now, "A3").rejected("ivan@shop.example", later, "not this month")
    store.run(lambda uow: [uow.approvals.put(a) for a in (executed, failed, rejected)])

    raw = _raw(store, layout.approval("A1"))
    assert (raw["status"], raw["checker"], raw["decided_at"], raw["error"]) == ("executed", "ivan@shop.example", later, None)
    assert raw["result"] == {"adjusted": 9000, "customer_id": "anna", "approved_by": "ivan@shop.example"}
    raw = _raw(store, layout.approval("A2"))
    assert (raw["status"], raw["checker"], raw["result"]) == ("failed", "ivan@shop.example", None)
    assert raw["params"] == {"request_id": "payout-0001", "reason": ""}
    assert raw["error"] == {"code": "invalid_state", "message": "the request is rejected"}
    raw = _raw(store, layout.approval("A3"))
    assert (raw["status"], raw["result"]) == ("rejected", {"reason": "not this month"})
    assert [store.read(lambda uow, i=i: uow.approvals.get(i)) for i in ("A1", "A2", "A3")] == [executed, failed, rejected]


def test_approvals_are_paged_by_status_in_id_order(store, now):
    store.run(lambda uow: [uow.approvals.create(_approval(now, i)) for i in ("A1", "A2", "A3")])
    store.run(lambda uow: uow.approvals.put(_approval(now, "A0").rejected("ivan@shop.example", now, "no")))

    first, after = store.read(lambda uow: uow.approvals.with_status(ApprovalStatus.PENDING, limit=2))
    assert [a.id for a in first] == ["A1", "A2"] and after == "A2"
    rest, end = store.read(lambda uow: uow.approvals.with_status(ApprovalStatus.PENDING, limit=2, start_after=after))
    assert [a.id for a in rest] == ["A3"] and end is None
    rejected, _ = store.read(lambda uow: uow.approvals.with_status(ApprovalStatus.REJECTED, limit=10))
    assert [(a.id, a.status) for a in rejected] == [("A0", ApprovalStatus.REJECTED)]


# --- mass-accrual jobs ----------------------------------------------------------------------------


def _job(now, job_id="march-8", **definition) -> MassAccrualJob:
    base = MassAccrualDefinition(amount=100, reason="8 Марта", customer_ids=("c1", "c2", "c3"), group=None, lifetime_days=365, activation_days=0)
    return MassAccrualJob.start(job_id=job_id, definition=structs.replace(base, **definition), created_by="marketer@shop.example", now=now)


def test_a_job_round_trips_and_an_absent_one_is_none(store, now):
    job = _job(now)
    store.run(lambda uow: uow.jobs.create(job))

    assert store.read(lambda uow: uow.jobs.get("march-8")) == job
    assert store.read(lambda uow: (uow.jobs.get("ghost"), uow.jobs.exists("ghost"))) == (None, False)


def test_a_job_is_stored_as_the_data_model_has_it(store, now):
    store.run(lambda uow: uow.jobs.create(_job(now)))

    assert _raw(store, layout.job("march-8")) == {
        "job_id": "march-8",
        "kind": "mass_accrual",
        "definition": {"amount": 100, "reason": "8 Марта", "customer_ids": ["c1", "c2", "c3"], "group": None, "lifetime_days": 365, "activation_days": 0},
        "status": "running",
        "cursor": 0,
        "credited": 0,
        "bonuses": 0,
        "skipped_unknown": 0,
        "skipped_blocked": 0,
        "skipped_excluded": 0,
        "replayed": 0,
        "batches": 0,
        "created_by": "marketer@shop.example",
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
        "budget": None,  # a job of before budgets: no cap
        "approval_id": None,
    }


def test_a_job_waiting_for_its_approval_keeps_its_budget_and_approval(store, now):
    job = MassAccrualJob.start(job_id="big", definition=_job(now).definition, created_by="marketer@shop.example", now=now, budget=300, approval_id="A9")
    store.run(lambda uow: uow.jobs.create(job))

    raw = _raw(store, layout.job("big"))
    assert (raw["status"], raw["budget"], raw["approval_id"]) == ("pending_approval", 300, "A9")
    assert store.run(lambda uow: uow.jobs.get("big")) == job
    released = job.approved(now + timedelta(minutes=1))
    store.run(lambda uow: uow.jobs.put(released))
    assert store.run(lambda uow: uow.jobs.get("big")).status is JobStatus.RUNNING


def test_a_makers_window_round_trips_and_drops_what_left_the_day(store, now):
    window = MakerWindow("olga@shop.example").with_change(DirectChange(at=now, ref="adjust:k1", each=300, total=300, customers=("anna",)))
    window = window.with_change(DirectChange(at=now + timedelta(hours=1), ref="mass:j1", each=10, total=500, customers=None))
    store.run(lambda uow: uow.maker_windows.put(window))

    raw = _raw(store, layout.maker_window("olga@shop.example"))
    assert raw["changes"][0] == {"at": now, "ref": "adjust:k1", "each": 300, "total": 300, "customers": ["anna"]}
    assert store.run(lambda uow: uow.maker_windows.get("olga@shop.example")) == window
    assert store.run(lambda uow: uow.maker_windows.get("ivan@shop.example")) is None
    later = window.with_change(DirectChange(at=now + timedelta(hours=24, minutes=1), ref="adjust:k2", each=5, total=5, customers=("boris",)))
    assert [c.ref for c in later.changes] == ["mass:j1", "adjust:k2"]
    assert (later.to_customer("anna", later.changes[-1].at), later.total(later.changes[-1].at)) == (0, 505)


def test_a_group_job_moved_to_its_end_is_stored_complete(store, now):
    later = now + timedelta(minutes=1)
    job = _job(now, "vip", customer_ids=None, group="vip", activation_days=3)
    done = job.advanced(cursor="c9", counts=BatchCounts(credited=2, replayed=1, blocked=1), done=True, now=later)
    store.run(lambda uow: uow.jobs.put(done))

    raw = _raw(store, layout.job("vip"))
    assert raw["definition"] == {"amount": 100, "reason": "8 Марта", "customer_ids": None, "group": "vip", "lifetime_days": 365, "activation_days": 3}
    assert {k: raw[k] for k in ("status", "cursor", "credited", "bonuses", "replayed", "skipped_blocked", "skipped_unknown", "batches", "updated_at", "completed_at")} == {
        "status": "complete",
        "cursor": "c9",
        "credited": 3,
        "bonuses": 300,
        "replayed": 1,
        "skipped_blocked": 1,
        "skipped_unknown": 0,
        "batches": 1,
        "updated_at": later,
        "completed_at": later,
    }
    assert store.read(lambda uow: uow.jobs.get("vip")) == done


def test_a_level_job_keeps_its_level_and_a_birthday_job_its_day(store, now):
    level = _job(now, "lvl", customer_ids=("anna", "boris"), level="gold")
    birthday = _job(now, "bd", customer_ids=("vera",), birthday="2026-03-01")
    store.run(lambda uow: (uow.jobs.create(level), uow.jobs.create(birthday)))

    assert _raw(store, layout.job("lvl"))["definition"]["level"] == "gold" and "birthday" not in _raw(store, layout.job("lvl"))["definition"]
    assert _raw(store, layout.job("bd"))["definition"]["birthday"] == "2026-03-01"
    assert store.read(lambda uow: (uow.jobs.get("lvl"), uow.jobs.get("bd"))) == (level, birthday)
    assert (level.definition.segment, birthday.definition.segment) == ("level", "birthday")
    assert [j.job_id for j in store.read(lambda uow: uow.jobs.recent(limit=5))] in (["lvl", "bd"], ["bd", "lvl"])  # the same moment


def test_a_job_of_another_kind_is_no_mass_accrual_but_holds_its_id(store, now):
    store.run(lambda uow: uow.put(layout.job("export-1"), {"job_id": "export-1", "kind": "export"}))

    assert store.read(lambda uow: (uow.jobs.get("export-1"), uow.jobs.exists("export-1"))) == (None, True)


# --- the admin audit log ------------------------------------------------------------------------------


def _record(now, audit_id, *, minutes=0) -> AuditRecord:
    return AuditRecord.new(
        audit_id=audit_id,
        actor="olga@shop.example",
        roles=("admin",),
        action="customer.block",
        target="customer:anna",
        params={"reason": "fraud"},
        result={"customer_id": "anna", "blocked": True, "changed": True},
        at=now + timedelta(minutes=minutes),
    )


def test_an_audit_record_round_trips_and_an_absent_one_is_none(store, now):
    record = _record(now, "a1")
    store.run(lambda uow: uow.admin_audit.add(record))

    assert store.read(lambda uow: uow.admin_audit.get("a1")) == record
    assert store.read(lambda uow: uow.admin_audit.get("a2")) is None


def test_an_audit_record_is_stored_as_the_data_model_has_it(store, now):
    store.run(lambda uow: uow.admin_audit.add(_record(now, "a1")))

    assert _raw(store, layout.admin_audit("a1")) == {
        "id": "a1",
        "actor": "olga@shop.example",
        "roles": ["admin"],
        "action": "customer.block",
        "target": "customer:anna",
        "params": {"reason": "fraud"},
        "at": now,
        "result": {"customer_id": "anna", "blocked": True, "changed": True},
        "key": "2026-03-01T09:00:00.000000Z-a1",
    }


def test_the_audit_log_pages_newest_first(store, now):
    store.run(lambda uow: [uow.admin_audit.add(_record(now, f"a{m}", minutes=m)) for m in range(5)])

    first = store.read(lambda uow: uow.admin_audit.newest(limit=3))
    assert [r.id for r in first] == ["a4", "a3", "a2"]
    rest = store.read(lambda uow: uow.admin_audit.newest(limit=3, start_after=first[-1].key))
    assert [r.id for r in rest] == ["a1", "a0"]


def test_statuses_read_back_as_enums(store, now):
    store.run(lambda uow: (uow.approvals.create(_approval(now)), uow.jobs.create(_job(now))))

    approval, job = store.read(lambda uow: (uow.approvals.get("A1"), uow.jobs.get("march-8")))
    assert approval.status is ApprovalStatus.PENDING and job.status is JobStatus.RUNNING


# --- console sessions --------------------------------------------------------------------------


def test_a_console_session_round_trips_in_todays_shape(store, now):
    from datetime import timedelta

    from shared.adapters import layout
    from shared.domain.admins import ConsoleSession

    assert store.read(lambda uow: uow.console_sessions.get("ab" * 32)) is None
    session = ConsoleSession(key="ab" * 32, email="olga@shop.example", token="t.o.k", created_at=now, seen_at=now, expires_at=now + timedelta(hours=8))
    store.run(lambda uow: uow.console_sessions.put(session))
    assert store.read(lambda uow: uow.console_sessions.get("ab" * 32)) == session
    stored = {"key": "ab" * 32, "email": "olga@shop.example", "token": "t.o.k", "created_at": now, "seen_at": now, "expires_at": now + timedelta(hours=8), "ended_at": None}
    assert store.read(lambda uow: uow.get(layout.console_session("ab" * 32))) == stored
    later = session.seen(now + timedelta(minutes=5)).ended(now + timedelta(minutes=6))
    store.run(lambda uow: uow.console_sessions.put(later))
    assert store.read(lambda uow: uow.console_sessions.get("ab" * 32)) == later
    assert not later.open_at(now + timedelta(minutes=7), timedelta(minutes=30))
