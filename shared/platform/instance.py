"""Provider clients held once per instance: built from settings on first use, never at import.

Tests route them through a fake with :meth:`InstanceClients.set_transport`,
which also drops the built clients so changed settings are picked up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx

Build = Callable[[str, "httpx.BaseTransport | None"], Any]


class InstanceClients:
    def __init__(self, build: Build, close: Callable[[Any], None]) -> None:
        self._build = build
        self._close = close
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._transport: httpx.BaseTransport | None = None

    def get(self, name: str = "default") -> Any:
        with self._lock:
            if name not in self._clients:
                self._clients[name] = self._build(name, self._transport)
            return self._clients[name]

    def set_transport(self, transport: httpx.BaseTransport | None) -> None:
        """Route the clients through ``transport`` (a fake in tests; ``None``: the network)."""
        with self._lock:
            for built in self._clients.values():
                self._close(built)
            self._clients.clear()
            self._transport = transport
