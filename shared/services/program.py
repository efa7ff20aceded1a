"""Publishing and reading the program configuration: versioned, dated, audited."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.config import ConfigVersion, parse_config
from shared.domain.errors import IdempotencyConflict, InvalidState, NotFound, ValidationFailed
from shared.domain.ledger import require_utc
from shared.domain.program import ProgramHead, Publication, VersionRef
from shared.services.ports import Store, Then, UnitOfWork

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
        setattr(store, "_config_versions", cache)  # noqa: B010  (a Store protocol has no such attribute)
    return cache


def _heads(store: Store) -> dict[str, tuple[datetime, ProgramHead | None]]:
    """Program heads as read at a time, per store instance (see :data:`HEAD_TTL`)."""
    heads = getattr(store, "_program_heads", None)
    if heads is None:
        heads = {}
        setattr(store, "_program_heads", heads)  # noqa: B010
    return heads


def _head(store: Store, program: str, now: datetime) -> ProgramHead | None:
    """The program head, read again once :data:`HEAD_TTL` has passed since ``now`` of the last read."""
    cached = _heads(store).get(program)
    if cached is not None and timedelta(0) <= now - cached[0] < HEAD_TTL:
        return cached[1]
    head = store.read(lambda uow: uow.programs.head(program))
    _heads(store)[program] = (now, head)
    return head


def head(store: Store, program: str) -> ProgramHead:
    """The program's versions as stored now (no version yet: an empty head)."""
    return store.read(lambda uow: uow.programs.head(program)) or ProgramHead(program)


def scheduled(store: Store, program: str, now: datetime) -> tuple[VersionRef, ...]:
    """The versions published to apply only after ``now``."""
    return head(store, program).scheduled(now)


def _changed_fields(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    if old is None:
        return sorted(new)
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _intent(body: dict[str, Any], *, author: str, reason: str, effective_from: datetime | None) -> str:
    """The digest of what a publication asks for (the date as asked: ``None`` is "now")."""
    asked = {"config": body, "author": author, "reason": reason, "effective_from": effective_from.astimezone(UTC).isoformat() if effective_from else None}
    return hashlib.sha256(json.dumps(asked, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _replayed(uow: UnitOfWork, program: str, head: ProgramHead, key: str | None, intent: str) -> ConfigVersion | None:
    """The version published before with ``key`` (the same intent), ``None`` when the key is new."""
    ref = head.published_as(key) if key is not None else None
    if ref is None:
        return None
    if ref.intent != intent:
        raise IdempotencyConflict("this idempotency key was used to publish another config", key=key, version=ref.version)
    found = uow.programs.version(program, ref.version)
    if found is None:
        raise NotFound(f"program {program!r} version {ref.version} is missing", program=program, version=ref.version)
    return found


def publish(
    store: Store,
    *,
    raw: Any,
    author: str,
    reason: str,
    effective_from: datetime | None,
    now: datetime,
    then: Then | None = None,
    key: str | None = None,
    expect_version: int | None = None,
) -> ConfigVersion:
    """Validate and store a new version of the program config.

    An invalid config raises :class:`ValidationFailed` naming the fields and
    writes nothing; the version in force stays. The new version applies
    from ``effective_from`` (``None``: ``now``; never earlier than ``now``)
    and every publication lands in the program's audit log with the author,
    time and changed fields.

    With an idempotency ``key`` the same publication asked again (the same
    config, author, reason and date as asked) answers the version published
    the first time and writes nothing, ``then`` included; the key with
    anything else is an :class:`IdempotencyConflict`. With ``expect_version``
    it is published only as the version after that one (an approved change
    whose diff was made against it), else :class:`InvalidState`.
    """
    require_utc(now)
    if effective_from is not None:
        require_utc(effective_from, "effective_from")
    if not author:
        raise ValidationFailed("a config change needs an author", field="author")
    config = parse_config(raw)
    body = config.model_dump(mode="json")
    name = config.program
    intent = _intent(body, author=author, reason=reason, effective_from=effective_from)
    if key is not None:  # a replay is answered before the date is checked again: it may be past by now
        earlier = store.read(lambda uow: _replayed(uow, name, uow.programs.head(name) or ProgramHead(name), key, intent))
        if earlier is not None:
            return earlier
    starts = effective_from or now
    if starts < now:
        raise ValidationFailed("effective_from must not be in the past", field="effective_from", message_ru="Дата вступления в силу не может быть в прошлом.")

    def unit(uow: UnitOfWork) -> tuple[ConfigVersion, bool]:
        current = uow.programs.head(name) or ProgramHead(name)
        earlier = _replayed(uow, name, current, key, intent)  # a twin request published it meanwhile
        if earlier is not None:
            return earlier, False
        if current.versions and starts < max(v.effective_from for v in current.versions):
            raise ValidationFailed(
                "effective_from must not precede an already scheduled version",
                field="effective_from",
                message_ru="Дата вступления в силу не может быть раньше уже запланированной версии: выберите более позднее время.",
            )
        latest = current.latest
        if expect_version is not None and (latest.version if latest else 0) != expect_version:
            raise InvalidState(
                "the program changed since this change was made: compare it again",
                expected_version=expect_version,
                latest_version=latest.version if latest else 0,
                message_ru="Программа изменилась после запроса: сравните изменения заново.",
            )
        previous = uow.programs.version(name, latest.version) if latest else None
        number = len(current.versions) + 1
        version = ConfigVersion(version=number, effective_from=starts, config=config, author=author, reason=reason, created_at=now)
        uow.programs.create_version(name, version)
        uow.programs.put_head(current.with_version(VersionRef(number, starts, key, intent if key is not None else None)))
        changed = _changed_fields(previous.config.model_dump(mode="json") if previous else None, body)
        uow.programs.create_publication(
            name, Publication(actor=author, at=now, version=number, effective_from=starts, reason=reason, changed=tuple(changed))
        )
        if then is not None:
            then(uow, version)
        return version, True

    published, fresh = store.run(unit)
    if fresh:
        _heads(store).pop(name, None)
    return published


def in_force(store: Store, program: str, now: datetime) -> ConfigVersion:
    """The config version that applies at ``now`` (parsed once per version per instance;
    the head listing the versions is re-read after :data:`HEAD_TTL`)."""
    ref = (_head(store, program, now) or ProgramHead(program)).in_force(now)
    if ref is None:
        raise NotFound(f"program {program!r} has no config in force", program=program)
    return version(store, program, ref.version)


def version(store: Store, program: str, number: int) -> ConfigVersion:
    """One stored version of the program's config (parsed once per instance)."""
    cached = _cache(store).get((program, number))
    if cached is None:
        cached = store.read(lambda uow: uow.programs.version(program, number))
        if cached is None:
            raise NotFound(f"program {program!r} version {number} is missing", program=program, version=number)
        _cache(store)[(program, number)] = cached
    return cached


def publications(store: Store, program: str, limit: int = 50) -> list[Publication]:
    """The program's publication log, newest version first."""
    return store.read(lambda uow: uow.programs.publications(program, limit=limit))


__all__ = ["HEAD_TTL", "head", "in_force", "publications", "publish", "scheduled", "version"]
