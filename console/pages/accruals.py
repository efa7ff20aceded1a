"""Mass accruals: choose who (a group, a level, today's birthdays, a segment by conditions —
levels, groups, a birthday window, the last purchase, the paid total — or a list of phones or
customer ids typed or uploaded as CSV), see how many customers and bonuses before running, run it batch by
batch with its progress, and see what it did (credited, skipped and why)."""

from __future__ import annotations

import secrets
from typing import Any, Literal

from pydantic import BaseModel, Field

from console.app import NOTICES, FormInvalid, Page, Reply, page, parse_form, redirect, upload
from console.pages import accrual_audience
from shared.api.admin.mass_accruals import CustomerListResponse, MassAccrualPreview
from shared.domain import errors
from shared.domain.config import ProgramConfig
from shared.edge import entry
from shared.services.admin import mass_accruals, mass_segments

NOTICES.update(accrual_started="Начисление запущено.", accrual_waits="Начисление ждёт согласования второго сотрудника.")

SEGMENTS = [
    ("group", "Группа покупателей"),
    ("level", "Уровень"),
    ("birthday", "У кого сегодня день рождения"),
    ("segment", "Сегмент по условиям"),
    ("list", "Список: телефоны или идентификаторы"),
]
DEFAULT_STEP = 200


class AccrualForm(BaseModel):
    segment: Literal["group", "level", "birthday", "segment", "list"]
    amount: int = Field(ge=1, le=1_000_000)
    reason: str = Field(min_length=1, max_length=500)
    group: str | None = Field(default=None, max_length=64)
    level: str | None = Field(default=None, max_length=64)
    customers: str | None = Field(default=None, max_length=250_000)
    lifetime_days: int | None = Field(default=None, ge=1, le=3660)
    activation_days: int = Field(default=0, ge=0, le=365)
    max_batch: int = Field(default=DEFAULT_STEP, ge=1, le=1000)
    job_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def _names(config: ProgramConfig) -> dict[str, Any]:
    groups, levels = {g.code: g.name for g in config.groups}, {lv.code: lv.name for lv in config.levels}
    return {"group_names": groups, "level_names": levels, "audience_text": lambda segment: accrual_audience.describe(segment, level_names=levels, group_names=groups)}


def _options(config: ProgramConfig) -> dict[str, Any]:
    return {
        "segments": SEGMENTS,
        "groups": [(g.code, g.name) for g in config.groups if not g.bonuses_excluded],
        "levels": [(lv.code, lv.name) for lv in config.levels],
        **_names(config),
    }


def _form_page(p: Page, *, values: dict[str, str], errors_at: dict[str, str] | None = None, preview: MassAccrualPreview | None = None,
               listed: CustomerListResponse | None = None, status: int = 200, message: str | None = None) -> Reply:
    config = entry.config(p.now)
    jobs = mass_segments.recent_jobs(entry.store(), p.admin, limit=20).jobs if p.can("mass_accrual.read") else []
    return p.render(
        "accruals.html", status=status, values=values, errors=errors_at or {}, preview=preview, listed=listed, message=message, jobs=jobs,
        job_id=values.get("job_id") or f"mass-{p.now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}", **_options(config),
    )


@page("GET", "/accruals")
def accruals(p: Page) -> Reply:
    p.require("mass_accrual.read")
    return _form_page(p, values={"segment": "group", "activation_days": "0", "max_batch": str(DEFAULT_STEP)})


def _segment(p: Page, form: AccrualForm, fields: dict[str, str]) -> tuple[dict[str, object], CustomerListResponse | None]:
    """The segment's arguments for the service, and the list read from the file or the text."""
    if form.segment == "group":
        if not form.group:
            raise FormInvalid({"group": "Выберите группу."})
        return {"group": form.group}, None
    if form.segment == "level":
        if not form.level:
            raise FormInvalid({"level": "Выберите уровень."})
        return {"level": form.level}, None
    if form.segment == "birthday":
        return {"birthday_today": True}, None
    if form.segment == "segment":
        return {"audience": accrual_audience.audience_from(fields, entry.config(p.now))}, None
    data = upload(p.ctx, "file")
    if data is None:
        data = (form.customers or "").encode()
    if not data.strip():
        raise FormInvalid({"customers": "Введите телефоны или идентификаторы клиентов, по одному в строке, или загрузите файл CSV."})
    listed = mass_segments.read_customer_list(entry.store(), p.admin, data=data)
    fields["customers"] = "\n".join(listed.customer_ids)
    if not listed.customer_ids:
        raise FormInvalid({"customers": "В списке нет ни одного клиента."})
    return {"customer_ids": listed.customer_ids}, listed


