"""Payouts: the queue by status, one request with its decisions (approve through a second
manager, reject with a reason, mark paid), its full destination on demand (audited), and the
bank's batch of approved payouts as a CSV file (audited; full destinations only when asked)."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, Field

from console.app import NOTICES, FormInvalid, Page, Reply, page, parse_form, redirect
from shared.api.admin import ApprovalView, PayoutView
from shared.api.admin.common import Reason
from shared.domain import errors
from shared.domain.admin import ApprovalStatus
from shared.domain.clock import MSK
from shared.edge import entry
from shared.services.admin import approvals
from shared.services.admin import payouts as admin_payouts

STATUSES = [("requested", "Ждут решения"), ("approved", "Одобрены, к выплате"), ("paid", "Выплачены"), ("rejected", "Отклонены"), ("canceled", "Отменены")]
STATUS_NAMES = dict(STATUSES) | {"requested": "ждёт решения", "approved": "одобрена", "paid": "выплачена", "rejected": "отклонена", "canceled": "отменена"}
STATUS_KINDS = {"requested": "warn", "approved": "ok", "paid": "", "rejected": "bad", "canceled": ""}
METHODS = {"card": "на карту", "phone": "по номеру телефона", "sbp": "СБП", "bonus_account": "на бонусный счёт"}
OPEN = ("requested", "approved")

NOTICES.update(
    payout_pending="Одобрение отправлено на согласование: второй менеджер подтверждает его во входящих согласованиях.",
    payout_rejected="Заявка отклонена, бонусы вернулись партнёру.",
    payout_paid="Выплата отмечена как проведённая.",
)


class PayoutFilter(BaseModel):
    status: str = Field(default="requested", pattern="^(requested|approved|paid|rejected|canceled)$")
    cursor: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


class ApproveForm(BaseModel):
    reason: str = Field(default="", max_length=500)


class RejectForm(BaseModel):
    reason: Reason


def _pending_approval(p: Page, request_id: str) -> ApprovalView | None:
    if not p.can("approval.read"):
        return None
    found = approvals.list_approvals(entry.store(), p.admin, status=ApprovalStatus.PENDING, limit=200).approvals
    return next((a for a in found if a.target == f"payout:{request_id}"), None)


@page("GET", "/payouts")
def payout_queue(p: Page) -> Reply:
    p.require("payout.read")
    query = parse_form(PayoutFilter, dict(p.ctx.request.args.items()))
    listed = admin_payouts.list_payouts(entry.store(), p.admin, status=query.status, cursor=query.cursor, limit=50)
    more = None if listed.next_cursor is None else "/payouts?" + urlencode({"status": query.status, "cursor": listed.next_cursor})
    return p.render("payouts_list.html", chosen=query.status, statuses=STATUSES, payouts=listed.payouts, more=more, **_names())


def _names() -> dict[str, Any]:
    return {"status_names": STATUS_NAMES, "status_kinds": STATUS_KINDS, "methods": METHODS}


def _detail(p: Page, payout: PayoutView, *, status: int = 200, destination: str | None = None, fields: dict[str, str] | None = None, message: str | None = None) -> Reply:
    approval = _pending_approval(p, payout.request_id) if payout.status == "requested" else None
    return p.render("payouts_detail.html", status=status, payout=payout, approval=approval, destination=destination, fields=fields or {}, message=message, **_names())


@page("GET", "/payouts/{request_id}")
def payout_detail(p: Page) -> Reply:
    p.require("payout.read")
    return _detail(p, admin_payouts.get_payout(entry.store(), p.admin, request_id=p.ctx.params["request_id"]))


def _refused(p: Page, request_id: str, exc: errors.DomainError, fields: dict[str, str] | None = None) -> Reply:
    payout = admin_payouts.get_payout(entry.store(), p.admin, request_id=request_id)
    return _detail(p, payout, status=400 if fields else 409, fields=fields, message=None if fields else (exc.message_ru or "Действие не выполнено."))


@page("POST", "/payouts/{request_id}/approve")
def payout_approve(p: Page) -> Reply:
    p.require("payout.approve")
    request_id = p.ctx.params["request_id"]
    try:
        form = parse_form(ApproveForm, {"reason": p.form().get("approve_reason", "")})
        admin_payouts.request_payout_approval(entry.store(), p.admin, request_id=request_id, reason=form.reason, key=None, now=p.now)
    except FormInvalid as exc:
        return _refused(p, request_id, exc, fields={f"approve_{k}": v for k, v in exc.fields.items()})
    except (errors.InvalidState, errors.IdempotencyConflict) as exc:
        return _refused(p, request_id, exc)
    return redirect(f"/payouts/{request_id}?done=payout_pending")


@page("POST", "/payouts/{request_id}/reject")
def payout_reject(p: Page) -> Reply:
    p.require("payout.reject")
    request_id = p.ctx.params["request_id"]
    try:
        form = parse_form(RejectForm, {"reason": p.form().get("reject_reason", "").strip()})
        admin_payouts.reject_payout(entry.store(), p.admin, request_id=request_id, reason=form.reason, now=p.now)
    except FormInvalid as exc:
        return _refused(p, request_id, exc, fields={f"reject_{k}": v for k, v in exc.fields.items()})
    except (errors.InvalidState, errors.IdempotencyConflict) as exc:
        return _refused(p, request_id, exc)
    return redirect(f"/payouts/{request_id}?done=payout_rejected")


@page("POST", "/payouts/{request_id}/paid")
def payout_paid(p: Page) -> Reply:
    p.require("payout.mark_paid")
    request_id = p.ctx.params["request_id"]
    try:
        admin_payouts.mark_payout_paid(entry.store(), p.admin, request_id=request_id, now=p.now)
    except (errors.InvalidState, errors.IdempotencyConflict) as exc:
        return _refused(p, request_id, exc)
    return redirect(f"/payouts/{request_id}?done=payout_paid")


@page("POST", "/payouts/{request_id}/destination")
def payout_reveal(p: Page) -> Reply:
    """The full destination, shown on this answer only (never in a URL); the reveal is audited."""
    p.require("payout.reveal")
    request_id = p.ctx.params["request_id"]
    from shared.platform import sealing

    try:
        shown = admin_payouts.reveal_destination(entry.store(), p.admin, request_id=request_id, sealer=sealing.payout_sealer(), now=p.now)
    except errors.InvalidState as exc:
        return _refused(p, request_id, exc)
    return _detail(p, admin_payouts.get_payout(entry.store(), p.admin, request_id=request_id), destination=shown.destination)


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # a BOM: Excel opens UTF-8 as such


def roubles_plain(kopecks: int) -> str:
    """``123450`` -> ``1234,50`` (no thousands separator: what a bank's import reads)."""
    whole, part = divmod(kopecks, 100)
    return f"{whole},{part:02d}"


class ExportForm(BaseModel):
    reveal: bool = False


@page("POST", "/payouts/export")
def payout_export(p: Page) -> Reply:
    """The bank's batch: approved payouts not yet paid, one line each; amounts in roubles with a comma."""
    p.require("payout.read")
    form = parse_form(ExportForm, {"reveal": p.form().get("reveal") == "1"})
    if form.reveal:
        p.require("payout.reveal")
    from shared.platform import sealing

    batch = admin_payouts.export_approved(entry.store(), p.admin, reveal=form.reveal, sealer=sealing.payout_sealer() if form.reveal else None, now=p.now)
    rows = [["Номер заявки", "Партнёр", "Сумма, руб.", "Способ", "Реквизиты", "Одобрена (МСК)"]]
    for r in batch.rows:
        approved = r.approved_at.astimezone(MSK).strftime("%d.%m.%Y %H:%M") if r.approved_at else ""
        rows.append([r.request_id, r.customer_id, roubles_plain(r.amount), METHODS.get(r.method, r.method), r.destination or r.details, approved])
    rows.append(["Итого", "", roubles_plain(batch.total), "", f"заявок: {len(batch.rows)}", ""])
    name = f"vyplaty-{batch.generated_at.astimezone(MSK).strftime('%Y-%m-%d-%H%M')}.csv"
    from console.app import SECURITY_HEADERS

    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Reply(_csv(rows), content_type="text/csv; charset=utf-8", headers=headers)
