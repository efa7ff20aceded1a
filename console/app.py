"""The console's router, sessions, page rendering and forms.

Every page is rendered on the server with Jinja2 (autoescaped, undefined names
are errors) into one layout (``templates/base.html``); the navigation shows only
the sections the signed-in user's roles allow, and every handler checks the
action again (:meth:`Page.require`), so a hand-made request for a hidden screen
is refused (403) all the same.

Answers carry a strict Content-Security-Policy (scripts, styles and images only
from the console itself, no inline script, no framing), ``no-store`` caching
and ``nosniff``. A state-changing request is a POST whose form carries the
session's CSRF token (:func:`shared.services.console_sessions.csrf_token`).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import jinja2
from pydantic import BaseModel, ValidationError

from shared.domain import errors
from shared.domain.clock import MSK
from shared.edge import admin_auth, entry
from shared.edge.admin_auth import Admin
from shared.edge.http import Context, Reply, Router
from shared.services import console_sessions

ROOT = Path(__file__).resolve().parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
MAX_FORM_BYTES = 256 * 1024
MAX_UPLOAD_BYTES = 4 * 1024 * 1024

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

M = TypeVar("M", bound=BaseModel)


# --- formatting ------------------------------------------------------------------------


def rubles(kopecks: int | None) -> str:
    """``123456`` -> ``1 234,56 ₽`` (narrow no-break spaces between thousands)."""
    if kopecks is None:
        return "—"
    sign = "−" if kopecks < 0 else ""
    whole, part = divmod(abs(int(kopecks)), 100)
    return f"{sign}{whole:,}".replace(",", "\u202f") + f",{part:02d}\u00a0₽"


def bonuses(amount: int | None) -> str:
    if amount is None:
        return "—"
    sign = "−" if amount < 0 else ""
    return f"{sign}{abs(int(amount)):,}".replace(",", "\u202f")


def moscow(value: datetime | None, with_time: bool = True) -> str:
    """A moment as the shop reads it: Moscow time, ``02.12.2026 09:15``."""
    if value is None:
        return "—"
    local = value.astimezone(MSK)
    return local.strftime("%d.%m.%Y %H:%M" if with_time else "%d.%m.%Y")


#: What a finished action says on the page it redirects to (``?done=<key>``): the key, never free text, travels in the URL.
NOTICES: dict[str, str] = {"signed_out": "Вы вышли из панели управления."}

ROLE_NAMES = {"admin": "администратор", "marketer": "маркетолог", "manager": "менеджер", "accountant": "бухгалтер"}

#: The sections of the navigation: (path, title, the action that opens it).
SECTIONS: list[tuple[str, str, str]] = [
    ("/", "Обзор", "customer.read"),
    ("/customers", "Клиенты", "customer.read"),
    ("/program", "Программа", "config.read"),
    ("/campaigns", "Кампании", "campaign.read"),
    ("/approvals", "Согласования", "approval.read"),
    ("/payouts", "Выплаты", "payout.read"),
    ("/promo", "Промокоды", "promo.read"),
    ("/accruals", "Начисления", "mass_accrual.read"),
    ("/stickers", "Стикеры", "sticker.manage"),
    ("/catalog", "Каталог", "catalog.read"),
    ("/orders/flagged", "Заказы на проверке", "order.review"),
    ("/messages", "Сообщения", "config.read"),
    ("/messages/failed", "Недоставленные сообщения", "message.failed"),
    ("/audit", "Журнал", "audit.read"),
]

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(rubles=rubles, bonuses=bonuses, moscow=moscow, role=lambda r: ROLE_NAMES.get(r, r), urlpart=lambda v: quote(str(v), safe=""))


def current_section(current: str) -> str | None:
    """The section ``current`` is in: the longest section path it is, or lies under."""
    inside = [path for path, _, _ in SECTIONS if current == path or (path != "/" and current.startswith(path + "/"))]
    return max(inside, key=len, default=None)


_env.globals.update(urlencode=urlencode, current_section=current_section)


def page_reply(template: str, status: int = 200, **values: Any) -> Reply:
    return Reply(_env.get_template(template).render(**values), status=status, headers=dict(SECURITY_HEADERS))


def redirect(location: str, *, cookie: str | None = None) -> Reply:
    """303 See Other (a POST answered with the page to GET next)."""
    headers = {**SECURITY_HEADERS, "Location": location}
    if cookie is not None:
        headers["Set-Cookie"] = cookie
    return Reply("", status=303, content_type="text/plain; charset=utf-8", headers=headers)


def session_cookie(value: str | None) -> str:
    """The session cookie (``None``: cleared). ``__Host-``: Secure, Path=/, no Domain."""
    if value is None:
        return f"{console_sessions.COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
    return f"{console_sessions.COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict"


def session_id(request: Any) -> str | None:
    value = request.cookies.get(console_sessions.COOKIE)
    return str(value) if value else None


# --- forms -------------------------------------------------------------------------------


def form_fields(ctx: Context, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The urlencoded (or multipart) form's text fields, the last value of each name."""
    request = ctx.request
    if (request.content_length or 0) > limit:
        raise errors.ValidationFailed("the form is too large", message_ru="Слишком большая форма.")
    return {key: str(value) for key, value in request.form.items()}


def form_lists(ctx: Context) -> dict[str, list[str]]:
    """Every value of each name (repeated fields: checkboxes, table rows)."""
    return {key: [str(v) for v in ctx.request.form.getlist(key)] for key in ctx.request.form.keys()}


