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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # the repositories' types; no import at run time
    # ledger: accounts, postings, line books
    # identities, codes and sessions
    # back office: admins, approvals, jobs, audit
    from shared.adapters.repositories.admin import AdminAuditRepository, ApprovalRepository, JobRepository, MakerWindowRepository
    from shared.adapters.repositories.admins import AdminRepository, ConsoleSessionRepository
    from shared.adapters.repositories.carts import CartRepository
    from shared.adapters.repositories.catalog import CatalogImportRepository, ProductRepository
    from shared.adapters.repositories.identity import (
        CustomerContactRepository,
        IdentityRepository,
        IpRateRepository,
        OidcNonceRepository,
        OtpCodeRepository,
        PhoneLimitsRepository,
        RefreshFamilyRepository,
        RefreshTokenRepository,
        SendRecordRepository,
        SmsBudgetRepository,
    )
    from shared.adapters.repositories.ledger import AccountRepository, LineBookRepository, PostingRepository, RefereeRepository, RewardInboxRepository

    # orders and deliveries
    from shared.adapters.repositories.orders import OrderRepository, PaymentClaimRepository, TrackingRepository
    from shared.adapters.repositories.outbox import OutboxRepository

    # program, promo codes, payouts, cursors, notices
    from shared.adapters.repositories.program import PayoutRepository, ProgramRepository, PromoRepository
    from shared.adapters.repositories.stickers import EventPeriodRepository, StickerAttemptRepository, StickerBatchRepository, StickerCodeRepository
    from shared.adapters.repositories.sweeps import NoticeRepository, ReportDayRepository, SweepCursorRepository

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

    @property
    def reward_inbox(self) -> RewardInboxRepository:
        """``customers/{partner}/reward_inbox``: referral rewards not yet folded into the account."""

    # --- orders and deliveries ----------------------------------------------------------

    @property
    def orders(self) -> OrderRepository:
        """Storefront orders: ``get``, ``create``, ``put`` and the queries over them."""

    @property
    def tracking(self) -> TrackingRepository:
        """Carrier tracking codes pointing back at their orders."""

    @property
    def payment_claims(self) -> PaymentClaimRepository:
        """Shop-side payments and the one order each settled."""

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

    @property
    def oidc_nonces(self) -> OidcNonceRepository: ...

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

    @property
    def report_days(self) -> ReportDayRepository:
        """``report_days/{day}``: the daily report snapshots the sweep writes."""

    @property
    def outbox(self) -> OutboxRepository:
        """``outbox/{key}``: the messages to customers, one per cause and channel (see docs/messages.md)."""

    @property
    def carts(self) -> CartRepository:
        """``carts/{customer_id}``: a logged-in customer's last quoted cart (the abandoned-cart reminder)."""

    # --- the product catalog -------------------------------------------------------------

    @property
    def products(self) -> ProductRepository:
        """``products/{uid}`` and their SKU / external id index: the catalog's prices and flags."""

    @property
    def catalog_imports(self) -> CatalogImportRepository:
        """``catalog_imports/{id}``: imports and their reports; the last one applied."""

    # --- back office: admins, approvals, jobs, audit ------------------------------------

    @property
    def admins(self) -> AdminRepository:
        """Back-office accounts."""

    @property
    def console_sessions(self) -> ConsoleSessionRepository:
        """``console_sessions/{key}``: the console's signed-in browsers."""

    @property
    def approvals(self) -> ApprovalRepository:
        """``approvals/{id}``: maker-checker requests."""

    @property
    def jobs(self) -> JobRepository:
        """``jobs/{job_id}``: mass accruals."""

    @property
    def admin_audit(self) -> AdminAuditRepository:
        """``audit/{id}``: the back-office audit log."""

    @property
    def maker_windows(self) -> MakerWindowRepository:
        """``maker_windows/{email}``: each admin's bonus changes made without a checker, last 24 hours."""

    # --- earning events and sticker codes --------------------------------------------------

    @property
    def event_periods(self) -> EventPeriodRepository:
        """``customers/{id}/event_periods/{rule}:{period}``: a capped earning rule's credits in one period."""

    @property
    def sticker_batches(self) -> StickerBatchRepository:
        """``sticker_batches/{id}``: print runs of sticker codes."""

    @property
    def sticker_codes(self) -> StickerCodeRepository:
        """``sticker_codes/{code}``: the codes and who redeemed each."""

    @property
    def sticker_attempts(self) -> StickerAttemptRepository:
        """``sticker_attempts/{who}``: wrong codes per customer and per address hash."""


class Store(Protocol):
    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run ``fn`` in one transaction, retrying contention; raise ``Retryable`` when exhausted."""

    def read(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run a read-only ``fn`` on plain document reads, outside any transaction (a write raises).

        For answers that decide nothing (a quote: checkout decides again in its
        own transaction); each document is read consistently, not all together."""

    def reset(self) -> None:
        """Delete everything (tests and the demo only)."""
