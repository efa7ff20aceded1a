"""The instance's composition root: every client it talks to, built lazily on first use, never at import.

One of each per instance: the store (Firestore; the emulator when
``FIRESTORE_EMULATOR_HOST`` is set) and the provider clients (SMS.ru, YooKassa,
the carriers, Telegram's OpenID Connect provider), each built from
:func:`~shared.platform.settings.settings` when it is first asked for. The adapter modules are imported only then, so a
function that never sends an SMS never loads the SMS client.

``KOPILKA_STORE=memory`` builds the in-memory store instead, for the local
stack and demos without an emulator; it is refused unless ``KOPILKA_ENV`` is
``local`` or ``test`` (a deployed function never keeps its data in memory).

Tests and local tools swap them: :func:`set_store` puts another store in place
(``None``: back to Firestore); :func:`set_transport` routes a provider's clients
through an ``httpx`` transport (a fake; ``None``: the network) and drops the
clients already built, so changed settings are picked up.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from shared.services.ports import Store

if TYPE_CHECKING:
    import httpx

    from shared.adapters.captcha import SmartCaptchaClient
    from shared.adapters.carrier_clients import CarrierClient
    from shared.adapters.carriers import CarrierStatus
    from shared.adapters.catalog_feed import FeedClient
    from shared.adapters.sms import SmsRuClient
    from shared.adapters.telegram_bot import TelegramBotClient
    from shared.adapters.telegram_oidc import TelegramOidcClient
    from shared.adapters.yookassa import YooKassaClient
    from shared.domain.messages import Channel
    from shared.services.dispatch import Sender

Provider = Literal["sms", "yookassa", "carriers", "captcha", "telegram", "catalog_feed", "telegram_bot"]
C = TypeVar("C")

_lock = threading.Lock()
_store: Store | None = None


def project_id() -> str:
    return os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCLOUD_PROJECT") or "kopilka-local"


LOCAL_ENVIRONMENTS = ("local", "test")


class MemoryStoreRefused(RuntimeError):
    """``KOPILKA_STORE=memory`` outside a local or test environment."""


def firestore_store() -> Store:
    """The instance's store: Firestore unless :func:`set_store` put another in place
    (or ``KOPILKA_STORE=memory`` asks for the in-memory store, locally only)."""
    global _store
    with _lock:
        if _store is None and os.environ.get("KOPILKA_STORE", "").strip().lower() == "memory":
            from shared.adapters.memory_store import MemoryStore
            from shared.platform.settings import settings

            if settings().environment not in LOCAL_ENVIRONMENTS:
                raise MemoryStoreRefused(f"KOPILKA_STORE=memory is for local runs only, not KOPILKA_ENV={settings().environment}")
            _store = MemoryStore()
        if _store is None:
            from google.cloud import firestore

            from shared.adapters.firestore_store import FirestoreStore

            _store = FirestoreStore(firestore.Client(project=project_id()))
        return _store


def set_store(store: Store | None) -> None:
    """Swap the instance's store (tests and local tools)."""
    global _store
    with _lock:
        _store = store


class _Clients(Generic[C]):
    """One provider's clients by name, each built once on first use through the transport in force."""

    def __init__(self, build: Callable[[str, httpx.BaseTransport | None], C], close: Callable[[C], None]) -> None:
        self._build = build
        self._close = close
        self._lock = threading.Lock()
        self._built: dict[str, C] = {}
        self._transport: httpx.BaseTransport | None = None

    def get(self, name: str = "default") -> C:
        with self._lock:
            if name not in self._built:
                self._built[name] = self._build(name, self._transport)
            return self._built[name]

    def built(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._built)

    def set_transport(self, transport: httpx.BaseTransport | None) -> None:
        with self._lock:
            for client in self._built.values():
                self._close(client)
            self._built.clear()
            self._transport = transport


