"""The program editor: the program in force as a form, its check against the version in force,
publishing (now or at a date, through approval when it touches money), the version history,
restoring a version, a sample cart priced with the draft beside the version in force, and the
draft's messages as its customers would read them (``POST /program/messages``).

Every screen calls the admin API's use cases (:mod:`shared.services.admin.program`,
:mod:`shared.services.admin.config_tools`), so validation, roles, approval and audit are theirs.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from console import program_form as form
from console import program_labels as words
from console.app import NOTICES, Page, Reply, field_errors, page, redirect
from shared.api.admin import ConfigChangeView, ConfigReplaceResponse, ConfigResponse
from shared.api.admin.config_tools import ConfigDraftResponse, ConfigPreviewRequest, ConfigPreviewResponse, PreviewLine
from shared.domain import errors
from shared.domain.catalog import kopecks
from shared.edge import entry
from shared.platform.settings import settings
from shared.services.admin import config_tools
from shared.services.admin import messages as messages_admin
from shared.services.admin import program as program_admin

NOTICES.update(
    {
        "config_published": "Новая версия программы опубликована и уже действует.",
        "config_scheduled": "Новая версия программы опубликована и вступит в силу в указанное время.",
    }
)

CART_ROWS = 3
TOTALS = [
    ("Сумма товаров", "subtotal", "rubles"),
    ("Скидка по промокоду", "discount", "rubles"),
    ("Можно оплатить бонусами", "max_bonuses_by_rules", "bonuses"),
    ("Списано бонусов", "bonuses_applied", "bonuses"),
    ("К оплате", "money_to_pay", "rubles"),
    ("Начислится бонусов", "points_to_earn", "bonuses"),
]


class _View:
    """What a view of a change shows: its field in Russian, the values as the form writes them."""

    def __init__(self, change: ConfigChangeView) -> None:
        self.label = form.change_label(change.path)
        self.before = form.shown(change.path, change.before)
        self.after = form.shown(change.path, change.after)
        self.touches_money = change.touches_money


class _Draft:
    def __init__(self, draft: ConfigDraftResponse) -> None:
        self.in_force_version = draft.in_force_version
        self.touches_money = draft.touches_money
        self.changes = [_View(change) for change in draft.changes]


def _program() -> str:
    return settings().program


def _current(p: Page) -> ConfigResponse:
    return program_admin.config_view(entry.store(), p.admin, program_name=_program(), now=p.now)


class _Messages:
    """The draft's messages previewed: the triggers that are on, and any whose templates are refused."""

    def __init__(self, shown: list[messages_admin.TriggerPreview]) -> None:
        self.shown = [t for t in shown if t.enabled or t.refused]
        self.off = [messages_admin.TRIGGERS_RU[t.trigger.value] for t in shown if not t.enabled and not t.refused]
        self.refused = [r for t in shown for r in t.refused]
        self.sample = messages_admin.SAMPLE
        self.triggers_ru, self.channels_ru = messages_admin.TRIGGERS_RU, messages_admin.CHANNELS_RU

    @staticmethod
    def label(field: str) -> str:
        return words.label(field)


def _editor(
    p: Page,
    values: dict[str, str],
    *,
    status: int = 200,
    errors_: dict[str, str] | None = None,
    draft: _Draft | None = None,
    preview: ConfigPreviewResponse | None = None,
    messages: _Messages | None = None,
) -> Reply:
    current = _current(p)
    levels = [(code, values.get(f"levels.{n}.name") or code) for n in form.rows(values, "levels") if (code := values.get(f"levels.{n}.code", ""))]
    return p.render(
        "program_edit.html",
        status=status,
        in_force=current,
        nodes=form.layout(values),
        values=values,
        errors=errors_ or {},
        draft=draft,
        preview=preview,
        messages=messages,
        totals=TOTALS,
        cart_rows=CART_ROWS,
        levels=levels,
        error_links=_error_links(errors_ or {}, values),
        key=_new_key(),
    )


FORM_ONLY = {"publish.reason": "Причина изменения", "publish.at": "Дата вступления в силу", "cart": "Пример корзины", "cart.order": "Номер заказа", "cart.bonuses": "Списать бонусов"}


def _error_links(found: dict[str, str], values: dict[str, str]) -> list[tuple[str, str, str]]:
    """Each refused field as (its element's id, its name in Russian, the message): the summary's links."""
    sections = {n.name for n in form.walk(form.layout(values)) if n.kind in ("model", "rows", "row")}
    links = []
    for name, message in found.items():
        if name == "__all__":
            continue
        anchor = "cart" if name == "cart" else ("s-" if name in sections else "f-") + name.replace(".", "-")
        row = name.split(".")[1] if name.startswith("cart.") else ""
        title = FORM_ONLY.get(name) or (f"Товар {int(row) + 1}" if row.isdigit() else form.change_label(form.readable(name, values)))
        links.append((anchor, title, message))
    return links


@page("GET", "/program")
def program_form(p: Page) -> Reply:
    p.require("config.read")
    return _editor(p, form.values_of(_current(p).config))


