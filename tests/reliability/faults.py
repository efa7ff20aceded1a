"""A Firestore store that fails on purpose: transient faults at a chosen step of a use case.

A *step* is one real read of a unit of work (a document fetched through the
transaction, not one served from the unit's cache or its own writes) or one
commit, counted across every transaction and every retry of the calls made
on the store. ``FaultyStore(client, at=k)`` raises at the k-th step:

* ``sticky=False`` (default): once, as a blip the store's retries must absorb;
* ``sticky=True``: at step k and every step after it, so the retries run out
  and the caller must get :class:`~shared.domain.errors.Retryable`;
* ``lost_commit=True`` when step k is a commit: the commit *is applied* and
  then the error is raised (the answer was lost on the way back), so the
  retry re-runs a unit whose effects are already stored.

``steps`` lists what each step was (``("read", path)`` / ``("commit", n)``),
so a fault-free run tells how many steps a use case has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from google.api_core import exceptions as gexc

from shared.adapters.firestore_store import FirestoreStore, FirestoreUnitOfWork

T = TypeVar("T")

FAULTS: tuple[type[gexc.GoogleAPICallError], ...] = (gexc.Aborted, gexc.DeadlineExceeded, gexc.ServiceUnavailable)


class FaultyStore(FirestoreStore):
    def __init__(
        self,
        client: Any,
        *,
        at: int | None = None,
        fault: type[gexc.GoogleAPICallError] = gexc.Aborted,
        sticky: bool = False,
        lost_commit: bool = False,
        attempts: int = 4,
    ) -> None:
        super().__init__(client, attempts=attempts, base_delay=0.001, max_delay=0.004)
        self.at = at
        self.fault = fault
        self.sticky = sticky
        self.lost_commit = lost_commit
        self.steps: list[tuple[str, Any]] = []
        self.injected: list[tuple[int, str, Any]] = []
        self.applied_commits = 0  # commits that reached the store (including a "lost" one)

    def _due(self) -> bool:
        n = len(self.steps)
        return self.at is not None and (n == self.at or (self.sticky and n >= self.at))

    def _step(self, kind: str, what: Any) -> bool:
        self.steps.append((kind, what))
        if self._due():
            self.injected.append((len(self.steps), kind, what))
            return True
        return False

    def _raise(self, kind: str, what: Any) -> None:
        raise self.fault(f"injected {self.fault.__name__} at step {len(self.steps)} ({kind} {what})")

    def _attempt(self, transaction: Any, uow: FirestoreUnitOfWork, fn: Callable[[FirestoreUnitOfWork], T]) -> T:  # type: ignore[override]
        real_get = uow.get
        real_commit = transaction._commit

        def get(path: str) -> dict[str, Any] | None:
            if path not in uow._writes and path not in uow._cache and self._step("read", path):
                self._raise("read", path)
            return real_get(path)

        def commit() -> Any:
            n = self.applied_commits + 1
            fail = self._step("commit", n)
            if fail and not self.lost_commit:
                self._raise("commit", n)
            result = real_commit()
            self.applied_commits += 1
            if fail:
                self._raise("commit (applied, answer lost)", n)
            return result

        uow.get = get  # type: ignore[method-assign]
        transaction._commit = commit
        return FirestoreStore._attempt(transaction, uow, fn)


def snapshot(client: Any) -> dict[str, dict[str, Any]]:
    """Every document of the database, by path (subcollections included)."""
    out: dict[str, dict[str, Any]] = {}

    def walk(collection: Any) -> None:
        for ref in collection.list_documents():
            snap = ref.get()
            if snap.exists:
                out[ref.path] = snap.to_dict()
            for sub in ref.collections():
                walk(sub)

    for collection in client.collections():
        walk(collection)
    return out
