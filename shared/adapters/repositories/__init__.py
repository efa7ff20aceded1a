"""The typed repositories every unit of work offers (``uow.accounts``, ``uow.orders`` …).

Both stores build them over their own raw document reads and writes, so the
in-memory store and Firestore implement the same repositories, and the one
contract suite runs against both. Paths and document shapes live here and in
:mod:`shared.adapters.layout`, nowhere else.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from shared.adapters.repositories.base import Documents, Queries

if TYPE_CHECKING:  # each repository's module is imported when a unit of work first uses it
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
    from shared.adapters.repositories.orders import OrderRepository, PaymentClaimRepository, TrackingRepository
    from shared.adapters.repositories.outbox import OutboxRepository
    from shared.adapters.repositories.program import PayoutRepository, ProgramRepository, PromoRepository
    from shared.adapters.repositories.stickers import EventPeriodRepository, StickerAttemptRepository, StickerBatchRepository, StickerCodeRepository
    from shared.adapters.repositories.sweeps import NoticeRepository, ReportDayRepository, SweepCursorRepository


class Repositories:
    """Mixed into every unit of work: one lazily built repository per kind of document."""

    _queries: Queries

    def _documents(self) -> Documents:
        docs: Any = self
        return docs  # the unit of work itself holds the raw reads and writes

    # --- ledger: accounts, postings, line books ---------------------------------------

    @cached_property
    def accounts(self) -> AccountRepository:
        from shared.adapters.repositories.ledger import AccountRepository

        return AccountRepository(self._documents(), self._queries)

    @cached_property
    def postings(self) -> PostingRepository:
        from shared.adapters.repositories.ledger import PostingRepository

        return PostingRepository(self._documents(), self._queries)

    @cached_property
    def line_books(self) -> LineBookRepository:
        from shared.adapters.repositories.ledger import LineBookRepository

        return LineBookRepository(self._documents(), self._queries)

    @cached_property
    def referees(self) -> RefereeRepository:
        from shared.adapters.repositories.ledger import RefereeRepository

        return RefereeRepository(self._documents(), self._queries)

    @cached_property
    def reward_inbox(self) -> RewardInboxRepository:
        from shared.adapters.repositories.ledger import RewardInboxRepository

        return RewardInboxRepository(self._documents(), self._queries)

    # --- orders and deliveries ----------------------------------------------------------

    @cached_property
    def orders(self) -> OrderRepository:
        from shared.adapters.repositories.orders import OrderRepository

        return OrderRepository(self._documents(), self._queries)

    @cached_property
    def tracking(self) -> TrackingRepository:
        from shared.adapters.repositories.orders import TrackingRepository

        return TrackingRepository(self._documents(), self._queries)

    @cached_property
    def payment_claims(self) -> PaymentClaimRepository:
        from shared.adapters.repositories.orders import PaymentClaimRepository

        return PaymentClaimRepository(self._documents(), self._queries)

    # --- identities, codes and sessions ------------------------------------------------

    @cached_property
    def identities(self) -> IdentityRepository:
        from shared.adapters.repositories.identity import IdentityRepository

        return IdentityRepository(self._documents(), self._queries)

    @cached_property
    def customer_contacts(self) -> CustomerContactRepository:
        from shared.adapters.repositories.identity import CustomerContactRepository

        return CustomerContactRepository(self._documents(), self._queries)

    @cached_property
    def otp_codes(self) -> OtpCodeRepository:
        from shared.adapters.repositories.identity import OtpCodeRepository

        return OtpCodeRepository(self._documents(), self._queries)

    @cached_property
    def phone_limits(self) -> PhoneLimitsRepository:
        from shared.adapters.repositories.identity import PhoneLimitsRepository

        return PhoneLimitsRepository(self._documents(), self._queries)

    @cached_property
    def otp_sends(self) -> SendRecordRepository:
        from shared.adapters.repositories.identity import SendRecordRepository

        return SendRecordRepository(self._documents(), self._queries)

    @cached_property
    def sms_budget(self) -> SmsBudgetRepository:
        from shared.adapters.repositories.identity import SmsBudgetRepository

        return SmsBudgetRepository(self._documents(), self._queries)

    @cached_property
    def ip_rates(self) -> IpRateRepository:
        from shared.adapters.repositories.identity import IpRateRepository

        return IpRateRepository(self._documents(), self._queries)

    @cached_property
    def refresh_tokens(self) -> RefreshTokenRepository:
        from shared.adapters.repositories.identity import RefreshTokenRepository

        return RefreshTokenRepository(self._documents(), self._queries)

    @cached_property
    def refresh_families(self) -> RefreshFamilyRepository:
        from shared.adapters.repositories.identity import RefreshFamilyRepository

        return RefreshFamilyRepository(self._documents(), self._queries)

    @cached_property
    def oidc_nonces(self) -> OidcNonceRepository:
        from shared.adapters.repositories.identity import OidcNonceRepository

        return OidcNonceRepository(self._documents(), self._queries)

    # --- program, promo codes, payouts, cursors, notices ---------------------------------

    @cached_property
    def programs(self) -> ProgramRepository:
        from shared.adapters.repositories.program import ProgramRepository

        return ProgramRepository(self._documents(), self._queries)

    @cached_property
    def promos(self) -> PromoRepository:
        from shared.adapters.repositories.program import PromoRepository

        return PromoRepository(self._documents(), self._queries)

    @cached_property
    def payouts(self) -> PayoutRepository:
        from shared.adapters.repositories.program import PayoutRepository

        return PayoutRepository(self._documents(), self._queries)

    @cached_property
    def cursors(self) -> SweepCursorRepository:
        from shared.adapters.repositories.sweeps import SweepCursorRepository

        return SweepCursorRepository(self._documents(), self._queries)

    @cached_property
    def notices(self) -> NoticeRepository:
        from shared.adapters.repositories.sweeps import NoticeRepository

        return NoticeRepository(self._documents(), self._queries)

    @cached_property
    def report_days(self) -> ReportDayRepository:
        from shared.adapters.repositories.sweeps import ReportDayRepository

        return ReportDayRepository(self._documents(), self._queries)

    @cached_property
    def outbox(self) -> OutboxRepository:
        from shared.adapters.repositories.outbox import OutboxRepository

        return OutboxRepository(self._documents(), self._queries)

    @cached_property
    def carts(self) -> CartRepository:
        from shared.adapters.repositories.carts import CartRepository

        return CartRepository(self._documents(), self._queries)

    # --- the product catalog -------------------------------------------------------------

    @cached_property
    def products(self) -> ProductRepository:
        from shared.adapters.repositories.catalog import ProductRepository

        return ProductRepository(self._documents(), self._queries)

    @cached_property
    def catalog_imports(self) -> CatalogImportRepository:
        from shared.adapters.repositories.catalog import CatalogImportRepository

        return CatalogImportRepository(self._documents(), self._queries)

    # --- back office: admins, approvals, jobs, audit ------------------------------------

    @cached_property
    def admins(self) -> AdminRepository:
        from shared.adapters.repositories.admins import AdminRepository

        return AdminRepository(self._documents(), self._queries)

    @cached_property
    def console_sessions(self) -> ConsoleSessionRepository:
        from shared.adapters.repositories.admins import ConsoleSessionRepository

        return ConsoleSessionRepository(self._documents(), self._queries)

    @cached_property
    def approvals(self) -> ApprovalRepository:
        from shared.adapters.repositories.admin import ApprovalRepository

        return ApprovalRepository(self._documents(), self._queries)

    @cached_property
    def jobs(self) -> JobRepository:
        from shared.adapters.repositories.admin import JobRepository

        return JobRepository(self._documents(), self._queries)

    @cached_property
    def admin_audit(self) -> AdminAuditRepository:
        from shared.adapters.repositories.admin import AdminAuditRepository

        return AdminAuditRepository(self._documents(), self._queries)

    @cached_property
    def maker_windows(self) -> MakerWindowRepository:
        from shared.adapters.repositories.admin import MakerWindowRepository

        return MakerWindowRepository(self._documents(), self._queries)

    # --- earning events and sticker codes --------------------------------------------------

    @cached_property
    def event_periods(self) -> EventPeriodRepository:
        from shared.adapters.repositories.stickers import EventPeriodRepository

        return EventPeriodRepository(self._documents(), self._queries)

    @cached_property
    def sticker_batches(self) -> StickerBatchRepository:
        from shared.adapters.repositories.stickers import StickerBatchRepository

        return StickerBatchRepository(self._documents(), self._queries)

    @cached_property
    def sticker_codes(self) -> StickerCodeRepository:
        from shared.adapters.repositories.stickers import StickerCodeRepository

        return StickerCodeRepository(self._documents(), self._queries)

    @cached_property
    def sticker_attempts(self) -> StickerAttemptRepository:
        from shared.adapters.repositories.stickers import StickerAttemptRepository

        return StickerAttemptRepository(self._documents(), self._queries)


__all__ = ["Repositories", "cached_property"]
