"""The HTTP edge shared by every function: errors, CORS, bodies, routing, the clock.

A function's ``main.py`` builds a :class:`Router` and exposes one entry point::

    router = Router("cart_quote", cors=True)

    @router.post("/quote")
    def quote_endpoint(request, ctx):
        body = ctx.body(QuoteRequest)
        return use_case(..., now=ctx.now)

    def cart_quote(request):          # the functions-framework target
        return router.dispatch(request)

Everything a use case raises is mapped here, once: a
:class:`~shared.domain.errors.DomainError` becomes
``{"error": {"code", "message", "message_ru", "details"}}`` with its status;
a body that fails validation is a 400 — JSON bodies are validated strictly,
so a value of another JSON type than the documented one (``0`` for a
boolean, ``"5"`` for an integer, ``null`` for an object) is refused, not
coerced; nothing unexpected from bad input is ever a 500. The few 4xx that
functions-framework answers itself, before the function runs (a path its URL
rule cannot route), get the same JSON shape (:func:`_answer_framework_errors`). Store contention that outlived its retries
(:class:`~shared.domain.errors.Retryable`) is a 409 and a provider that could
not be reached (:class:`~shared.domain.errors.ProviderUnavailable`) a 503,
both with ``Retry-After``. Anything else a handler raises is a bug or an
operator's error (a :class:`~shared.platform.settings.MissingSetting`): it is logged at
ERROR with its stack trace, the request id and the route pattern it matched
(``POST /tilda/{token}``: never the path, whose segments may be a webhook's
secret), and answered as a generic 500
``{"error": {"code": "internal", ..., "details": {"request_id"}}}`` that tells
the caller nothing about the cause.

Every function also answers ``GET /health`` itself (no store, no credentials,
no origin check): ``{"function", "version", "environment", "status": "ok"}``.
Logs are structured JSON (:mod:`shared.platform.logs`), configured on the first
dispatch; every line written during a request carries its id, the function
and the Cloud Trace id. The caller's ``X-Request-Id`` is that id only when it
is well formed (:data:`REQUEST_ID`: ASCII letters, digits, ``._:-``, at most
128); otherwise a fresh one is used, so no caller's free text is echoed or logged.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared import resume_collector
from shared.domain import errors
from shared.platform import logs
from shared.platform.settings import MissingSetting, settings

log = logging.getLogger("kopilka")
M = TypeVar("M", bound=BaseModel)

MAX_BODY_BYTES = 256 * 1024
# A caller's X-Request-Id is taken (echoed and logged) only in this form; else a fresh id is used.
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

STATUS: list[tuple[type[errors.DomainError], int]] = [
    (errors.ValidationFailed, 400),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.IdempotencyConflict, 409),
    (errors.StaleQuote, 409),
    (errors.InvalidState, 409),
    (errors.TooManyRequests, 429),
    (errors.ProviderUnavailable, 503),  # before Retryable, of which it is a kind
    (errors.Retryable, 409),
    (errors.InsufficientBonuses, 422),
    (errors.BusinessRefusal, 422),
]


@dataclass(frozen=True)
class Reply:
    """A handler's answer that is not JSON (a page, a file, a redirect), with its own headers."""

    body: str | bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


#: How a function that answers people renders a refusal (the console's pages), instead of the JSON error shape.
ErrorPage = Callable[[errors.DomainError, int, Any, "Context"], Reply]


def status_of(error: errors.DomainError) -> int:
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 422


class PayloadTooLarge(errors.ValidationFailed):
    code = "payload_too_large"


def error_body(error: errors.DomainError) -> dict[str, Any]:
    return {"error": error.to_dict()}


HEALTH_PATH = "/health"


def internal_error_body(request_id: str) -> dict[str, Any]:
    """The answer to anything unexpected: generic, with the request id to find the log line by."""
    return {
        "error": {
            "code": "internal",
            "message": "internal error; quote the request id when reporting it",
            "message_ru": "Внутренняя ошибка сервиса. Повторите попытку позже.",
            "details": {"request_id": request_id},
        }
    }


