"""One settings object, read from the environment once per instance.

Nothing here is read at import: :func:`settings` reads the environment on first
use and caches it (``reload()`` forgets it, for tests). Locally ``make run``
(``scripts/serve.py``) and the test fixtures set the variables.

**Secrets** (in production: Secret Manager secrets that Terraform mounts as
environment variables with ``secret_environment_variables``; never plain
environment values, never in the repository) — the names are :data:`SECRETS`:

==============================  ==============================================
KOPILKA_TOKEN_SECRET            signs customer access/refresh tokens (required
                                by account, sms_otp, and by any call carrying
                                a customer token)
KOPILKA_ADMIN_TOKEN_SECRET      signs back-office tokens (admin); must differ
                                (the admin function does not mount the customer
                                secret: it compares its fingerprint,
                                KOPILKA_TOKEN_SECRET_FINGERPRINT)
KOPILKA_OTP_SECRET              HMAC key of OTP codes and phone/IP keys (sms_otp)
KOPILKA_PAYOUT_SECRET           seals partners' payout destinations (account,
                                admin; see shared.platform.sealing)
KOPILKA_TILDA_TOKEN             secret path segment of Tilda's webhook (checkout)
KOPILKA_EVENTS_SECRET           HMAC-SHA256 key of the shop tools' signed earning events (checkout)
KOPILKA_CDEK_TOKEN              secret path segment of CDEK's webhook (delivery_status)
KOPILKA_SWEEP_SECRET            header secret of internal calls (scheduler routes)
YOOKASSA_SECRET_KEY             YooKassa API key (order_paid)
YOOMONEY_NOTIFICATION_SECRET    YooMoney notification secret (order_paid)
CDEK_CLIENT_SECRET              CDEK API credentials (delivery_status)
BOXBERRY_TOKEN                  Boxberry API token (delivery_status)
RUSSIANPOST_PASSWORD            Russian Post tracking password (delivery_status)
SMSRU_API_ID                    SMS.ru gateway key (sms_otp)
TELEGRAM_BOT_TOKEN              Telegram login widget bot token (sms_otp)
SMARTCAPTCHA_SERVER_KEY         Yandex SmartCaptcha server key (sms_otp; unset:
                                no captcha is asked for)
TELEGRAM_OIDC_SECRET            "Log in with Telegram" (OpenID Connect) client
                                secret from BotFather (sms_otp)
SMTP_PASSWORD                   the SMTP server's password (expiry_sweep: messages)
==============================  ==============================================

Everything else is plain configuration (environment variables set on the
function): the program, origins, provider URLs, ids, limits, and

* ``KOPILKA_VERSION`` — the deployed version; default: the ``VERSION`` file
  next to the ``shared`` package (the source root a bundle is built from),
  else ``"dev"``;
* ``KOPILKA_ENV`` — ``production``, ``staging`` … (default ``"local"``);
* ``KOPILKA_ORDER_TOKEN_MINUTES`` — how long the signed order token of a
  Tilda order (the form's ``kopilka_order``) is accepted by Tilda's webhook
  (default 60: a slow payment page);
* ``KOPILKA_STORE`` — ``memory`` for the in-memory store (local runs only:
  refused unless ``KOPILKA_ENV`` is ``local`` or ``test``; read by
  :mod:`shared.platform.bootstrap`);
* ``KOPILKA_LOG_LEVEL`` — level of the application's loggers (default INFO);
* ``GOOGLE_CLOUD_PROJECT`` — the project, which turns the trace header into
  Cloud Logging's trace field (see :mod:`shared.platform.logs`).

The two token secrets must be at least :data:`MIN_TOKEN_SECRET_BYTES` bytes
long when set: a shorter one is refused when the settings are first read
(:class:`WeakSecret`, naming the variable, never the value), so a function
with a guessable signing key answers nothing but 500s.

A missing required setting is found lazily, where it is needed, by
:meth:`Settings.require`: it raises :class:`MissingSetting` naming the
variable, which the router logs at ERROR and answers as a generic 500
``internal`` — never a crash at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

SECRETS: tuple[str, ...] = (
    "KOPILKA_TOKEN_SECRET",
    "KOPILKA_ADMIN_TOKEN_SECRET",
    "KOPILKA_OTP_SECRET",
    "KOPILKA_PAYOUT_SECRET",
    "KOPILKA_TILDA_TOKEN",
    "KOPILKA_EVENTS_SECRET",
    "KOPILKA_CDEK_TOKEN",
    "KOPILKA_SWEEP_SECRET",
    "YOOKASSA_SECRET_KEY",
    "YOOMONEY_NOTIFICATION_SECRET",
    "CDEK_CLIENT_SECRET",
    "BOXBERRY_TOKEN",
    "RUSSIANPOST_PASSWORD",
    "SMSRU_API_ID",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_OIDC_SECRET",
    "SMTP_PASSWORD",
)

# the environment variable of each field that has one (for error messages naming the variable)
ENV_NAMES: dict[str, str] = {
    "program": "KOPILKA_PROGRAM",
    "allowed_origins": "KOPILKA_ALLOWED_ORIGINS",
    "token_secret": "KOPILKA_TOKEN_SECRET",
    "tilda_token": "KOPILKA_TILDA_TOKEN",
    "events_secret": "KOPILKA_EVENTS_SECRET",
    "cdek_token": "KOPILKA_CDEK_TOKEN",
    "sweep_secret": "KOPILKA_SWEEP_SECRET",
    "sweep_audience": "KOPILKA_SWEEP_AUDIENCE",
    "scheduler_emails": "KOPILKA_SCHEDULER_EMAILS",
    "yookassa_shop_id": "YOOKASSA_SHOP_ID",
    "yookassa_secret_key": "YOOKASSA_SECRET_KEY",
    "yoomoney_secret": "YOOMONEY_NOTIFICATION_SECRET",
    "cdek_client_id": "CDEK_CLIENT_ID",
    "cdek_client_secret": "CDEK_CLIENT_SECRET",
    "boxberry_token": "BOXBERRY_TOKEN",
    "russianpost_login": "RUSSIANPOST_LOGIN",
    "russianpost_password": "RUSSIANPOST_PASSWORD",
    "otp_secret": "KOPILKA_OTP_SECRET",
    "payout_secret": "KOPILKA_PAYOUT_SECRET",
    "smsru_api_id": "SMSRU_API_ID",
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "smartcaptcha_server_key": "SMARTCAPTCHA_SERVER_KEY",
    "telegram_oidc_secret": "TELEGRAM_OIDC_SECRET",
    "telegram_oidc_url": "TELEGRAM_OIDC_URL",
    "smtp_host": "SMTP_HOST",
    "smtp_from": "SMTP_FROM",
    "account_url": "KOPILKA_ACCOUNT_URL",
    "shop_url": "KOPILKA_SHOP_URL",
    "admin_token_secret": "KOPILKA_ADMIN_TOKEN_SECRET",
    "token_secret_fingerprint": "KOPILKA_TOKEN_SECRET_FINGERPRINT",
    "version": "KOPILKA_VERSION",
    "environment": "KOPILKA_ENV",
}

VERSION_FILE = Path(__file__).resolve().parent.parent / "VERSION"


class MissingSetting(RuntimeError):
    """A setting this call needs is not configured: an operator's error, answered as a 500."""

    def __init__(self, *variables: str) -> None:
        self.variables = variables
        super().__init__(f"missing required setting{'s' if len(variables) > 1 else ''}: {', '.join(variables)}")


