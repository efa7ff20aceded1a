"""Every operation of openapi.json fuzzed by schemathesis against the real functions on the emulator.

Wiring. Paths in the document are ``/<function>/<route>``: one WSGI app mounts
each function's functions-framework app (loaded by path, as ``load_function``
does) at ``/<function>`` with werkzeug's ``DispatcherMiddleware``, so a case
reaches the function's router with the route as its path, as at the
function's own URL. The environment is ``function_env``'s, once for the
module: a clean emulator, the Biomiq program in force, ``TEST_ENV``; the
providers are the in-memory fakes of ``tests/fakes`` (YooKassa, SMS.ru, the
carriers, Telegram's OpenID Connect provider, a shop's product feed), so no 503 is ever legitimate here; Cloud Scheduler's OIDC tokens go
to a local verifier that refuses every token (no network).

Credentials. A case is sent as generated (no credentials, or the fuzzer's own
``Authorization``/secret headers), then again with valid credentials of its
operation's kind — a customer token, an admin token holding every role, the
sweep secret, the Telegram bot's secret token, the webhook's URL secret,
a YooKassa sender address, a correct YooMoney ``sha1_hash`` — so the fuzzer
gets past authentication to the use cases. (A coverage case of an operation
that needs credentials and varies only the body is sent with credentials
only: without them it is a 401 before the body is read.)

Checks, on every answer: no server error (5xx), a documented status, the
documented content type, headers and body, and schema-violating input refused
with a 4xx (``negative_data_rejection``).

Hypothesis is derandomized, without a database: the same cases on every run.
Schemathesis runs its examples, coverage (boundaries, wrong types, missing
fields, odd methods and content types) and fuzzing phases per operation.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyotp
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.adapters import yoomoney
from shared.edge import admin_auth, scheduler_auth
from shared.edge.scheduler_auth import SECRET_HEADER
from shared.platform.settings import reload
from shared.services import admin_mfa, admins, identity
from tests.conftest import FUNCTIONS_DIR, TEST_ENV, customer_token
from tests.fakes.carriers import FakeCarriers
from tests.fakes.catalog_feed import FakeFeed
from tests.fakes.sms import FakeSmsRu
from tests.fakes.telegram_oidc import FakeTelegramOidc
from tests.fakes.yookassa import FakeYooKassa
from tests.functions.shop import customer, now, paid_order

pytestmark = [pytest.mark.emulator, pytest.mark.reliability]

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.json"
MAX_EXAMPLES = int(os.environ.get("KOPILKA_FUZZ_EXAMPLES", "25"))  # fuzzing-phase cases per operation (coverage adds its own)

ADMIN_EMAIL = "fuzz@shop.example"
ADMIN_PASSWORD = "fuzzing is not a password"
CUSTOMER = "fuzz-customer"
YOOKASSA_PEER = "185.71.76.5"  # inside YooKassa's 185.71.76.0/27
EXTRA_ENV = {
    "KOPILKA_ADMIN_TOKEN_SECRET": "fuzz-admin-secret-distinct-from-the-customers",
    "KOPILKA_SWEEP_AUDIENCE": "https://functions.example/expiry_sweep/run",
    "KOPILKA_SCHEDULER_EMAILS": "scheduler@kopilka-local.iam.gserviceaccount.com",
    "SMSRU_API_ID": "test-api-id",
    "KOPILKA_OTP_SECRET": "test-otp-secret",
    "TELEGRAM_BOT_TOKEN": "123456:test-bot-token",
    "TELEGRAM_OIDC_SECRET": "test-oidc-secret",
}

schema = schemathesis.openapi.from_path(OPENAPI)
schema.config.phases.coverage.unexpected_methods = {"put", "delete", "options"}  # patch, trace … take put's way
FUNCTIONS = sorted({path.strip("/").split("/")[0] for path in schema.raw_schema["paths"]})


# --- what is checked -------------------------------------------------------------------------


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


# --- the functions, their fakes, credentials -------------------------------------------------------


def mounted_functions():
    """One WSGI app serving ``/<function>/<route>`` from each function's functions-framework app."""
    import functions_framework
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.wrappers import Response

    apps = {f"/{name}": functions_framework.create_app(target=name, source=os.path.join(FUNCTIONS_DIR, name, "main.py")) for name in FUNCTIONS}
    return DispatcherMiddleware(Response("no such function", status=404), apps)


def refuse_every_oidc_token(token: str, audiences: list[str]):
    raise ValueError("not a Google-signed token")