def _refusal(exc: errors.DomainError, values: dict[str, str], prefix: str) -> dict[str, str]:
    """A refusal of a use case as {form field: Russian message}."""
    listed = exc.details.get("errors")
    if isinstance(listed, list) and listed:
        return form.errors_at(listed, values)
    named = str(exc.details.get("field") or "")
    if named == "reason":
        return {f"{prefix}.reason": exc.message_ru or "Укажите причину."}
    if named == "effective_from":
        return {f"{prefix}.at": exc.message_ru or "Неверная дата вступления в силу."}
    if named.startswith("lines.") or named in ("lines", "order_id"):
        return {"cart.order" if named == "order_id" else "cart": exc.message_ru or "Неверное значение."}
    return {"__all__": exc.message_ru or "Действие не выполнено."}


def _effective(values: dict[str, str], prefix: str, now: datetime) -> datetime | None:
    if values.get(f"{prefix}.when", "now") != "later":
        return None
    text = values.get(f"{prefix}.at", "").strip()
    moment = form.moscow_moment(text) if text else None
    if moment is None:
        raise form.Unreadable({f"{prefix}.at": "Укажите дату и время вступления в силу."})
    if moment < now:
        raise form.Unreadable({f"{prefix}.at": "Дата вступления в силу не может быть в прошлом."})
    return moment


def _done(answer: ConfigReplaceResponse, now: datetime) -> Reply:
    if answer.status == "pending_approval":
        return redirect("/program/history?done=config_pending")
    later = answer.effective_from is not None and answer.effective_from > now
    return redirect("/program/history?done=" + ("config_scheduled" if later else "config_published"))


def _cart(values: dict[str, str], raw: dict[str, Any]) -> ConfigPreviewRequest:
    """The sample cart of the form (its fields refused: :class:`form.Unreadable`)."""
    bad: dict[str, str] = {}
    lines: list[PreviewLine] = []
    for i in range(CART_ROWS):
        product, price, group, quantity = (values.get(f"cart.{i}.{k}", "").strip() for k in ("product", "price", "group", "quantity"))
        if not (product or price):
            continue
        amount = kopecks(price) if price else None
        if price and amount is None:
            bad[f"cart.{i}.price"] = "Введите цену в рублях, например 1990 или 1990,50."
        if quantity and not (quantity.isdigit() and 1 <= int(quantity) <= 10_000):
            bad[f"cart.{i}.quantity"] = "Введите целое число от 1 до 10 000."
        if f"cart.{i}.price" not in bad and f"cart.{i}.quantity" not in bad:
            try:
                lines.append(PreviewLine(product=product or None, price=amount, product_group=group or None, quantity=int(quantity or 1), name=(product or f"Товар {i + 1}")[:300]))
            except ValidationError as exc:
                names = {"product": "product", "product_group": "group", "price": "price", "quantity": "quantity"}
                bad.update({f"cart.{i}.{names.get(name, 'product')}": message for name, message in field_errors(exc).items()})
    bonuses = values.get("cart.bonuses", "").strip()
    if bonuses and not bonuses.isdigit():
        bad["cart.bonuses"] = "Введите целое число."
    order = values.get("cart.order", "").strip()
    if not lines and not order and not bad:
        bad["cart"] = "Добавьте товар (из каталога или с ценой) или укажите номер заказа."
    if bad:
        raise form.Unreadable(bad)
    try:
        return ConfigPreviewRequest(config=raw, lines=[] if order else lines, order_id=order or None, level=values.get("cart.level") or None, bonuses=int(bonuses or 0))
    except ValidationError as exc:
        found = field_errors(exc)
        raise form.Unreadable({"cart.order" if "order_id" in found else ("cart.bonuses" if "bonuses" in found else "cart"): next(iter(found.values()))}) from None


@page("POST", "/program")
def program_action(p: Page) -> Reply:
    p.require("config.read")
    values = {k: v for k, v in p.form().items() if k != "csrf"}
    action = values.pop("action", "check")
    if action.startswith("add:"):
        return _editor(p, form.add_row(values, action[4:]))
    if action.startswith("remove:"):
        path, _, number = action[7:].rpartition(".")
        return _editor(p, form.remove_row(values, path, int(number)) if number.isdigit() else values)
    store = entry.store()
    try:
        raw = form.raw_of(values)
        if action == "preview":
            body = _cart(values, raw)
            shown = config_tools.config_preview(store, p.admin, program_name=_program(), body=body, now=p.now)
            return _editor(p, values, preview=shown)
        if action == "publish":
            p.require("config.replace")
            effective = _effective(values, "publish", p.now)
            answer = program_admin.replace_config(
                store, p.admin, program_name=_program(), raw=raw, reason=values.get("publish.reason", ""), effective_from=effective, key=_key(values, "publish"), now=p.now
            )
            return _done(answer, p.now)
        draft = config_tools.config_draft(store, p.admin, program_name=_program(), raw=raw, now=p.now)
        return _editor(p, values, draft=_Draft(draft))
    except form.Unreadable as exc:
        return _editor(p, values, status=400, errors_=exc.fields, draft=_redraft(p, values, action))
    except (errors.ValidationFailed, errors.NotFound, errors.IdempotencyConflict, errors.InvalidState) as exc:
        return _editor(p, values, status=400, errors_=_refusal(exc, values, "publish"), draft=_redraft(p, values, action))


