"""Enrolling a back-office user's authenticator (TOTP) and the second factor at login.

``setup_totp`` stores a new pending secret (replacing a pending one; refused
once one is confirmed) and answers it with its ``otpauth://`` URI for the
authenticator app; ``confirm_totp`` takes a code of it, confirms it, and
answers the ten recovery codes (once: only their hashes are kept) with a new
token that carries the second factor. ``second_factor`` is the check
:func:`shared.services.admins.login` makes inside its transaction, so a
code or recovery code is used at most once however many logins race.
"""

from __future__ import annotations

from datetime import datetime

from msgspec.structs import replace

from shared.api.admin import LoginResponse, MfaConfirmResponse, MfaSetupResponse
from shared.domain.admins import AdminAccount
from shared.domain.errors import InvalidState, Unauthorized
from shared.domain.ledger import require_utc
from shared.domain.mfa import Totp, new_recovery_codes, recovery_hash
from shared.services.ports import Store, UnitOfWork


class OtpRequired(Unauthorized):
    """The password was right; this account also needs its authenticator's code (or a recovery code)."""

    code = "otp_required"
    message_ru = "Введите код из приложения-аутентификатора."


class OtpInvalid(Unauthorized):
    """A wrong, used or stale authenticator code, or an unknown or used recovery code."""

    code = "otp_invalid"
    message_ru = "Неверный код подтверждения."


def _account(uow: UnitOfWork, email: str) -> AdminAccount:
    account = uow.admins.get(email)
    if account is None or not account.active:
        raise Unauthorized("this admin session is no longer valid", message_ru="Сессия недействительна, войдите снова.")
    return account


def setup_totp(store: Store, *, email: str, now: datetime) -> MfaSetupResponse:
    """A new pending authenticator secret for the admin ``email`` (authenticated by the caller)."""
    require_utc(now)

    def unit(uow: UnitOfWork) -> Totp:
        account = _account(uow, email)
        if account.mfa_enabled:
            raise InvalidState("two-factor login is on already", message_ru="Двухфакторный вход уже включён.")
        totp = Totp.new(now)
        uow.admins.put(replace(account, totp=totp, updated_at=now))
        return totp

    totp = store.run(unit)
    return MfaSetupResponse.model_validate({"secret": totp.secret, "otpauth_uri": totp.uri(email)})


def confirm_totp(store: Store, *, email: str, code: str, now: datetime) -> MfaConfirmResponse:
    """Confirm the pending authenticator with one of its codes; answers the recovery codes and a
    token with the second factor (:class:`OtpInvalid` for a wrong code, nothing written)."""
    from shared.services import admins  # the token is issued as at login

    require_utc(now)
    codes = new_recovery_codes()

    def unit(uow: UnitOfWork) -> AdminAccount:
        account = _account(uow, email)
        if account.mfa_enabled or account.totp is None:
            raise InvalidState("no authenticator is waiting for confirmation", message_ru="Сначала начните настройку двухфакторного входа.")
        step = account.totp.matching_step(code, now)
        if step is None:
            raise OtpInvalid("wrong authenticator code")
        confirmed = replace(account, totp=account.totp.used(step, now), recovery_codes=tuple(recovery_hash(c) for c in codes), updated_at=now)
        uow.admins.put(confirmed)
        return confirmed

    account = store.run(unit)
    session: LoginResponse = admins.issue_token(account, mfa=True, now=now)
    return MfaConfirmResponse.model_validate({**session.model_dump(), "recovery_codes": codes})


def second_factor(account: AdminAccount, *, otp: str | None, recovery_code: str | None, now: datetime) -> AdminAccount:
    """The account once its second factor is used up, for an account that has one:
    :class:`OtpRequired` without a code, :class:`OtpInvalid` for a wrong or used one."""
    assert account.totp is not None
    if otp:
        step = account.totp.matching_step(otp, now)
        if step is None:
            raise OtpInvalid("wrong, used or stale authenticator code")
        return replace(account, totp=account.totp.used(step, now))
    if recovery_code:
        hashed = recovery_hash(recovery_code)
        if hashed not in account.recovery_codes:
            raise OtpInvalid("unknown or used recovery code")
        return replace(account, recovery_codes=tuple(h for h in account.recovery_codes if h != hashed))
    raise OtpRequired("this account logs in with its authenticator's code")