def _field_of(exc: errors.DomainError) -> str:
    name = str(exc.details.get("field") or "segment")
    return {"customer_ids": "customers", "birthday_today": "segment", "file": "customers", **accrual_audience.FIELDS}.get(name, name)


@page("POST", "/accruals/preview")
def accrual_preview(p: Page) -> Reply:
    p.require("mass_accrual.run")
    fields = p.form()
    listed = None
    try:
        form = parse_form(AccrualForm, fields)
        segment, listed = _segment(p, form, fields)
        shown = mass_segments.preview(entry.store(), p.admin, config=entry.config(p.now), amount=form.amount, now=p.now, **segment)  # type: ignore[arg-type]
    except FormInvalid as exc:
        return _form_page(p, values=fields, errors_at=exc.fields, listed=listed, status=400, message="Проверьте выделенные поля.")
    except errors.ValidationFailed as exc:
        return _form_page(p, values=fields, errors_at={_field_of(exc): exc.message_ru}, listed=listed, status=400, message="Проверьте выделенные поля.")
    return _form_page(p, values=fields, preview=shown, listed=listed)


@page("POST", "/accruals")
def accrual_start(p: Page) -> Reply:
    p.require("mass_accrual.run")
    fields = p.form()
    listed = None
    try:
        form = parse_form(AccrualForm, fields)
        if not form.job_id:
            raise FormInvalid({"segment": "Сначала посчитайте начисление."})
        segment, listed = _segment(p, form, fields)
        store, config = entry.store(), entry.config(p.now)
        job = mass_accruals.create_mass_accrual(
            store, p.admin, config=config, job_id=form.job_id, amount=form.amount, reason=form.reason, now=p.now,
            lifetime_days=form.lifetime_days, activation_days=form.activation_days, **segment,  # type: ignore[arg-type]
        )
    except FormInvalid as exc:
        return _form_page(p, values=fields, errors_at=exc.fields, listed=listed, status=400, message="Проверьте выделенные поля.")
    except errors.IdempotencyConflict:
        fields.pop("job_id", None)
        return _form_page(p, values=fields, status=409, message="Условия изменились после расчёта: посчитайте начисление ещё раз.")
    except errors.ValidationFailed as exc:
        return _form_page(p, values=fields, errors_at={_field_of(exc): exc.message_ru}, listed=listed, status=400, message="Проверьте выделенные поля.")
    if not job.runnable:
        return redirect(f"/accruals/{job.job_id}?step={form.max_batch}&done=accrual_waits")
    if not job.complete:  # a form sent again after its job finished only shows the job
        mass_accruals.run_mass_accrual(store, p.admin, config=config, job_id=job.job_id, max_batch=form.max_batch, now=p.now)
    return redirect(f"/accruals/{job.job_id}?step={form.max_batch}&done=accrual_started")


def _step(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 1 <= int(value) <= 1000 else DEFAULT_STEP


@page("GET", "/accruals/{job_id}")
def accrual_job(p: Page) -> Reply:
    p.require("mass_accrual.read")
    job = mass_accruals.get_job(entry.store(), p.admin, p.ctx.params["job_id"])
    d = job.definition
    total = d.customers if d.customers is not None else (job.budget // d.amount if job.budget else job.credited)
    skipped = job.skipped_unknown + job.skipped_blocked + job.skipped_excluded
    names = _names(entry.config(p.now))
    return p.render("accruals_job.html", job=job, total=total, done_count=min(job.credited + skipped, total), skipped=skipped, step=_step(p.ctx.request.args.get("step")), **names)


@page("POST", "/accruals/{job_id}/run")
def accrual_continue(p: Page) -> Reply:
    p.require("mass_accrual.run")
    step = _step(p.form().get("step"))
    job_id = p.ctx.params["job_id"]
    try:
        mass_accruals.run_mass_accrual(entry.store(), p.admin, config=entry.config(p.now), job_id=job_id, max_batch=step, now=p.now)
    except errors.InvalidState:
        pass  # waits for its approval, or was rejected: its page says so
    return redirect(f"/accruals/{job_id}?step={step}")
