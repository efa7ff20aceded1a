"""The audit log: every back-office action, newest first, filtered by who, what, which customer
and Moscow days, page by page."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from console.app import FormInvalid, Page, Reply, page, parse_form
from shared.api.admin.reports import AuditSearchRequest
from shared.edge import entry
from shared.services.admin import audit

#: the actions people meet most, in Russian (any other is shown by its code)
ACTIONS = {
    "payout.approve": "Одобрение выплаты",
    "payout.reject": "Отказ в выплате",
    "payout.mark_paid": "Выплата проведена",
    "payout.reveal": "Показ реквизитов",
    "payout.export": "Реестр выплат для банка",
    "ledger.adjust": "Ручное начисление или списание",
    "config.replace": "Изменение программы",
    "promo.create": "Новый промокод",
    "promo.deactivate": "Промокод выключен",
    "mass_accrual.run": "Массовое начисление",
    "customer.block": "Блокировка покупателя",
    "customer.unblock": "Разблокировка покупателя",
    "customer.level": "Смена уровня",
    "customer.group": "Смена группы",
    "order.call_centre": "Заказ по телефону",
    "order.deliver": "Заказ отмечен доставленным",
    "approval.approve": "Согласование одобрено",
    "approval.reject": "Согласование отклонено",
    "catalog.import": "Импорт каталога",
    "catalog.edit": "Изменение товара",
}
FILTERS = ("actor", "action", "customer_id", "date_from", "date_to")


def _summary(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "…"


@page("GET", "/audit")
def audit_log(p: Page) -> Reply:
    p.require("audit.read")
    raw = {key: p.ctx.request.args.get(key, "").strip() for key in (*FILTERS, "cursor")}
    fields: dict[str, str] = {}
    try:
        query = parse_form(AuditSearchRequest, raw)
    except FormInvalid as exc:
        fields, query = exc.fields, AuditSearchRequest()
    if query.date_from and query.date_to and query.date_from > query.date_to:
        fields["date_to"] = "Конец периода раньше его начала."
    found = audit.search_audit(entry.store(), p.admin, **query.model_dump()) if not fields else None
    chosen = {key: raw[key] for key in FILTERS if raw[key]}
    more = None if found is None or found.next_cursor is None else "/audit?" + urlencode({**chosen, "cursor": found.next_cursor})
    return p.render("audit_log.html", status=400 if fields else 200, found=found, raw=raw, fields=fields, more=more, actions=ACTIONS, summary=_summary, filtered=bool(chosen))
