"""The repositories of earning events and sticker codes: a capped rule's per-period counters
(``customers/{id}/event_periods``), sticker batches, codes and the wrong-code counters."""

from __future__ import annotations

from typing import Any

from msgspec.structs import asdict

from shared.adapters import layout
from shared.adapters.repositories.base import Repository
from shared.domain.stickers import Attempts, StickerBatch, StickerCode

_ORDER_FIELD = "batch_index"  # "{batch_id}:{index:06d}": a batch's codes in index order


class EventPeriodRepository(Repository):
    """``customers/{id}/event_periods/{rule}:{period}``: ``{count}``."""

    def count(self, customer_id: str, counter: str) -> int:
        data = self._docs.get(layout.event_period(customer_id, counter))
        return 0 if data is None else int(data.get("count", 0))

    def put(self, customer_id: str, counter: str, count: int) -> None:
        self._docs.put(layout.event_period(customer_id, counter), {"count": count})


class StickerBatchRepository(Repository):
    """``sticker_batches/{id}``: every field of :class:`StickerBatch`."""

    def get(self, batch_id: str) -> StickerBatch | None:
        data = self._docs.get(layout.sticker_batch(batch_id))
        return None if data is None else StickerBatch(**data)

    def put(self, batch: StickerBatch) -> None:
        self._docs.put(layout.sticker_batch(batch.id), asdict(batch))

    def latest(self, *, limit: int) -> list[StickerBatch]:
        rows = self._queries.ordered(layout.STICKER_BATCHES, order_by="created_at", descending=True, limit=limit)
        return [StickerBatch(**data) for _, data in rows]

    def redeemed(self, batch_id: str) -> int:
        """How many of the batch's codes were redeemed: a count aggregation, outside any transaction
        (no code document is read; exact at the moment it runs)."""
        return self._queries.count(layout.STICKER_CODES, field=layout.STICKER_CODE_REDEEMED_FIELD, value=batch_id)


def _code(data: dict[str, Any]) -> StickerCode:
    return StickerCode(
        code=data["code"], batch_id=data["batch_id"], index=int(data["index"]), redeemed_by=data.get("redeemed_by"), redeemed_at=data.get("redeemed_at")
    )


class StickerCodeRepository(Repository):
    """``sticker_codes/{code}``: ``{code, batch_id, index, batch_index, redeemed_by, redeemed_at, redeemed_batch}``."""

    def get(self, code: str) -> StickerCode | None:
        data = self._docs.get(layout.sticker_code(code))
        return None if data is None else _code(data)

    def _document(self, code: StickerCode) -> dict[str, Any]:
        return {
            **asdict(code),
            _ORDER_FIELD: f"{code.batch_id}:{code.index:06d}",
            layout.STICKER_CODE_REDEEMED_FIELD: code.batch_id if code.redeemed_by else None,
        }

    def create(self, code: StickerCode) -> None:
        """A new code; the commit fails if the code exists (a collision: the chunk is drawn again)."""
        self._docs.create(layout.sticker_code(code.code), self._document(code))

    def put(self, code: StickerCode) -> None:
        self._docs.put(layout.sticker_code(code.code), self._document(code))

    def page(self, batch_id: str, *, after_index: int | None, limit: int) -> list[StickerCode]:
        """The batch's codes in index order after ``after_index`` (a query, outside any transaction)."""
        start = f"{batch_id}:{after_index:06d}" if after_index is not None else f"{batch_id}:"
        rows = self._queries.ordered(layout.STICKER_CODES, order_by=_ORDER_FIELD, limit=limit, start_after=start)
        return [_code(data) for _, data in rows if data.get("batch_id") == batch_id]


class StickerAttemptRepository(Repository):
    """``sticker_attempts/{who}``: every field of :class:`Attempts`; ``who`` is ``customer:<id>`` or ``ip:<sha256>``."""

    def get(self, who: str) -> Attempts | None:
        data = self._docs.get(layout.sticker_attempts(who))
        return None if data is None else Attempts(**data)

    def put(self, attempts: Attempts) -> None:
        self._docs.put(layout.sticker_attempts(attempts.who), asdict(attempts))