class Credentials:
    """A registered customer (and a paid order of another one), an admin with every role."""

    def __init__(self, store) -> None:
        at = now()
        customer(store, CUSTOMER, at=at)
        paid_order(store, "A1", "fuzz-buyer", at=at)
        self.customer = customer_token(CUSTOMER)
        admins.create_admin(store, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, roles=admin_auth.ROLES, now=at)
        setup = admin_mfa.setup_totp(store, email=ADMIN_EMAIL, now=at)  # every role: the second factor is on
        self.admin = admin_mfa.confirm_totp(store, email=ADMIN_EMAIL, code=pyotp.TOTP(setup.secret).at(at), now=at).token

    def apply(self, case) -> None:
        """Give ``case`` the valid credentials its operation takes."""
        schemes = {name for requirement in case.operation.definition.raw.get("security", []) for name in requirement}
        if "customerToken" in schemes:
            case.headers["Authorization"] = f"Bearer {self.customer}"
        if "adminToken" in schemes:
            case.headers["Authorization"] = f"Bearer {self.admin}"
        if "telegramBotSecret" in schemes:
            case.headers["X-Telegram-Bot-Api-Secret-Token"] = identity.IdentityKeys(token_secret="-", otp_secret=b"-", telegram_bot_token=EXTRA_ENV["TELEGRAM_BOT_TOKEN"]).telegram_webhook_secret()
        if "sweepSecret" in schemes:
            case.headers[SECRET_HEADER] = TEST_ENV["KOPILKA_SWEEP_SECRET"]
        if "token" in case.path_parameters:  # the webhooks' secret path segment
            case.path_parameters["token"] = TEST_ENV["KOPILKA_TILDA_TOKEN" if case.path.startswith("/checkout/") else "KOPILKA_CDEK_TOKEN"]
        if case.path == "/order_paid/yookassa":
            case.headers["X-Forwarded-For"] = YOOKASSA_PEER
        signed = (*yoomoney.HASHED, "label")
        if case.path == "/order_paid/yoomoney" and isinstance(case.body, dict) and all(isinstance(case.body.get(name), str) for name in signed):
            fields = yoomoney.Notification(**{name: case.body[name] for name in signed}, withdraw_amount="", sha1_hash="")
            case.body["sha1_hash"] = yoomoney.expected_hash(fields, TEST_ENV["YOOMONEY_NOTIFICATION_SECRET"])


def worth_sending_without_credentials(case) -> bool:
    security = case.operation.definition.raw.get("security")
    if not security or {} in security:
        return True  # the body is read without credentials
    meta = case.meta
    if meta is None or meta.phase.name != TestPhase.COVERAGE:
        return True
    return any(component.mode.is_negative for location, component in meta.components.items() if location != ParameterLocation.BODY)


@pytest.fixture(scope="module")
def fuzz_env(firestore_client):
    """``function_env`` for the whole module, every function mounted, the fakes wired, credentials."""
    from shared.adapters.firestore_store import FirestoreStore
    from shared.platform import bootstrap
    from shared.presets import preset_data
    from shared.services import program

    store = FirestoreStore(firestore_client)
    store.reset()
    api = FakeCarriers()
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            **TEST_ENV,
            **EXTRA_ENV,
            **api.environment(),
        }.items():
            env.setenv(name, value)
        reload()
        bootstrap.set_store(store)
        published = datetime(2020, 1, 1, tzinfo=timezone.utc)
        program.publish(store, raw=preset_data("biomiq"), author="test", reason="fixture", effective_from=published, now=published - timedelta(seconds=1))
        bootstrap.set_transport("carriers", api.transport)
        bootstrap.set_transport("yookassa", FakeYooKassa(shop_id=TEST_ENV["YOOKASSA_SHOP_ID"], secret_key=TEST_ENV["YOOKASSA_SECRET_KEY"]).transport)
        bootstrap.set_transport("sms", FakeSmsRu(api_id=EXTRA_ENV["SMSRU_API_ID"]).transport)
        bootstrap.set_transport("telegram", FakeTelegramOidc(client_id="123456", client_secret=EXTRA_ENV["TELEGRAM_OIDC_SECRET"]).transport)
        bootstrap.set_transport("catalog_feed", FakeFeed().transport())  # a shop with no feed: every address is a 404
        scheduler_auth.set_verifier(refuse_every_oidc_token)
        try:
            yield mounted_functions(), Credentials(store)
        finally:
            scheduler_auth.set_verifier(None)
            bootstrap.set_transport("carriers", None)
            bootstrap.set_transport("yookassa", None)
            bootstrap.set_transport("sms", None)
            bootstrap.set_transport("telegram", None)
            bootstrap.set_transport("catalog_feed", None)
            bootstrap.set_store(None)
            store.reset()
    reload()


# --- the tests ---------------------------------------------------------------------------------


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
def test_every_operation_answers_as_documented_and_never_a_server_error(case, fuzz_env):
    app, credentials = fuzz_env
    authorized = case.derive()
    if worth_sending_without_credentials(case):
        case.call_and_validate(app=app, checks=CHECKS)
    credentials.apply(authorized)
    authorized.call_and_validate(app=app, checks=CHECKS)


def test_the_document_covers_every_function():
    from scripts import openapi

    folders = sorted(p.name for p in Path(FUNCTIONS_DIR).iterdir() if (p / "main.py").exists())
    assert FUNCTIONS == [name for name in folders if name not in openapi.PAGES]  # the console answers pages, not JSON


def test_after_the_fuzzing_every_ledger_is_sound(fuzz_env):
    """Runs after the fuzzing (file order), on the same store: whatever the fuzzer got through
    (adjustments, checkouts, webhooks) left every balance equal to the fold of its entries."""
    from shared.platform import bootstrap
    from tests.reliability.audit import assert_ledgers_sound

    assert_ledgers_sound(bootstrap.firestore_store(), min_accounts=2)  # the customer and the buyer at least
