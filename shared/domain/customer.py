"""The customer record: the bonus account and what else ``customers/{id}`` holds about the customer.

The account (:class:`~shared.domain.ledger.Account`: lots, reservations, level
statistics) changes only through postings. Beside it the record keeps:

* :class:`Profile` — the login phone, name, e-mail, birthday and notification channels;
* :class:`Referral` — who invited the customer, the partner the referral is bound
  to at the first paid order, the partner's own code and paying referees;
* :class:`Blocking` — an admin's block or unblock, with who, when and why, and the
  session epoch every customer token carries: a block moves it on, so every
  session opened before is revoked at once (:meth:`Blocking.admits`).

Every field of those three is optional: ``None`` is a field the customer
document does not hold. A field may also be stored as an explicit ``null``
(registration writes ``invited_by: null``; removing an e-mail writes
``email: null``); :attr:`CustomerRecord.nulls` names those, so a record read
and saved again is the document it was read from. The ``set_*`` methods
record a ``None`` they are given as such a null.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from msgspec import Struct, field
from msgspec.structs import fields, replace

from shared.domain import profile as rules
from shared.domain.config import ProgramConfig
from shared.domain.errors import Forbidden, NotFound, Unauthorized
from shared.domain.ledger import Account
from shared.domain.levels import effective_level
from shared.domain.segments import CustomerFacts

_Part = TypeVar("_Part", "Profile", "Referral", "Blocking")


class Notifications(Struct, frozen=True):
    """The channels the customer accepts service notices on."""

    sms: bool
    email: bool
    telegram: bool

    @classmethod
    def default(cls) -> Notifications:
        return cls(**rules.notifications(None))

    def with_choices(self, choices: Mapping[str, object]) -> Notifications:
        """These channels changed as chosen (unknown channels and non-booleans ignored)."""
        chosen = {"sms": self.sms, "email": self.email, "telegram": self.telegram}
        for channel, value in choices.items():
            if channel in rules.CHANNELS and isinstance(value, bool):
                chosen[channel] = value
        return Notifications(**chosen)


class Profile(Struct, frozen=True):
    phone: str | None = None  # the verified login phone (E.164)
    phone_verified_at: datetime | None = None
    telegram_id: int | None = None
    name: str | None = None
    email: str | None = None
    birthday: str | None = None  # as entered: "YYYY-MM-DD" or "MM-DD"
    birthday_md: str | None = None  # always "MM-DD": what the birthday pass queries
    notifications: Notifications | None = None  # None: the defaults (sms only)
    tz: str | None = None  # an IANA time zone for the quiet hours of messages; None: Europe/Moscow
    profile_updated_at: datetime | None = None

    @property
    def channels(self) -> Notifications:
        return self.notifications or Notifications.default()


class Referral(Struct, frozen=True):
    invited_by: str | None = None  # the partner whose link or code opened the account
    registered_at: datetime | None = None
    referrer_id: str | None = None  # the partner bound at the first paid order
    referral_bound_at: datetime | None = None
    first_paid_at: datetime | None = None
    last_purchase_at: datetime | None = None  # the last paid order: what the win-back pass queries
    paying_referees: int | None = None  # as a partner: referees bound by a first paid order
    partner_code: str | None = None  # as a partner: the personal promo code
    partner_code_created_at: datetime | None = None

    @property
    def paying(self) -> int:
        return self.paying_referees or 0


class Blocking(Struct, frozen=True):
    blocked: bool | None = None
    blocked_at: datetime | None = None
    blocked_by: str | None = None
    blocked_reason: str | None = None
    unblocked_at: datetime | None = None
    unblocked_by: str | None = None
    unblock_reason: str | None = None
    session_epoch: int | None = None  # None: 0; the customer's tokens carry the epoch they were issued in

    @property
    def is_blocked(self) -> bool:
        return bool(self.blocked)

    @property
    def epoch(self) -> int:
        return self.session_epoch or 0

    def admits(self, token_epoch: int) -> None:
        """Refuse a customer's own call while blocked, or with a token of a session the block revoked."""
        if self.is_blocked:
            raise AccountBlocked("the customer is blocked")
        if token_epoch != self.epoch:
            raise SessionRevoked("the session was revoked (a block, a logout or a reused refresh token since it opened)", epoch=token_epoch)

    def blocked_by_admin(self, *, at: datetime, by: str, reason: str) -> dict[str, Any]:
        """The fields a block sets: the flag, who, when and why, and the next session epoch."""
        return {"blocked": True, "blocked_at": at, "blocked_by": by, "blocked_reason": reason, "session_epoch": self.epoch + 1}