MIN_TOKEN_SECRET_BYTES = 32
TOKEN_SECRETS = ("token_secret", "admin_token_secret")


class WeakSecret(MissingSetting):
    """A token secret is set but shorter than :data:`MIN_TOKEN_SECRET_BYTES` bytes."""

    def __init__(self, *variables: str) -> None:
        super().__init__(*variables)
        self.args = (f"token secret{'s' if len(variables) > 1 else ''} shorter than {MIN_TOKEN_SECRET_BYTES} bytes: {', '.join(variables)}",)


def _csv(name: str) -> tuple[str, ...]:
    """A comma-separated variable as its non-empty, stripped parts."""
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


def _version() -> str:
    explicit = os.environ.get("KOPILKA_VERSION", "").strip()
    if explicit:
        return explicit
    try:
        return VERSION_FILE.read_text(encoding="utf-8").strip() or "dev"
    except OSError:
        return "dev"


@dataclass(frozen=True)
class Settings:
    program: str = "biomiq"
    allowed_origins: tuple[str, ...] = ()
    token_secret: str = ""
    token_ttl_seconds: int = 3600
    order_token_minutes: int = 60  # how long a Tilda order token (the form's kopilka_order) stays valid: the payment page's time
    tilda_token: str = ""
    events_secret: str = ""  # signs the shop tools' earning events (POST /checkout/events)
    cdek_token: str = ""
    sweep_secret: str = ""
    sweep_audience: str = ""  # the OIDC audience(s) of scheduled calls, comma-separated
    scheduler_emails: tuple[str, ...] = ()  # service accounts whose OIDC tokens may call internal routes
    yookassa_shop_id: str = ""
    yookassa_secret_key: str = ""
    yookassa_base_url: str = "https://api.yookassa.ru/v3"
    yookassa_networks: tuple[str, ...] = ()
    yoomoney_secret: str = ""
    cdek_base_url: str = "https://api.cdek.ru/v2"
    cdek_client_id: str = ""
    cdek_client_secret: str = ""
    boxberry_base_url: str = "https://api.boxberry.ru/json.php"
    boxberry_token: str = ""
    russianpost_url: str = "https://tracking.russianpost.ru/rtm34"
    russianpost_login: str = ""
    russianpost_password: str = ""
    trusted_proxy_hops: int = 1  # X-Forwarded-For entries from the right: 1 for a function's own URL (docs/operations.md)
    http_timeout_seconds: float = 5.0
    shop_url: str = ""  # the storefront's address (KOPILKA_SHOP_URL): partners' referral links point here
    admin_token_secret: str = ""  # signs back-office tokens; must differ from token_secret
    token_secret_fingerprint: str = ""  # SHA-256 (hex) of token_secret, where it is not mounted (admin)
    admin_token_ttl_seconds: int = 8 * 3600
    console_idle_minutes: int = 30  # a console session ends after this long without a request
    payout_secret: str = ""  # seals payout destinations (shared.platform.sealing); at least 32 characters
    # identity (sms_otp): OTP hashing key, phone regions, refresh tokens, the SMS gateway, Telegram
    otp_secret: str = ""  # HMAC key of OTP codes and phone/IP keys; derived from token_secret when unset
    phone_regions: tuple[str, ...] = ("RU",)  # ISO regions whose mobile numbers may log in; the first parses national numbers
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    smsru_api_id: str = ""
    smsru_base_url: str = "https://sms.ru"
    sms_sender: str = ""  # an approved sender name; empty: the gateway's default
    sms_test: bool = False  # SMS.ru test mode: accepted and billed as 0, not delivered
    sms_daily_budget: int = 2000  # codes sent per Moscow day across every phone; 0: no cap
    telegram_bot_token: str = ""
    smartcaptcha_server_key: str = ""  # Yandex SmartCaptcha's server key; unset: risky code requests are not asked for a captcha
    smartcaptcha_url: str = "https://smartcaptcha.yandexcloud.net"
    telegram_oidc_secret: str = ""  # OpenID Connect client secret (the client id is the bot's id)
    telegram_oidc_url: str = "https://oauth.telegram.org"  # the issuer: /token and /.well-known/jwks.json
    # messages (expiry_sweep's dispatcher): the shop's bot (TELEGRAM_BOT_TOKEN), SMTP, the unsubscribe link's base
    telegram_api_url: str = "https://api.telegram.org"
    smtp_host: str = ""  # unset: no e-mail channel
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""  # the From address, e.g. "Biomiq <bonus@biomiq.ru>"
    smtp_starttls: bool = True
    account_url: str = ""  # the account function's URL: e-mails' unsubscribe links point at {account_url}/unsubscribe
    version: str = "dev"  # KOPILKA_VERSION, else the VERSION file, else "dev"
    environment: str = "local"  # KOPILKA_ENV
    extra: dict[str, str] = field(default_factory=dict)

    def require(self, *names: str) -> Settings:
        """Self, when every named field is set; else :class:`MissingSetting` naming the variables."""
        missing = [ENV_NAMES.get(name, name.upper()) for name in names if not getattr(self, name)]
        if missing:
            raise MissingSetting(*missing)
        return self

    def check_secrets(self) -> Settings:
        """Self, when every token secret that is set has at least 32 bytes; else :class:`WeakSecret`."""
        weak = [ENV_NAMES[name] for name in TOKEN_SECRETS if getattr(self, name) and len(getattr(self, name).encode()) < MIN_TOKEN_SECRET_BYTES]
        if weak:
            raise WeakSecret(*weak)
        return self


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this instance, read once; a token secret under 32 bytes is refused (:class:`WeakSecret`)."""
    env = os.environ.get
    return Settings(
        program=env("KOPILKA_PROGRAM", "biomiq"),
        allowed_origins=_csv("KOPILKA_ALLOWED_ORIGINS"),
        token_secret=env("KOPILKA_TOKEN_SECRET", ""),
        token_ttl_seconds=int(env("KOPILKA_TOKEN_TTL_SECONDS", "3600")),
        order_token_minutes=int(env("KOPILKA_ORDER_TOKEN_MINUTES", "60")),
        tilda_token=env("KOPILKA_TILDA_TOKEN", ""),
        events_secret=env("KOPILKA_EVENTS_SECRET", ""),
        cdek_token=env("KOPILKA_CDEK_TOKEN", ""),
        sweep_secret=env("KOPILKA_SWEEP_SECRET", ""),
        sweep_audience=env("KOPILKA_SWEEP_AUDIENCE", ""),
        scheduler_emails=_csv("KOPILKA_SCHEDULER_EMAILS"),
        yookassa_shop_id=env("YOOKASSA_SHOP_ID", ""),
        yookassa_secret_key=env("YOOKASSA_SECRET_KEY", ""),
        yookassa_base_url=env("YOOKASSA_BASE_URL", "https://api.yookassa.ru/v3"),
        yookassa_networks=_csv("YOOKASSA_NETWORKS"),
        yoomoney_secret=env("YOOMONEY_NOTIFICATION_SECRET", ""),
        cdek_base_url=env("CDEK_BASE_URL", "https://api.cdek.ru/v2"),
        cdek_client_id=env("CDEK_CLIENT_ID", ""),
        cdek_client_secret=env("CDEK_CLIENT_SECRET", ""),
        boxberry_base_url=env("BOXBERRY_BASE_URL", "https://api.boxberry.ru/json.php"),
        boxberry_token=env("BOXBERRY_TOKEN", ""),
        russianpost_url=env("RUSSIANPOST_URL", "https://tracking.russianpost.ru/rtm34"),
        russianpost_login=env("RUSSIANPOST_LOGIN", ""),
        russianpost_password=env("RUSSIANPOST_PASSWORD", ""),
        trusted_proxy_hops=int(env("KOPILKA_TRUSTED_PROXY_HOPS", "1")),
        http_timeout_seconds=float(env("KOPILKA_HTTP_TIMEOUT_SECONDS", "5")),
        otp_secret=env("KOPILKA_OTP_SECRET", ""),
        phone_regions=_csv("KOPILKA_PHONE_REGIONS") or ("RU",),
        refresh_token_ttl_seconds=int(env("KOPILKA_REFRESH_TOKEN_TTL_SECONDS", str(30 * 24 * 3600))),
        smsru_api_id=env("SMSRU_API_ID", ""),
        smsru_base_url=env("SMSRU_BASE_URL", "https://sms.ru"),
        sms_sender=env("SMS_SENDER", ""),
        sms_test=env("SMSRU_TEST", "") in ("1", "true", "yes"),
        sms_daily_budget=int(env("KOPILKA_SMS_DAILY_BUDGET", "2000")),
        telegram_bot_token=env("TELEGRAM_BOT_TOKEN", ""),
        smartcaptcha_server_key=env("SMARTCAPTCHA_SERVER_KEY", ""),
        smartcaptcha_url=env("SMARTCAPTCHA_URL", "https://smartcaptcha.yandexcloud.net"),
        telegram_oidc_secret=env("TELEGRAM_OIDC_SECRET", ""),
        telegram_oidc_url=env("TELEGRAM_OIDC_URL", "https://oauth.telegram.org").rstrip("/"),
        shop_url=env("KOPILKA_SHOP_URL", ""),
        admin_token_secret=env("KOPILKA_ADMIN_TOKEN_SECRET", ""),
        token_secret_fingerprint=env("KOPILKA_TOKEN_SECRET_FINGERPRINT", "").strip().lower(),
        admin_token_ttl_seconds=int(env("KOPILKA_ADMIN_TOKEN_TTL_SECONDS", str(8 * 3600))),
        console_idle_minutes=int(env("KOPILKA_CONSOLE_IDLE_MINUTES", "30")),
        payout_secret=env("KOPILKA_PAYOUT_SECRET", ""),
        telegram_api_url=env("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/"),
        smtp_host=env("SMTP_HOST", ""),
        smtp_port=int(env("SMTP_PORT", "587")),
        smtp_user=env("SMTP_USER", ""),
        smtp_password=env("SMTP_PASSWORD", ""),
        smtp_from=env("SMTP_FROM", ""),
        smtp_starttls=env("SMTP_STARTTLS", "1") not in ("0", "false", "no"),
        account_url=env("KOPILKA_ACCOUNT_URL", "").rstrip("/"),
        version=_version(),
        environment=env("KOPILKA_ENV", "").strip() or "local",
    ).check_secrets()


def reload() -> Settings:
    """Forget the cached settings (tests change the environment)."""
    settings.cache_clear()
    return settings()
