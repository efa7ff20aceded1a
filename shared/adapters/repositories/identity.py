"""Repositories of identities, login codes, their limits and sessions.

Each converts its domain object to and from the stored document; the shapes
(field names, values, types) are the data model's, see ``docs/data-model.md``.
Every document here but the identities carries ``expires_at`` for a Firestore
TTL policy; the code never relies on TTL deletion and checks times itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters import layout
from shared.adapters.repositories.base import Repository
from shared.domain.customer import Blocking
from shared.domain.identity import (
    CustomerContact,
    FamilyRevocation,
    Identity,
    IdentityKind,
    RefreshToken,
    RevocationReason,
    UsedNonce,
)
from shared.domain.otp import (
    BUDGET_SHARDS,
    DAY,
    BudgetShard,
    CodeStatus,
    FailureMark,
    IpCounter,
    OtpCode,
    PhoneLimits,
    SendMark,
    SendRecord,
    SendStatus,
)

Document = dict[str, Any]


# --- identities -----------------------------------------------------------------------


class IdentityRepository(Repository):
    """``identities/{kind}:{value}``: which customer a phone or a Telegram account belongs to."""

    def get(self, kind: IdentityKind, value: str | int) -> Identity | None:
        doc = self._docs.get(layout.identity(kind.value, value))
        if doc is None:
            return None
        return Identity(
            kind=IdentityKind(doc.get("kind", kind.value)),
            value=doc.get("value", value),
            customer_id=str(doc["customer_id"]),
            created_at=doc.get("created_at"),
            username=doc.get("username"),
            unlinked_at=doc.get("unlinked_at"),
        )

    def customers_of(self, kind: IdentityKind, values: list[str]) -> dict[str, str | None]:
        """The customer each value belongs to (``None``: none), in one read."""
        paths = {value: layout.identity(kind.value, value) for value in values}
        found = self._docs.get_all(list(paths.values()))
        return {value: None if found[path] is None else str((found[path] or {})["customer_id"]) for value, path in paths.items()}

    @staticmethod
    def _doc(identity: Identity) -> Document:
        doc: Document = {"kind": identity.kind.value, "value": identity.value, "customer_id": identity.customer_id, "created_at": identity.created_at}
        if identity.kind is IdentityKind.TELEGRAM:
            doc["username"] = identity.username
            if identity.unlinked_at is not None:
                doc["unlinked_at"] = identity.unlinked_at
        return doc

    def create(self, identity: Identity) -> None:
        """Record an identity; the commit fails if it exists (a retried unit then reads the winner's)."""
        self._docs.create(layout.identity(identity.kind.value, identity.value), self._doc(identity))

    def telegram_ids_of(self, customer_id: str, *, limit: int = 20) -> list[int]:
        """The Telegram accounts whose identities name the customer (active or unlinked; a query,
        read outside the unit)."""
        prefix = f"{IdentityKind.TELEGRAM.value}:"
        ids = self._queries.matching(layout.IDENTITIES, field="customer_id", value=customer_id, limit=limit)
        return [int(doc_id[len(prefix):]) for doc_id in ids if doc_id.startswith(prefix) and doc_id[len(prefix):].isdigit()]

    def put(self, identity: Identity) -> None:
        """Replace a Telegram identity read in the same unit (unlinked, or linked again)."""
        if identity.kind is not IdentityKind.TELEGRAM:
            raise ValueError("only a Telegram identity is unlinked or linked again")
        self._docs.put(layout.identity(identity.kind.value, identity.value), self._doc(identity))


class CustomerContactRepository(Repository):
    """What identity reads and writes of a customer's account document (``customers/{id}``):
    the verified phone, and the block with the session epoch; its other fields are left as they are."""

    def get(self, customer_id: str) -> CustomerContact | None:
        """The account's contact, or ``None`` when the customer has no account."""
        doc = self._docs.get(layout.account(customer_id))
        if doc is None:
            return None
        telegram_id = doc.get("telegram_id")
        return CustomerContact(phone=doc.get("phone"), phone_verified_at=doc.get("phone_verified_at"), telegram_id=int(telegram_id) if telegram_id is not None else None)

    def exists(self, customer_id: str) -> bool:
        return self.get(customer_id) is not None

    def blocking(self, customer_id: str) -> Blocking | None:
        """The account's block and session epoch (what a session is checked against), or ``None``
        when the customer has no account; the ledger fields are not parsed."""
        doc = self._docs.get(layout.account(customer_id))
        if doc is None:
            return None
        return Blocking(blocked=doc.get("blocked"), session_epoch=doc.get("session_epoch"))

    def end_sessions(self, customer_id: str) -> None:
        """Move the account's session epoch on: every token issued before is refused from now on
        (the block's fields and the ledger fields are left as they are)."""
        path = layout.account(customer_id)
        account = self._docs.get(path)
        if account is None:
            raise LookupError(f"no account {customer_id!r} to end the sessions of")
        self._docs.put(path, {**account, "session_epoch": int(account.get("session_epoch") or 0) + 1})

    def put(self, customer_id: str, contact: CustomerContact) -> None:
        path = layout.account(customer_id)
        account = self._docs.get(path)
        if account is None:
            raise LookupError(f"no account {customer_id!r} to record a phone on")
        self._docs.put(path, {**account, "phone": contact.phone, "phone_verified_at": contact.phone_verified_at})

    def record_telegram(self, customer_id: str, telegram_id: int | None, *, contact: CustomerContact | None = None, end_sessions: bool = False) -> None:
        """The Telegram account linked to the customer (``None``: unlinked), with ``contact`` also the
        verified phone, with ``end_sessions`` the next session epoch (every token issued before is
        refused from then on); the account's other fields are kept."""
        fields: Document = {"telegram_id": telegram_id}
        if contact is not None:
            fields.update(phone=contact.phone, phone_verified_at=contact.phone_verified_at)
        if end_sessions:
            blocking = self.blocking(customer_id)
            fields["session_epoch"] = (blocking.epoch if blocking is not None else 0) + 1
        self._update(customer_id, fields)

    def _update(self, customer_id: str, fields: Document) -> None:
        path = layout.account(customer_id)
        account = self._docs.get(path)
        if account is None:
            raise LookupError(f"no account {customer_id!r} to update")
        self._docs.put(path, {**account, **fields})


# --- login codes and their limits ------------------------------------------------------


class OtpCodeRepository(Repository):
    """``otp_codes/{phone key}``: the phone's current code."""

    def get(self, phone_key: str) -> OtpCode | None:
        doc = self._docs.get(layout.otp_code(phone_key))
        if doc is None:
            return None
        return OtpCode(
            code_hash=str(doc["code_hash"]),
            send_id=str(doc["send_id"]),
            created_at=doc["created_at"],
            expires_at=doc["expires_at"],
            attempts=int(doc.get("attempts", 0)),
            used_at=doc.get("used_at"),
            status=CodeStatus(doc["status"]),
            invited_by=doc.get("invited_by"),
        )

    def put(self, phone_key: str, code: OtpCode) -> None:
        self._docs.put(
            layout.otp_code(phone_key),
            {
                "code_hash": code.code_hash,
                "send_id": code.send_id,
                "created_at": code.created_at,
                "expires_at": code.expires_at,
                "attempts": code.attempts,
                "used_at": code.used_at,
                "status": code.status.value,
                "invited_by": code.invited_by,
            },
        )


def _failure(raw: Any) -> FailureMark:
    """A stored wrong code: ``{at, net}``, or a bare time (written before networks were kept)."""
    if isinstance(raw, dict):
        return FailureMark(at=raw["at"], net=str(raw.get("net", "")))
    return FailureMark(at=raw)


class PhoneLimitsRepository(Repository):
    """``otp_rate/{phone key}``: the phone's sends and failed verifications, kept a day after the
    last change."""

    def get(self, phone_key: str) -> PhoneLimits | None:
        doc = self._docs.get(layout.otp_rate(phone_key))
        if doc is None:
            return None
        sends = tuple(SendMark(at=s["at"], id=str(s["id"]), failed=bool(s.get("failed", False))) for s in doc.get("sends", []))
        return PhoneLimits(sends=sends, failures=tuple(_failure(f) for f in doc.get("failures", [])))

    def put(self, phone_key: str, limits: PhoneLimits, *, now: datetime) -> None:
        sends = [{"at": s.at, "id": s.id, **({"failed": True} if s.failed else {})} for s in limits.sends]
        failures = [{"at": f.at, "net": f.net} for f in limits.failures]
        self._docs.put(layout.otp_rate(phone_key), {"sends": sends, "failures": failures, "updated_at": now, "expires_at": now + DAY})


class SendRecordRepository(Repository):
    """``otp_sends/{send id}``: one SMS and the gateway's answer."""

    def get(self, send_id: str) -> SendRecord | None:
        doc = self._docs.get(layout.otp_send(send_id))
        if doc is None:
            return None
        return SendRecord(
            phone_key=str(doc["phone_key"]),
            status=SendStatus(doc["status"]),
            reserved_at=doc["reserved_at"],
            expires_at=doc["expires_at"],
            provider_id=doc.get("provider_id"),
            reason=doc.get("reason"),
            recorded_at=doc.get("recorded_at"),
        )

    @staticmethod
    def _doc(record: SendRecord) -> Document:
        doc: Document = {"phone_key": record.phone_key, "status": record.status.value, "reserved_at": record.reserved_at, "expires_at": record.expires_at}
        if record.recorded_at is not None:
            doc.update(provider_id=record.provider_id, reason=record.reason, recorded_at=record.recorded_at)
        return doc

    def create(self, send_id: str, record: SendRecord) -> None:
        self._docs.create(layout.otp_send(send_id), self._doc(record))

    def put(self, send_id: str, record: SendRecord) -> None:
        self._docs.put(layout.otp_send(send_id), self._doc(record))


class SmsBudgetRepository(Repository):
    """``sms_budget/{day}-{shard}``: the codes sent on a Moscow day, spread over shards."""

    @staticmethod
    def _shard(day: str, index: int, doc: Document) -> BudgetShard:
        return BudgetShard(day=str(doc.get("day", day)), index=index, count=int(doc.get("count", 0)), expires_at=doc["expires_at"])

    def get(self, day: str, index: int) -> BudgetShard | None:
        doc = self._docs.get(layout.sms_budget_shard(day, index))
        return None if doc is None else self._shard(day, index, doc)

    def sent_on(self, day: str) -> int:
        """The sum of the day's shards (one read of them all)."""
        paths = [layout.sms_budget_shard(day, index) for index in range(BUDGET_SHARDS)]
        docs = self._docs.get_all(paths)
        return sum(int((docs.get(path) or {}).get("count", 0)) for path in paths)

    def put(self, shard: BudgetShard) -> None:
        self._docs.put(layout.sms_budget_shard(shard.day, shard.index), {"day": shard.day, "count": shard.count, "expires_at": shard.expires_at})


class IpRateRepository(Repository):
    """``ip_rate/{bucket}_{window}``: codes requested from an address or network in a window."""

    def get(self, window_id: str) -> IpCounter | None:
        doc = self._docs.get(layout.ip_rate(window_id))
        if doc is None:
            return None
        return IpCounter(count=int(doc.get("count", 0)), window_ends_at=doc["window_ends_at"])

    def put(self, window_id: str, counter: IpCounter) -> None:
        self._docs.put(layout.ip_rate(window_id), {"count": counter.count, "window_ends_at": counter.window_ends_at, "expires_at": counter.expires_at})


# --- sessions ---------------------------------------------------------------------------


class RefreshTokenRepository(Repository):
    """``refresh_tokens/{jti}``: every refresh token issued, and what it was rotated to."""

    def get(self, jti: str) -> RefreshToken | None:
        doc = self._docs.get(layout.refresh_token(jti))
        if doc is None:
            return None
        return RefreshToken(
            customer_id=str(doc["customer_id"]),
            family=str(doc["family"]),
            issued_at=doc["issued_at"],
            expires_at=doc["expires_at"],
            used_at=doc.get("used_at"),
            replaced_by=doc.get("replaced_by"),
        )

    @staticmethod
    def _doc(token: RefreshToken) -> Document:
        return {"customer_id": token.customer_id, "family": token.family, "issued_at": token.issued_at, "expires_at": token.expires_at, "used_at": token.used_at, "replaced_by": token.replaced_by}

    def create(self, jti: str, token: RefreshToken) -> None:
        self._docs.create(layout.refresh_token(jti), self._doc(token))

    def put(self, jti: str, token: RefreshToken) -> None:
        self._docs.put(layout.refresh_token(jti), self._doc(token))


class RefreshFamilyRepository(Repository):
    """``refresh_families/{family}``: present only for a revoked family."""

    def get(self, family: str) -> FamilyRevocation | None:
        doc = self._docs.get(layout.refresh_family(family))
        if doc is None:
            return None
        return FamilyRevocation(
            customer_id=str(doc["customer_id"]),
            revoked_at=doc["revoked_at"],
            reason=RevocationReason(doc["reason"]),
            jti=str(doc["jti"]),
            expires_at=doc["expires_at"],
        )

    def put(self, family: str, revocation: FamilyRevocation) -> None:
        self._docs.put(
            layout.refresh_family(family),
            {"customer_id": revocation.customer_id, "revoked_at": revocation.revoked_at, "reason": revocation.reason.value, "jti": revocation.jti, "expires_at": revocation.expires_at},
        )


class OidcNonceRepository(Repository):
    """``oidc_nonces/{nonce key}``: an OpenID Connect nonce a Telegram login used."""

    def get(self, nonce_key: str) -> UsedNonce | None:
        doc = self._docs.get(layout.oidc_nonce(nonce_key))
        if doc is None:
            return None
        return UsedNonce(telegram_id=int(doc["telegram_id"]), used_at=doc["used_at"], expires_at=doc["expires_at"])

    def create(self, nonce_key: str, used: UsedNonce) -> None:
        self._docs.create(layout.oidc_nonce(nonce_key), {"telegram_id": used.telegram_id, "used_at": used.used_at, "expires_at": used.expires_at})
