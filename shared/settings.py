"""One settings object, read from the environment once per instance.

On Google Cloud the secrets arrive as environment variables mounted from
Secret Manager; locally ``make run`` sets them. Nothing here is read at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


def _csv(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    program: str = "biomiq"
    allowed_origins: tuple[str, ...] = ()
    token_secret: str = ""
    token_ttl_seconds: int = 3600
    tilda_token: str = ""
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
    trusted_proxy_hops: int = 1
    http_timeout_seconds: float = 5.0
    shop_url: str = ""  # the storefront's address (KOPILKA_SHOP_URL): partners' referral links point here
    admin_token_secret: str = ""  # signs back-office tokens; must differ from token_secret
    admin_token_ttl_seconds: int = 8 * 3600
    adjustment_approval_threshold: int = 5000  # manual adjustments above this many bonuses need a second admin
    # identity (sms_otp): OTP hashing key, phone regions, refresh tokens, the SMS gateway, Telegram
    otp_secret: str = ""  # HMAC key of OTP codes and phone/IP keys; derived from token_secret when unset
    phone_regions: tuple[str, ...] = ("RU",)  # ISO regions whose mobile numbers may log in; the first parses national numbers
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    smsru_api_id: str = ""
    smsru_base_url: str = "https://sms.ru"
    sms_sender: str = ""  # an approved sender name; empty: the gateway's default
    sms_test: bool = False  # SMS.ru test mode: accepted and billed as 0, not delivered
    telegram_bot_token: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def settings() -> Settings:
    env = os.environ.get
    return Settings(
        program=env("KOPILKA_PROGRAM", "biomiq"),
        allowed_origins=_csv("KOPILKA_ALLOWED_ORIGINS"),
        token_secret=env("KOPILKA_TOKEN_SECRET", ""),
        token_ttl_seconds=int(env("KOPILKA_TOKEN_TTL_SECONDS", "3600")),
        tilda_token=env("KOPILKA_TILDA_TOKEN", ""),
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
        telegram_bot_token=env("TELEGRAM_BOT_TOKEN", ""),
        shop_url=env("KOPILKA_SHOP_URL", ""),
        admin_token_secret=env("KOPILKA_ADMIN_TOKEN_SECRET", ""),
        admin_token_ttl_seconds=int(env("KOPILKA_ADMIN_TOKEN_TTL_SECONDS", str(8 * 3600))),
        adjustment_approval_threshold=int(env("KOPILKA_ADJUSTMENT_APPROVAL_THRESHOLD", "5000")),
    )


def reload() -> Settings:
    """Forget the cached settings (tests change the environment)."""
    settings.cache_clear()
    return settings()
