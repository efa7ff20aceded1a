"""Ports: what the use cases need of a store, as protocols.

A use case is a function of a :class:`UnitOfWork`. :meth:`Store.run` runs it
in one serializable transaction and retries it on contention, so the
function must be free of side effects other than through the unit of work
(it may run more than once). Reads go through the unit of work and are
cached in it; writes are buffered and committed together at the end, so a
use case may read after it wrote (a store's "all reads before writes" rule
is the unit of work's business, not the use case's).

Use cases reach documents only through the unit of work's typed
repositories (``uow.accounts``, ``uow.orders`` …), which take and return
domain objects; paths and document shapes are private to ``shared.adapters``
(see :mod:`shared.adapters.layout`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # the repositories' types; no import at run time
    # ledger: accounts, postings, line books
    # identities, codes and sessions
    # back office: admins, approvals, jobs, audit
    from shared.adapters.repositories.admin import AdminAuditRepository, ApprovalRepository, JobRepository
    from shared.adapters.repositories.admins import AdminRepository
    from shared.adapters.repositories.identity import (
        CustomerContactRepository,
        IdentityRepository,
        IpRateRepository,
        OtpCodeRepository,
        PhoneLimitsRepository,
        RefreshFamilyRepository,
        RefreshTokenRepository,
        SendRecordRepository,
        SmsBudgetRepository,
    )
    from shared.adapters.repositories.ledger import AccountRepository, LineBookRepository, PostingRepository, RefereeRepository

    # orders and deliveries
    from shared.adapters.repositories.orders import OrderRepository, TrackingRepository

    # program, promo codes, payouts, cursors, notices
    from shared.adapters.repositories.program import PayoutRepository, ProgramRepository, PromoRepository
    from shared.adapters.repositories.sweeps import NoticeRepository, SweepCursorRepository

T = TypeVar("T")

# The customer collection's name, for the sweeps' queries (every path is in shared.adapters.layout).
CUSTOMERS = "customers"


# A step that must commit together with a change (the admin audit record, say): a
# use case taking ``then`` calls it inside its unit of work, with its result, only
# when it changed something (a replay writes no second record).
Then = Callable[["UnitOfWork", Any], None]


class UnitOfWork(Protocol):
    # --- ledger: accounts, postings, line books ---------------------------------------

    @property
    def accounts(self) -> AccountRepository:
        """``customers/{id}``: customer records (account, profile, referral, block)."""

    @property
    def postings(self) -> PostingRepository:
        """``customers/{id}/postings``: the append-only ledger entries."""

    @property
    def line_books(self) -> LineBookRepository:
        """``customers/{id}/orders``: the per-order line books."""

    @property
    def referees(self) -> RefereeRepository:
        """``customers/{partner}/referees``: referees bound by a first paid order."""

    # --- orders and deliveries ----------------------------------------------------------

    @property
    def orders(self) -> OrderRepository:
        """Storefront orders: ``get``, ``create``, ``put`` and the queries over them."""

    @property
    def tracking(self) -> TrackingRepository:
        """Carrier tracking codes pointing back at their orders."""

    # --- identities, codes and sessions ------------------------------------------------

    @property
    def identities(self) -> IdentityRepository: ...

    @property
    def customer_contacts(self) -> CustomerContactRepository: ...

    @property
    def otp_codes(self) -> OtpCodeRepository: ...

    @property
    def phone_limits(self) -> PhoneLimitsRepository: ...

    @property
    def otp_sends(self) -> SendRecordRepository: ...

    @property
    def sms_budget(self) -> SmsBudgetRepository: ...

    @property
    def ip_rates(self) -> IpRateRepository: ...

    @property
    def refresh_tokens(self) -> RefreshTokenRepository: ...

    @property
    def refresh_families(self) -> RefreshFamilyRepository: ...

    # --- program, promo codes, payouts, cursors, notices ---------------------------------

    @property
    def programs(self) -> ProgramRepository:
        """Program heads, config versions and their publication log."""

    @property
    def promos(self) -> PromoRepository:
        """Promo codes and their customers' uses."""

    @property
    def payouts(self) -> PayoutRepository:
        """Partners' payout requests."""

    @property
    def cursors(self) -> SweepCursorRepository:
        """The scheduled jobs' stored positions."""

    @property
    def notices(self) -> NoticeRepository:
        """The notices recorded for customers (expiry warnings)."""

    # --- back office: admins, approvals, jobs, audit ------------------------------------

    @property
    def admins(self) -> AdminRepository:
        """Back-office accounts."""

    @property
    def approvals(self) -> ApprovalRepository:
        """``approvals/{id}``: maker-checker requests."""

    @property
    def jobs(self) -> JobRepository:
        """``jobs/{job_id}``: mass accruals."""

    @property
    def admin_audit(self) -> AdminAuditRepository:
        """``audit/{id}``: the back-office audit log."""

    # --- raw documents (being retired: use the repositories) ---------------------------

    def get(self, path: str) -> dict[str, Any] | None:
        """Read a document by its slash path (cached for the rest of the unit)."""

    def get_all(self, paths: list[str]) -> dict[str, dict[str, Any] | None]:
        """Read several documents in one call (each cached as by :meth:`get`)."""

    def put(self, path: str, data: dict[str, Any]) -> None:
        """Create or replace a document at commit."""

    def create(self, path: str, data: dict[str, Any]) -> None:
        """Create a document at commit; the commit fails if it exists (a retry then re-reads)."""


class Store(Protocol):
    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run ``fn`` in one transaction, retrying contention; raise ``Retryable`` when exhausted."""

    def read(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run a read-only ``fn`` on plain document reads, outside any transaction (a write raises).

        For answers that decide nothing (a quote: checkout decides again in its
        own transaction); each document is read consistently, not all together."""

    def get(self, path: str) -> dict[str, Any] | None:
        """A consistent single-document read outside any transaction."""

    def ordered(self, collection_path: str, *, order_by: str, descending: bool = False, limit: int, start_after: Any = None) -> list[tuple[str, dict[str, Any]]]:
        """Documents of one collection ordered by a field, cursor-paginated."""

    def due(self, collection_path: str, *, field: str, until: datetime, limit: int, start_after: tuple[datetime, str] | None = None) -> list[tuple[str, datetime]]:
        """Ids of documents whose ``field`` is at or before ``until``, oldest first: (id, value)."""

    def matching(self, collection_path: str, *, field: str, value: Any, limit: int, start_after: str | None = None) -> list[str]:
        """Ids of documents whose ``field`` equals ``value``, in id order, cursor-paginated by id."""

    def iter_ids(self, collection_path: str) -> Iterator[str]:
        """Every document id of a collection (audits)."""

    def reset(self) -> None:
        """Delete everything (tests and the demo only)."""
