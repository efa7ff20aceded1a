"""Sticker codes: a batch created and generated, exported for the printer, and a code redeemed.

**Generation** writes the batch's codes in chunks of :data:`CHUNK` per
transaction, the batch's ``generated`` count moving on in the same commit, so a
run that stops resumes where it stopped and a second run of a complete batch
writes nothing (idempotent by the batch id and the index). A code that collides
with an existing one fails its chunk's commit, which is drawn again.

**Redemption** (:func:`redeem`) is one transaction: the customer's and the
address's wrong-code counters (``sticker_attempts/customer:<id>`` and
``ip:<sha256>``, never a shared document) are read first; while either waits
(``retry_after``) or is blocked (``sticker_blocked``) nothing else is read. A
code that fails its check character or is unknown counts as wrong; a known
code credits the batch's points through the ``sticker_code`` earning event
(natural key: the code) and is marked redeemed in the same commit, so a second
redemption, by anyone, is refused with ``sticker_used``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

from msgspec import Struct
from msgspec.structs import replace

from shared.domain.config import EarningEvent, ProgramConfig
from shared.domain.errors import BusinessRefusal, NotFound, TooManyRequests, ValidationFailed
from shared.domain.ledger import require_utc
from shared.domain.stickers import MAX_BATCH, StickerBatch, StickerCode, after_failure, after_success, formatted, new_code, normalize, refused_now
from shared.services import earning_events
from shared.services.ports import Store, UnitOfWork

CHUNK = 400  # codes per transaction (Firestore takes 500 writes in one)


class StickerWrong(BusinessRefusal):
    code = "sticker_wrong"
    message_ru = "Неверный код. Проверьте код на стикере."


class StickerUsed(BusinessRefusal):
    code = "sticker_used"
    message_ru = "Этот код уже использован."


class StickerExpired(BusinessRefusal):
    code = "sticker_expired"
    message_ru = "Срок действия кода истёк."


class StickerThrottled(TooManyRequests):
    """A wrong code's wait (``retry_after``) or a block (``sticker_blocked``) not yet over."""

    def __init__(self, code: str, until: datetime, now: datetime) -> None:
        blocked = code == "sticker_blocked"
        moment = until.strftime("%d.%m.%Y %H:%M UTC")
        message_ru = f"Слишком много неверных кодов: ввод заблокирован до {moment}." if blocked else "Подождите немного перед следующей попыткой."
        seconds = max(1, int((until - now).total_seconds() + 0.999))
        super().__init__(f"{code} until {until.isoformat()}", message_ru=message_ru, until=until.isoformat(), retry_after_seconds=seconds)
        self.code = code
        self.retry_after_seconds = seconds


class Redeemed(Struct, frozen=True, kw_only=True):
    code: str
    batch_id: str
    points: int
    activates_at: datetime
    expires_at: datetime


class BatchView(Struct, frozen=True, kw_only=True):
    batch: StickerBatch
    redeemed: int


# --- batches --------------------------------------------------------------------------


def create_batch(store: Store, *, batch_id: str, name: str, count: int, points: int, valid_until: datetime, actor: str, now: datetime) -> StickerBatch:
    """A new batch (nothing generated yet); the same ``batch_id`` again answers the stored one."""
    require_utc(now)
    if valid_until.tzinfo is None:
        raise ValidationFailed("valid_until needs its time zone", message_ru="Укажите срок действия с часовым поясом.", field="valid_until")
    valid_until = valid_until.astimezone(UTC)
    if not 1 <= count <= MAX_BATCH:
        raise ValidationFailed(f"count must be 1..{MAX_BATCH}", message_ru=f"Количество кодов — от 1 до {MAX_BATCH}.", field="count")
    if points < 1:
        raise ValidationFailed("points must be positive", message_ru="Бонусов за код — не меньше 1.", field="points")
    if valid_until <= now:
        raise ValidationFailed("valid_until is in the past", message_ru="Срок действия должен быть в будущем.", field="valid_until")

    def unit(uow: UnitOfWork) -> StickerBatch:
        found = uow.sticker_batches.get(batch_id)
        if found is not None:
            return found
        batch = StickerBatch(id=batch_id, name=name, count=count, points=points, valid_until=valid_until, created_at=now, created_by=actor)
        uow.sticker_batches.put(batch)
        return batch

    return store.run(unit)


def _batch(uow: UnitOfWork, batch_id: str) -> StickerBatch:
    batch = uow.sticker_batches.get(batch_id)
    if batch is None:
        raise NotFound("unknown sticker batch", batch_id=batch_id, message_ru="Партия стикеров не найдена.")
    return batch


