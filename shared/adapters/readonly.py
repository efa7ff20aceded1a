"""A unit of work for read-only use cases: plain single-document reads, no transaction.

A quote or a preview decides nothing (checkout prices the cart again on the
account inside its own transaction), so it needs no locks, no begin and
no commit: one round trip per document. Reads are cached for the unit;
a write is a programming error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.adapters.repositories import Repositories
from shared.adapters.repositories.base import Queries


class ReadOnlyUnitOfWork(Repositories):
    def __init__(
        self, get: Callable[[str], dict[str, Any] | None], queries: Queries, get_many: Callable[[list[str]], dict[str, dict[str, Any] | None]] | None = None
    ) -> None:
        self._get = get
        self._get_many = get_many  # one batched round trip for many documents, where the store has one
        self._queries = queries
        self._cache: dict[str, dict[str, Any] | None] = {}

    def get(self, path: str) -> dict[str, Any] | None:
        if path not in self._cache:
            self._cache[path] = self._get(path)
        cached = self._cache[path]
        return None if cached is None else dict(cached)

    def get_all(self, paths: list[str]) -> dict[str, dict[str, Any] | None]:
        missing = [path for path in dict.fromkeys(paths) if path not in self._cache]
        if missing and self._get_many is not None:
            self._cache.update(self._get_many(missing))
        return {path: self.get(path) for path in paths}

    def put(self, path: str, data: dict[str, Any]) -> None:
        raise RuntimeError(f"a read-only use case tried to write {path}")

    def create(self, path: str, data: dict[str, Any]) -> None:
        raise RuntimeError(f"a read-only use case tried to create {path}")
