"""The Firestore store: a unit of work over one Firestore transaction.

Reads go through the transaction (locking the documents read) and are
cached; writes are buffered and handed to the transaction at the end, which
keeps Firestore's "all reads before any write" rule whatever order a use
case reads and writes in. Contention (``ABORTED``, lock timeouts, a
``create`` that lost a race) and transient faults re-run the whole use case
with jittered exponential backoff; when the attempts run out the caller
gets :class:`~shared.domain.errors.Retryable`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.aggregation import AggregationQuery
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.adapters.readonly import ReadOnlyUnitOfWork
from shared.adapters.repositories import Repositories
from shared.adapters.repositories.base import Queries
from shared.domain.errors import Retryable

T = TypeVar("T")
log = logging.getLogger(__name__)

RETRYABLE = (
    gexc.Aborted,
    gexc.Conflict,  # ALREADY_EXISTS on create: a concurrent unit created the document first
    gexc.DeadlineExceeded,
    gexc.ServiceUnavailable,
    gexc.InternalServerError,
    gexc.TooManyRequests,
)


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, RETRYABLE):
        return True
    # The client wraps an exhausted commit retry in ValueError("Failed to commit transaction in N attempts.")
    return isinstance(exc, ValueError) and isinstance(exc.__cause__, RETRYABLE)


class FirestoreUnitOfWork(Repositories):
    def __init__(self, client: firestore.Client, transaction: firestore.Transaction, root_lock: Callable[[str], threading.Lock], queries: Queries) -> None:
        self._client = client
        self._queries = queries
        self._transaction = transaction
        self._root_lock = root_lock
        self.held: threading.Lock | None = None
        self._cache: dict[str, dict[str, Any] | None] = {}
        self._writes: dict[str, tuple[str, dict[str, Any]]] = {}
        self.reads = 0

    def _queue_on(self, path: str) -> None:
        """Units of one instance that start on the same document (the aggregate, e.g. one
        customer's account) queue here instead of deadlocking on Firestore's pessimistic
        locks and waiting out its lock timeout. Other instances are handled by the retries."""
        if self.held is None:
            self.held = self._root_lock(path)
            self.held.acquire()

    def get(self, path: str) -> dict[str, Any] | None:
        if path in self._writes:
            return dict(self._writes[path][1])
        self._queue_on(path)
        if path not in self._cache:
            self.reads += 1
            snapshot = self._client.document(path).get(transaction=self._transaction)
            self._cache[path] = snapshot.to_dict() if snapshot.exists else None
        cached = self._cache[path]
        return None if cached is None else dict(cached)

    def get_all(self, paths: list[str]) -> dict[str, dict[str, Any] | None]:
        missing = [path for path in dict.fromkeys(paths) if path not in self._writes and path not in self._cache]
        if missing:
            self._queue_on(missing[0])
            self.reads += len(missing)
            refs = [self._client.document(path) for path in missing]
            for snapshot in self._client.get_all(refs, transaction=self._transaction):
                self._cache[snapshot.reference.path] = snapshot.to_dict() if snapshot.exists else None
        return {path: self.get(path) for path in paths}

    def put(self, path: str, data: dict[str, Any]) -> None:
        mode = "create" if self._writes.get(path, ("put",))[0] == "create" else "put"
        self._writes[path] = (mode, data)

    def create(self, path: str, data: dict[str, Any]) -> None:
        self._writes[path] = ("create", data)

    def flush(self) -> int:
        for path, (mode, data) in self._writes.items():
            ref = self._client.document(path)
            if mode == "create":
                self._transaction.create(ref, data)
            else:
                self._transaction.set(ref, data)
        return len(self._writes)


class FirestoreStore:
    """Implements :class:`shared.services.ports.Store` on Firestore (or its emulator)."""

    def __init__(self, client: firestore.Client, *, attempts: int = 8, base_delay: float = 0.05, max_delay: float = 2.0) -> None:
        self.client = client
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.stats = {"reads": 0, "writes": 0, "retries": 0, "commits": 0}
        self._stripes = [threading.Lock() for _ in range(256)]

    def _root_lock(self, path: str) -> threading.Lock:
        return self._stripes[zlib.crc32(path.encode()) % len(self._stripes)]

    def run(self, fn: Callable[[FirestoreUnitOfWork], T]) -> T:
        last: BaseException | None = None
        for attempt in range(self.attempts):
            transaction = self.client.transaction(max_attempts=1)
            uow = FirestoreUnitOfWork(self.client, transaction, self._root_lock, self)
            try:
                try:
                    result = self._attempt(transaction, uow, fn)
                finally:
                    if uow.held is not None:
                        uow.held.release()
            except Exception as exc:  # only store faults are retried; domain errors pass through
                if not _is_retryable(exc):
                    raise
                last = exc
                self.stats["retries"] += 1
                delay = min(self.max_delay, self.base_delay * 2**attempt)
                log.info("store contention, retrying", extra={"attempt": attempt + 1, "error": type(exc).__name__})
                time.sleep(random.uniform(0, delay))
                continue
            self.stats["reads"] += uow.reads
            self.stats["writes"] += len(uow._writes)
            self.stats["commits"] += 1
            return result
        raise Retryable(f"the store stayed busy after {self.attempts} attempts: {type(last).__name__}", retry_after_seconds=1)

    @staticmethod
    def _attempt(transaction: firestore.Transaction, uow: FirestoreUnitOfWork, fn: Callable[[FirestoreUnitOfWork], T]) -> T:
        transaction._begin()
        try:
            result = fn(uow)
            uow.flush()
            transaction._commit()
        except BaseException:
            if transaction.in_progress:
                transaction._rollback()
            raise
        return result

    def read(self, fn: Callable[[ReadOnlyUnitOfWork], T]) -> T:
        return fn(ReadOnlyUnitOfWork(self.get, self, self.get_many))

    def get(self, path: str) -> dict[str, Any] | None:
        self.stats["reads"] += 1
        snapshot = self.client.document(path).get()
        return snapshot.to_dict() if snapshot.exists else None

    def get_many(self, paths: list[str]) -> dict[str, dict[str, Any] | None]:
        """Many documents in one batched read, outside any transaction."""
        self.stats["reads"] += len(paths)
        found: dict[str, dict[str, Any] | None] = dict.fromkeys(paths)
        for snapshot in self.client.get_all([self.client.document(path) for path in paths]):
            found[snapshot.reference.path] = snapshot.to_dict() if snapshot.exists else None
        return found

    def ordered(self, collection_path: str, *, order_by: str, descending: bool = False, limit: int, start_after: Any = None) -> list[tuple[str, dict[str, Any]]]:
        direction = firestore.Query.DESCENDING if descending else firestore.Query.ASCENDING
        query = self.client.collection(collection_path).order_by(order_by, direction=direction).limit(limit)
        if start_after is not None:
            query = query.start_after({order_by: start_after})
        rows = [(snap.id, snap.to_dict() or {}) for snap in query.stream()]
        self.stats["reads"] += max(len(rows), 1)
        return rows

    def due(self, collection_path: str, *, field: str, until: datetime, limit: int, start_after: tuple[datetime, str] | None = None) -> list[tuple[str, datetime]]:
        collection = self.client.collection(collection_path)
        query = (
            collection.where(filter=FieldFilter(field, "<=", until))
            .order_by(field)
            .order_by("__name__")
            .select([field])
            .limit(limit)
        )
        if start_after is not None:
            value, doc_id = start_after
            query = query.start_after({field: value, "__name__": collection.document(doc_id)})
        rows = [(snap.id, snap.get(field)) for snap in query.stream()]
        self.stats["reads"] += max(len(rows), 1)
        return rows

    def matching(self, collection_path: str, *, field: str, value: Any, limit: int, start_after: str | None = None) -> list[str]:
        collection = self.client.collection(collection_path)
        query = collection.where(filter=FieldFilter(field, "==", value)).order_by("__name__").select([]).limit(limit)
        if start_after is not None:
            query = query.start_after({"__name__": collection.document(start_after)})
        ids = [snap.id for snap in query.stream()]
        self.stats["reads"] += max(len(ids), 1)
        return ids

    def count(self, collection_path: str, *, field: str, value: Any) -> int:
        """How many documents have ``field == value``: a count aggregation, so no document is read
        (Firestore bills one read per 1,000 documents counted)."""
        query = self.client.collection(collection_path).where(filter=FieldFilter(field, "==", value))
        results: Any = AggregationQuery(query).count(alias="total").get()  # one response, its one aggregation
        total = int(results[0][0].value)
        self.stats["reads"] += max(1, -(-total // 1000))
        return total

    def iter_ids(self, collection_path: str) -> Iterator[str]:
        for ref in self.client.collection(collection_path).list_documents():
            yield ref.id

    def reset(self) -> None:
        """Wipe the emulator's data (refuses to run against a real project)."""
        import os

        import httpx

        host = os.environ.get("FIRESTORE_EMULATOR_HOST")
        if not host:
            raise RuntimeError("reset is for the emulator only")
        url = f"http://{host}/emulator/v1/projects/{self.client.project}/databases/(default)/documents"
        httpx.delete(url, timeout=10).raise_for_status()
