"""Publishing and reading the program configuration: versioned, dated, audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.domain.config import ConfigVersion, ProgramConfig, parse_config
from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.ledger import require_utc
from shared.services.ports import AUDIT, PROGRAMS, VERSIONS, Store, Then, UnitOfWork


# How long an instance trusts the program head it read (the list of versions and
# their dates). Versions scheduled ahead apply exactly on time, as the head read
# already lists them; a version published to apply at once reaches the other
# instances within this time (the publishing instance sees it immediately).
HEAD_TTL = timedelta(seconds=30)


def _cache(store: Store) -> dict[tuple[str, int], ConfigVersion]:
    """Parsed versions, kept per store instance (a version never changes once written)."""
    cache = getattr(store, "_config_versions", None)
    if cache is None:
        cache = {}
        setattr(store, "_config_versions", cache)
    return cache


def _heads(store: Store) -> dict[str, tuple[datetime, dict[str, Any] | None]]:
    """Program heads as read at a time, per store instance (see :data:`HEAD_TTL`)."""
    heads = getattr(store, "_program_heads", None)
    if heads is None:
        heads = {}
        setattr(store, "_program_heads", heads)
    return heads


def _head(store: Store, program: str, now: datetime) -> dict[str, Any] | None:
    """The program head, read again once :data:`HEAD_TTL` has passed since ``now`` of the last read."""
    cached = _heads(store).get(program)
    if cached is not None and timedelta(0) <= now - cached[0] < HEAD_TTL:
        return cached[1]
    head = store.get(head_path(program))
    _heads(store)[program] = (now, head)
    return head


def head_path(program: str) -> str:
    return f"{PROGRAMS}/{program}"


def _changed_fields(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    if old is None:
        return sorted(new)
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def publish(store: Store, *, raw: Any, author: str, reason: str, effective_from: datetime, now: datetime, then: Then | None = None) -> ConfigVersion:
    """Validate and store a new version of the program config.

    An invalid config raises :class:`ValidationFailed` naming the fields and
    writes nothing; the version in force stays. The new version applies
    from ``effective_from`` (not earlier than ``now``) and every publication
    lands in the program's audit log with the author, time and changed fields.
    """
    require_utc(now)
    require_utc(effective_from, "effective_from")
    if not author:
        raise ValidationFailed("a config change needs an author", field="author")
    if effective_from < now:
        raise ValidationFailed("effective_from must not be in the past", field="effective_from", message_ru="Дата вступления в силу не может быть в прошлом.")
    config = parse_config(raw)
    body = config.model_dump(mode="json")

    def unit(uow: UnitOfWork) -> ConfigVersion:
        head = uow.get(head_path(config.program)) or {"program": config.program, "versions": []}
        versions = list(head["versions"])
        if versions and effective_from < max(v["effective_from"] for v in versions):
            raise ValidationFailed(
                "effective_from must not precede an already scheduled version",
                field="effective_from",
            )
        previous = uow.get(f"{head_path(config.program)}/{VERSIONS}/{versions[-1]['version']}") if versions else None
        number = len(versions) + 1
        record = {"version": number, "effective_from": effective_from, "config": body, "author": author, "reason": reason, "created_at": now}
        uow.create(f"{head_path(config.program)}/{VERSIONS}/{number}", record)
        uow.put(head_path(config.program), {**head, "versions": versions + [{"version": number, "effective_from": effective_from}]})
        uow.create(
            f"{head_path(config.program)}/{AUDIT}/v{number:06d}",
            {
                "action": "config.publish",
                "actor": author,
                "at": now,
                "version": number,
                "effective_from": effective_from,
                "reason": reason,
                "changed": _changed_fields(previous["config"] if previous else None, body),
            },
        )
        version = ConfigVersion(version=number, effective_from=effective_from, config=config, author=author, reason=reason, created_at=now)
        if then is not None:
            then(uow, version)
        return version

    published = store.run(unit)
    _heads(store).pop(config.program, None)
    return published


def in_force(store: Store, program: str, now: datetime) -> ConfigVersion:
    """The config version that applies at ``now`` (parsed once per version per instance;
    the head listing the versions is re-read after :data:`HEAD_TTL`)."""
    head = _head(store, program, now)
    candidates = [v for v in (head or {}).get("versions", []) if v["effective_from"] <= now]
    if not candidates:
        raise NotFound(f"program {program!r} has no config in force", program=program)
    number = max(candidates, key=lambda v: (v["effective_from"], v["version"]))["version"]
    cached = _cache(store).get((program, number))
    if cached is None:
        record = store.get(f"{head_path(program)}/{VERSIONS}/{number}")
        if record is None:
            raise NotFound(f"program {program!r} version {number} is missing", program=program, version=number)
        cached = ConfigVersion(
            version=number,
            effective_from=record["effective_from"],
            config=ProgramConfig.model_validate(record["config"]),
            author=record["author"],
            reason=record.get("reason", ""),
            created_at=record["created_at"],
        )
        _cache(store)[(program, number)] = cached
    return cached


def audit_log(store: Store, program: str, limit: int = 50) -> list[dict[str, Any]]:
    return [data for _, data in store.ordered(f"{head_path(program)}/{AUDIT}", order_by="version", descending=True, limit=limit)]