def _build_sms(_: str, transport: httpx.BaseTransport | None) -> SmsRuClient:
    from shared.adapters.sms import SmsRuClient, SmsUnavailable
    from shared.platform.settings import settings

    s = settings()
    if not s.smsru_api_id:
        raise SmsUnavailable("the SMS gateway is not configured (SMSRU_API_ID)", sent="no")
    return SmsRuClient(api_id=s.smsru_api_id, base_url=s.smsru_base_url, sender=s.sms_sender, test=s.sms_test, timeout=s.http_timeout_seconds, transport=transport)


def _build_yookassa(_: str, transport: httpx.BaseTransport | None) -> YooKassaClient:
    from shared.adapters.yookassa import YooKassaClient, YooKassaUnavailable
    from shared.platform.settings import settings

    s = settings()
    if not s.yookassa_shop_id or not s.yookassa_secret_key:
        raise YooKassaUnavailable("YooKassa credentials are not configured (YOOKASSA_SHOP_ID, YOOKASSA_SECRET_KEY)")
    return YooKassaClient(base_url=s.yookassa_base_url, shop_id=s.yookassa_shop_id, secret_key=s.yookassa_secret_key, timeout=s.http_timeout_seconds, transport=transport)


def _build_carrier(name: str, transport: httpx.BaseTransport | None) -> CarrierClient:
    from shared.adapters.carrier_clients import BoxberryClient, CdekClient, RussianPostClient
    from shared.platform.settings import settings

    s = settings()
    if name == "cdek":
        return CdekClient(base_url=s.cdek_base_url, client_id=s.cdek_client_id, client_secret=s.cdek_client_secret, timeout=s.http_timeout_seconds, transport=transport)
    if name == "boxberry":
        return BoxberryClient(base_url=s.boxberry_base_url, token=s.boxberry_token, timeout=s.http_timeout_seconds, transport=transport)
    if name == "russianpost":
        return RussianPostClient(url=s.russianpost_url, login=s.russianpost_login, password=s.russianpost_password, timeout=s.http_timeout_seconds, transport=transport)
    raise ValueError(f"unknown carrier {name!r}")


def _build_captcha(_: str, transport: httpx.BaseTransport | None) -> SmartCaptchaClient:
    from shared.adapters.captcha import SmartCaptchaClient
    from shared.platform.settings import settings

    s = settings()
    return SmartCaptchaClient(server_key=s.smartcaptcha_server_key, base_url=s.smartcaptcha_url, timeout=s.http_timeout_seconds, transport=transport)


def _build_telegram(_: str, transport: httpx.BaseTransport | None) -> TelegramOidcClient:
    from shared.adapters.telegram_oidc import TelegramOidcClient
    from shared.platform.settings import settings

    s = settings()
    s.require("telegram_bot_token", "telegram_oidc_secret")
    bot_id = s.telegram_bot_token.split(":", 1)[0]  # the OpenID Connect client id is the bot's id
    return TelegramOidcClient(issuer=s.telegram_oidc_url, client_id=bot_id, client_secret=s.telegram_oidc_secret, timeout=s.http_timeout_seconds, transport=transport)


def _build_feed(_: str, transport: httpx.BaseTransport | None) -> FeedClient:
    from shared.adapters.catalog_feed import FeedClient

    return FeedClient(transport=transport)


def _close_feed(client: FeedClient) -> None:
    client.close()


def _close_captcha(client: SmartCaptchaClient) -> None:
    client.close()


def _close_telegram(client: TelegramOidcClient) -> None:
    client.close()


def _close_sms(client: SmsRuClient) -> None:
    client.close()


def _close_yookassa(client: YooKassaClient) -> None:
    client.close()


def _close_carrier(client: CarrierClient) -> None:
    client.http.close()


_sms: _Clients[SmsRuClient] = _Clients(_build_sms, _close_sms)
_yookassa: _Clients[YooKassaClient] = _Clients(_build_yookassa, _close_yookassa)
_carriers: _Clients[CarrierClient] = _Clients(_build_carrier, _close_carrier)
_captcha: _Clients[SmartCaptchaClient] = _Clients(_build_captcha, _close_captcha)
_telegram: _Clients[TelegramOidcClient] = _Clients(_build_telegram, _close_telegram)
_feed: _Clients[FeedClient] = _Clients(_build_feed, _close_feed)


