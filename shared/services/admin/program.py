"""The program's config in the back office: the version in force, its history, a new version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.api.admin import (
    ConfigHistoryResponse,
    ConfigReplaceResponse,
    ConfigResponse,
    PublicationEntry,
    ScheduledVersion,
)
from shared.domain.config import ConfigVersion
from shared.domain.errors import ValidationFailed
from shared.domain.ledger import require_utc
from shared.edge.admin_auth import Admin
from shared.services import program as program_service
from shared.services.admin import audit as _audit
from shared.services.admin.common import required_reason
from shared.services.ports import Store, UnitOfWork


def config_view(store: Store, admin: Admin, *, program_name: str, now: datetime) -> ConfigResponse:
    """The config in force, and the versions scheduled after now."""
    admin.require("config.read")
    current = program_service.in_force(store, program_name, now)
    scheduled = [ScheduledVersion(version=ref.version, effective_from=ref.effective_from) for ref in program_service.scheduled(store, program_name, now)]
    return ConfigResponse(
        program=program_name,
        version=current.version,
        effective_from=current.effective_from,
        author=current.author,
        reason=current.reason,
        created_at=current.created_at,
        config=current.config,
        scheduled=scheduled,
    )


def config_history(store: Store, admin: Admin, *, program_name: str, limit: int = 50) -> ConfigHistoryResponse:
    admin.require("config.read")
    return ConfigHistoryResponse(program=program_name, entries=[PublicationEntry.of(p) for p in program_service.publications(store, program_name, limit=limit)])


def replace_config(store: Store, admin: Admin, *, program_name: str, raw: Any, reason: str, effective_from: datetime | None, key: str, now: datetime) -> ConfigReplaceResponse:
    """Validate and publish a whole new config (versioned, dated; an invalid one changes nothing).

    Idempotent by ``key``: the same request again (a double click, a retry) answers the version
    published the first time and publishes nothing; the key with another config, reason or date
    is an ``idempotency_conflict``."""
    admin.require("config.replace")
    require_utc(now)
    reason = required_reason(reason)
    if isinstance(raw, dict) and raw.get("program") != program_name:
        raise ValidationFailed(
            f"invalid program config: program: this deployment runs {program_name!r}",
            field="program",
            errors=[{"field": "program", "error": f"must be {program_name!r}"}],
            message_ru="Некорректная конфигурация программы: program",
        )

    def answer(version: ConfigVersion) -> ConfigReplaceResponse:
        return ConfigReplaceResponse(program=program_name, version=version.version, effective_from=version.effective_from)

    def record(uow: UnitOfWork, version: ConfigVersion) -> None:
        params = {"reason": reason, "effective_from": version.effective_from}
        _audit.audit_in(uow, admin, action="config.replace", target=f"program:{program_name}", params=params, result=answer(version).model_dump(), now=now)

    published = program_service.publish(store, raw=raw, author=admin.email, reason=reason, effective_from=effective_from, now=now, then=record, key=key)
    return answer(published)