class AccountBlocked(Forbidden):
    """The customer's own call (a login, a refresh, any customer route) while an admin has them blocked."""

    code = "customer_blocked"
    message_ru = "Учётная запись заблокирована. Обратитесь в магазин."


class SessionRevoked(Unauthorized):
    """A token of a session opened before the customer was blocked (void even after an unblock),
    logged out, or whose refresh token was reused."""

    code = "session_revoked"
    message_ru = "Сессия завершена, войдите снова."


PROFILE_FIELDS = tuple(f.name for f in fields(Profile))
REFERRAL_FIELDS = tuple(f.name for f in fields(Referral))
BLOCKING_FIELDS = tuple(f.name for f in fields(Blocking))
RECORD_FIELDS = (*PROFILE_FIELDS, *REFERRAL_FIELDS, *BLOCKING_FIELDS)


def _changed(part: _Part, nulls: frozenset[str], changes: dict[str, Any]) -> tuple[_Part, frozenset[str]]:
    set_null = {name for name, value in changes.items() if value is None}
    return replace(part, **changes), (nulls - set(changes)) | set_null


class CustomerRecord(Struct, frozen=True):
    """``customers/{id}``: the account and the customer's profile, referral and block fields."""

    account: Account
    profile: Profile = field(default_factory=Profile)
    referral: Referral = field(default_factory=Referral)
    blocking: Blocking = field(default_factory=Blocking)
    nulls: frozenset[str] = frozenset()  # optional fields stored as an explicit null

    @classmethod
    def new(cls, customer_id: str) -> CustomerRecord:
        return cls(account=Account(customer_id=customer_id))

    @property
    def customer_id(self) -> str:
        return self.account.customer_id

    def with_account(self, account: Account) -> CustomerRecord:
        return replace(self, account=account)

    def set_profile(self, **changes: Any) -> CustomerRecord:
        profile, nulls = _changed(self.profile, self.nulls, changes)
        return replace(self, profile=profile, nulls=nulls)

    def set_referral(self, **changes: Any) -> CustomerRecord:
        referral, nulls = _changed(self.referral, self.nulls, changes)
        return replace(self, referral=referral, nulls=nulls)

    def set_blocking(self, **changes: Any) -> CustomerRecord:
        blocking, nulls = _changed(self.blocking, self.nulls, changes)
        return replace(self, blocking=blocking, nulls=nulls)

    def change(self, **changes: Any) -> CustomerRecord:
        """Set fields of any part by their stored names (``name=…``, ``referrer_id=…``, ``blocked=…``)."""
        unknown = set(changes) - set(RECORD_FIELDS)
        if unknown:
            raise TypeError(f"not fields of a customer record: {sorted(unknown)}")
        record = self
        for names, setter in ((PROFILE_FIELDS, CustomerRecord.set_profile), (REFERRAL_FIELDS, CustomerRecord.set_referral), (BLOCKING_FIELDS, CustomerRecord.set_blocking)):
            part = {k: v for k, v in changes.items() if k in names}
            if part:
                record = setter(record, **part)
        return record


class Referee(Struct, frozen=True):
    """A partner's referee bound by a first paid order (the marker that counts them once)."""

    referee_id: str
    first_paid_at: datetime


def bonuses_excluded(config: ProgramConfig, account: Account) -> bool:
    """The customer's group takes no part in bonuses (e.g. B2B): a level label, no bonus data."""
    return config.group(account.group or config.default_group).bonuses_excluded


def segment_facts(record: CustomerRecord, *, level: str, group: str) -> CustomerFacts:
    """What segments (campaign audiences, mass accruals, message triggers) look at of the customer,
    at the level and in the group given (the ones in effect: :func:`facts_of`)."""
    account = record.account
    last_day = max(account.paid_by_day) if account.paid_by_day else None
    return CustomerFacts(
        level=level,
        group=group,
        birthday_md=record.profile.birthday_md,
        paid_orders=1 if record.referral.first_paid_at is not None else 0,
        paid_total=account.paid_total,
        last_purchase_at=datetime.fromisoformat(last_day).replace(tzinfo=UTC) if last_day else (record.referral.first_paid_at if account.paid_total else None),
        registered_at=record.referral.registered_at,
    )


def facts_of(config: ProgramConfig, record: CustomerRecord) -> CustomerFacts:
    """:func:`segment_facts` at the customer's level in effect and in their group (the default when none)."""
    return segment_facts(record, level=effective_level(config, record.account).code, group=record.account.group or config.default_group)


def unknown_customer(customer_id: str) -> NotFound:
    return NotFound("unknown customer", message_ru="Личный кабинет не найден. Войдите снова.")