def _build_telegram_bot(_: str, transport: httpx.BaseTransport | None) -> TelegramBotClient:
    from shared.adapters.telegram_bot import TelegramBotClient
    from shared.platform.settings import settings

    s = settings()
    return TelegramBotClient(token=s.telegram_bot_token, base_url=s.telegram_api_url, timeout=s.http_timeout_seconds, transport=transport)


_telegram_bot: _Clients[TelegramBotClient] = _Clients(_build_telegram_bot, lambda client: client.close())


def message_channels() -> dict[Channel, Sender]:
    """The dispatcher's channels this instance is configured for, by channel name: SMS while
    ``SMSRU_API_ID`` is set, Telegram while ``TELEGRAM_BOT_TOKEN`` is, e-mail while ``SMTP_HOST``
    and ``KOPILKA_ACCOUNT_URL`` are (its letters' unsubscribe links point there)."""
    from datetime import datetime, timezone

    from shared.adapters.email import SmtpMailer
    from shared.adapters.message_channels import EmailChannel, SmsChannel, TelegramChannel
    from shared.domain.messages import Channel
    from shared.platform.settings import settings

    s = settings()
    found: dict[Channel, Sender] = {}
    if s.smsru_api_id:
        found[Channel.SMS] = SmsChannel(sms())
    if s.telegram_bot_token:
        found[Channel.TELEGRAM] = TelegramChannel(_telegram_bot.get())
    if s.smtp_host and s.account_url and s.token_secret:
        mailer = SmtpMailer(host=s.smtp_host, port=s.smtp_port, sender=s.smtp_from, user=s.smtp_user, password=s.smtp_password, starttls=s.smtp_starttls, timeout=s.http_timeout_seconds * 2)
        found[Channel.EMAIL] = EmailChannel(mailer, unsubscribe_base=s.account_url, secret=s.token_secret, clock=lambda: datetime.now(timezone.utc))
    return found


def sms() -> SmsRuClient:
    """The instance's SMS gateway client."""
    return _sms.get()


def captcha() -> SmartCaptchaClient | None:
    """The instance's captcha checker, or ``None`` while ``SMARTCAPTCHA_SERVER_KEY`` is unset."""
    from shared.platform.settings import settings

    return _captcha.get() if settings().smartcaptcha_server_key else None


def telegram_oidc() -> TelegramOidcClient:
    """The instance's client of Telegram's OpenID Connect provider ("Log in with Telegram")."""
    return _telegram.get()


def catalog_feed() -> FeedClient:
    """The instance's client of the shops' YML product feeds."""
    return _feed.get()


def yookassa() -> YooKassaClient:
    """The instance's YooKassa client."""
    return _yookassa.get()


def carrier(name: str) -> CarrierClient:
    """The instance's client for a carrier: ``cdek``, ``boxberry`` or ``russianpost``."""
    return _carriers.get(name)


def track(name: str, tracking: str) -> CarrierStatus:
    """The carrier's verdict on one shipment."""
    return carrier(name).track(tracking)


def built_carriers() -> tuple[str, ...]:
    """The carriers whose clients this instance has built so far."""
    return _carriers.built()


def set_transport(provider: Provider, transport: httpx.BaseTransport | None) -> None:
    """Route a provider's clients through ``transport`` (a fake in tests; ``None``: the network)."""
    clients: dict[Provider, _Clients[Any]] = {
        "sms": _sms,
        "yookassa": _yookassa,
        "carriers": _carriers,
        "captcha": _captcha,
        "telegram": _telegram,
        "catalog_feed": _feed,
        "telegram_bot": _telegram_bot,
    }
    clients[provider].set_transport(transport)
