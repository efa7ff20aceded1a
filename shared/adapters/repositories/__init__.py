"""The typed repositories every unit of work offers (``uow.accounts``, ``uow.orders`` …).

Both stores build them over their own raw document reads and writes, so the
in-memory store and Firestore implement the same repositories, and the one
contract suite runs against both. Paths and document shapes live here and in
:mod:`shared.adapters.layout`, nowhere else.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from shared.adapters.repositories.base import Documents, Queries
from shared.adapters.repositories.orders import OrderRepository, TrackingRepository


class Repositories:
    """Mixed into every unit of work: one lazily built repository per kind of document."""

    _queries: Queries

    def _documents(self) -> Documents:
        docs: Any = self
        return docs  # the unit of work itself holds the raw reads and writes

    # --- ledger: accounts, postings, line books ---------------------------------------

    # --- orders and deliveries ----------------------------------------------------------

    @cached_property
    def orders(self) -> OrderRepository:
        return OrderRepository(self._documents(), self._queries)

    @cached_property
    def tracking(self) -> TrackingRepository:
        return TrackingRepository(self._documents(), self._queries)

    # --- identities, codes and sessions ------------------------------------------------

    # --- program, promo codes, payouts, cursors, notices ---------------------------------

    # --- back office: admins, approvals, jobs, audit ------------------------------------


__all__ = ["Repositories", "cached_property"]
