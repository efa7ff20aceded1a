"""Back-office credentials: admin users, their passwords, tokens and roles.

Admins are not customers. They live in ``admins/{email}`` (the e-mail
stripped and lower-cased)::

    {email, password: {algo: "scrypt", n, r, p, salt, hash}, roles: [...], active,
     epoch, failed_logins, locked_until, created_at, updated_at}

* Passwords are hashed with :func:`hashlib.scrypt` and a random per-user salt;
  the parameters are stored with the hash so they can be raised later.
* ``POST /login`` answers an **admin token**: an HS256 JWT like the
  customers' (:mod:`shared.platform.tokens`) but signed with another secret,
  ``KOPILKA_ADMIN_TOKEN_SECRET``, and of type ``"admin"``, carrying the
  roles and the admin's ``epoch``. A customer token is therefore refused here
  (wrong signature, and wrong type even if the secrets were equal), and an
  admin token is refused by the customer endpoints (same reasons). Admin
  tokens are not issued at all while the two secrets are equal or unset.
* Every request re-reads ``admins/{email}``: a deactivated admin, a password
  reset (``epoch`` moves on) or a role taken away apply at once, not when the
  token expires. The roles in force are those of the token that the admin
  still holds.
* Five wrong passwords in a row lock the login for 15 minutes.

Roles and what each may do (:data:`PERMISSIONS`; the table is repeated in
``functions/admin/main.py``): ``admin`` and ``marketer`` run the program
(config, promo codes, mass accruals, manual adjustments, levels and groups);
``manager`` decides payouts, places call-centre orders and blocks customers;
``accountant`` only reads customers, ledgers and the liability report.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.errors import Forbidden, InvalidState, Unauthorized, ValidationFailed
from shared.domain.ledger import require_utc
from shared.platform import tokens
from shared.platform.settings import settings
from shared.services.ports import Store, UnitOfWork

ADMINS = "admins"
ROLES = ("admin", "marketer", "manager", "accountant")
TOKEN_KIND = "admin"
MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_EMAIL = re.compile(r"[^@\s/]{1,64}@[^@\s/]{1,190}\.[^@\s/.]{1,63}")

_PROGRAM = ("admin", "marketer")
_READ = ("admin", "marketer", "manager", "accountant")

#: action -> the roles that may perform it (an approval is decided by the roles of its action)
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "config.read": _PROGRAM,
    "config.replace": _PROGRAM,
    "promo.read": _PROGRAM,
    "promo.create": _PROGRAM,
    "promo.deactivate": _PROGRAM,
    "mass_accrual.read": _PROGRAM,
    "mass_accrual.run": _PROGRAM,
    "ledger.adjust": _PROGRAM,
    "customer.level": _PROGRAM,
    "customer.group": _PROGRAM,
    "payout.read": ("manager", "accountant"),
    "payout.approve": ("manager",),
    "payout.reject": ("manager",),
    "payout.mark_paid": ("manager",),
    "order.call_centre": ("manager",),
    "customer.block": ("manager",),
    "customer.read": _READ,
    "ledger.read": _READ,
    "report.liability": ("admin", "marketer", "accountant"),
    "audit.read": ("admin", "accountant"),
    "approval.read": ("admin", "marketer", "manager"),
}


def allowed(roles: Iterable[str], action: str) -> bool:
    return bool(set(roles) & set(PERMISSIONS[action]))


@dataclass(frozen=True)
class Admin:
    """The authenticated back-office user of a request."""

    email: str
    roles: tuple[str, ...]

    def can(self, action: str) -> bool:
        return allowed(self.roles, action)

    def require(self, action: str) -> Admin:
        if not self.can(action):
            raise Forbidden(
                f"the role(s) {', '.join(self.roles) or '(none)'} may not {action}",
                message_ru="Недостаточно прав для этого действия.",
                action=action,
                roles=list(self.roles),
                required=list(PERMISSIONS[action]),
            )
        return self


# --- passwords ----------------------------------------------------------------------


def hash_password(password: str, *, salt: bytes | None = None, params: dict[str, int] | None = None) -> dict[str, Any]:
    p = dict(params or SCRYPT)
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=p["n"], r=p["r"], p=p["p"], dklen=32, maxmem=256 * 1024 * 1024)
    return {"algo": "scrypt", **p, "salt": salt.hex(), "hash": digest.hex()}


def check_password(record: dict[str, Any] | None, password: str) -> bool:
    """Constant-time comparison; an unknown user still costs one hash (no timing oracle)."""
    if not record or record.get("algo") != "scrypt":
        hash_password(password, salt=b"\0" * 16)
        return False
    params = {"n": int(record["n"]), "r": int(record["r"]), "p": int(record["p"])}
    candidate = hash_password(password, salt=bytes.fromhex(record["salt"]), params=params)
    return hmac.compare_digest(candidate["hash"], record["hash"])


def normalize_email(email: str) -> str:
    canonical = (email or "").strip().lower()
    if not _EMAIL.fullmatch(canonical):
        raise ValidationFailed("not an e-mail address", field="email", message_ru="Некорректный адрес электронной почты.")
    return canonical


def admin_path(email: str) -> str:
    return f"{ADMINS}/{email}"


def _roles(roles: Iterable[str]) -> list[str]:
    chosen = sorted(set(roles))
    unknown = [r for r in chosen if r not in ROLES]
    if unknown or not chosen:
        raise ValidationFailed(f"roles must be a non-empty subset of {', '.join(ROLES)}", field="roles", unknown=unknown)
    return chosen


def create_admin(store: Store, *, email: str, password: str, roles: Iterable[str], now: datetime, replace: bool = False) -> dict[str, Any]:
    """Create a back-office user (setup, tests, ``python -m scripts.create_admin``).

    An existing admin is refused unless ``replace``: then the password and
    roles are replaced, the admin is active again, and every token issued
    before is void (``epoch`` moves on). Answers the stored record without
    the password hash.
    """
    require_utc(now)
    canonical = normalize_email(email)
    chosen = _roles(roles)
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(f"a password has at least {MIN_PASSWORD} characters", field="password")
    hashed = hash_password(password)

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        existing = uow.get(admin_path(canonical))
        if existing is not None and not replace:
            raise InvalidState(f"admin {canonical} exists already", email=canonical)
        record = {
            "email": canonical,
            "password": hashed,
            "roles": chosen,
            "active": True,
            "epoch": int((existing or {}).get("epoch", 0)) + (1 if existing else 0),
            "failed_logins": 0,
            "locked_until": None,
            "created_at": (existing or {}).get("created_at", now),
            "updated_at": now,
        }
        uow.put(admin_path(canonical), record)
        return record

    record = store.run(unit)
    return {k: v for k, v in record.items() if k != "password"}


def set_active(store: Store, *, email: str, active: bool, now: datetime) -> None:
    canonical = normalize_email(email)

    def unit(uow: UnitOfWork) -> None:
        existing = uow.get(admin_path(canonical))
        if existing is None:
            raise InvalidState(f"no admin {canonical}", email=canonical)
        uow.put(admin_path(canonical), {**existing, "active": active, "updated_at": now})

    store.run(unit)


# --- tokens ---------------------------------------------------------------------------


def _secret() -> str:
    s = settings()
    if not s.admin_token_secret or hmac.compare_digest(s.admin_token_secret.encode(), s.token_secret.encode()):
        raise Unauthorized("admin tokens are not configured (KOPILKA_ADMIN_TOKEN_SECRET, distinct from the customer secret)", message_ru="Вход в панель управления не настроен.")
    return s.admin_token_secret


def _bad_login() -> Unauthorized:
    return Unauthorized("wrong e-mail or password", message_ru="Неверный адрес или пароль.")


def login(store: Store, *, email: str, password: str, now: datetime) -> dict[str, Any]:
    """Check a password and issue an admin token: ``{token, expires_at, email, roles}``."""
    require_utc(now)
    secret = _secret()
    try:
        canonical = normalize_email(email)
    except ValidationFailed:
        check_password(None, password)
        raise _bad_login() from None
    record = store.get(admin_path(canonical))
    if record is not None and record.get("locked_until") is not None and record["locked_until"] > now:
        minutes = max(1, math.ceil((record["locked_until"] - now).total_seconds() / 60))
        raise Unauthorized("too many wrong passwords: try again later", message_ru=f"Слишком много неудачных попыток. Повторите через {minutes} мин.", locked_until=record["locked_until"].isoformat())
    ok = check_password(record.get("password") if record else None, password)
    if record is None:
        raise _bad_login()

    def unit(uow: UnitOfWork) -> dict[str, Any]:
        current = uow.get(admin_path(canonical)) or record
        if ok:
            if current.get("failed_logins") or current.get("locked_until"):
                uow.put(admin_path(canonical), {**current, "failed_logins": 0, "locked_until": None, "last_login_at": now})
            return current
        failures = int(current.get("failed_logins", 0)) + 1
        locked = now + timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None
        uow.put(admin_path(canonical), {**current, "failed_logins": 0 if locked else failures, "locked_until": locked, "updated_at": now})
        return current

    current = store.run(unit)
    if not ok or not current.get("active", False):
        raise _bad_login()
    roles = [r for r in current.get("roles", []) if r in ROLES]
    ttl = settings().admin_token_ttl_seconds
    token = tokens.issue(secret, subject=canonical, now=now, ttl_seconds=ttl, kind=TOKEN_KIND, roles=roles, epoch=int(current.get("epoch", 0)))
    return {"token": token, "expires_at": now + timedelta(seconds=ttl), "email": canonical, "roles": roles}


def authenticate(store: Store, request: Any, now: datetime) -> Admin:
    """The admin behind the request's bearer token, or :class:`Unauthorized`."""
    token = tokens.bearer(request)
    if token is None:
        raise Unauthorized("an admin token is required (Authorization: Bearer …)", message_ru="Войдите в панель управления.")
    claims = tokens.verify(_secret(), token, now=now, kind=TOKEN_KIND)
    email = str(claims["sub"])
    record = store.get(admin_path(email)) if _EMAIL.fullmatch(email) else None
    if record is None or not record.get("active", False) or int(record.get("epoch", 0)) != claims.get("epoch"):
        raise Unauthorized("this admin session is no longer valid", message_ru="Сессия недействительна, войдите снова.")
    held = set(record.get("roles", []))
    roles = tuple(r for r in ROLES if r in held and r in set(claims.get("roles") or []))
    return Admin(email=email, roles=roles)