@page("POST", "/program/messages")
def program_messages(p: Page) -> Reply:
    """The draft's messages as its customers would read them, before it is published; nothing is saved.

    A template naming a variable its trigger does not offer is told at its field (and in the
    panel instead of its text), refused as publishing would refuse it."""
    p.require("config.read")
    values = {k: v for k, v in p.form().items() if k not in ("csrf", "action")}
    try:
        shown = _Messages(messages_admin.draft_previews(p.admin, raw=form.raw_of(values)))
    except form.Unreadable as exc:
        return _editor(p, values, status=400, errors_=exc.fields)
    except errors.ValidationFailed as exc:
        return _editor(p, values, status=400, errors_=_refusal(exc, values, "publish"))
    refused = form.errors_at([{"field": r.field, "error": r.error, "type": r.type} for r in shown.refused], values)
    return _editor(p, values, errors_=refused, messages=shown)


def _redraft(p: Page, values: dict[str, str], action: str) -> _Draft | None:
    """On a refused publication, the diff again (so the publishing fields stay at hand), if the draft is valid."""
    if action != "publish":
        return None
    try:
        return _Draft(config_tools.config_draft(entry.store(), p.admin, program_name=_program(), raw=form.raw_of(values), now=p.now))
    except (form.Unreadable, errors.ValidationFailed):
        return None


def _new_key() -> str:
    """A form's idempotency key: submitted twice (a double click, a retry), it publishes once."""
    return "console-" + secrets.token_urlsafe(18)


def _key(values: dict[str, str], prefix: str) -> str:
    key = values.get(f"{prefix}.key", "")
    return key if key.startswith("console-") and len(key) <= 64 and all(c.isalnum() or c in "_-" for c in key) else _new_key()


# --- history and versions --------------------------------------------------------------------------


class _Entry:
    def __init__(self, entry_: Any) -> None:
        self.version, self.actor, self.at, self.effective_from, self.reason = entry_.version, entry_.actor, entry_.at, entry_.effective_from, entry_.reason
        self.changed_labels = [words.label(name) for name in entry_.changed]


@page("GET", "/program/history")
def program_history(p: Page) -> Reply:
    p.require("config.read")
    history = program_admin.config_history(entry.store(), p.admin, program_name=_program())
    current = _current(p)
    return p.render("program_history.html", entries=[_Entry(e) for e in history.entries], in_force=current.version, now=p.now, pending=p.ctx.request.args.get("done") == "config_pending")


def _number(p: Page) -> int:
    text = p.ctx.params["version"]
    if not text.isdigit() or len(text) > 9:
        raise errors.NotFound("no such version", message_ru="Такой версии программы нет.")
    return int(text)


def _version_page(p: Page, number: int, *, values: dict[str, str] | None = None, errors_: dict[str, str] | None = None, status: int = 200) -> Reply:
    store = entry.store()
    version = config_tools.config_version(store, p.admin, program_name=_program(), number=number, now=p.now)
    body = version.config.model_dump(mode="json")
    draft = config_tools.config_draft(store, p.admin, program_name=_program(), raw=body, now=p.now)
    return p.render(
        "program_version.html",
        status=status,
        version=version,
        draft=_Draft(draft),
        nodes=form.layout(form.values_of(version.config)),
        values=values or {},
        errors=errors_ or {},
        now=p.now,
        key=_new_key(),
    )


@page("GET", "/program/versions/{version}")
def program_version(p: Page) -> Reply:
    p.require("config.read")
    return _version_page(p, _number(p))


@page("POST", "/program/versions/{version}/restore")
def program_restore(p: Page) -> Reply:
    """Publish a stored version's config again, as a new version, by the same rules as any change."""
    p.require("config.replace")
    number = _number(p)
    values = {k: v for k, v in p.form().items() if k != "csrf"}
    store = entry.store()
    version = config_tools.config_version(store, p.admin, program_name=_program(), number=number, now=p.now)
    try:
        effective = _effective(values, "restore", p.now)
        answer = program_admin.replace_config(
            store,
            p.admin,
            program_name=_program(),
            raw=version.config.model_dump(mode="json"),
            reason=values.get("restore.reason", ""),
            effective_from=effective,
            key=_key(values, "restore"),
            now=p.now,
        )
    except form.Unreadable as exc:
        return _version_page(p, number, values=values, errors_=exc.fields, status=400)
    except (errors.ValidationFailed, errors.IdempotencyConflict, errors.InvalidState) as exc:
        return _version_page(p, number, values=values, errors_=_refusal(exc, values, "restore"), status=400)
    return _done(answer, p.now)
