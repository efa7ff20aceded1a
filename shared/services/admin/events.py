"""The back office's earning events and sticker batches: a manager credits an event checked by hand
(a review, a repost), a marketer creates, generates and exports sticker batches. Each change commits
with its audit record; a replay writes no second one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from shared.api.events import StickerBatchView
from shared.domain.config import EarningEvent, ProgramConfig
from shared.domain.stickers import StickerBatch
from shared.edge.admin_auth import Admin
from shared.services import earning_events, stickers
from shared.services.admin import audit as _audit
from shared.services.admin.common import valid_customer_id
from shared.services.earning_events import EventCredit
from shared.services.ports import Store, UnitOfWork


def credit_event(store: Store, admin: Admin, *, config: ProgramConfig, customer_id: str, event: str, key: str | None, rule: str | None, note: str, now: datetime) -> EventCredit:
    """Credit ``event`` to the customer once per natural key, audited in the same commit."""
    admin.require("customer.event")
    valid_customer_id(customer_id)

    def unit(uow: UnitOfWork) -> EventCredit:
        credit = earning_events.credit_in(uow, config=config, customer_id=customer_id, event=EarningEvent(event), key=key, now=now, rule_code=rule, source_ref=f"admin:{admin.email}")
        _audit.audit_in(
            uow, admin, action="customer.event", target=f"customer:{customer_id}",
            params={"event": event, "key": credit.key, "rule": credit.rule, "note": note}, result={"amount": credit.amount}, now=now,
        )
        return credit

    return store.run(unit)


def _view(view: stickers.BatchView) -> StickerBatchView:
    b = view.batch
    return StickerBatchView(
        id=b.id, name=b.name, count=b.count, generated=b.generated, redeemed=view.redeemed, points=b.points, valid_until=b.valid_until, created_at=b.created_at, created_by=b.created_by
    )


def create_batch(store: Store, admin: Admin, *, batch_id: str, name: str, count: int, points: int, valid_until: datetime, now: datetime) -> StickerBatchView:
    """A new batch, its codes generated (resumable: the same batch id again finishes it)."""
    admin.require("sticker.manage")
    existing = store.read(lambda uow: uow.sticker_batches.get(batch_id))
    created: StickerBatch = existing or stickers.create_batch(store, batch_id=batch_id, name=name, count=count, points=points, valid_until=valid_until, actor=admin.email, now=now)
    if existing is None:
        _audit.audit(store, admin, action="sticker.create", target=f"sticker_batch:{batch_id}", params={"name": name, "count": count, "points": points, "valid_until": valid_until.isoformat()},
                     result={"batch_id": batch_id}, now=now)
    if not created.complete:
        stickers.generate(store, batch_id=batch_id)
    return _view(stickers.batch(store, batch_id))


def generate(store: Store, admin: Admin, *, batch_id: str) -> StickerBatchView:
    admin.require("sticker.manage")
    stickers.generate(store, batch_id=batch_id)
    return _view(stickers.batch(store, batch_id))


def batch_list(store: Store, admin: Admin, *, limit: int = 50) -> list[StickerBatchView]:
    admin.require("sticker.manage")
    return [_view(v) for v in stickers.batches(store, limit=limit)]


def batch(store: Store, admin: Admin, *, batch_id: str) -> StickerBatchView:
    admin.require("sticker.manage")
    return _view(stickers.batch(store, batch_id))


def export(store: Store, admin: Admin, *, batch_id: str, now: datetime) -> Iterator[str]:
    """The batch's CSV for the printer (the export is audited: the codes are worth bonuses)."""
    admin.require("sticker.manage")
    stickers.batch(store, batch_id)  # 404 for an unknown batch before anything is recorded
    _audit.audit(store, admin, action="sticker.export", target=f"sticker_batch:{batch_id}", params={}, result={}, now=now)
    return stickers.export_csv(store, batch_id=batch_id)
