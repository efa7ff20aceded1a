"""A sticker batch's redeemed figure on the emulator: a count aggregation over the batch's redeemed
codes, exact after every redemption and unmoved by a refused one, and it reads no code document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.presets import load_preset
from shared.services import registration, stickers

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CUSTOMERS = ("ivan", "petr", "olga")


def codes_of(store, batch_id: str) -> list[str]:
    return [row.code for row in store.read(lambda uow: uow.sticker_codes.page(batch_id, after_index=None, limit=100))]


def test_the_redeemed_figure_is_exact_after_each_redemption_and_a_refused_second_one(firestore_store):
    store = firestore_store
    config = load_preset("luchshiy_malyar")
    for customer_id in CUSTOMERS:
        registration.register_customer(store, config=config, customer_id=customer_id, now=NOW - timedelta(days=5))
    for batch_id, count in (("spring", 12), ("autumn", 4)):
        stickers.create_batch(store, batch_id=batch_id, name="Банки краски", count=count, points=50, valid_until=NOW + timedelta(days=365), actor="marketer", now=NOW)
        stickers.generate(store, batch_id=batch_id)
    spring, autumn = codes_of(store, "spring"), codes_of(store, "autumn")
    assert len(spring) == 12 and len(autumn) == 4
    assert stickers.batch(store, "spring").redeemed == 0

    redeemed = 7
    for n, code in enumerate(spring[:redeemed], start=1):
        stickers.redeem(store, config=config, customer_id=CUSTOMERS[n % 3], typed=code, ip=None, now=NOW + timedelta(minutes=n))
        assert stickers.batch(store, "spring").redeemed == n
    stickers.redeem(store, config=config, customer_id="olga", typed=autumn[0], ip=None, now=NOW + timedelta(minutes=30))

    # a second redemption of a redeemed code, by its owner or anyone else, is refused and counts nothing
    for customer_id in ("ivan", "petr"):
        with pytest.raises(stickers.StickerUsed):
            stickers.redeem(store, config=config, customer_id=customer_id, typed=spring[0], ip=None, now=NOW + timedelta(hours=1))
    assert stickers.batch(store, "spring").redeemed == redeemed
    assert stickers.batch(store, "autumn").redeemed == 1
    assert {view.batch.id: view.redeemed for view in stickers.batches(store)} == {"spring": redeemed, "autumn": 1}

    before = store.stats["reads"]
    stickers.batch(store, "spring")
    assert store.stats["reads"] - before == 2  # the batch document and one count: no code is read
