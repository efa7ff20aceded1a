"""Repositories of the program (head, versions, publications), promo codes and payout requests.

Each converts its domain object to and from exactly the stored document
(:mod:`shared.adapters.layout` has the paths)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shared.adapters import layout
from shared.adapters.repositories.base import Repository
from shared.domain.cart import PromoRule
from shared.domain.config import ConfigVersion, ProgramConfig
from shared.domain.payouts import PayoutEvent, PayoutMethod, PayoutRequest, PayoutStatus
from shared.domain.program import ProgramHead, Publication, VersionRef
from shared.domain.promos import Hold, PromoCode, PromoKind, PromoShard, PromoUse

# --- the program ---------------------------------------------------------------------------


def _head(program: str, data: dict[str, Any]) -> ProgramHead:
    refs = tuple(VersionRef(int(v["version"]), v["effective_from"], v.get("key"), v.get("intent")) for v in data.get("versions", []))
    return ProgramHead(program=data.get("program", program), versions=refs)


def _ref(ref: VersionRef) -> dict[str, Any]:
    """A version as the head lists it; the idempotency key and intent only when it was published with one."""
    stored: dict[str, Any] = {"version": ref.version, "effective_from": ref.effective_from}
    if ref.key is not None:
        stored.update(key=ref.key, intent=ref.intent)
    return stored


def _publication(data: dict[str, Any]) -> Publication:
    return Publication(
        actor=data["actor"],
        at=data["at"],
        version=int(data["version"]),
        effective_from=data["effective_from"],
        reason=data.get("reason", ""),
        changed=tuple(data.get("changed", [])),
        action=data.get("action", "config.publish"),
    )


class ProgramRepository(Repository):
    """``programs/{program}``, its ``versions/{n}`` and its publication log ``audit/v{n:06d}``."""

    def head(self, program: str) -> ProgramHead | None:
        data = self._docs.get(layout.program(program))
        return None if data is None else _head(program, data)

    def put_head(self, head: ProgramHead) -> None:
        existing = self._docs.get(layout.program(head.program)) or {}
        versions = [_ref(v) for v in head.versions]
        self._docs.put(layout.program(head.program), {**existing, "program": head.program, "versions": versions})

    def version(self, program: str, number: int) -> ConfigVersion | None:
        data = self._docs.get(layout.program_version(program, number))
        if data is None:
            return None
        return ConfigVersion(
            version=number,
            effective_from=data["effective_from"],
            config=ProgramConfig.model_validate(data["config"]),
            author=data["author"],
            reason=data.get("reason", ""),
            created_at=data["created_at"],
        )

    def create_version(self, program: str, version: ConfigVersion) -> None:
        self._docs.create(
            layout.program_version(program, version.version),
            {
                "version": version.version,
                "effective_from": version.effective_from,
                "config": version.config.model_dump(mode="json"),
                "author": version.author,
                "reason": version.reason,
                "created_at": version.created_at,
            },
        )

    def create_publication(self, program: str, publication: Publication) -> None:
        self._docs.create(
            layout.program_publication(program, publication.version),
            {
                "action": publication.action,
                "actor": publication.actor,
                "at": publication.at,
                "version": publication.version,
                "effective_from": publication.effective_from,
                "reason": publication.reason,
                "changed": list(publication.changed),
            },
        )

    def publications(self, program: str, *, limit: int) -> list[Publication]:
        """The publication log, newest version first."""
        rows = self._queries.ordered(layout.program_audit(program), order_by="version", descending=True, limit=limit)
        return [_publication(data) for _, data in rows]


# --- promo codes -----------------------------------------------------------------------------


def _rule(raw: Any) -> PromoRule | None:
    if raw is None:
        return None
    try:
        return PromoRule.model_validate(raw)
    except ValidationError:
        return None  # a damaged rule is treated as unknown, never as a discount


def _promo(data: dict[str, Any]) -> PromoCode:
    return PromoCode(
        code=data["code"],
        kind=PromoKind(data.get("kind") or (PromoKind.PARTNER if data.get("partner_id") else PromoKind.DISCOUNT)),
        rule=_rule(data.get("rule")),
        partner_id=data.get("partner_id"),
        active=bool(data.get("active", False)),
        total_limit=data.get("total_limit"),
        per_customer_limit=data.get("per_customer_limit"),
        uses=int(data.get("uses", 0)),
        created_at=data.get("created_at"),
        last_used_at=data.get("last_used_at"),
        deactivated_at=data.get("deactivated_at"),
        deactivated_by=data.get("deactivated_by"),
        shards=int(data.get("shards", 0)),
    )


def promo_document(code: PromoCode) -> dict[str, Any]:
    document: dict[str, Any] = {
        "code": code.code,
        "kind": code.kind.value,
        "rule": None if code.rule is None else code.rule.model_dump(mode="json"),
        "partner_id": code.partner_id,
        "active": code.active,
        "total_limit": code.total_limit,
        "per_customer_limit": code.per_customer_limit,
        "uses": code.uses,
        "created_at": code.created_at,
    }
    if code.shards:
        document["shards"] = code.shards
    optional = {"last_used_at": code.last_used_at, "deactivated_at": code.deactivated_at, "deactivated_by": code.deactivated_by}
    document.update({key: value for key, value in optional.items() if value is not None})
    return document


def _use(data: dict[str, Any]) -> PromoUse:
    holds = tuple(Hold(order_id=h["order_id"], until=h["until"]) for h in data.get("holds") or [])
    shards = tuple((order_id, int(index)) for order_id, index in (data.get("shards") or {}).items())
    return PromoUse(code=data["code"], customer_id=data["customer_id"], orders=tuple(data.get("orders", [])), updated_at=data.get("updated_at"), holds=holds, shards=shards)


def _shard(data: dict[str, Any]) -> PromoShard:
    return PromoShard(code=data["code"], index=int(data["index"]), left=data.get("left"), used=int(data.get("used", 0)), last_used_at=data.get("last_used_at"))


class PromoRepository(Repository):
    """``promo_codes/{CODE}`` and its customers' uses ``promo_codes/{CODE}/customers/{id}``."""

    def get(self, code: str) -> PromoCode | None:
        data = self._docs.get(layout.promo_code(code))
        return None if data is None else _promo(data)

    def create(self, code: PromoCode) -> None:
        self._docs.create(layout.promo_code(code.code), promo_document(code))

    def save(self, code: PromoCode) -> None:
        """Store the code's new state; a stored rule that no longer validates is kept as it is."""
        existing = self._docs.get(layout.promo_code(code.code)) or {}
        document = {**existing, **promo_document(code)}
        if code.rule is None and existing.get("rule") is not None:
            document["rule"] = existing["rule"]
        self._docs.put(layout.promo_code(code.code), document)

    def page(self, *, limit: int, after: str | None = None) -> list[PromoCode]:
        """Codes in code order, after the code ``after``."""
        return [_promo(data) for _, data in self._queries.ordered(layout.PROMO_CODES, order_by="code", limit=limit, start_after=after)]

    def use(self, code: str, customer_id: str) -> PromoUse | None:
        data = self._docs.get(layout.promo_customer(code, customer_id))
        return None if data is None else _use(data)

    def save_use(self, use: PromoUse) -> None:
        existing = self._docs.get(layout.promo_customer(use.code, use.customer_id)) or {}
        document = {**existing, "code": use.code, "customer_id": use.customer_id, "orders": list(use.orders)}
        if use.holds or "holds" in existing:
            document["holds"] = [{"order_id": h.order_id, "until": h.until} for h in use.holds]
        if use.shards or "shards" in existing:
            document["shards"] = dict(use.shards)
        if use.updated_at is not None:
            document["updated_at"] = use.updated_at
        self._docs.put(layout.promo_customer(use.code, use.customer_id), document)

    def shard(self, code: str, index: int) -> PromoShard | None:
        data = self._docs.get(layout.promo_shard(code, index))
        return None if data is None else _shard(data)

    def save_shard(self, shard: PromoShard) -> None:
        document: dict[str, Any] = {"code": shard.code, "index": shard.index, "left": shard.left, "used": shard.used}
        if shard.last_used_at is not None:
            document["last_used_at"] = shard.last_used_at
        self._docs.put(layout.promo_shard(shard.code, shard.index), document)

    def all_shards(self, code: PromoCode) -> list[PromoShard]:
        """Every shard of a code (read together: for figures, never on an order's path)."""
        paths = [layout.promo_shard(code.code, i) for i in range(code.shards)]
        found = self._docs.get_all(paths)
        return [_shard(data) for path in paths if (data := found.get(path)) is not None]

    def uses(self, code: str, *, limit: int, after: str | None = None) -> list[PromoUse]:
        """The customers who used a code, in customer-id order, after the customer ``after``."""
        rows = self._queries.ordered(layout.promo_customers(code), order_by="customer_id", limit=limit, start_after=after)
        return [_use(data) for _, data in rows]


