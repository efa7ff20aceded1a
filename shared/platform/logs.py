"""Structured logs as Cloud Logging reads them: one JSON object per line on stdout.

Cloud Functions (gen2, i.e. Cloud Run) turns each JSON line a process writes
to stdout into a structured log entry: ``severity`` becomes the entry's
severity, ``message`` its text, ``time`` its timestamp,
``logging.googleapis.com/trace`` (``projects/<project>/traces/<trace id>``)
ties it to the request's trace, and every other key stays in ``jsonPayload``.

:func:`configure` installs the handler once per instance; the router calls it
on its first dispatch (never at import). :func:`request_scope` binds the
request id, the function name and the trace to a context variable for the
duration of a request, so every line written while handling it — by the
router, a use case or an adapter — carries them. Fields of a single line are
passed as ``log.info("...", extra={"json_fields": {...}})``. A logged
exception's traceback goes to ``stack_trace`` (which Error Reporting reads).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shared.domain.ids import is_digits

TRACE_KEY = "logging.googleapis.com/trace"
SPAN_KEY = "logging.googleapis.com/spanId"
SAMPLED_KEY = "logging.googleapis.com/trace_sampled"
SOURCE_KEY = "logging.googleapis.com/sourceLocation"

# Python level -> Cloud Logging LogSeverity
SEVERITY = {logging.DEBUG: "DEBUG", logging.INFO: "INFO", logging.WARNING: "WARNING", logging.ERROR: "ERROR", logging.CRITICAL: "CRITICAL"}
APP_LOGGERS = ("kopilka", "shared")
RESERVED = {"severity", "message", "time", TRACE_KEY, SPAN_KEY, SAMPLED_KEY, SOURCE_KEY, "stack_trace"}


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    function: str
    trace: str | None = None  # projects/<project>/traces/<trace id>
    span_id: str | None = None  # 16 hex digits
    sampled: bool | None = None


_current: ContextVar[RequestContext | None] = ContextVar("kopilka_request", default=None)
_lock = threading.Lock()
_configured = False


def severity(levelno: int) -> str:
    """Cloud Logging's name of a Python level (custom levels round down to the nearest)."""
    for level in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if levelno >= level:
            return SEVERITY[level]
    return "DEBUG"


def project() -> str | None:
    return os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCLOUD_PROJECT") or None


def trace_of(headers: Any, project_id: str | None = None) -> tuple[str | None, str | None, bool | None]:
    """``(trace, span_id, sampled)`` from ``X-Cloud-Trace-Context`` (else W3C ``traceparent``).

    ``X-Cloud-Trace-Context: TRACE_ID[/SPAN_ID][;o=OPTIONS]`` with a decimal
    span id; ``traceparent: 00-TRACE_ID-SPAN_ID-FLAGS`` with a hex one. The
    trace is only given with a project (``GOOGLE_CLOUD_PROJECT``).
    """
    project_id = project_id if project_id is not None else project()
    if not project_id:
        return None, None, None
    trace_id = span_id = None
    sampled: bool | None = None
    header = (headers.get("X-Cloud-Trace-Context") or "").strip()
    if header:
        value, _, options = header.partition(";")
        trace_id, _, span = value.partition("/")
        if is_digits(span) and len(span) <= 20:
            span_id = format(int(span) & 0xFFFFFFFFFFFFFFFF, "016x")
        if options.startswith("o="):
            sampled = options[2:] == "1"
    else:
        parts = (headers.get("traceparent") or "").strip().split("-")
        if len(parts) == 4 and len(parts[1]) == 32:
            trace_id, span_id = parts[1], parts[2] if len(parts[2]) == 16 else None
            sampled = parts[3][-1:] in ("1", "3", "5", "7", "9", "b", "d", "f")
    trace_id = (trace_id or "").strip().lower()
    if not trace_id or len(trace_id) > 64 or any(c not in "0123456789abcdef" for c in trace_id):
        return None, None, None
    return f"projects/{project_id}/traces/{trace_id}", span_id, sampled


def current() -> RequestContext | None:
    return _current.get()


@contextmanager
def request_scope(*, request_id: str, function: str, headers: Any = None) -> Iterator[RequestContext]:
    """Bind a request's id, function and trace to every log line written inside."""
    trace, span_id, sampled = trace_of(headers) if headers is not None else (None, None, None)
    context = RequestContext(request_id=request_id, function=function, trace=trace, span_id=span_id, sampled=sampled)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


class JsonFormatter(logging.Formatter):
    """A record as one line of Cloud Logging's structured JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": severity(record.levelno),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "logger": record.name,
        }
        context = _current.get()
        if context is not None:
            entry["request_id"] = context.request_id
            entry["function"] = context.function
            if context.trace:
                entry[TRACE_KEY] = context.trace
                if context.span_id:
                    entry[SPAN_KEY] = context.span_id
                if context.sampled is not None:
                    entry[SAMPLED_KEY] = context.sampled
        fields = getattr(record, "json_fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                if str(key) not in RESERVED:
                    entry[str(key)] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["stack_trace"] = self.formatException(record.exc_info)
            entry["message"] = f"{entry['message']}: {record.exc_info[0].__name__}: {record.exc_info[1]}"
        elif record.stack_info:
            entry["stack_trace"] = self.formatStack(record.stack_info)
        entry[SOURCE_KEY] = {"file": record.pathname, "line": str(record.lineno), "function": record.funcName}
        try:
            return json.dumps(entry, default=_default, ensure_ascii=False)
        except (TypeError, ValueError):  # a field that cannot be serialised must not lose the line
            entry = {k: (v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)) for k, v in entry.items()}
            return json.dumps(entry, ensure_ascii=False)


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time (so captured output in tests sees it too)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler assigns it; the property always follows sys.stdout
        pass


def configure(level: str | int | None = None) -> bool:
    """Install the JSON handler on the root logger, once per instance (``True`` the first time).

    The application's loggers (``kopilka``, ``shared.*``) log from
    ``KOPILKA_LOG_LEVEL`` (default INFO); other libraries keep the root's
    level (WARNING), so their chatter stays out.
    """
    global _configured
    if _configured:
        return False
    with _lock:
        if _configured:
            return False
        root = logging.getLogger()
        if not any(isinstance(h, StdoutHandler) for h in root.handlers):
            handler = StdoutHandler()
            handler.setFormatter(JsonFormatter())
            root.addHandler(handler)
        wanted = level if level is not None else (os.environ.get("KOPILKA_LOG_LEVEL") or "INFO").upper()
        try:
            numeric = logging._checkLevel(wanted)  # type: ignore[attr-defined]
        except (ValueError, TypeError):
            numeric = logging.INFO
        for name in APP_LOGGERS:
            logging.getLogger(name).setLevel(numeric)
        _configured = True
        return True
