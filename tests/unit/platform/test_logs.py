"""Structured logs: one JSON line per record, with the request's id, function and trace; 500s that leak nothing."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.edge import http
from shared.platform import logs
from shared.platform.settings import reload

log = logging.getLogger("kopilka")


def lines(capsys) -> list[dict]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]  # every line is a JSON object


def request(method="POST", path="/boom", headers=None, body=b"{}"):
    return Request(EnvironBuilder(method=method, path=path, data=body, headers=headers or {}, content_type="application/json").get_environ())


@pytest.fixture
def router(monkeypatch):
    os.environ.pop("KOPILKA_TOKEN_SECRET", None)
    reload()
    # the first dispatch configures logging, as a fresh instance's does: a test before this one may have
    # configured it inside caplog.at_level, which put the application loggers' levels back on leaving
    monkeypatch.setattr(logs, "_configured", False)
    r = http.Router("test_fn")

    @r.post("/boom")
    def boom(request, ctx):
        log.info("about to fail", extra={"json_fields": {"order_id": "A1"}})
        raise KeyError("internal detail: customers/anna secret=hunter2")

    @r.post("/ok")
    def ok(request, ctx):
        logging.getLogger("shared.services.example").warning("a use case speaks", extra={"json_fields": {"n": 3}})
        return {"ok": True}

    needs = http.Router("needs_secret", requires=("token_secret",))

    @needs.get("/profile")
    def profile(request, ctx):
        return {"never": "reached"}

    r.needs = needs
    yield r
    reload()


def test_a_line_is_json_with_severity_time_request_id_and_function(router, capsys):
    os.environ.pop("GOOGLE_CLOUD_PROJECT", None)
    os.environ.pop("GCLOUD_PROJECT", None)
    capsys.readouterr()
    payload, status, headers = router.dispatch(request(path="/ok", headers={"X-Request-Id": "req-42"}))
    assert status == 200 and headers["X-Request-Id"] == "req-42"
    [line] = [entry for entry in lines(capsys) if entry["message"] == "a use case speaks"]
    assert line["severity"] == "WARNING"
    assert line["request_id"] == "req-42" and line["function"] == "test_fn"
    assert line["n"] == 3
    assert line["time"].endswith("Z") and datetime.fromisoformat(line["time"].replace("Z", "+00:00")).tzinfo is not None
    assert logs.TRACE_KEY not in line  # no project: no trace field


def test_outside_a_request_there_is_no_request_id():
    logs.configure()
    record = logging.LogRecord("kopilka", logging.ERROR, __file__, 1, "plain %s", ("text",), None)
    entry = json.loads(logs.JsonFormatter().format(record))
    assert (entry["severity"], entry["message"]) == ("ERROR", "plain text")
    assert "request_id" not in entry and "function" not in entry


@pytest.mark.parametrize(("level", "name"), [(logging.DEBUG, "DEBUG"), (logging.INFO, "INFO"), (logging.WARNING, "WARNING"), (logging.ERROR, "ERROR"), (logging.CRITICAL, "CRITICAL"), (25, "INFO")])
def test_severity_names_are_cloud_loggings(level, name):
    assert logs.severity(level) == name


def test_trace_field_from_the_cloud_trace_header(router, capsys):
    os.environ["GOOGLE_CLOUD_PROJECT"] = "kopilka-prod"
    capsys.readouterr()
    router.dispatch(request(path="/ok", headers={"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"}))
    [line] = [entry for entry in lines(capsys) if entry["message"] == "a use case speaks"]
    assert line[logs.TRACE_KEY] == "projects/kopilka-prod/traces/105445aa7843bc8bf206b12000100000"
    assert line[logs.SPAN_KEY] == "0000000000000001" and line[logs.SAMPLED_KEY] is True


def test_trace_parsing():
    assert logs.trace_of({"X-Cloud-Trace-Context": "abc123/99"}, "p") == ("projects/p/traces/abc123", format(99, "016x"), None)
    assert logs.trace_of({"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}, "p") == ("projects/p/traces/" + "a" * 32, "b" * 16, True)
    assert logs.trace_of({"X-Cloud-Trace-Context": "abc123/99"}, "") == (None, None, None)  # no project
    assert logs.trace_of({"X-Cloud-Trace-Context": "not a trace\"}"}, "p") == (None, None, None)
    assert logs.trace_of({}, "p") == (None, None, None)


def test_an_unexpected_exception_is_a_generic_500_and_an_error_line_with_the_stack(router, capsys):
    capsys.readouterr()
    payload, status, headers = router.dispatch(request(headers={"X-Request-Id": "req-boom"}))
    body = json.loads(payload)
    assert status == 500
    assert body == {"error": {"code": "internal", "message": body["error"]["message"], "message_ru": body["error"]["message_ru"], "details": {"request_id": "req-boom"}}}
    assert "hunter2" not in payload and "KeyError" not in payload and "customers/anna" not in payload
    assert headers["X-Request-Id"] == "req-boom"
    written = lines(capsys)
    before = [entry for entry in written if entry["message"] == "about to fail"]
    assert before and before[0]["request_id"] == "req-boom" and before[0]["order_id"] == "A1"
    [error] = [entry for entry in written if entry["severity"] == "ERROR"]
    assert error["request_id"] == "req-boom" and error["function"] == "test_fn"
    assert "Traceback" in error["stack_trace"] and "KeyError" in error["stack_trace"]
    assert error["route"] == "POST /boom" and "path" not in error


def test_the_request_context_ends_with_the_request(router, capsys):
    router.dispatch(request(path="/ok"))
    assert logs.current() is None


def test_a_missing_secret_is_a_500_naming_the_variable_only_in_the_log(router, capsys):
    capsys.readouterr()
    payload, status, _ = router.needs.dispatch(request(method="GET", path="/profile", headers={"X-Request-Id": "req-cfg"}, body=b""))
    assert status == 500 and json.loads(payload)["error"]["code"] == "internal"
    assert "KOPILKA_TOKEN_SECRET" not in payload
    [error] = [entry for entry in lines(capsys) if entry["severity"] == "ERROR"]
    assert "KOPILKA_TOKEN_SECRET" in error["message"] and error["missing_settings"] == ["KOPILKA_TOKEN_SECRET"]
    assert error["request_id"] == "req-cfg"


def test_health_is_answered_by_the_router_without_cors_or_settings(router, capsys):
    os.environ["KOPILKA_VERSION"] = "1.2.3"
    os.environ["KOPILKA_ENV"] = "staging"
    reload()
    payload, status, _ = router.needs.dispatch(request(method="GET", path="/health", headers={"Origin": "https://evil.example"}, body=b""))
    assert status == 200
    assert json.loads(payload) == {"function": "needs_secret", "version": "1.2.3", "environment": "staging", "status": "ok"}


def test_configure_is_once_per_instance():
    logs.configure()
    assert logs.configure() is False
    assert sum(isinstance(h, logs.StdoutHandler) for h in logging.getLogger().handlers) == 1


def test_an_unhandled_error_logs_the_route_pattern_never_the_path(capsys):
    """A webhook's secret is a path segment: the log names the route it matched, not the path."""
    r = http.Router("webhook_fn")

    @r.post("/tilda/{token}")
    def tilda(request, ctx):
        raise KeyError("a bug")

    needs = http.Router("needs_secret", requires=("token_secret",))

    @needs.post("/cdek/{token}")
    def cdek(request, ctx):
        return {"never": "reached"}

    os.environ.pop("KOPILKA_TOKEN_SECRET", None)
    reload()
    capsys.readouterr()
    _, status, _ = r.dispatch(request(path="/tilda/webhook-secret-segment"))
    _, missing, _ = needs.dispatch(request(path="/cdek/another-secret-segment"))
    assert status == missing == 500
    written = capsys.readouterr().out
    assert "webhook-secret-segment" not in written and "another-secret-segment" not in written
    errors = [json.loads(line) for line in written.splitlines() if '"ERROR"' in line]
    assert [entry["route"] for entry in errors] == ["POST /tilda/{token}", "POST /cdek/{token}"]
    assert all("path" not in entry for entry in errors)


