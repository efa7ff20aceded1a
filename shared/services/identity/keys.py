"""The secrets and lifetimes of login, and the keyed hashes derived from them."""

from __future__ import annotations

import hashlib
import hmac

from msgspec import Struct

from shared.platform.settings import Settings


class IdentityKeys(Struct, frozen=True):
    """The secrets and lifetimes the use cases need (built from settings by the entry point)."""

    token_secret: str
    otp_secret: bytes
    access_ttl_seconds: int = 3600
    refresh_ttl_seconds: int = 30 * 24 * 3600
    regions: tuple[str, ...] = ("RU",)
    telegram_bot_token: str = ""

    @classmethod
    def from_settings(cls, s: Settings) -> IdentityKeys:
        """Without ``KOPILKA_OTP_SECRET`` the OTP key is derived from the token secret (a separate
        secret is better: set it in production)."""
        if not s.token_secret:
            raise RuntimeError("KOPILKA_TOKEN_SECRET is not configured")
        otp = s.otp_secret.encode() if s.otp_secret else hmac.new(s.token_secret.encode(), b"kopilka/otp-secret", hashlib.sha256).digest()
        return cls(
            token_secret=s.token_secret,
            otp_secret=otp,
            access_ttl_seconds=s.token_ttl_seconds,
            refresh_ttl_seconds=s.refresh_token_ttl_seconds,
            regions=tuple(r.upper() for r in s.phone_regions) or ("RU",),
            telegram_bot_token=s.telegram_bot_token,
        )

    def mac(self, purpose: str, value: str) -> str:
        return hmac.new(self.otp_secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def phone_key(self, e164: str) -> str:
        """The document id of a phone's code and limits (no phone number in clear in those documents)."""
        return self.mac("phone", e164)[:40]

    def customer_id_for(self, e164: str) -> str:
        """The id of the customer a phone registers (the identity document may name an older one)."""
        return "c_" + self.mac("customer", e164)[:20]

    def code_hash(self, e164: str, code: str) -> str:
        return self.mac("code", f"{e164}:{code}")

    def telegram_webhook_secret(self) -> str:
        """The ``secret_token`` the bot's webhook is registered with (``setWebhook``), derived from
        the bot token: Telegram sends it in ``X-Telegram-Bot-Api-Secret-Token`` on every update."""
        if not self.telegram_bot_token:
            return ""
        return hmac.new(hashlib.sha256(self.telegram_bot_token.encode()).digest(), b"kopilka/telegram-webhook", hashlib.sha256).hexdigest()

    def ip_bucket(self, scope: str) -> str:
        """The key of an address limit's bucket (``"ip:198.51.100.7"``, ``"net:198.51.100.0/24"``)."""
        return self.mac("ip", scope)[:32]