def generate(store: Store, *, batch_id: str, max_chunks: int | None = None) -> StickerBatch:
    """Generate the batch's missing codes (all of them, or ``max_chunks`` chunks); resumable."""
    batch = store.read(lambda uow: _batch(uow, batch_id))
    chunks = 0
    while not batch.complete and (max_chunks is None or chunks < max_chunks):

        def unit(uow: UnitOfWork) -> StickerBatch:
            current = _batch(uow, batch_id)
            end = min(current.count, current.generated + CHUNK)
            for index in range(current.generated, end):
                uow.sticker_codes.create(StickerCode(code=new_code(), batch_id=batch_id, index=index))
            done = replace(current, generated=end)
            uow.sticker_batches.put(done)
            return done

        batch = store.run(unit)
        chunks += 1
    return batch


def batches(store: Store, *, limit: int = 50) -> list[BatchView]:
    """The latest batches with their redeemed counts."""
    return store.read(lambda uow: [BatchView(batch=b, redeemed=uow.sticker_batches.redeemed(b.id)) for b in uow.sticker_batches.latest(limit=limit)])


def batch(store: Store, batch_id: str) -> BatchView:
    return store.read(lambda uow: BatchView(batch=_batch(uow, batch_id), redeemed=uow.sticker_batches.redeemed(batch_id)))


def export_csv(store: Store, *, batch_id: str, page: int = 1000) -> Iterator[str]:
    """The batch's codes for the printer: a CSV header, then ``index,code`` per line."""
    found = store.read(lambda uow: _batch(uow, batch_id))
    yield "index;code;points;valid_until\r\n"
    after: int | None = None

    def read_page(uow: UnitOfWork, after: int | None) -> list[StickerCode]:
        return uow.sticker_codes.page(batch_id, after_index=after, limit=page)

    while True:
        rows = store.read(partial(read_page, after=after))
        for row in rows:
            yield f"{row.index + 1};{formatted(row.code)};{found.points};{found.valid_until.date().isoformat()}\r\n"
        if len(rows) < page:
            return
        after = rows[-1].index


# --- redemption -----------------------------------------------------------------------


def ip_key(ip: str | None) -> str | None:
    return None if not ip else "ip:" + hashlib.sha256(ip.encode()).hexdigest()


def redeem(store: Store, *, config: ProgramConfig, customer_id: str, typed: str, ip: str | None, now: datetime) -> Redeemed:
    """Redeem a code for ``customer_id``; every refusal but a wait or a block counts a wrong code."""
    require_utc(now)
    keys = [f"customer:{customer_id}"] + ([k] if (k := ip_key(ip)) else [])

    def unit(uow: UnitOfWork) -> Redeemed | BusinessRefusal:
        counters = {who: uow.sticker_attempts.get(who) for who in keys}
        for attempts in counters.values():
            throttled = refused_now(attempts, now)
            if throttled is not None:
                raise StickerThrottled(throttled.code, throttled.until, now)
        code = normalize(typed)
        found = uow.sticker_codes.get(code) if code is not None else None
        if code is None or found is None:
            for who, attempts in counters.items():
                uow.sticker_attempts.put(after_failure(attempts, who, now, config.stickers))
            return StickerWrong("wrong sticker code")  # answered after the commit that counted it
        if found.redeemed_by is not None:
            raise StickerUsed("the code was redeemed", redeemed_by_you=found.redeemed_by == customer_id)
        sticker_batch = _batch(uow, found.batch_id)
        if now >= sticker_batch.valid_until:
            raise StickerExpired("the batch's codes expired", valid_until=sticker_batch.valid_until.isoformat())
        credit = earning_events.credit_in(
            uow, config=config, customer_id=customer_id, event=EarningEvent.STICKER_CODE, key=code, now=now, amount=sticker_batch.points, source_ref=f"sticker:{found.batch_id}"
        )
        uow.sticker_codes.put(replace(found, redeemed_by=customer_id, redeemed_at=now))
        for attempts in counters.values():
            lifted = after_success(attempts, now)
            if lifted is not None:
                uow.sticker_attempts.put(lifted)
        return Redeemed(code=code, batch_id=found.batch_id, points=credit.amount, activates_at=credit.activates_at, expires_at=credit.expires_at)

    outcome = store.run(unit)
    if isinstance(outcome, BusinessRefusal):
        raise outcome
    return outcome