# --- payout requests --------------------------------------------------------------------------


def _event(data: dict[str, Any]) -> PayoutEvent:
    return PayoutEvent(status=PayoutStatus(data["status"]), at=data["at"], actor=data.get("actor", ""), reason=data.get("reason"))


def _payout(data: dict[str, Any]) -> PayoutRequest:
    return PayoutRequest(
        request_id=data["request_id"],
        customer_id=data["customer_id"],
        amount=int(data["amount"]),
        method=PayoutMethod(data["method"]),
        details=data["details"],
        status=PayoutStatus(data["status"]),
        created_at=data["created_at"],
        updated_at=data["updated_at"],
        history=tuple(_event(h) for h in data.get("history", [])),
        decided_by=data.get("decided_by"),
        decided_at=data.get("decided_at"),
        reason=data.get("reason"),
        paid_by=data.get("paid_by"),
        paid_at=data.get("paid_at"),
        destination=data.get("destination"),
    )


def payout_document(request: PayoutRequest) -> dict[str, Any]:
    """The stored request (:meth:`PayoutRequest.record`)."""
    return request.record()


class PayoutRepository(Repository):
    """``payouts/{request_id}``."""

    def get(self, request_id: str) -> PayoutRequest | None:
        data = self._docs.get(layout.payout(request_id))
        return None if data is None else _payout(data)

    def get_many(self, request_ids: list[str]) -> list[PayoutRequest]:
        """The requests that exist, in the order asked."""
        found = self._docs.get_all([layout.payout(i) for i in request_ids])
        return [_payout(data) for data in (found.get(layout.payout(i)) for i in request_ids) if data is not None]

    def create(self, request: PayoutRequest) -> None:
        self._docs.create(layout.payout(request.request_id), payout_document(request))

    def put(self, request: PayoutRequest) -> None:
        self._docs.put(layout.payout(request.request_id), payout_document(request))

    def ids_of_customer(self, customer_id: str, *, limit: int, after: str | None = None) -> list[str]:
        """The partner's request ids, in id order, after the id ``after``."""
        return self._queries.matching(layout.PAYOUTS, field="customer_id", value=customer_id, limit=limit, start_after=after)

    def ids_with_status(self, status: PayoutStatus, *, limit: int, after: str | None = None) -> list[str]:
        """The ids of the requests in ``status``, in id order, after the id ``after``."""
        return self._queries.matching(layout.PAYOUTS, field="status", value=status.value, limit=limit, start_after=after)


__all__ = ["PayoutRepository", "ProgramRepository", "PromoRepository", "payout_document", "promo_document"]
