"""The approvals inbox: every pending maker-checker request with its maker, reason and exact
effect, approved or rejected with a comment by another person; the decided ones below.

Whether someone may decide is the service's rule (the roles of the request's action, never its
maker): the page shows the buttons only where it would let them, and the service refuses anyway."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from console.app import NOTICES, FormInvalid, Page, page, parse_form, redirect
from console.pages import accrual_audience
from shared.api.admin import ApprovalView
from shared.domain import errors
from shared.domain.admin import ApprovalStatus
from shared.domain.segments import Segment
from shared.edge import entry
from shared.edge.http import Reply
from shared.services.admin import approvals

NOTICES.update(approved="Запрос одобрен и выполнен.", rejected="Запрос отклонён: ничего не изменено.")

ACTIONS_RU = {
    "ledger.adjust": "Корректировка бонусов",
    "mass_accrual.run": "Массовое начисление",
    "config.replace": "Изменение программы",
    "payout.approve": "Выплата партнёру",
}
DECIDED = (ApprovalStatus.EXECUTED, ApprovalStatus.REJECTED, ApprovalStatus.FAILED, ApprovalStatus.APPROVED)
PASSED_RU = {"per_customer": "порог на одного клиента", "total": "общий порог за сутки", "mass_accrual": "порог массового начисления"}


def _n(value: Any) -> str:
    from console.app import bonuses

    return bonuses(int(value or 0))


def effect(a: ApprovalView) -> list[str]:
    """What approving will do, in words (the figures the request stored for the checker)."""
    p = a.params
    lines: list[str] = []
    if a.action == "ledger.adjust":
        amount = int(p.get("amount", 0))
        lines.append(f"{'Начислить' if amount > 0 else 'Списать'} {_n(abs(amount))} бонусов клиенту {p.get('customer_id', a.target)}")
    elif a.action == "mass_accrual.run":
        whom = f"группе «{p['group']}»" if p.get("group") else f"{p.get('customers', 0)} клиентам"
        lines.append(f"Начислить по {_n(p.get('amount'))} бонусов {whom}: бюджет не больше {_n(p.get('total'))} бонусов (задание {p.get('job_id')})")
        if isinstance(p.get("audience"), dict):
            lines.append("Сегмент: " + accrual_audience.describe(Segment.model_validate(p["audience"]), level_names={}, group_names={}))
    elif a.action == "config.replace":
        lines.append(f"Опубликовать новую версию программы {p.get('program', '')} (на основе версии {p.get('base_version', '—')})")
        lines += [f"{c.get('path')}: {c.get('before')!s} → {c.get('after')!s}" for c in (p.get("changes") or [])[:20]]
    elif a.action == "payout.approve":
        lines.append(f"Одобрить заявку на выплату {p.get('request_id', a.target)}")
    else:
        lines.append(a.target)
    seen = p.get("effect")
    if isinstance(seen, dict):
        lines.append(
            f"За сутки у автора: этому клиенту {_n(seen.get('to_customer_after'))} из {_n(seen.get('per_customer_threshold'))}, "
            f"всего {_n(seen.get('total_after'))} из {_n(seen.get('total_threshold'))}"
        )
        passed = [PASSED_RU.get(x, x) for x in seen.get("passed") or []]
        if passed:
            lines.append("Превышен " + ", ".join(passed))
    return lines


@page("GET", "/approvals")
def inbox(p: Page) -> Reply:
    admin = p.require("approval.read")
    store = entry.store()
    pending = approvals.list_approvals(store, admin, status=ApprovalStatus.PENDING, limit=100).approvals
    decided = sorted(
        (a for status in DECIDED for a in approvals.list_approvals(store, admin, status=status, limit=50).approvals),
        key=lambda a: a.decided_at or a.created_at, reverse=True,
    )[:50]
    return _inbox(p, pending=sorted(pending, key=lambda a: a.created_at), decided=decided)


def _inbox(
    p: Page, *, pending: list[ApprovalView], decided: list[ApprovalView], failed: str | None = None, fields: dict[str, str] | None = None, message: str | None = None, status: int = 200
) -> Reply:
    return p.render(
        "approvals_list.html", status=status, pending=pending, decided=decided, effect=effect, actions=ACTIONS_RU, failed=failed, fields=fields or {}, message=message,
        may_decide=lambda a: p.can(a.action) and a.maker != p.admin.email,
    )


class Comment(BaseModel):
    comment: str = Field(default="", max_length=500)


def _decide(p: Page, approve: bool) -> Reply:
    admin = p.require("approval.read")
    approval_id = p.ctx.params["approval_id"]
    form = f"a-{approval_id}"
    data = {k.removeprefix(form + "."): v for k, v in p.form().items() if k.startswith(form + ".")}
    try:
        body = parse_form(Comment, data)
        if approve:
            approvals.approve(entry.store(), admin, approval_id, config=entry.config(p.now), now=p.now, comment=body.comment.strip() or None)
        else:
            if not body.comment.strip():
                raise FormInvalid({"comment": "Напишите, почему запрос отклонён."})
            approvals.reject(entry.store(), admin, approval_id, reason=body.comment.strip(), now=p.now)
    except FormInvalid as exc:
        return _failed(p, form, fields={f"{form}.{k}": v for k, v in exc.fields.items()})
    except (errors.ValidationFailed, errors.InvalidState, errors.BusinessRefusal, errors.InsufficientBonuses) as exc:
        return _failed(p, form, message=exc.message_ru or "Запрос не выполнен.")
    return redirect("/approvals?done=" + ("approved" if approve else "rejected"))


def _failed(p: Page, form: str, **shown: Any) -> Reply:
    store, admin = entry.store(), p.admin
    pending = approvals.list_approvals(store, admin, status=ApprovalStatus.PENDING, limit=100).approvals
    return _inbox(p, pending=sorted(pending, key=lambda a: a.created_at), decided=[], failed=form, status=400, **shown)


@page("POST", "/approvals/{approval_id}/approve")
def approve(p: Page) -> Reply:
    return _decide(p, True)


@page("POST", "/approvals/{approval_id}/reject")
def reject(p: Page) -> Reply:
    return _decide(p, False)
