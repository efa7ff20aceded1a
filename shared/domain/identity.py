"""Who a customer is: the phones and Telegram accounts that log them in, and their sessions.

An :class:`Identity` says which customer a verified phone (E.164) or a
Telegram account belongs to; it is created once and never moved. A Telegram
identity may be unlinked by its customer (``unlinked_at``): it then logs
nobody in, and a later link (with a fresh proof of a phone) revives it. A session
is a short-lived access token and a single-use :class:`RefreshToken`; every
refresh token rotated from one login shares a family, and a reused token
revokes the whole family (:class:`FamilyRevocation`); so does a logout.

Both tokens of a session carry the customer's session epoch at login
(:class:`CustomerToken`); blocking the customer moves the epoch on
(:class:`shared.domain.customer.Blocking`), so every session opened before
is refused at once, and a refresh family presented after that is revoked.
A logout and a reused refresh token move the epoch on as well: the access
tokens already issued end with the family, not an hour later.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from msgspec import Struct
from msgspec.structs import replace


class IdentityKind(str, Enum):
    PHONE = "phone"  # value: the E.164 number
    TELEGRAM = "telegram"  # value: the Telegram user id


class Identity(Struct, frozen=True):
    kind: IdentityKind
    value: str | int
    customer_id: str
    created_at: datetime | None = None  # None only for identities imported without it
    username: str | None = None  # Telegram's @username at linking time
    unlinked_at: datetime | None = None  # a Telegram identity its customer unlinked

    @property
    def active(self) -> bool:
        return self.unlinked_at is None

    def unlinked(self, now: datetime) -> Identity:
        return replace(self, unlinked_at=now)

    @classmethod
    def phone(cls, e164: str, customer_id: str, now: datetime) -> Identity:
        return cls(kind=IdentityKind.PHONE, value=e164, customer_id=customer_id, created_at=now)

    @classmethod
    def telegram(cls, user_id: int, customer_id: str, now: datetime, username: str | None) -> Identity:
        return cls(kind=IdentityKind.TELEGRAM, value=user_id, customer_id=customer_id, created_at=now, username=username)


class TelegramUser(Struct, frozen=True):
    """A Telegram account whose Login Widget data passed verification."""

    id: int
    username: str | None
    auth_date: datetime


class TokenAnswer(Struct, frozen=True):
    """Telegram's OpenID Connect token endpoint's answer: an ``id_token``, or the OAuth error instead."""

    id_token: str | None = None
    error: str | None = None


class UsedNonce(Struct, frozen=True):
    """A Telegram OpenID Connect nonce a login used: the same id_token is never taken twice."""

    telegram_id: int
    used_at: datetime
    expires_at: datetime


class CustomerContact(Struct, frozen=True):
    """The verified phone recorded on a customer's account, and the Telegram account linked to it."""

    phone: str | None
    phone_verified_at: datetime | None = None
    telegram_id: int | None = None


class CustomerToken(Struct, frozen=True):
    """A verified customer token: whose it is and the session epoch it was issued in."""

    customer_id: str
    epoch: int = 0  # tokens issued before epochs existed carry none: the first epoch


class RefreshToken(Struct, frozen=True):
    """A recorded refresh token (by its ``jti``): single use, replaced by the token it was rotated to."""

    customer_id: str
    family: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    replaced_by: str | None = None

    @classmethod
    def issue(cls, customer_id: str, family: str, now: datetime, ttl: timedelta) -> RefreshToken:
        return cls(customer_id=customer_id, family=family, issued_at=now, expires_at=now + ttl)

    def rotated(self, now: datetime, new_jti: str) -> RefreshToken:
        return replace(self, used_at=now, replaced_by=new_jti)


class RevocationReason(str, Enum):
    REUSE = "reuse"  # a used refresh token was presented again
    BLOCKED = "blocked"  # presented while the customer is blocked
    REVOKED = "revoked"  # opened before the epoch moved on (a block, a logout, a Telegram unlink), presented after
    LOGOUT = "logout"  # the customer logged out of this session


class FamilyRevocation(Struct, frozen=True):
    """A refresh family that may no longer be rotated."""

    customer_id: str
    revoked_at: datetime
    reason: RevocationReason
    jti: str  # the token whose reuse revoked it
    expires_at: datetime


class RotationOutcome(str, Enum):
    OK = "ok"
    UNKNOWN = "unknown"  # no such token for this customer and family
    REVOKED = "revoked"  # the family was revoked before
    REUSED = "reused"  # the token was used before: this revoked its family
    BLOCKED = "blocked"  # the customer is blocked: this revoked its family
    STALE = "stale"  # the session was revoked since (a block, a Telegram unlink): this revoked its family
