"""An in-memory store with the same contract as Firestore's, for fast unit tests.

Transactions are serialized by one lock, documents are deep-copied in and
out, and ``create`` refuses an existing document, so the contract tests
hold for both stores.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from shared.adapters.readonly import ReadOnlyUnitOfWork
from shared.adapters.repositories import Repositories
from shared.adapters.repositories.base import Queries
from shared.domain.errors import Retryable

T = TypeVar("T")


def _field(doc: dict[str, Any], name: str) -> Any:
    """A document's field: the key a collection is ordered by."""
    return doc.get(name)


class _Exists(Exception):
    pass


class MemoryUnitOfWork(Repositories):
    def __init__(self, docs: dict[str, dict[str, Any]], queries: Queries) -> None:
        self._docs = docs
        self._queries = queries
        self._cache: dict[str, dict[str, Any] | None] = {}
        self._writes: dict[str, tuple[str, dict[str, Any]]] = {}
        self.reads = 0

    def get(self, path: str) -> dict[str, Any] | None:
        if path in self._writes:
            return copy.deepcopy(self._writes[path][1])
        if path not in self._cache:
            self.reads += 1
            self._cache[path] = copy.deepcopy(self._docs.get(path))
        return copy.deepcopy(self._cache[path])

    def get_all(self, paths: list[str]) -> dict[str, dict[str, Any] | None]:
        return {path: self.get(path) for path in paths}

    def put(self, path: str, data: dict[str, Any]) -> None:
        mode = "create" if self._writes.get(path, ("put",))[0] == "create" else "put"
        self._writes[path] = (mode, copy.deepcopy(data))

    def create(self, path: str, data: dict[str, Any]) -> None:
        self._writes[path] = ("create", copy.deepcopy(data))

    def commit(self) -> None:
        for path, (mode, _) in self._writes.items():
            if mode == "create" and path in self._docs:
                raise _Exists(path)
        for path, (_, data) in self._writes.items():
            self._docs[path] = data


class MemoryStore:
    """Implements :class:`shared.services.ports.Store` in process memory."""

    def __init__(self) -> None:
        self._docs: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self.commits = 0

    def run(self, fn: Callable[[MemoryUnitOfWork], T]) -> T:
        for _ in range(3):
            with self._lock:
                uow = MemoryUnitOfWork(self._docs, self)
                result = fn(uow)
                try:
                    uow.commit()
                except _Exists:
                    continue
                self.commits += 1
                return result
        raise Retryable("a concurrent operation created the same document; retry")

    def read(self, fn: Callable[[ReadOnlyUnitOfWork], T]) -> T:
        return fn(ReadOnlyUnitOfWork(self.get, self))

    def get(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._docs.get(path))

    def _children(self, collection_path: str) -> list[tuple[str, dict[str, Any]]]:
        prefix = collection_path.rstrip("/") + "/"
        return [
            (path[len(prefix):], doc)
            for path, doc in self._docs.items()
            if path.startswith(prefix) and "/" not in path[len(prefix):]
        ]

    def ordered(self, collection_path: str, *, order_by: str, descending: bool = False, limit: int, start_after: Any = None) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            rows = sorted(self._children(collection_path), key=lambda row: _field(row[1], order_by), reverse=descending)
            if start_after is not None:
                rows = [r for r in rows if (r[1].get(order_by) < start_after if descending else r[1].get(order_by) > start_after)]
            return copy.deepcopy(rows[:limit])

    def due(self, collection_path: str, *, field: str, until: datetime, limit: int, start_after: tuple[datetime, str] | None = None) -> list[tuple[str, datetime]]:
        with self._lock:
            rows = sorted(
                (doc[field], doc_id) for doc_id, doc in self._children(collection_path) if doc.get(field) is not None and doc[field] <= until
            )
            if start_after is not None:
                rows = [r for r in rows if r > start_after]
            return [(doc_id, value) for value, doc_id in rows[:limit]]

    def matching(self, collection_path: str, *, field: str, value: Any, limit: int, start_after: str | None = None) -> list[str]:
        with self._lock:
            ids = sorted(doc_id for doc_id, doc in self._children(collection_path) if field in doc and doc[field] == value)
        return [doc_id for doc_id in ids if start_after is None or doc_id > start_after][:limit]

    def count(self, collection_path: str, *, field: str, value: Any) -> int:
        with self._lock:
            return sum(1 for _, doc in self._children(collection_path) if field in doc and doc[field] == value)

    def iter_ids(self, collection_path: str) -> Iterator[str]:
        with self._lock:
            ids = [doc_id for doc_id, _ in self._children(collection_path)]
        yield from sorted(ids)

    def reset(self) -> None:
        with self._lock:
            self._docs.clear()
