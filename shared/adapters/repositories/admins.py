"""The repository of back-office accounts: ``admins/{email}``."""

from __future__ import annotations

from typing import Any

from shared.adapters import layout
from shared.adapters.repositories.base import Repository
from shared.domain.admins import ROLES, AdminAccount, ConsoleSession, PasswordHash, Role
from shared.domain.mfa import Totp


def _password(raw: Any) -> PasswordHash | None:
    if not isinstance(raw, dict) or "hash" not in raw:
        return None
    if raw.get("algo") == "argon2id":
        return PasswordHash(algo="argon2id", hash=raw["hash"])
    if "salt" not in raw:
        return None
    return PasswordHash(salt=raw["salt"], hash=raw["hash"], n=int(raw["n"]), r=int(raw["r"]), p=int(raw["p"]), algo=raw.get("algo", ""))


def _password_document(pw: PasswordHash | None) -> dict[str, Any] | None:
    if pw is None:
        return None
    if pw.algo == "argon2id":
        return {"algo": pw.algo, "hash": pw.hash}
    return {"algo": pw.algo, "n": pw.n, "r": pw.r, "p": pw.p, "salt": pw.salt, "hash": pw.hash}


def _account(email: str, data: dict[str, Any]) -> AdminAccount:
    return AdminAccount(
        email=data.get("email", email),
        password=_password(data.get("password")),
        roles=tuple(Role(r) for r in data.get("roles", []) if r in ROLES),
        active=bool(data.get("active", False)),
        epoch=int(data.get("epoch", 0)),
        failed_logins=int(data.get("failed_logins", 0)),
        locked_until=data.get("locked_until"),
        created_at=data["created_at"],
        updated_at=data["updated_at"],
        last_login_at=data.get("last_login_at"),
        totp=_totp(data.get("totp")),
        recovery_codes=tuple(str(h) for h in data.get("recovery_codes", [])),
    )


def _totp(raw: Any) -> Totp | None:
    if not isinstance(raw, dict) or not raw.get("secret"):
        return None
    return Totp(secret=str(raw["secret"]), created_at=raw["created_at"], confirmed_at=raw.get("confirmed_at"), last_step=int(raw.get("last_step", -1)))


def _document(account: AdminAccount) -> dict[str, Any]:
    document: dict[str, Any] = {
        "email": account.email,
        "password": _password_document(account.password),
        "roles": [r.value for r in account.roles],
        "active": account.active,
        "epoch": account.epoch,
        "failed_logins": account.failed_logins,
        "locked_until": account.locked_until,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }
    if account.last_login_at is not None:
        document["last_login_at"] = account.last_login_at
    if account.totp is not None:
        t = account.totp
        document["totp"] = {"secret": t.secret, "created_at": t.created_at, "confirmed_at": t.confirmed_at, "last_step": t.last_step}
    if account.recovery_codes:
        document["recovery_codes"] = list(account.recovery_codes)
    return document


class AdminRepository(Repository):
    """``{email, password: {algo: argon2id, hash} (or {algo: scrypt, n, r, p, salt, hash}), roles, active, epoch, failed_logins,
    locked_until, created_at, updated_at[, last_login_at][, totp: {secret, created_at,
    confirmed_at, last_step}][, recovery_codes: [sha256]]}``."""

    def get(self, email: str) -> AdminAccount | None:
        data = self._docs.get(layout.admin(email))
        return None if data is None else _account(email, data)

    def put(self, account: AdminAccount) -> None:
        self._docs.put(layout.admin(account.email), _document(account))


class ConsoleSessionRepository(Repository):
    """``uow.console_sessions``: ``{key, email, token, created_at, seen_at, expires_at, ended_at}``."""

    def get(self, key: str) -> ConsoleSession | None:
        data = self._docs.get(layout.console_session(key))
        if data is None:
            return None
        return ConsoleSession(
            key=key,
            email=data["email"],
            token=data["token"],
            created_at=data["created_at"],
            seen_at=data["seen_at"],
            expires_at=data["expires_at"],
            ended_at=data.get("ended_at"),
        )

    def put(self, session: ConsoleSession) -> None:
        s = session
        document = {"key": s.key, "email": s.email, "token": s.token, "created_at": s.created_at, "seen_at": s.seen_at, "expires_at": s.expires_at, "ended_at": s.ended_at}
        self._docs.put(layout.console_session(s.key), document)
