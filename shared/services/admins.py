"""Back-office accounts: creating admins, passwords, logging in and the account behind a token.

An account lives in ``admins/{email}`` (the e-mail stripped and lower-cased;
:class:`~shared.domain.admins.AdminAccount`). Passwords are hashed with
Argon2id (:mod:`shared.services.passwords`); an scrypt hash of before is
replaced on its next successful login. Wrong passwords never lock an account:
each attempt first takes a slot of its address's throttle in a transaction
(:func:`~shared.domain.admins.login_windows`), so concurrent guesses cannot
pass it, and only then is the password checked; every refusal has one
message whichever e-mail it names, and every attempt is logged with its
address and target. A successful login answers an admin
token (an HS256 JWT of type ``"admin"``, signed with
``KOPILKA_ADMIN_TOKEN_SECRET``) carrying the roles and the account's
``epoch``; a password reset moves the epoch on, voiding older tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from msgspec import Struct
from msgspec.structs import replace as with_fields

from shared.api.admin import LoginResponse
from shared.domain.admins import ROLES, AdminAccount, AdminProfile, LoginThrottled, Role, login_refusal, login_windows
from shared.domain.errors import InvalidState, Unauthorized, ValidationFailed
from shared.domain.ledger import require_utc
from shared.domain.mfa import mfa_required
from shared.domain.otp import IpCounter, IpWindow
from shared.platform import tokens
from shared.platform.settings import settings
from shared.services.admin_mfa import OtpInvalid, OtpRequired, second_factor
from shared.services.passwords import check_password, hash_password, needs_rehash
from shared.services.ports import Store, UnitOfWork

log = logging.getLogger("kopilka")

TOKEN_KIND = "admin"
MIN_PASSWORD = 10
EMAIL = re.compile(r"[^@\s/]{1,64}@[^@\s/]{1,190}\.[^@\s/.]{1,63}")


def normalize_email(email: str) -> str:
    canonical = (email or "").strip().lower()
    if not EMAIL.fullmatch(canonical):
        raise ValidationFailed("not an e-mail address", field="email", message_ru="Некорректный адрес электронной почты.")
    return canonical


def _roles(roles: Iterable[str]) -> tuple[Role, ...]:
    chosen = sorted(set(roles))
    unknown = [r for r in chosen if r not in ROLES]
    if unknown or not chosen:
        raise ValidationFailed(f"roles must be a non-empty subset of {', '.join(ROLES)}", field="roles", unknown=unknown)
    return tuple(Role(r) for r in chosen)


# --- accounts -----------------------------------------------------------------------


def create_admin(store: Store, *, email: str, password: str, roles: Iterable[str], now: datetime, replace: bool = False) -> AdminProfile:
    """Create a back-office user (setup, tests, ``python -m scripts.create_admin``).

    An existing admin is refused unless ``replace``: then the password and
    roles are replaced, the admin is active again, and every token issued
    before is void (``epoch`` moves on). Answers the account without the
    password hash.
    """
    require_utc(now)
    canonical = normalize_email(email)
    chosen = _roles(roles)
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(f"a password has at least {MIN_PASSWORD} characters", field="password")
    hashed = hash_password(password)

    def unit(uow: UnitOfWork) -> AdminAccount:
        existing = uow.admins.get(canonical)
        if existing is not None and not replace:
            raise InvalidState(f"admin {canonical} exists already", email=canonical)
        account = AdminAccount(
            email=canonical,
            password=hashed,
            roles=chosen,
            active=True,
            epoch=existing.epoch + 1 if existing else 0,
            failed_logins=0,
            locked_until=None,
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
        uow.admins.put(account)
        return account

    return store.run(unit).profile


def set_active(store: Store, *, email: str, active: bool, now: datetime) -> None:
    canonical = normalize_email(email)

    def unit(uow: UnitOfWork) -> None:
        existing = uow.admins.get(canonical)
        if existing is None:
            raise InvalidState(f"no admin {canonical}", email=canonical)
        uow.admins.put(existing.with_active(active, now))

    store.run(unit)


def account(store: Store, email: str) -> AdminAccount | None:
    """The account of an e-mail as a token names it (``None``: unknown, or not an e-mail)."""
    return store.read(lambda uow: uow.admins.get(email)) if EMAIL.fullmatch(email) else None


# --- tokens ---------------------------------------------------------------------------


def token_secret() -> str:
    """The admin tokens' secret; refused while unset or equal to the customers' secret (compared
    directly where it is set, else by its fingerprint, ``KOPILKA_TOKEN_SECRET_FINGERPRINT``)."""
    s = settings()
    shared = hmac.compare_digest(s.admin_token_secret.encode(), s.token_secret.encode()) or hmac.compare_digest(tokens.fingerprint(s.admin_token_secret), s.token_secret_fingerprint)
    if not s.admin_token_secret or shared:
        raise Unauthorized("admin tokens are not configured (KOPILKA_ADMIN_TOKEN_SECRET, distinct from the customer secret)", message_ru="Вход в панель управления не настроен.")
    return s.admin_token_secret


def _bad_login() -> Unauthorized:
    return Unauthorized("wrong e-mail or password", message_ru="Неверный адрес или пароль.")


def _logged(email: str, ip: str | None, outcome: str) -> None:
    fields = {"email": email, "ip": ip or "unknown", "outcome": outcome}
    if outcome == "ok":
        log.info("admin login", extra={"json_fields": fields})
    else:
        log.warning("admin login", extra={"json_fields": fields})


def _bucket(secret: str) -> Callable[[str], str]:
    return lambda scope: hmac.new(secret.encode(), f"admin-login\x00{scope}".encode(), hashlib.sha256).hexdigest()[:32]


def _take_slot(store: Store, windows: list[IpWindow], canonical: str | None, now: datetime) -> AdminAccount | None:
    """One slot of each window, taken before the password is checked (:class:`LoginThrottled`
    when one is full, nothing written); answers the account as it is now."""

    def unit(uow: UnitOfWork) -> AdminAccount | None:
        counters = [(w, _count(uow.ip_rates.get(w.window_id))) for w in windows]
        refused = login_refusal(counters, now)
        if refused is not None:
            raise refused
        for w, count in counters:
            uow.ip_rates.put(w.window_id, IpCounter(count=count + 1, window_ends_at=w.ends_at))
        return uow.admins.get(canonical) if canonical else None

    return store.run(unit)


def _give_back(uow: UnitOfWork, windows: list[IpWindow]) -> None:
    for w in windows:
        counter = uow.ip_rates.get(w.window_id)
        if counter is not None and counter.count > 0:
            uow.ip_rates.put(w.window_id, IpCounter(count=counter.count - 1, window_ends_at=counter.window_ends_at))


def _count(counter: IpCounter | None) -> int:
    return counter.count if counter is not None else 0


class _Settled(Struct, frozen=True):
    account: AdminAccount | None
    outcome: str
    refusal: Unauthorized | None = None


def login(
    store: Store, *, email: str, password: str, now: datetime, ip: str | None = None, otp: str | None = None, recovery_code: str | None = None
) -> LoginResponse:
    """Check a password (and, for an account with an authenticator, its code or a recovery code)
    and issue an admin token.

    Every refusal of the password is :class:`Unauthorized` "Неверный адрес или
    пароль." (a wrong password, an unknown, malformed or inactive account
    alike) or, past the address's throttle,
    :class:`~shared.domain.admins.LoginThrottled` for any e-mail. With the
    right password, an account with an authenticator answers
    :class:`~shared.services.admin_mfa.OtpRequired` without a code and
    :class:`~shared.services.admin_mfa.OtpInvalid` for a wrong or used one.
    """
    require_utc(now)
    secret = token_secret()
    try:
        canonical: str | None = normalize_email(email)
    except ValidationFailed:
        canonical = None
    target = canonical or "(not an e-mail)"
    windows = login_windows(ip, now, bucket=_bucket(secret))
    try:
        found = _take_slot(store, windows, canonical, now)
    except LoginThrottled:
        _logged(target, ip, "throttled")
        raise
    checked = found.password if found else None
    ok = check_password(checked, password)
    outcome = "unknown_account" if found is None else "wrong_password" if not ok else "inactive" if not found.active else "ok"
    rehashed = hash_password(password) if outcome == "ok" and checked is not None and needs_rehash(checked) else None

    def settle(uow: UnitOfWork) -> _Settled:
        current = uow.admins.get(canonical) if canonical else None
        if current is None or (outcome == "ok" and not current.active):
            return _Settled(None, "inactive" if outcome == "ok" else outcome)
        if outcome != "ok":
            if outcome == "wrong_password":
                uow.admins.put(current.failed_login(now))
            return _Settled(None, outcome)
        logged_in = current
        if current.mfa_enabled:
            try:
                logged_in = second_factor(current, otp=otp, recovery_code=recovery_code, now=now)
            except OtpRequired as exc:
                _give_back(uow, windows)  # the right password, asked for its code: not a failure
                return _Settled(None, "otp_required", exc)
            except OtpInvalid as exc:
                uow.admins.put(current.failed_login(now))
                return _Settled(None, "wrong_otp", exc)
        _give_back(uow, windows)  # a successful login gives its slot back
        logged_in = logged_in.logged_in(now)
        if rehashed is not None and current.password == checked:  # not if it changed meanwhile
            logged_in = with_fields(logged_in, password=rehashed)
        uow.admins.put(logged_in)
        return _Settled(logged_in, "ok")

    settled = store.run(settle) if found is not None else _Settled(None, outcome)
    _logged(target, ip, settled.outcome)
    if settled.account is None:
        raise settled.refusal or _bad_login()
    return issue_token(settled.account, mfa=settled.account.mfa_enabled, now=now)


def issue_token(account: AdminAccount, *, mfa: bool, now: datetime) -> LoginResponse:
    """An admin token for ``account``; ``mfa``: issued after its second factor."""
    roles = [r.value for r in account.roles]
    ttl = settings().admin_token_ttl_seconds
    token = tokens.issue(token_secret(), subject=account.email, now=now, ttl_seconds=ttl, kind=TOKEN_KIND, roles=roles, epoch=account.epoch, mfa=mfa)
    return LoginResponse.model_validate(
        {"token": token, "expires_at": now + timedelta(seconds=ttl), "email": account.email, "roles": roles, "mfa": mfa, "mfa_setup_required": mfa_required(roles) and not mfa}
    )