@pytest.mark.parametrize("sent", ["<script>alert(1)</script>", "x" * 129, "ид-запроса", "a b", "../../etc", "\u202eevil", ""])
def test_a_client_request_id_is_used_only_when_well_formed(router, capsys, sent):
    capsys.readouterr()
    _, status, headers = router.dispatch(request(path="/ok", headers={"X-Request-Id": sent}))
    assert status == 200
    assert headers["X-Request-Id"] != sent and re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-Id"])  # a fresh one
    assert all(entry["request_id"] == headers["X-Request-Id"] for entry in lines(capsys) if "request_id" in entry)


@pytest.mark.parametrize("sent", ["req-42", "0f8c2b1e-4d6a-4c1b-9a57-3e1f0b2c4d5e", "abc.DEF_123:4", "x" * 128])
def test_a_well_formed_client_request_id_is_echoed(router, sent):
    _, _, headers = router.dispatch(request(path="/ok", headers={"X-Request-Id": sent}))
    assert headers["X-Request-Id"] == sent


@pytest.mark.parametrize("span", ["²", "①", "٣", "1²"])
def test_a_trace_header_with_other_scripts_digits_is_read_without_its_span(router, span):
    assert logs.trace_of({"X-Cloud-Trace-Context": f"abc123/{span};o=1"}, "p") == ("projects/p/traces/abc123", None, True)
    os.environ["GOOGLE_CLOUD_PROJECT"] = "kopilka-prod"
    _, status, _ = router.dispatch(request(path="/ok", headers={"X-Cloud-Trace-Context": f"abc123/{span};o=1"}))
    assert status == 200
