"""Mass accruals: ``jobs/{job_id}``, bonuses for a list of customers, a whole group, or a segment —
levels, groups, a birthday window, the last purchase, the paid total, a level's customers or
today's birthdays (a segment is resolved to a list when the job is defined,
:mod:`shared.services.admin.mass_segments`).

A job is checked when it is defined: its total (amount × customers; a
group's members are counted then) and what it adds to its maker's bonus
changes over a rolling 24 hours (:mod:`shared.domain.maker_checker`). Within
the program's thresholds it runs at once; past them it waits for a second
admin (``pending_approval``, :mod:`shared.services.admin.approvals`) and runs
only once approved. Either way it never credits more than that checked total
(its ``budget``): customers who join a group afterwards do not raise it.

The job is walked in bounded batches; after each batch its cursor (an index
into the list, or the last customer id of the group) moves on with a
compare-and-set, so a crash or a ``max_batch`` stop is resumed by the next run
and the counters count each customer once. Each customer is credited by the
posting key ``mass:{job_id}:{customer}``: a resumed or doubled run replays, it
never credits twice. Unknown and blocked customers, and customers of a group
excluded from bonuses, are skipped and counted; a job for an excluded group is
refused when it is defined.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from shared.api.admin import JobResponse
from shared.domain.admin import (
    BatchCounts,
    CreditOutcome,
    MassAccrualDefinition,
    MassAccrualJob,
)
from shared.domain.config import ProgramConfig
from shared.domain.customer import bonuses_excluded
from shared.domain.errors import IdempotencyConflict, InvalidState, NotFound, ValidationFailed
from shared.domain.ledger import Accrue, require_utc
from shared.domain.maker_checker import DirectChange, MakerWindow, effect
from shared.domain.segments import Segment
from shared.edge.admin_auth import Admin
from shared.services.admin import audit as _audit
from shared.services.admin import mass_segments
from shared.services.admin.approvals import request_in
from shared.services.admin.common import (
    required_reason,
    valid_customer_id,
    well_formed_id,
)
from shared.services.ledger import AccountSession
from shared.services.ports import Store, UnitOfWork

MAX_JOB_CUSTOMERS = mass_segments.MAX_JOB_CUSTOMERS
GROUP_PAGE = 1000  # ids read per query when a group's members are counted
APPROVAL_ACTION = "mass_accrual.run"  # the action a job's approval is decided by


def create_mass_accrual(
    store: Store,
    admin: Admin,
    *,
    config: ProgramConfig,
    job_id: str,
    amount: int,
    reason: str,
    now: datetime,
    customer_ids: list[str] | None = None,
    group: str | None = None,
    level: str | None = None,
    birthday_today: bool = False,
    audience: Segment | None = None,
    lifetime_days: int | None = None,
    activation_days: int = 0,
) -> MassAccrualJob:
    """Define a mass accrual (idempotent by ``job_id``: the same definition again is the same job).

    ``audience`` (a :class:`Segment`), ``level`` or ``birthday_today`` name a
    segment resolved now to its customers' ids; the same job id again keeps the
    list it was defined with.

    Answers it ``running`` when its total and its maker's 24 hours stay within the
    program's thresholds, else ``pending_approval`` with the approval that shows
    the checker who gets how much (the ids of a list, or a group and its count).
    """
    admin.require("mass_accrual.run")
    require_utc(now)
    reason = required_reason(reason)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed("amount must be a positive whole number of bonuses", field="amount")
    if sum((customer_ids is not None, group is not None, level is not None, birthday_today, audience is not None)) != 1:
        raise ValidationFailed("give one of customer_ids, group, level, birthday_today or audience", field="customer_ids")
    birthday = None
    if level is not None or birthday_today or audience is not None:
        known = store.read(lambda uow: uow.jobs.get(job_id)) if well_formed_id(job_id) else None
        k = known.definition if known is not None else None
        if k is not None and k.level == level and (k.birthday is not None) == birthday_today and k.audience == audience and k.customer_ids:
            customer_ids, birthday = list(k.customer_ids), k.birthday  # a replay keeps its list
        else:
            customer_ids, birthday = mass_segments.resolve(store, config, level=level, birthday_today=birthday_today, audience=audience, now=now)
    elif customer_ids is not None:
        if not customer_ids or len(customer_ids) > MAX_JOB_CUSTOMERS:
            raise ValidationFailed(f"customer_ids holds 1 to {MAX_JOB_CUSTOMERS} ids", field="customer_ids")
        for cid in customer_ids:
            valid_customer_id(cid)
        if len(set(customer_ids)) != len(customer_ids):
            raise ValidationFailed("customer_ids must be unique", field="customer_ids")
    if group is not None and group not in {g.code for g in config.groups}:
        raise ValidationFailed(f"unknown customer group {group!r}", field="group")
    if group is not None and config.group(group).bonuses_excluded:
        raise ValidationFailed(
            f"customer group {group!r} is excluded from bonuses", field="group", message_ru="Эта группа покупателей не участвует в бонусной программе: начислять ей бонусы нельзя."
        )
    definition = MassAccrualDefinition(
        amount=amount,
        reason=reason,
        customer_ids=tuple(customer_ids) if customer_ids is not None else None,
        group=group,
        lifetime_days=lifetime_days or config.lot_lifetime_days,
        activation_days=activation_days,
        level=level,
        birthday=birthday,
        audience=audience,
    )
    if customer_ids is not None:
        count = len(customer_ids)
    else:  # a group's members, counted now (not again for a job defined before)
        count = 0 if store.read(lambda uow: uow.jobs.exists(job_id)) else _group_size(store, group or "")
    target = f"job:{job_id}"

    def unit(uow: UnitOfWork) -> MassAccrualJob:
        existing = uow.jobs.get(job_id)
        if (existing is None and uow.jobs.exists(job_id)) or (existing is not None and existing.definition != definition):
            raise IdempotencyConflict("this job id was used for another job", job_id=job_id)
        if existing is not None:
            return existing
        window = uow.maker_windows.get(admin.email) or MakerWindow(admin.email)
        seen = effect(config.approvals, window, each=amount, customers=definition.customer_ids, count=count, now=now, mass_accrual=True)
        summary = {
            "job_id": job_id,
            "amount": definition.amount,
            "reason": definition.reason,
            "group": definition.group,
            "level": definition.level,
            "birthday": definition.birthday,
            **({"audience": audience.model_dump(mode="json", exclude_defaults=True)} if audience is not None else {}),
            "lifetime_days": definition.lifetime_days,
            "activation_days": definition.activation_days,
            "customers": count,
            "total": seen.total,
        }
        if seen.needs_approval:
            shown = {**summary, "customer_ids": list(definition.customer_ids) if definition.customer_ids is not None else None, "effect": seen.view()}
            approval = request_in(uow, admin, action=APPROVAL_ACTION, target=target, params=shown, key=job_id, reason=reason, now=now)
            job = MassAccrualJob.start(job_id=job_id, definition=definition, created_by=admin.email, now=now, budget=seen.total, approval_id=approval.id)
            uow.jobs.create(job)
            return job
        job = MassAccrualJob.start(job_id=job_id, definition=definition, created_by=admin.email, now=now, budget=seen.total)
        uow.jobs.create(job)
        uow.maker_windows.put(window.with_change(DirectChange(at=now, ref=f"mass:{job_id}", each=amount, total=seen.total, customers=definition.customer_ids)))
        _audit.audit_in(uow, admin, action="mass_accrual.create", target=target, params=summary, result={"job_id": job_id, "budget": job.budget}, now=now)
        return job

    return store.run(unit)


def _group_size(store: Store, group: str) -> int:
    """How many customers the group has now (ids only, page by page)."""
    def page(after: str | None) -> list[str]:
        return store.read(lambda uow: uow.accounts.in_group(group, limit=GROUP_PAGE, after=after))

    count, after = 0, None
    while True:
        ids = page(after)
        count += len(ids)
        if len(ids) < GROUP_PAGE:
            return count
        after = ids[-1]


def _find(store: Store, job_id: str) -> MassAccrualJob:
    job = store.read(lambda uow: uow.jobs.get(job_id)) if well_formed_id(job_id) else None
    if job is None:
        raise NotFound("unknown job", job_id=job_id)
    return job


def get_job(store: Store, admin: Admin, job_id: str) -> JobResponse:
    admin.require("mass_accrual.read")
    return JobResponse.of(_find(store, job_id))


def credit_one(store: Store, *, config: ProgramConfig, job: MassAccrualJob, customer_id: str, now: datetime) -> CreditOutcome:
    """Credit one customer of a mass accrual (by the posting key ``mass:{job_id}:{customer_id}``);
    a customer of a group excluded from bonuses is skipped."""
    d = job.definition

    def unit(uow: UnitOfWork) -> CreditOutcome:
        session = AccountSession(uow, customer_id)
        if not session.exists:
            return CreditOutcome.UNKNOWN
        if session.blocking.is_blocked:
            return CreditOutcome.BLOCKED
        if bonuses_excluded(config, session.account):
            return CreditOutcome.EXCLUDED
        outcome = session.post(
            f"mass:{job.job_id}:{customer_id}",
            Accrue(amount=d.amount, source="mass_accrual", ref=job.job_id, activates_at=now + timedelta(days=d.activation_days), expires_at=now + timedelta(days=d.lifetime_days), merge=True),
            now=now,
        )
        return CreditOutcome.REPLAYED if outcome.replayed else CreditOutcome.CREDITED

    return store.run(unit)


def _next_batch(store: Store, job: MassAccrualJob, size: int) -> tuple[list[str], int | str | None, bool]:
    """The next customers of the job, the cursor after them, and whether that is the end."""
    d = job.definition
    if d.customer_ids is not None:
        start = int(job.cursor or 0)
        batch = list(d.customer_ids[start : start + size])
        return batch, start + len(batch), start + len(batch) >= len(d.customer_ids)
    after = job.cursor if isinstance(job.cursor, str) else None
    group = d.group or ""  # a job names either its customers or a group
    batch = store.read(lambda uow: uow.accounts.in_group(group, limit=size, after=after))
    return batch, batch[-1] if batch else job.cursor, len(batch) < size


def _advance(found: MassAccrualJob, *, cursor: int | str | None, counts: BatchCounts, done: bool, now: datetime) -> Callable[[UnitOfWork], tuple[MassAccrualJob, bool]]:
    """Move the job on past one batch, only if its cursor is still where ``found`` had it."""

    def unit(uow: UnitOfWork) -> tuple[MassAccrualJob, bool]:
        current = uow.jobs.get(found.job_id) or found
        if current.cursor != found.cursor or current.complete:
            return current, False  # another run moved it on: this one stops
        updated = current.advanced(cursor=cursor, counts=counts, done=done, now=now)
        uow.jobs.put(updated)
        return updated, True

    return unit


def run_mass_accrual(store: Store, admin: Admin, *, config: ProgramConfig, job_id: str, now: datetime, max_batch: int = 100, batch_size: int = 50) -> JobResponse:
    """Walk the job on from its cursor, at most ``max_batch`` customers in this call.

    After each batch the cursor moves on only if it is still where this run
    found it (compare-and-set): an overlapping run then stops, and every
    customer is counted once. ``status`` becomes ``complete`` at the end, or
    once the job's budget (the total checked or approved) is credited. A job
    waiting for its approval, or rejected, does not run (:class:`InvalidState`).
    """
    admin.require("mass_accrual.run")
    require_utc(now)
    job = started = _find(store, job_id)
    if not job.runnable:
        raise InvalidState(
            f"the mass accrual is {job.status.value}", job_id=job_id, approval_id=job.approval_id, message_ru="Массовое начисление ждёт согласования или отклонено."
        )
    left = max_batch
    while not job.complete and left > 0:
        size = job.batch_size(min(batch_size, left))
        if size == 0:  # the budget is credited: the job is done
            job, moved = store.run(_advance(job, cursor=job.cursor, counts=BatchCounts(), done=True, now=now))
            break
        batch, after, done = _next_batch(store, job, size)
        counts = BatchCounts()
        for customer_id in batch:
            counts = counts.add(credit_one(store, config=config, job=job, customer_id=customer_id, now=now))
        left -= max(len(batch), 1)
        job, moved = store.run(_advance(job, cursor=after, counts=counts, done=done, now=now))
        if not moved:
            break
    result = {"status": job.status.value, **job.progress_since(started)}
    _audit.audit(store, admin, action="mass_accrual.run", target=f"job:{job_id}", params={"max_batch": max_batch}, result=result, now=now)
    return JobResponse.of(job)
