"""The program's config in the back office: the version in force, its history, a new version.

A new version that touches money waits for a second admin (maker-checker,
:mod:`shared.services.admin.approvals`); one that only renames is published at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.api.admin import (
    ConfigChangeView,
    ConfigHistoryResponse,
    ConfigReplaceResponse,
    ConfigResponse,
    PublicationEntry,
    ScheduledVersion,
)
from shared.domain.config import ConfigVersion, ProgramConfig, parse_config
from shared.domain.config_diff import config_changes, touches_money
from shared.domain.errors import IdempotencyConflict, ValidationFailed
from shared.domain.ledger import require_utc
from shared.edge.admin_auth import Admin
from shared.services import program as program_service
from shared.services.admin import audit as _audit
from shared.services.admin.approvals import approval_id_for, request_in
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
    """Validate a whole new config and publish it (versioned, dated; an invalid one changes nothing),
    or, when it touches money, record it for a second admin's approval.

    It is compared with the program's latest version (:mod:`shared.domain.config_diff`):
    a change of names only is published at once; any other waits as a pending
    approval whose params hold the config, the version it was compared with and
    the changes. Idempotent by ``key``: the same request again (a double click, a
    retry) answers the version published or the approval recorded the first time;
    the key with another config, reason or date is an ``idempotency_conflict``.
    """
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
    config = parse_config(raw)
    if effective_from is not None:
        require_utc(effective_from, "effective_from")
    target = f"program:{program_name}"
    asked = store.read(lambda uow: uow.approvals.get(approval_id_for(admin.email, "config.replace", target, key)))
    if asked is not None:  # the key asked for an approval before: answered as then, whatever was published since
        if (asked.params.get("config"), asked.reason, asked.params.get("effective_from")) != (config.model_dump(mode="json"), reason, effective_from):
            raise IdempotencyConflict("this idempotency key was used for another config change", key=key, approval_id=asked.id)
        before = [ConfigChangeView.model_validate(change) for change in asked.params.get("changes", [])]
        return ConfigReplaceResponse(program=program_name, status="pending_approval", effective_from=effective_from, approval_id=asked.id, changes=before)
    head = program_service.head(store, program_name)
    latest = head.latest
    replayed = head.published_as(key)  # published with this key before: the publication answers (or refuses) it below
    if replayed is None and effective_from is not None and effective_from < now:
        raise ValidationFailed("effective_from must not be in the past", field="effective_from", message_ru="Дата вступления в силу не может быть в прошлом.")
    compared = replayed.version - 1 if replayed is not None else (latest.version if latest else 0)
    base = program_service.version(store, program_name, compared) if compared else None
    changes = config_changes(base.config if base else None, config)
    shown = [ConfigChangeView.model_validate(change.view()) for change in changes]
    if replayed is None and touches_money(changes):
        base_version = latest.version if latest else 0
        return _request(store, admin, program_name=program_name, config=config, base_version=base_version, changes=shown, reason=reason, effective_from=effective_from, key=key, now=now)

    def answer(version: ConfigVersion) -> ConfigReplaceResponse:
        return ConfigReplaceResponse(program=program_name, version=version.version, effective_from=version.effective_from, changes=shown)

    def record(uow: UnitOfWork, version: ConfigVersion) -> None:
        params = {"reason": reason, "effective_from": version.effective_from}
        _audit.audit_in(uow, admin, action="config.replace", target=f"program:{program_name}", params=params, result=answer(version).model_dump(), now=now)

    published = program_service.publish(
        store, raw=raw, author=admin.email, reason=reason, effective_from=effective_from, now=now, then=record, key=key, expect_version=latest.version if latest else 0
    )
    return answer(published)


def _request(
    store: Store,
    admin: Admin,
    *,
    program_name: str,
    config: ProgramConfig,
    base_version: int,
    changes: list[ConfigChangeView],
    reason: str,
    effective_from: datetime | None,
    key: str,
    now: datetime,
) -> ConfigReplaceResponse:
    """Record a change that touches money for a second admin (idempotent by the request's key)."""
    body = config.model_dump(mode="json")
    params = {
        "program": program_name,
        "config": body,
        "effective_from": effective_from,
        "base_version": base_version,
        "changes": [c.model_dump(mode="json") for c in changes],
    }
    approval = store.run(lambda uow: request_in(uow, admin, action="config.replace", target=f"program:{program_name}", params=params, key=key, reason=reason, now=now))
    return ConfigReplaceResponse(program=program_name, status="pending_approval", effective_from=effective_from, approval_id=approval.id, changes=changes)