@dataclass
class Context:
    """What a handler gets besides the request: the clock read once, ids, parsed bodies."""

    request: Any
    function: str
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    params: dict[str, str] = field(default_factory=dict)
    route: str | None = None  # "POST /tilda/{token}": what the logs name, never the path (it may carry a secret)

    def raw_body(self, limit: int = MAX_BODY_BYTES) -> bytes:
        """The body, refused past ``limit`` bytes (a route that takes files passes its own)."""
        length = self.request.content_length
        if length is not None and length > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes", limit=limit)
        data = self.request.get_data(cache=True)
        if len(data) > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes", limit=limit)
        return data

    def json(self) -> Any:
        raw = self.raw_body()
        try:
            return json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise errors.ValidationFailed("the body is not valid JSON", message_ru="Некорректный запрос.") from None

    def body(self, model: type[M]) -> M:
        """The JSON body validated into ``model``, strictly: the JSON types must be the documented
        ones (``0`` is not a boolean, ``"5"`` not an integer, ``null`` not an object)."""
        self.json()  # invalid JSON is its own clear error
        return parse_json(model, self.raw_body() or b"null")

    def optional_body(self, model: type[M]) -> M:
        """Like :meth:`body`, but an empty body means the model's defaults."""
        return parse(model, {}) if not self.raw_body().strip() else self.body(model)


def parse(model: type[M], data: Any) -> M:
    """Validate data into a model or raise ValidationFailed listing the fields."""
    return _validated(model.model_validate, data)


def parse_json(model: type[M], raw: bytes | str) -> M:
    """Validate a JSON document into a model in strict mode, or raise ValidationFailed listing the fields."""
    return _validated(lambda text: model.model_validate_json(text, strict=True), raw)


def _validated(validate: Callable[[Any], M], data: Any) -> M:
    try:
        return validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "error": e["msg"]} for e in exc.errors(include_url=False)
        ]
        raise errors.ValidationFailed(
            "invalid request: " + ", ".join(p["field"] for p in problems),
            message_ru="Некорректные данные запроса.",
            errors=problems,
        ) from None


def request_id_of(headers: Any) -> str | None:
    """The caller's ``X-Request-Id`` when it is well formed (:data:`REQUEST_ID`), else ``None``:
    an id that is echoed and written into every log line is never the caller's free text."""
    sent = headers.get("X-Request-Id") or ""
    return sent if REQUEST_ID.fullmatch(sent) else None


def _forwarded_entries(request: Any) -> list[str]:
    header = request.headers.get("X-Forwarded-For", "")
    return [part.strip() for part in header.split(",") if part.strip()]


def client_ip(request: Any, trusted_hops: int | None = None) -> str | None:
    """The caller's address as seen by our trusted proxies.

    Each Google proxy in front of the function appends the address it received
    the connection from to ``X-Forwarded-For``; the left-most entries are
    whatever the client sent and can be forged. With ``trusted_hops`` proxies
    in front of us (``KOPILKA_TRUSTED_PROXY_HOPS``: 1 for the function's own
    URL, see docs/operations.md), the caller is the entry that many places from
    the right; ``None`` when the header is shorter than that.
    """
    hops = settings().trusted_proxy_hops if trusted_hops is None else trusted_hops
    entries = _forwarded_entries(request)
    if hops <= 0 or not entries:
        return request.remote_addr
    return entries[-hops] if len(entries) >= hops else None


_caller_reported = False


def report_first_caller(request: Any) -> None:
    """Log, once per instance, how the caller's address of its first request was derived.

    The operator calls a freshly deployed function from a known address and
    finds that address as ``caller`` in this line (``jsonPayload.message =
    "caller address derived"``); if it is another entry of ``x_forwarded_for``,
    ``KOPILKA_TRUSTED_PROXY_HOPS`` is wrong for the way the function is reached.
    """
    global _caller_reported
    if _caller_reported:
        return
    _caller_reported = True  # a race reports twice at worst
    try:
        hops = settings().trusted_proxy_hops
    except Exception:  # settings the routes need are checked (and reported) per route
        return
    caller = client_ip(request, hops)
    fields = {"trusted_proxy_hops": hops, "x_forwarded_for": _forwarded_entries(request), "peer": request.remote_addr, "caller": caller}
    log.log(logging.INFO if caller else logging.WARNING, "caller address derived", extra={"json_fields": fields})


