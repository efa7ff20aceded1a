"""Back-office accounts: an admin's password hash, roles and login state, and the login throttle.

Wrong passwords never lock an account (that would let anyone lock any admin
out): they throttle the address they come from. Each login attempt takes one
slot of its address's (an IPv6 /64) and its network's (IPv4 /24, IPv6 /48)
fixed :data:`ADDRESS_WINDOW` before the password is checked; a full window
is refused unchecked with the same answer whatever e-mail is named, and a
successful login gives its slot back.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from msgspec import Struct
from msgspec.structs import replace

from shared.domain.errors import TooManyRequests
from shared.domain.mfa import Totp
from shared.domain.otp import IpWindow, ip_scopes, seconds_until, wait_ru

ADDRESS_WINDOW = timedelta(minutes=15)
ADDRESS_FAILURES = 10  # login attempts per address per window that did not succeed
NETWORK_FAILURES = 30  # ... per network


class LoginThrottled(TooManyRequests):
    """Too many login attempts from this address: the same answer for every e-mail (a 429)."""

    code = "rate_limited"
    MESSAGE: ClassVar[str] = "Слишком много попыток входа с вашего адреса. Повторите через {wait}."

    def __init__(self, retry_after: int) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__("too many login attempts from this address", message_ru=self.MESSAGE.format(wait=wait_ru(retry_after)), retry_after=retry_after)
        self.retry_after_seconds = retry_after  # the attribute shared.edge.http reads for Retry-After


def login_windows(ip: str | None, now: datetime, *, bucket: Callable[[str], str]) -> list[IpWindow]:
    """The address's and the network's login windows ``now`` falls in."""
    scopes = ip_scopes(ip)
    seconds = int(ADDRESS_WINDOW.total_seconds())
    index = int(now.timestamp()) // seconds
    ends = datetime.fromtimestamp((index + 1) * seconds, UTC)
    return [
        IpWindow(f"{bucket('ip:' + scopes['ip'])}_al{index}", ADDRESS_FAILURES, ends),
        IpWindow(f"{bucket('net:' + scopes['net'])}_an{index}", NETWORK_FAILURES, ends),
    ]


def login_refusal(counters: list[tuple[IpWindow, int]], now: datetime) -> LoginThrottled | None:
    """The refusal when a window is full, else ``None``."""
    full = [w for w, count in counters if count >= w.limit]
    return LoginThrottled(max(seconds_until(w.ends_at, now) for w in full)) if full else None


class Role(enum.StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"
    MANAGER = "manager"
    ACCOUNTANT = "accountant"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)


class PasswordHash(Struct, frozen=True):
    """A password hash: ``argon2id`` (``hash`` is the encoded PHC string with its salt and
    parameters), or ``scrypt`` of before (hex ``hash`` and ``salt``, parameters ``n``, ``r``, ``p``)."""

    hash: str
    algo: str = "argon2id"
    salt: str = ""
    n: int = 0
    r: int = 0
    p: int = 0


class AdminProfile(Struct, frozen=True):
    """What may be shown of an admin account: everything but the password hash."""

    email: str
    roles: tuple[Role, ...]
    active: bool
    epoch: int
    created_at: datetime
    updated_at: datetime


class AdminAccount(Struct, frozen=True):
    """``admins/{email}``. ``epoch`` moves on when the password is reset: older tokens are void."""

    email: str
    password: PasswordHash | None
    roles: tuple[Role, ...]
    active: bool
    epoch: int
    failed_logins: int  # wrong passwords since the last login
    locked_until: datetime | None  # no longer set: wrong passwords throttle their address instead
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None = None
    totp: Totp | None = None  # the authenticator (pending until confirmed)
    recovery_codes: tuple[str, ...] = ()  # hashes of the unused recovery codes

    @property
    def mfa_enabled(self) -> bool:
        return self.totp is not None and self.totp.confirmed

    @property
    def profile(self) -> AdminProfile:
        return AdminProfile(self.email, self.roles, self.active, self.epoch, self.created_at, self.updated_at)

    def with_active(self, active: bool, now: datetime) -> AdminAccount:
        return replace(self, active=active, updated_at=now)

    def logged_in(self, now: datetime) -> AdminAccount:
        return replace(self, failed_logins=0, locked_until=None, last_login_at=now)

    def failed_login(self, now: datetime) -> AdminAccount:
        """One more wrong password since the last login (counted, never a lock)."""
        return replace(self, failed_logins=self.failed_logins + 1, locked_until=None, updated_at=now)


class ConsoleSession(Struct, frozen=True):
    """A signed-in browser of the back-office console, kept server-side.

    The browser holds only a random id in an HttpOnly cookie; the store keeps its
    SHA-256 (``key``), so a read of the store gives no usable session. The admin
    token inside never reaches a page script. The session ends at sign-out
    (``ended_at``), after ``idle`` without a request, or when its token expires."""

    key: str
    email: str
    token: str
    created_at: datetime
    seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None

    def open_at(self, now: datetime, idle: timedelta) -> bool:
        return self.ended_at is None and now < self.expires_at and now - self.seen_at < idle

    def seen(self, now: datetime) -> ConsoleSession:
        return replace(self, seen_at=now)

    def ended(self, now: datetime) -> ConsoleSession:
        return replace(self, ended_at=now)
