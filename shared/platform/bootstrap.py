"""The one place that builds clients: lazily, once per instance, never at import."""

from __future__ import annotations

import os
import threading

from shared.services.ports import Store

_lock = threading.Lock()
_store: Store | None = None


def project_id() -> str:
    return os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCLOUD_PROJECT") or "kopilka-local"


def firestore_store() -> Store:
    """The instance's Firestore store (the emulator when FIRESTORE_EMULATOR_HOST is set)."""
    global _store
    with _lock:
        if _store is None:
            from google.cloud import firestore

            from shared.adapters.firestore_store import FirestoreStore

            _store = FirestoreStore(firestore.Client(project=project_id()))
        return _store


def set_store(store: Store | None) -> None:
    """Swap the instance's store (tests and local tools)."""
    global _store
    with _lock:
        _store = store
