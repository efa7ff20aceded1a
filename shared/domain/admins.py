"""Back-office accounts: an admin's password hash, roles and login state."""

from __future__ import annotations

import enum
from datetime import datetime

from msgspec import Struct
from msgspec.structs import replace


class Role(enum.StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"
    MANAGER = "manager"
    ACCOUNTANT = "accountant"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)


class PasswordHash(Struct, frozen=True):
    """An scrypt hash with its parameters and per-user salt (hex)."""

    salt: str
    hash: str
    n: int
    r: int
    p: int
    algo: str = "scrypt"


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
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None = None

    @property
    def profile(self) -> AdminProfile:
        return AdminProfile(self.email, self.roles, self.active, self.epoch, self.created_at, self.updated_at)

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def with_active(self, active: bool, now: datetime) -> AdminAccount:
        return replace(self, active=active, updated_at=now)

    def logged_in(self, now: datetime) -> AdminAccount:
        return replace(self, failed_logins=0, locked_until=None, last_login_at=now)

    def failed_login(self, *, max_failures: int, lock_until: datetime, now: datetime) -> AdminAccount:
        """One more wrong password; the ``max_failures``-th locks the login until ``lock_until``."""
        failures = self.failed_logins + 1
        locked = lock_until if failures >= max_failures else None
        return replace(self, failed_logins=0 if locked else failures, locked_until=locked, updated_at=now)
