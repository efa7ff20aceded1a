"""The caller's address behind Google's front end, per trusted hop count, and the check an operator reads.

``X-Forwarded-For`` as the function sees it (docs/operations.md, "The caller's
address"): the client may send any value; each Google proxy in front of the
function appends the address it received the connection from. The caller is
the entry ``KOPILKA_TRUSTED_PROXY_HOPS`` places from the right, and each
instance logs, once, how it derived the address of its first caller, so that
the operator can compare it with the address they called from.
"""

from __future__ import annotations

import logging
import os

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.edge import http
from shared.platform.settings import reload

CALLER = "203.0.113.9"
FORGED = "198.51.100.7"  # what the client itself put into X-Forwarded-For
BALANCER = "34.120.0.1"  # an external Application Load Balancer's forwarding rule
PEER = "169.254.1.1"  # the TCP peer: Google's front end, never the caller

HOPS = [
    # no proxy in front (local runs, the test client): the TCP peer
    pytest.param(0, None, PEER, id="0-no-proxy"),
    # the function's own URL: Google's front end appends the caller's address
    pytest.param(1, f"{FORGED}, {CALLER}", CALLER, id="1-function-url"),
    # behind an external Application Load Balancer: <supplied>,<client-ip>,<load-balancer-ip>
    pytest.param(2, f"{FORGED}, {CALLER}, {BALANCER}", CALLER, id="2-load-balancer"),
    # behind the load balancer, with Cloud Run appending the caller once more (seen in the field)
    pytest.param(3, f"{FORGED}, {CALLER}, {BALANCER}, {CALLER}", CALLER, id="3-load-balancer-and-run"),
]


@pytest.fixture
def router(monkeypatch):
    monkeypatch.setattr(http, "_caller_reported", False, raising=False)
    r = http.Router("probe")

    @r.post("/who")
    def who(request, ctx):
        return {"ip": http.client_ip(request)}

    yield r
    reload()


def request(forwarded: str | None) -> Request:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return Request(EnvironBuilder(method="POST", path="/who", headers=headers, environ_base={"REMOTE_ADDR": PEER}).get_environ())


@pytest.mark.parametrize(("hops", "forwarded", "expected"), HOPS)
def test_the_caller_is_the_entry_the_trusted_hops_name_and_the_first_caller_is_logged_for_the_operator(router, caplog, hops, forwarded, expected):
    os.environ["KOPILKA_TRUSTED_PROXY_HOPS"] = str(hops)
    reload()
    assert http.client_ip(request(forwarded)) == expected
    with caplog.at_level(logging.INFO, logger="kopilka"):
        payload, status, _ = router.dispatch(request(forwarded))
        router.dispatch(request(f"10.9.9.9, {forwarded}" if forwarded else None))
    assert status == 200 and expected in payload
    checks = [r for r in caplog.records if r.getMessage() == "caller address derived"]
    assert len(checks) == 1  # once per instance: its first request
    fields = checks[0].json_fields  # type: ignore[attr-defined]
    assert fields["trusted_proxy_hops"] == hops
    assert fields["caller"] == expected
    assert fields["x_forwarded_for"] == ([e.strip() for e in forwarded.split(",")] if forwarded else [])
    assert fields["peer"] == PEER


def test_a_header_shorter_than_the_trusted_hops_names_no_caller_and_says_so(router, caplog):
    os.environ["KOPILKA_TRUSTED_PROXY_HOPS"] = "2"
    reload()
    with caplog.at_level(logging.INFO, logger="kopilka"):
        router.dispatch(request(CALLER))
    assert http.client_ip(request(CALLER)) is None  # never the forgeable left-most entry
    (check,) = [r for r in caplog.records if r.getMessage() == "caller address derived"]
    assert check.levelno == logging.WARNING and check.json_fields["caller"] is None  # type: ignore[attr-defined]
