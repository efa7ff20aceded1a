""""Log in with Telegram" (OpenID Connect, code + PKCE) against a fake provider on the in-memory
store: only a valid RS256 id_token of Telegram for our client, fresh, with the login's nonce used once."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from shared.adapters.memory_store import MemoryStore
from shared.adapters.sms import SmsRuClient
from shared.adapters.telegram_oidc import TelegramOidcClient
from shared.domain.errors import ProviderUnavailable
from shared.presets import load_preset
from shared.services import identity
from tests.fakes.sms import FakeSmsRu
from tests.fakes.telegram_oidc import FakeTelegramOidc, challenge_of, new_key

PHONE = "+79001234567"
BOT = "123456:bot"
KEYS = identity.IdentityKeys(token_secret="unit-token-secret-of-at-least-32-bytes", otp_secret=b"unit-otp-secret", telegram_bot_token=BOT)
CONFIG = load_preset("biomiq")
REDIRECT = "https://shop.example/login/telegram"


@pytest.fixture
def provider() -> FakeTelegramOidc:
    return FakeTelegramOidc(client_id="123456", client_secret="oidc-secret")


@pytest.fixture
def client(provider) -> TelegramOidcClient:
    return TelegramOidcClient(issuer=provider.issuer, client_id="123456", client_secret="oidc-secret", transport=provider.transport)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def now() -> datetime:
    return datetime.now(timezone.utc)


def login(store, client, provider, *, user_id: int = 4242, verifier: str | None = None, nonce: str | None = None, presented_verifier: str | None = None, presented_nonce: str | None = None):
    verifier = verifier or secrets.token_urlsafe(48)
    nonce = nonce or secrets.token_urlsafe(16)
    code = provider.authorize(user_id, verifier=verifier, redirect_uri=REDIRECT, nonce=nonce)
    return identity.oidc_user(store, provider=client, code=code, code_verifier=presented_verifier or verifier, redirect_uri=REDIRECT, nonce=presented_nonce or nonce, now=now())


@contextmanager
def refused(reason: str) -> Iterator[None]:
    with pytest.raises(identity.TelegramLoginInvalid) as info:
        yield
    assert info.value.details.get("reason") == reason, info.value.details


def test_a_telegram_oidc_login_logs_the_linked_customer_in(store, client, provider):
    user = login(store, client, provider)
    assert user.id == 4242 and user.username == "anna_k"
    with pytest.raises(identity.NotLinked):  # verified, but linked to nobody yet
        identity.login_linked(store, keys=KEYS, telegram_id=user.id, now=now())
    fake = FakeSmsRu(api_id="k")
    gateway = SmsRuClient(api_id="k", transport=fake.transport, sleep=lambda _: None)
    anna = identity.login_phone(store, config=CONFIG, keys=KEYS, e164=PHONE, now=now())
    identity.request_code(store, gateway=gateway, keys=KEYS, phone=PHONE, ip=None, now=now())
    identity.link_telegram(store, keys=KEYS, gateway=gateway, user=login(store, client, provider), customer_id=anna.customer_id, code=fake.last_code(PHONE), now=now())
    outcome = identity.login_linked(store, keys=KEYS, telegram_id=login(store, client, provider).id, now=now())
    assert outcome.customer_id == anna.customer_id and outcome.session is not None


def test_a_pkce_verifier_that_does_not_match_is_refused(store, client, provider):
    with refused("invalid_grant"):
        login(store, client, provider, presented_verifier=secrets.token_urlsafe(48))


def test_a_code_is_taken_once(store, client, provider):
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    code = provider.authorize(4242, verifier=verifier, redirect_uri=REDIRECT, nonce=nonce)
    identity.oidc_user(store, provider=client, code=code, code_verifier=verifier, redirect_uri=REDIRECT, nonce=nonce, now=now())
    with refused("invalid_grant"):
        identity.oidc_user(store, provider=client, code=code, code_verifier=verifier, redirect_uri=REDIRECT, nonce=nonce, now=now())


def test_a_replayed_nonce_is_refused(store, client, provider):
    nonce = secrets.token_urlsafe(16)
    login(store, client, provider, nonce=nonce)
    with refused("replayed"):  # a second code with the same nonce (a replayed login)
        login(store, client, provider, nonce=nonce)


def test_an_id_token_for_another_login_is_refused(store, client, provider):
    with refused("nonce"):
        login(store, client, provider, presented_nonce=secrets.token_urlsafe(16))


def test_a_wrong_client_secret_is_refused(store, provider):
    wrong = TelegramOidcClient(issuer=provider.issuer, client_id="123456", client_secret="guess", transport=provider.transport)
    with refused("invalid_client"):
        login(store, wrong, provider)


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"iss": "https://evil.example"}, "issuer"),
        ({"aud": "999999"}, "audience"),
        ({"exp": int(datetime.now(timezone.utc).timestamp()) - 1}, "expired"),
        ({"iat": int((datetime.now(timezone.utc) - timedelta(hours=2)).timestamp())}, "stale"),
        ({"iat": int((datetime.now(timezone.utc) + timedelta(hours=1)).timestamp())}, "stale"),
        ({"nonce": None}, "nonce"),
        ({"id": None, "sub": "not-a-number"}, "invalid"),
    ],
)
def test_bad_id_tokens_are_refused(client, provider, change, reason):
    claims = {**provider.claims(4242, nonce="n" * 16), **change}
    token = provider.sign({k: v for k, v in claims.items() if v is not None})
    with refused(reason):
        identity.verify_id_token(client, token, nonce="n" * 16, now=now())


def test_an_id_token_signed_by_another_key_or_algorithm_is_refused(client, provider):
    claims = provider.claims(4242, nonce="n" * 16)
    with refused("invalid"):  # the published kid, another key
        identity.verify_id_token(client, provider.sign(claims, key=new_key()), nonce="n" * 16, now=now())
    with refused("unknown_key"):
        identity.verify_id_token(client, provider.sign(claims, key=new_key(), kid="k2"), nonce="n" * 16, now=now())
    with refused("algorithm"):  # HS256 with the public key as the secret, the classic confusion
        identity.verify_id_token(client, jwt.encode(claims, "secret-of-thirty-two-bytes-or-more!", algorithm="HS256", headers={"kid": "k1"}), nonce="n" * 16, now=now())
    with refused("malformed"):
        identity.verify_id_token(client, "not.a.jwt", nonce="n" * 16, now=now())
    assert identity.verify_id_token(client, provider.sign(claims), nonce="n" * 16, now=now()).id == 4242


def test_the_key_set_is_fetched_again_for_a_rotated_key_at_most_once_a_minute(provider):
    clock = [0.0]
    client = TelegramOidcClient(issuer=provider.issuer, client_id="123456", client_secret="oidc-secret", transport=provider.transport, clock=lambda: clock[0])
    assert client.signing_key("k1") is not None and provider.jwks_calls == 1
    provider.key, provider.kid = new_key(), "k2"  # Telegram rotates its key
    assert client.signing_key("k2") is None and provider.jwks_calls == 1  # not again within the minute
    clock[0] = 61.0
    assert client.signing_key("k2") is not None and provider.jwks_calls == 2


def test_an_unreachable_provider_is_a_retryable_refusal(store, provider):
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = TelegramOidcClient(issuer=provider.issuer, client_id="123456", client_secret="oidc-secret", transport=httpx.MockTransport(down))
    with pytest.raises(ProviderUnavailable):
        identity.oidc_user(store, provider=client, code="c", code_verifier="v" * 43, redirect_uri=REDIRECT, nonce="n" * 16, now=now())


def test_the_fake_login_page_approves_as_its_user_and_its_code_logs_in_with_the_verifier(store, client, provider):
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    query = {"client_id": "123456", "redirect_uri": REDIRECT, "response_type": "code", "state": "st-1", "nonce": nonce, "code_challenge": challenge_of(verifier), "code_challenge_method": "S256"}
    page = httpx.Client(transport=provider.transport, base_url=provider.issuer)

    def back(**change: str) -> dict[str, str]:
        answer = page.get("/auth", params={**query, **change})
        assert answer.status_code == 302 and answer.headers["Location"].startswith(REDIRECT + "?")
        return {key: values[0] for key, values in parse_qs(urlsplit(answer.headers["Location"]).query).items()}

    assert back() == {"state": "st-1", "error": "unauthorized_client"}  # nobody approves yet
    provider.login_as = (777, "maria")
    assert back(client_id="999") == {"state": "st-1", "error": "unauthorized_client"}
    assert back(code_challenge_method="plain") == {"state": "st-1", "error": "invalid_request"}
    approved = back()
    assert approved["state"] == "st-1"
    user = identity.oidc_user(store, provider=client, code=approved["code"], code_verifier=verifier, redirect_uri=REDIRECT, nonce=nonce, now=now())
    assert (user.id, user.username) == (777, "maria")
    second = secrets.token_urlsafe(16)
    with pytest.raises(identity.TelegramLoginInvalid):  # another verifier than the challenge's
        identity.oidc_user(store, provider=client, code=back(nonce=second)["code"], code_verifier=secrets.token_urlsafe(48), redirect_uri=REDIRECT, nonce=second, now=now())
