"""Generate the OpenAPI 3.1 document of every HTTP endpoint from the pydantic models.

    python -m scripts.openapi            # write openapi.json
    python -m scripts.openapi --check    # exit 1 when openapi.json is out of date

Each function is deployed at its own URL; a path here is
``/<function>/<route>``, i.e. the route appended to that function's URL.
Besides the routes listed in ``shared/api/*.py``, every function folder gets
the ``GET /health`` route its router answers (:func:`shared.api.health_endpoint`).
The console (:data:`PAGES`) answers pages to people, not JSON to programs: it
is not in this document (``docs/console.md`` describes it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import shared.api
from shared.api import Endpoint, health_endpoint

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "openapi.json"
PAGES = ("console",)  # functions that answer HTML pages and forms behind a session cookie
FOLDERS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "main.py").exists())
FUNCTIONS = [name for name in FOLDERS if name not in PAGES]  # the JSON APIs this document describes


class ErrorDetail(BaseModel):
    code: str
    message: str
    message_ru: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    error: ErrorDetail


STATUS_TEXT = {
    400: "Invalid request (validation_failed)",
    401: "Missing, expired or tampered credentials",
    403: "Forbidden (origin, secret, sender or role)",
    404: "Not found",
    409: "Conflict: idempotency, stale quote, state, or retryable contention (see Retry-After)",
    413: "Body too large",
    422: "Refused by the program's rules",
    429: "Too many requests: a rate limit or lockout (details.retry_after: seconds to wait)",
    503: "A provider could not be reached; the caller should redeliver",
    500: "Internal error: a generic body with details.request_id (the cause is only in the logs)",
}

SECURITY = {
    "customer": [{"customerToken": []}],
    "customer_optional": [{}, {"customerToken": []}],
    "scheduler": [{"schedulerOidc": []}, {"sweepSecret": []}],
    "admin": [{"adminToken": []}],
    "telegram_bot": [{"telegramBotSecret": []}],
}


def endpoints() -> list[Endpoint]:
    found: list[Endpoint] = []
    for module in sorted(m.name for m in pkgutil.iter_modules(shared.api.__path__)):
        found.extend(getattr(importlib.import_module(f"shared.api.{module}"), "ENDPOINTS", []))
    found.extend(health_endpoint(function) for function in FUNCTIONS)
    return sorted(found, key=lambda e: (e.function, e.path, e.method))


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build() -> dict[str, Any]:
    components: dict[str, Any] = {}
    error_ref = _schema(ErrorBody, components)
    paths: dict[str, Any] = {}
    for e in endpoints():
        operation: dict[str, Any] = {
            "operationId": f"{e.function}_{e.method.lower()}_{e.path.strip('/').replace('/', '_').replace('{', '').replace('}', '') or 'root'}",
            "summary": e.summary,
            "tags": [e.function],
            "responses": {},
        }
        parameters = [
            {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
            for part in e.path.split("/")
            if part.startswith("{") and part.endswith("}")
        ]
        if e.auth == "url_secret":
            for parameter in parameters:
                if parameter["name"] == "token":
                    parameter["description"] = "The webhook's secret: the last segment of the registered URL (a wrong one is 403)."
        if e.query is not None:
            schema = e.query.model_json_schema()
            required = set(schema.get("required", []))
            for name, prop in schema.get("properties", {}).items():
                description = prop.pop("description", None)
                prop.pop("title", None)
                parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
                if description:
                    parameter["description"] = description
                parameters.append(parameter)
        if parameters:
            operation["parameters"] = parameters
        if e.auth in SECURITY:
            operation["security"] = SECURITY[e.auth]
        if e.request is not None:
            operation["requestBody"] = {"required": not e.body_optional, "content": {e.content_type: {"schema": _schema(e.request, components)}}}
        ok: dict[str, Any] = {"description": "OK"}
        page = {"text/html": {"schema": {"type": "string"}}}
        if e.response is not None:
            ok["content"] = {"application/json": {"schema": _schema(e.response, components)}}
        elif e.html:
            ok["content"] = page
        operation["responses"]["200"] = ok
        for status in sorted(set(e.errors) | {400, 500}):
            # a page's own refusals are pages; what the router refuses before it is JSON
            content = {"application/json": {"schema": error_ref}, **(page if e.html and status in e.errors else {})}
            operation["responses"][str(status)] = {"description": STATUS_TEXT.get(status, "Error"), "content": content}
        paths.setdefault(f"/{e.function}{e.path}", {})[e.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kopilka",
            "version": "1",
            "description": "Loyalty and referral functions. Each function has its own URL; a path is /<function>/<route>.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "customerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "adminToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An admin token from POST /admin/login (a customer token is refused)."},
                "schedulerOidc": {"type": "http", "scheme": "bearer", "description": "Cloud Scheduler OIDC token."},
                "sweepSecret": {"type": "apiKey", "in": "header", "name": "X-Kopilka-Sweep-Secret"},
                "telegramBotSecret": {"type": "apiKey", "in": "header", "name": "X-Telegram-Bot-Api-Secret-Token", "description": "The secret token the bot's webhook was registered with."},
            },
        },
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when openapi.json differs from the code")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print("openapi.json is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(build()['paths'])} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