def upload(ctx: Context, name: str, limit: int = MAX_UPLOAD_BYTES) -> bytes | None:
    """An uploaded file's bytes (``None`` when none was chosen)."""
    if (ctx.request.content_length or 0) > limit + MAX_FORM_BYTES:
        raise errors.ValidationFailed("the file is too large", message_ru="Файл слишком большой.")
    file = ctx.request.files.get(name)
    if file is None or not file.filename:
        return None
    data: bytes = file.read(limit + 1)
    if len(data) > limit:
        raise errors.ValidationFailed("the file is too large", message_ru="Файл слишком большой.")
    return data


RU_ERRORS = {
    "missing": "Заполните поле.",
    "string_too_short": "Заполните поле.",
    "string_too_long": "Слишком длинное значение.",
    "int_parsing": "Введите целое число.",
    "int_type": "Введите целое число.",
    "decimal_parsing": "Введите число.",
    "float_parsing": "Введите число.",
    "greater_than_equal": "Слишком маленькое значение.",
    "greater_than": "Слишком маленькое значение.",
    "less_than_equal": "Слишком большое значение.",
    "less_than": "Слишком большое значение.",
    "datetime_parsing": "Введите дату и время.",
    "date_parsing": "Введите дату.",
    "literal_error": "Выберите одно из значений.",
    "enum": "Выберите одно из значений.",
    "string_pattern_mismatch": "Неверный формат.",
    "value_error": "Неверное значение.",
}


def field_errors(exc: ValidationError) -> dict[str, str]:
    """A pydantic refusal as {dotted field: Russian message} (the first message of each field)."""
    found: dict[str, str] = {}
    for item in exc.errors():
        name = ".".join(str(p) for p in item["loc"]) or "__all__"
        message = RU_ERRORS.get(item["type"], "Неверное значение.")
        ctx_info = item.get("ctx") or {}
        if item["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than") and ctx_info:
            bound = next(iter(ctx_info.values()))
            message = f"{message.rstrip('.')}: допустимо {'не меньше' if 'greater' in item['type'] else 'не больше'} {bound}."
        if item["type"] == "value_error" and isinstance(ctx_info.get("error"), Exception):
            message = str(ctx_info["error"])
        found.setdefault(name, message)
    return found


def parse_form(model: type[M], data: dict[str, Any]) -> M:
    """``data`` validated by ``model`` (form text, so values are coerced); a refusal is :class:`FormInvalid`."""
    try:
        return model.model_validate({k: v for k, v in data.items() if v != ""})
    except ValidationError as exc:
        raise FormInvalid(field_errors(exc)) from exc


class FormInvalid(errors.ValidationFailed):
    """A form's fields refused, each with its Russian message (shown at the field)."""

    code = "form_invalid"

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("the form has invalid fields", message_ru="Проверьте выделенные поля.", fields=fields)
        self.fields = fields


# --- pages ---------------------------------------------------------------------------------


@dataclass
class Page:
    """What a console handler works with: the signed-in admin, the request, its clock, the form."""

    admin: Admin
    ctx: Context
    session: str
    enrolling: bool = False
    notice: str | None = None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        return self.ctx.now

    def can(self, action: str) -> bool:
        return self.admin.can(action)

    def require(self, action: str) -> Admin:
        return self.admin.require(action)

    def render(self, template: str, status: int = 200, **values: Any) -> Reply:
        nav = [(path, title) for path, title, action in SECTIONS if self.admin.can(action)]
        current = self.ctx.request.path or "/"
        return page_reply(
            template,
            status=status,
            me=self.admin,
            nav=nav,
            current=current,
            csrf=console_sessions.csrf_token(self.session),
            can=self.admin.can,
            notice=values.pop("notice", None) or NOTICES.get(self.ctx.request.args.get("done", "")),
            **values,
        )

    def form(self) -> dict[str, str]:
        return form_fields(self.ctx)


Handler = Callable[[Page], Reply]


def signed_in(request: Any, ctx: Context, *, enrolling: bool = False) -> Page:
    """The page context of a signed-in admin; a POST must carry the session's CSRF token."""
    sid = session_id(request)
    admin = console_sessions.resume(entry.store(), sid, now=ctx.now, enrolling=enrolling)
    assert sid is not None
    if request.method == "POST" and not console_sessions.csrf_ok(sid, request.form.get("csrf")):
        raise errors.Forbidden("the form's CSRF token is missing or wrong", message_ru="Форма устарела: обновите страницу и повторите.")
    return Page(admin=admin, ctx=ctx, session=sid, enrolling=enrolling)


def error_page(exc: errors.DomainError, status: int, request: Any, ctx: Context) -> Reply:
    """A refusal as people see it: a signed-out browser goes to the sign-in page, the rest get a Russian page."""
    if status == 401:
        target = request.path if request.method == "GET" else "/"
        return redirect("/login?" + urlencode({"next": target}), cookie=session_cookie(None))
    if isinstance(exc, admin_auth.MfaRequired):
        return redirect("/mfa")
    message = exc.message_ru or ("Такой страницы нет." if status == 404 else "Действие не выполнено.")
    return page_reply("error.html", status=status, message=message, code=exc.code, me=None, nav=[], current="", csrf="")


router = Router("console", error_page=error_page)


def page(method: str, path: str, *, enrolling: bool = False) -> Callable[[Handler], Handler]:
    """Register a console handler for a signed-in admin at ``method path``."""

    def register(fn: Handler) -> Handler:
        def handler(request: Any, ctx: Context) -> Reply:
            return fn(signed_in(request, ctx, enrolling=enrolling))

        router.route(method, path)(handler)
        return fn

    return register


@router.get("/static/{name}")
def static(request: Any, ctx: Context) -> Reply:
    name = ctx.params["name"]
    file = STATIC / name
    if "/" in name or name.startswith(".") or not file.is_file():
        raise errors.NotFound("no such file", message_ru="Файл не найден.")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "image/svg+xml"):
        kind += "; charset=utf-8"
    return Reply(file.read_bytes(), content_type=kind, headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=300"})
