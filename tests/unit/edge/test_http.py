"""The HTTP edge: error mapping, CORS, body limits, routing and the caller's address."""

from __future__ import annotations

import json
import os

import pytest
from pydantic import BaseModel, Field
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.domain.errors import InsufficientBonuses, ProviderUnavailable, Retryable
from shared.edge import http
from shared.platform.settings import reload


class Body(BaseModel):
    amount: int = Field(gt=0)


@pytest.fixture
def router():
    os.environ["KOPILKA_ALLOWED_ORIGINS"] = "https://shop.example"
    reload()
    r = http.Router("test", cors=True)

    @r.post("/items/{item}")
    def create(request, ctx):
        body = ctx.body(Body)
        if body.amount == 13:
            raise InsufficientBonuses("no", available=0)
        if body.amount == 99:
            raise Retryable("busy", retry_after_seconds=2)
        if body.amount == 503:
            raise ProviderUnavailable("the provider did not answer")
        return {"item": ctx.params["item"], "amount": body.amount}

    yield r
    reload()


def call(router, method="POST", path="/items/a", body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    request = Request(EnvironBuilder(method=method, path=path, data=data, headers=headers or {}, content_type="application/json").get_environ())
    payload, status, out_headers = router.dispatch(request)
    return status, (json.loads(payload) if payload else None), out_headers


def test_success_with_path_parameters(router):
    status, body, _ = call(router, body={"amount": 5})
    assert (status, body) == (200, {"item": "a", "amount": 5})


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"raw": b"{not json"}, 400, "validation_failed"),
        ({"body": {"amount": -1}}, 400, "validation_failed"),
        ({"body": {"amount": 13}}, 422, "insufficient_bonuses"),
        ({"body": {"amount": 1}, "path": "/nowhere"}, 404, "not_found"),
        ({"raw": b"x" * (http.MAX_BODY_BYTES + 1)}, 413, "payload_too_large"),
    ],
)
def test_errors_have_one_shape(router, kwargs, status, code):
    got, body, _ = call(router, **kwargs)
    assert got == status
    assert set(body["error"]) == {"code", "message", "message_ru", "details"}
    assert body["error"]["code"] == code


def test_retryable_contention_is_409_with_retry_after(router):
    status, body, headers = call(router, body={"amount": 99})
    assert status == 409 and body["error"]["code"] == "retryable" and headers["Retry-After"] == "2"


def test_a_provider_unavailable_is_503_with_retry_after(router):
    status, body, headers = call(router, body={"amount": 503})
    assert status == 503 and body["error"]["code"] == "provider_unavailable"
    assert body["error"]["message_ru"] == ProviderUnavailable.message_ru
    assert headers["Retry-After"] == str(ProviderUnavailable("x").retry_after_seconds)


def test_cors_preflight_for_the_shop_only(router):
    status, _, headers = call(router, method="OPTIONS", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "https://shop.example"
    status, body, headers = call(router, method="OPTIONS", headers={"Origin": "https://evil.example"})
    assert status == 403 and "Access-Control-Allow-Origin" not in headers
    status, body, _ = call(router, body={"amount": 5}, headers={"Origin": "https://evil.example"})
    assert status == 403 and body["error"]["code"] == "forbidden"


def test_client_ip_takes_the_proxy_appended_entry():
    request = Request(EnvironBuilder(headers={"X-Forwarded-For": "185.71.76.1, 203.0.113.9"}, environ_base={"REMOTE_ADDR": "10.0.0.1"}).get_environ())
    assert http.client_ip(request, trusted_hops=1) == "203.0.113.9"
    assert http.client_ip(request, trusted_hops=2) == "185.71.76.1"
    assert http.client_ip(request, trusted_hops=3) is None
    assert http.client_ip(request, trusted_hops=0) == "10.0.0.1"


# --- found by the fuzzer (tests/reliability/test_fuzz.py) ---------------------------------------


@pytest.mark.parametrize("raw", [b'{"amount": "5"}', b'{"amount": true}', b'{"amount": 5.0}', b"null", b"[5]", b'{"amount": 1e400}', b'{"amount": NaN}'])
def test_json_bodies_are_of_the_documented_types_not_coerced(router, raw):
    status, body, _ = call(router, raw=raw)
    assert (status, body["error"]["code"]) == (400, "validation_failed")
    assert body["error"]["message_ru"] and body["error"]["details"]["errors"]


def test_a_huge_integer_is_a_400(router):
    status, body, _ = call(router, raw=b'{"amount": ' + b"9" * 5000 + b"}")
    assert (status, body["error"]["code"]) == (400, "validation_failed")
    status, body, _ = call(router, body={"amount": 10**40})
    assert (status, body) == (200, {"item": "a", "amount": 10**40})  # within the model's bounds; its own limits apply


class Page(BaseModel):
    limit: int = Field(default=20, ge=1)


def test_an_optional_body_may_be_empty_but_not_null():
    r = http.Router("test")
    r.post("/page")(lambda request, ctx: ctx.optional_body(Page))
    assert call(r, path="/page", raw=b"")[:2] == (200, {"limit": 20})
    assert call(r, path="/page", raw=b"  \n")[:2] == (200, {"limit": 20})
    assert call(r, path="/page", body={"limit": 5})[:2] == (200, {"limit": 5})
    for raw in (b"null", b"[]", b'{"limit": "5"}', b"{"):
        status, body, _ = call(r, path="/page", raw=raw)
        assert (status, body["error"]["code"]) == (400, "validation_failed"), raw


def test_a_router_built_by_functions_framework_answers_the_framework_s_404_in_the_error_shape():
    import flask

    app = flask.Flask("test")
    with app.app_context():  # functions-framework executes main.py so
        http.Router("test")
    app.add_url_rule("/<path:path>", "run", lambda path: "reached")  # functions-framework's one URL rule
    client = app.test_client()
    assert client.get("/a").get_data(as_text=True) == "reached"
    response = client.get("/a%0Ab", headers={"X-Request-Id": "r-1"})  # the rule does not match a newline
    assert (response.status_code, response.headers["Content-Type"]) == (404, "application/json; charset=utf-8")
    assert response.get_json()["error"]["code"] == "not_found" and response.get_json()["error"]["message_ru"]
    assert response.headers["X-Request-Id"] == "r-1"
    http.Router("outside")  # no app: nothing to register, no error