Handler = Callable[[Any, Context], Any]


class Router:
    """Method + path routing for one function, with CORS and error mapping."""

    def __init__(self, function: str, *, cors: bool = False, requires: tuple[str, ...] = (), error_page: ErrorPage | None = None) -> None:
        resume_collector()  # a main.py builds its router once its imports are done
        self.function = function
        self.cors = cors
        self.error_page = error_page
        self.requires = requires  # Settings fields every route needs, checked per request (not at import)
        self.routes: dict[tuple[str, str], Handler] = {}
        _answer_framework_errors(self)

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.routes[(method.upper(), path.rstrip("/") or "/")] = fn
            return fn

        return register

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("POST", path)

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("GET", path)

    def _match(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], bool, str | None]:
        parts = [p for p in path.strip("/").split("/") if p]
        path_known = False
        for (m, pattern), handler in self.routes.items():
            pattern_parts = [p for p in pattern.strip("/").split("/") if p]
            if len(pattern_parts) != len(parts):
                continue
            params = {}
            for want, got in zip(pattern_parts, parts, strict=True):
                if want.startswith("{") and want.endswith("}"):
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                path_known = True
                if m == method:
                    return handler, params, True, pattern
        return None, {}, path_known, None

    def _cors_headers(self, request: Any) -> dict[str, str]:
        origin = request.headers.get("Origin")
        if not self.cors or not origin or origin not in settings().allowed_origins:
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST, PUT, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
            "Access-Control-Max-Age": "3600",
            "Vary": "Origin",
        }

    def health(self) -> dict[str, str]:
        """``GET /health``: who answers and which build, without touching the store."""
        s = settings()
        return {"function": self.function, "version": s.version, "environment": s.environment, "status": "ok"}

    def dispatch(self, request: Any, *, now: datetime | None = None) -> tuple[Any, int, dict[str, str]]:
        logs.configure()
        ctx = Context(request=request, function=self.function)
        if now is not None:
            ctx.now = now
        ctx.request_id = request_id_of(request.headers) or ctx.request_id
        with logs.request_scope(request_id=ctx.request_id, function=self.function, headers=request.headers):
            headers = {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": ctx.request_id}
            try:
                report_first_caller(request)
                return self._dispatch(request, ctx, headers)
            except MissingSetting as exc:  # a setting read before the route (a token secret under 32 bytes, say)
                log.error("%s", exc, extra={"json_fields": {"missing_settings": list(exc.variables), "route": ctx.route}})
                return _dump(internal_error_body(ctx.request_id)), 500, headers
            except Exception:
                log.exception("unhandled error", extra={"json_fields": {"method": request.method, "route": ctx.route or "(no route)"}})
                return _dump(internal_error_body(ctx.request_id)), 500, headers

    def _dispatch(self, request: Any, ctx: Context, headers: dict[str, str]) -> tuple[Any, int, dict[str, str]]:
        if request.method in ("GET", "HEAD") and (request.path or "/").rstrip("/") == HEALTH_PATH and ("GET", HEALTH_PATH) not in self.routes:
            return _dump(self.health()), 200, headers
        headers.update(self._cors_headers(request))
        if request.method == "OPTIONS":
            if self.cors and request.headers.get("Origin") and "Access-Control-Allow-Origin" not in headers:
                return _dump(error_body(errors.Forbidden("origin not allowed", origin=request.headers.get("Origin")))), 403, headers
            return "", 204, headers
        if self.cors and request.headers.get("Origin") and "Access-Control-Allow-Origin" not in headers:
            return _dump(error_body(errors.Forbidden("origin not allowed", origin=request.headers.get("Origin")))), 403, headers
        handler, params, path_known, pattern = self._match(request.method, request.path or "/")
        if handler is None:
            error = errors.NotFound(f"no {request.method} {request.path}") if not path_known else errors.ValidationFailed(f"method {request.method} not allowed")
            status = 405 if path_known else 404
            if self.error_page is not None:
                return self._reply(self.error_page(error, status, request, ctx), headers)
            return _dump(error_body(error)), status, headers
        ctx.params, ctx.route = params, f"{request.method} {pattern}"
        try:
            if self.requires:
                settings().require(*self.requires)
            result = handler(request, ctx)
        except errors.DomainError as exc:
            status = status_of(exc)
            if isinstance(exc, PayloadTooLarge):
                status = 413
            if isinstance(exc, (errors.Retryable, errors.TooManyRequests)):
                headers["Retry-After"] = str(exc.retry_after_seconds)
            log.info("refused", extra={"json_fields": {"code": exc.code, "status": status}})
            if self.error_page is not None:
                return self._reply(self.error_page(exc, status, request, ctx), headers)
            return _dump(error_body(exc)), status, headers
        except MissingSetting as exc:  # the operator's error, named in the log, not in the answer
            log.error("%s", exc, extra={"json_fields": {"missing_settings": list(exc.variables), "route": ctx.route}})
            return _dump(internal_error_body(ctx.request_id)), 500, headers
        if isinstance(result, Reply):
            return self._reply(result, headers)
        status = 200
        if isinstance(result, tuple):
            result, status = result
        if isinstance(result, (str, bytes)):
            headers["Content-Type"] = "text/plain; charset=utf-8"
            return result, status, headers
        return _dump(result), status, headers


    @staticmethod
    def _reply(reply: Reply, headers: dict[str, str]) -> tuple[Any, int, dict[str, str]]:
        headers.update({"Content-Type": reply.content_type, **reply.headers})
        return reply.body, reply.status, headers


def framework_error_body(status: int, description: str | None) -> dict[str, Any]:
    """Our error shape for an HTTP error the framework raised before any route ran."""
    code, message_ru = {404: ("not_found", errors.NotFound.message_ru), 413: (PayloadTooLarge.code, "Слишком большой запрос.")}.get(status, ("validation_failed", "Некорректный запрос."))
    return {"error": {"code": code, "message": description or "bad request", "message_ru": message_ru, "details": {}}}


def _answer_framework_errors(router: Router) -> None:
    """Make the functions-framework app answer its own 4xx errors in our JSON error shape.

    functions-framework routes every path to the function through one URL rule,
    ``/<path:path>``, whose pattern does not match every path (one with an
    encoded newline, ``%0A``, is not matched): Flask then answers an HTML 404
    without calling the function. functions-framework executes ``main.py`` inside
    its Flask app's context, so a router built there registers a handler on that
    app; elsewhere (unit tests, scripts) there is no app and nothing to do.
    """
    try:
        from flask import current_app, has_app_context
        from flask import request as current_request
        from werkzeug.exceptions import HTTPException
    except ImportError:  # pragma: no cover - flask comes with functions-framework
        return
    if not has_app_context():
        return

    def answer(exc: HTTPException) -> Any:
        status = exc.code or 500
        if status >= 500:
            return exc  # functions-framework's own handler
        request_id = request_id_of(current_request.headers) or uuid.uuid4().hex
        log.info("refused by the framework", extra={"json_fields": {"function": router.function, "status": status, "request_id": request_id}})
        return _dump(framework_error_body(status, exc.description)), status, {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": request_id}

    current_app.register_error_handler(HTTPException, answer)


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "__struct_fields__"):
        return {k: getattr(value, k) for k in value.__struct_fields__}
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _dump(payload: Any) -> str:
    if isinstance(payload, BaseModel):
        return payload.model_dump_json()
    return json.dumps(payload, default=_default, ensure_ascii=False)
