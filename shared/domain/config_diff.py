"""What a new program config changes, field by field, and whether a change touches money (pure).

The two configs are compared as their stored JSON: objects field by field,
lists of objects with a ``code`` (levels, groups, earning rules) element by
code, any other list as one value. Each difference is a :class:`ConfigChange`
named by its path (``welcome.standard``, ``levels.level2.accrual_percent``,
``groups.b2b`` for a group added or removed).

Every change touches money except renaming: the program's, a level's or a
group's name and a level's privileges (text shown to customers). Welcome
bonuses, accrual percents, caps, coefficients, the referral schedule, lot
lifetimes, holds, earning rules, exclusions, groups, the clawback policy and
the approval thresholds themselves all do, as does anything added to the
config later: a back-office publication of such a change waits for a checker.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from msgspec import Struct

from shared.domain.config import ProgramConfig

# Paths whose change moves no money (``*``: any level or group code).
LABELS = ("name", "levels.*.name", "levels.*.privileges", "groups.*.name")


class ConfigChange(Struct, frozen=True):
    """One difference: the field's path, its value before and after (``None``: absent)."""

    path: str
    before: Any
    after: Any

    @property
    def touches_money(self) -> bool:
        return not any(fnmatchcase(self.path, label) for label in LABELS)

    def view(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after, "touches_money": self.touches_money}


def _keyed(value: Any) -> dict[str, Any] | None:
    """A list of objects with unique codes, keyed by code (else ``None``: compared whole)."""
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) and isinstance(v.get("code"), str) for v in value):
        return None
    keyed = {v["code"]: v for v in value}
    return keyed if len(keyed) == len(value) else None


def _walk(path: str, before: Any, after: Any) -> Iterator[ConfigChange]:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            yield from _walk(f"{path}.{key}" if path else str(key), before.get(key), after.get(key))
        return
    old, new = _keyed(before), _keyed(after)
    if old is not None and new is not None:
        for code in [*old, *(c for c in new if c not in old)]:
            yield from _walk(f"{path}.{code}", old.get(code), new.get(code))
        return
    yield ConfigChange(path=path, before=before, after=after)


def config_changes(before: ProgramConfig | None, after: ProgramConfig) -> tuple[ConfigChange, ...]:
    """Every difference between two configs (from nothing: every top-level field), in field order."""
    old = before.model_dump(mode="json") if before is not None else {}
    return tuple(_walk("", old, after.model_dump(mode="json")))


def touches_money(changes: tuple[ConfigChange, ...]) -> bool:
    return any(change.touches_money for change in changes)
