"""The program's stored index of config versions, and the audit record of each publication."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct


class VersionRef(Struct, frozen=True):
    """One published version as the head lists it: its number and when it applies, and, when it was
    published with an idempotency key, that key and the digest of what was asked (``intent``)."""

    version: int
    effective_from: datetime
    key: str | None = None
    intent: str | None = None


class ProgramHead(Struct, frozen=True):
    """``programs/{program}``: every published version of the program's config, in order."""

    program: str
    versions: tuple[VersionRef, ...] = ()

    @property
    def latest(self) -> VersionRef | None:
        return self.versions[-1] if self.versions else None

    def in_force(self, now: datetime) -> VersionRef | None:
        """The version that applies at ``now``: the latest effective date, then the highest number."""
        candidates = [v for v in self.versions if v.effective_from <= now]
        return max(candidates, key=lambda v: (v.effective_from, v.version)) if candidates else None

    def scheduled(self, now: datetime) -> tuple[VersionRef, ...]:
        """The versions that apply only after ``now``."""
        return tuple(v for v in self.versions if v.effective_from > now)

    def with_version(self, ref: VersionRef) -> ProgramHead:
        return ProgramHead(self.program, (*self.versions, ref))

    def published_as(self, key: str) -> VersionRef | None:
        """The version published with the idempotency ``key``, if any."""
        return next((v for v in self.versions if v.key is not None and v.key == key), None)


PUBLISH_ACTION = "config.publish"


class Publication(Struct, frozen=True):
    """The program's audit record of one published version: who, when, why, what changed."""

    actor: str
    at: datetime
    version: int
    effective_from: datetime
    reason: str
    changed: tuple[str, ...]
    action: str = PUBLISH_ACTION
