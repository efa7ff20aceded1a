"""What a repository is built on: a unit of work's raw document reads and writes, and the
store's queries. Private to ``shared.adapters``: use cases see only the typed repositories."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol


class Documents(Protocol):
    """Raw documents by slash path, inside one unit of work (cached reads, buffered writes)."""

    def get(self, path: str) -> dict[str, Any] | None: ...

    def get_all(self, paths: list[str]) -> dict[str, dict[str, Any] | None]: ...

    def put(self, path: str, data: dict[str, Any]) -> None: ...

    def create(self, path: str, data: dict[str, Any]) -> None: ...


class Queries(Protocol):
    """Collection queries. They read outside any transaction, at the moment they run."""

    def ordered(self, collection_path: str, *, order_by: str, descending: bool = False, limit: int, start_after: Any = None) -> list[tuple[str, dict[str, Any]]]: ...

    def due(self, collection_path: str, *, field: str, until: datetime, limit: int, start_after: tuple[datetime, str] | None = None) -> list[tuple[str, datetime]]: ...

    def matching(self, collection_path: str, *, field: str, value: Any, limit: int, start_after: str | None = None) -> list[str]: ...

    def count(self, collection_path: str, *, field: str, value: Any) -> int: ...

    def iter_ids(self, collection_path: str) -> Iterator[str]: ...


class Repository:
    """A typed view of one kind of document: takes and returns domain objects, never dicts."""

    def __init__(self, docs: Documents, queries: Queries) -> None:
        self._docs = docs
        self._queries = queries
