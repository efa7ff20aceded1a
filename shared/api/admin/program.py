"""Admin login and the program config: its view, history and replacement."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    Field,
)

from shared.api.admin.common import Key, Reason, Role, UtcDatetime, _In, _Out
from shared.domain.config import ProgramConfig
from shared.domain.program import Publication

# --- login -----------------------------------------------------------------------------


class LoginRequest(_In):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    otp: str | None = Field(default=None, pattern=r"^[0-9]{6}$", description="The authenticator's current code (accounts with two-factor login).")
    recovery_code: str | None = Field(default=None, min_length=10, max_length=16, pattern=r"^[0-9A-Fa-f -]+$", description="One of the recovery codes, instead of `otp`; each works once.")


class LoginResponse(_Out):
    token: str = Field(description="An admin token (typ admin); send it as Authorization: Bearer.")
    expires_at: datetime
    email: str
    roles: list[Role]
    mfa: bool = Field(default=False, description="Issued after the second factor.")
    mfa_setup_required: bool = Field(
        default=False, description="These roles (admin, accountant, manager) act only after a second factor: the token only sets it up (`/mfa/setup`, `/mfa/confirm`) and reads `/me`."
    )


class MfaSetupResponse(_Out):
    secret: str = Field(description="The authenticator's base32 secret (pending until confirmed).")
    otpauth_uri: str = Field(description="The same as an otpauth:// URI, for a QR code.")


class MfaConfirmRequest(_In):
    otp: str = Field(pattern=r"^[0-9]{6}$", description="A current code of the pending authenticator.")


class MfaConfirmResponse(LoginResponse):
    recovery_codes: list[str] = Field(description="Ten single-use recovery codes, shown only now (only their hashes are kept).")


class MeResponse(_Out):
    email: str
    roles: list[Role]
    permissions: list[str] = Field(description="The actions these roles may perform.")


# --- the program ----------------------------------------------------------------------


class ScheduledVersion(_Out):
    version: int
    effective_from: datetime


class ConfigResponse(_Out):
    program: str
    version: int
    effective_from: datetime
    author: str
    reason: str
    created_at: datetime
    config: ProgramConfig
    scheduled: list[ScheduledVersion] = Field(description="Versions published to apply later.")


class ConfigReplaceRequest(_In):
    config: dict[str, Any] = Field(description="A whole ProgramConfig (see the ProgramConfig schema); validated as a unit: fields of errors are paths inside it.")
    reason: Reason
    effective_from: UtcDatetime | None = Field(default=None, description="When it applies; default now. Never in the past.")
    idempotency_key: Key = Field(
        description="Chosen by the caller: the same request again answers the version published the first time; the key with another config, reason or date is 409 idempotency_conflict."
    )


class ConfigChangeView(_Out):
    """One difference of a new config from the latest version."""

    path: str = Field(description="The field, e.g. welcome.standard or levels.level2.accrual_percent (levels, groups and rules by code).")
    before: Any = Field(description="The value in the latest version (null: absent).")
    after: Any = Field(description="The value in the new config (null: removed).")
    touches_money: bool = Field(description="False only for names and privileges: such a change alone is published at once.")


class ConfigReplaceResponse(_Out):
    program: str
    status: Literal["published", "pending_approval"] = Field(default="published", description="A change that touches money waits for a second admin.")
    version: int | None = Field(default=None, description="The version published (null while it waits for approval).")
    effective_from: datetime | None = Field(default=None, description="When it applies (null while it waits: from its approval, or the date asked if later).")
    approval_id: str | None = Field(default=None, description="The approval it waits for.")
    changes: list[ConfigChangeView] = Field(default_factory=list, description="What it changes against the latest version.")


class PublicationEntry(_Out):
    """One publication of the program's config: who published which version, when and why."""

    action: str
    actor: str
    at: datetime
    version: int
    effective_from: datetime
    reason: str
    changed: list[str] = Field(description="The config's top-level fields this version changed.")

    @classmethod
    def of(cls, publication: Publication) -> PublicationEntry:
        p = publication
        return cls(action=p.action, actor=p.actor, at=p.at, version=p.version, effective_from=p.effective_from, reason=p.reason, changed=list(p.changed))


class ConfigHistoryResponse(_Out):
    program: str
    entries: list[PublicationEntry] = Field(description="The program's publication log, newest first: actor, at, version, effective_from, reason, changed fields.")


