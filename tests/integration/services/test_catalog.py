"""The catalog is the truth: quotes, checkout and settlement take every price and flag from it,
whatever the page sent; imports are checked first, applied in batches, and idempotent."""

from __future__ import annotations

import copy
from datetime import timedelta

import msgspec
import pytest

from shared.domain.cart import CartLine
from shared.domain.catalog import Product, SourceRow, UnknownProduct
from shared.domain.config import ProgramConfig
from shared.domain.errors import ProviderUnavailable, StaleQuote
from shared.presets import preset_data
from shared.services import catalog, catalog_import, orders, registration, storefront, sweeps
from shared.services.ledger import balances
from tests.catalog import seed


def velo(**catalog_settings) -> ProgramConfig:
    """Велопробег (silver 1.5 %: bikes × 0.5, accessories × 1.5), sale items neither earn nor burn."""
    raw = preset_data("veloprobeg")
    raw["exclusions"] = {"sale_items_earn": False, "sale_items_burn": False}
    raw["catalog"] = catalog_settings
    return ProgramConfig.model_validate(raw)


BIKE = Product(uid="1001", name="Велосипед Merida Big.Nine", price=10_000_000, product_group="bikes", sku="BK-1")  # 100 000 ₽
FLASK = Product(uid="2002", name="Фляга", price=49_000, old_price=59_000, sale=True, product_group="accessories")
CARD = Product(uid="3003", name="Подарочный сертификат 5000 ₽", price=500_000, gift_certificate=True)

# what a tampered page sends: the bike as a 100 ₽ accessory, the flask without its sale, the card as goods
TAMPERED = [
    CartLine(id="1", product="1001", name="bike", price=10_000, quantity=1, product_group="accessories"),
    CartLine(id="2", sku="2002", price=49_000, quantity=1, product_group="accessories"),
    CartLine(id="3", product="3003", price=500_000, quantity=1, product_group="accessories"),
]


def reasons(line) -> list[str]:
    return [r.code for r in line.reasons]


def test_the_bike_earns_bike_points_whatever_the_page_says(store, now):
    config = velo()
    seed(store, BIKE, FLASK, CARD)
    registration.register_customer(store, config=config, customer_id="dmitry", now=now)
    quote = storefront.quote_cart(store, config=config, customer_id="dmitry", lines=TAMPERED, now=now)
    bike, flask, card = quote.lines
    assert (bike.amount, bike.points_to_earn) == (10_000_000, 750)  # 100 000 ₽ × 1.5 % × 0.5, not × 1.5
    assert (flask.earn_eligible, flask.burn_eligible, flask.points_to_earn) == (False, False, 0)
    assert "sale_item_no_earn" in reasons(flask) and "sale_item_no_burn" in reasons(flask)
    assert (card.earn_eligible, card.points_to_earn) == (False, 0) and "gift_certificate_no_earn" in reasons(card)
    assert quote.subtotal == 10_000_000 + 49_000 + 500_000 and quote.points_to_earn == 750


def test_the_honest_cart_and_the_tampered_one_are_the_same_cart(store, now):
    config = velo()
    seed(store, BIKE)
    honest = storefront.quote_cart(store, config=config, customer_id=None, lines=[CartLine(id="1", product="1001", price=10_000_000, quantity=1, product_group="bikes")], now=now)
    tampered = storefront.quote_cart(store, config=config, customer_id=None, lines=TAMPERED[:1], now=now)
    by_sku = storefront.quote_cart(store, config=config, customer_id=None, lines=[CartLine(id="1", sku="BK-1", price=1, quantity=1)], now=now)
    assert honest.cart_fingerprint == tampered.cart_fingerprint == by_sku.cart_fingerprint
    assert honest.points_to_earn == tampered.points_to_earn == by_sku.points_to_earn


def test_the_preview_prices_each_product_on_the_catalog(store, now):
    seed(store, BIKE)
    points = storefront.preview_catalog(store, config=velo(), customer_id=None, products=[CartLine(id="1001", price=1, quantity=1, product_group="accessories")], now=now)
    assert points == {"1001": (750, 2450)}  # silver 1.5 % and VIP 4.9 %, × 0.5 both


def test_an_unknown_product_earns_the_base_rate_and_says_so(store, now):
    line = CartLine(id="x", product="nope", price=100_000, original_price=150_000, quantity=1, product_group="accessories", sale=True)
    quote = storefront.quote_cart(store, config=velo(missing_product="base_rate"), customer_id=None, lines=[line], now=now)
    [quoted] = quote.lines
    assert quoted.points_to_earn == 15  # 1 000 ₽ × 1.5 %: no coefficient, and the sale flag sent counts for nothing
    assert quoted.reasons[0].code == "not_in_catalog" and quoted.reasons[0].message_ru.startswith("Этого товара нет в каталоге")


def test_an_unknown_product_is_refused_when_the_program_says_so_and_nothing_is_placed(store, now):
    config = velo(missing_product="refuse")
    seed(store, BIKE)
    registration.register_customer(store, config=config, customer_id="dmitry", now=now)
    lines = [TAMPERED[0], CartLine(id="2", name="Насос", product="nope", price=100, quantity=1)]
    with pytest.raises(UnknownProduct) as refused:
        storefront.quote_cart(store, config=config, customer_id="dmitry", lines=lines, now=now)
    assert refused.value.details["lines"] == ["2"] and "«Насос»" in refused.value.message_ru
    with pytest.raises(UnknownProduct):
        orders.place_order(store, config=config, customer_id="dmitry", order_id="V1", lines=lines, bonuses=0, now=now)
    assert orders.find_order(store, "V1") is None
    assert storefront.preview_catalog(store, config=config, customer_id=None, products=lines, now=now)["2"] == (0, 0)


def test_the_order_keeps_the_catalog_lines_and_is_settled_on_them(store, now):
    config = velo()
    seed(store, BIKE, FLASK)
    registration.register_customer(store, config=config, customer_id="dmitry", now=now)
    quote = storefront.quote_cart(store, config=config, customer_id="dmitry", lines=TAMPERED[:2], now=now)
    order, placed_quote = orders.place_order(store, config=config, customer_id="dmitry", order_id="V1", lines=TAMPERED[:2], bonuses=0, now=now, quote_fingerprint=quote.cart_fingerprint)
    assert [(line.product, line.price, line.product_group, line.sale) for line in order.lines] == [("1001", 10_000_000, "bikes", False), ("2002", 49_000, "accessories", True)]
    assert (order.money_to_pay, order.points_to_earn, placed_quote.points_to_earn) == (10_049_000, 750, 750)
    seed(store, msgspec.structs.replace(BIKE, price=100_000, product_group="accessories"))  # the catalog changes after checkout
    paid = orders.mark_paid(store, config=config, order_id="V1", payment=orders.PaymentRef(provider="test", id="p1", amount=order.money_to_pay), now=now + timedelta(minutes=5))
    assert (paid.money_paid, paid.points_earned) == (10_049_000, 750)
    assert balances(store, "dmitry", now).pending == 750
    again, _ = orders.place_order(store, config=config, customer_id="dmitry", order_id="V2", lines=TAMPERED[:1], bonuses=0, now=now)
    assert (again.money_to_pay, again.lines[0].product_group) == (100_000, "accessories")  # the new figures, for the next order only


def test_a_catalog_change_after_the_quote_makes_it_stale(store, now):
    config = velo()
    seed(store, BIKE)
    registration.register_customer(store, config=config, customer_id="dmitry", now=now)
    quote = storefront.quote_cart(store, config=config, customer_id="dmitry", lines=TAMPERED[:1], now=now)
    seed(store, msgspec.structs.replace(BIKE, price=9_000_000))
    with pytest.raises(StaleQuote):
        orders.place_order(store, config=config, customer_id="dmitry", order_id="V1", lines=TAMPERED[:1], bonuses=0, now=now, quote_fingerprint=quote.cart_fingerprint)


def test_the_same_order_again_is_a_replay_whatever_the_page_sends(store, now):
    config = velo()
    seed(store, BIKE)
    registration.register_customer(store, config=config, customer_id="dmitry", now=now)
    first, _ = orders.place_order(store, config=config, customer_id="dmitry", order_id="V1", lines=TAMPERED[:1], bonuses=0, now=now)
    honest = [CartLine(id="1", product="1001", price=10_000_000, quantity=1, product_group="bikes")]
    again, _ = orders.place_order(store, config=config, customer_id="dmitry", order_id="V1", lines=honest, bonuses=0, now=now)
    assert again == first


# --- imports -------------------------------------------------------------------------------------


def rows(*specs: tuple[str, str]) -> list[SourceRow]:
    return [SourceRow(row=n, uid=uid, name=f"Товар {uid}", price=price, categories=("Велосипеды",), sku=f"S-{uid}") for n, (uid, price) in enumerate(specs, start=2)]


def test_an_import_reports_its_rows_and_the_same_file_again_changes_nothing(store, now):
    config = velo(categories={"Велосипеды": "bikes"})
    source = [*rows(("1", "1000"), ("2", "2000")), SourceRow(row=4, uid="", price="1"), SourceRow(row=5, uid="1", price="5"), SourceRow(row=6, uid="6", price="много")]
    first = catalog_import.apply(store, config, source, source="csv", actor="m", now=now)
    record = first.record
    assert (first.replayed, record.status, record.products, record.counts.added, record.refused_count) == (False, "done", 2, 2, 3)
    assert [(r.row, r.code) for r in record.refused] == [(4, "bad_uid"), (5, "duplicate_uid"), (6, "bad_price")]
    assert all(r.message_ru.startswith(f"Строка {r.row}: ") for r in record.refused)
    assert catalog.product(store, "1") == Product(uid="1", name="Товар 1", price=100_000, product_group="bikes", sku="S-1")
    writes = _writes(store)
    again = catalog_import.apply(store, config, source, source="csv", actor="m", now=now + timedelta(hours=1))
    assert again.replayed and again.record == record
    assert _writes(store) == writes
    changed = catalog_import.apply(store, config, rows(("1", "1000"), ("2", "2500"), ("3", "3000")), source="csv", actor="m", now=now)
    assert (changed.record.counts.added, changed.record.counts.changed, changed.record.counts.unchanged) == (1, 1, 1)
    assert catalog.product(store, "2").price == 250_000


def test_an_older_import_sent_after_another_is_applied_again(store, now):
    config = velo()
    a, b = rows(("1", "1000")), rows(("1", "1200"))
    catalog_import.apply(store, config, a, source="csv", actor="m", now=now)
    catalog_import.apply(store, config, b, source="csv", actor="m", now=now)
    back = catalog_import.apply(store, config, a, source="csv", actor="m", now=now)
    assert not back.replayed and back.record.counts.changed == 1 and catalog.product(store, "1").price == 100_000


def test_an_import_cut_short_is_finished_by_sending_it_again(store, now, monkeypatch):
    config = velo()
    monkeypatch.setattr(catalog_import, "BATCH", 2)
    source = rows(*((str(n), str(100 + n)) for n in range(1, 6)))  # three batches
    real = catalog_import._batch
    calls = {"n": 0}

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ProviderUnavailable("the instance died")
        return real(*args, **kwargs)

    monkeypatch.setattr(catalog_import, "_batch", crashing)
    with pytest.raises(ProviderUnavailable):
        catalog_import.apply(store, config, source, source="csv", actor="m", now=now)
    half = store.read(lambda uow: uow.catalog_imports.get(catalog_import.check(config, source).import_id))
    assert (half.status, half.batches, half.batches_done, half.counts.added) == ("running", 3, 1, 2)
    assert store.read(lambda uow: uow.catalog_imports.last_applied()) is None
    monkeypatch.setattr(catalog_import, "_batch", real)
    done = catalog_import.apply(store, config, source, source="csv", actor="m", now=now)
    assert (done.record.status, done.record.batches_done, done.record.counts.added, done.record.counts.unchanged) == ("done", 3, 5, 0)
    assert [catalog.product(store, str(n)).price for n in range(1, 6)] == [10_100, 10_200, 10_300, 10_400, 10_500]


def test_a_sku_on_two_rows_refuses_the_later_one(store, now):
    source = [SourceRow(row=2, uid="1", price="1", sku="S"), SourceRow(row=3, uid="2", price="1", sku="S")]
    record = catalog_import.apply(store, velo(), source, source="csv", actor="m", now=now).record
    assert [(r.row, r.code) for r in record.refused] == [(3, "duplicate_sku")] and record.products == 1


def test_the_sweep_imports_the_feed_and_a_feed_that_fails_waits_for_the_next_run(store, now):
    config = velo(feed_url="https://velo.example/feed.yml")
    fetched: list[str] = []

    def load(url: str) -> list[SourceRow]:
        fetched.append(url)
        return rows(("1", "1000"))

    counts = sweeps.run_sweep(store, config=config, now=now, feed=load)
    assert (counts["catalog_added"], counts["catalog_failed"], fetched) == (1, 0, ["https://velo.example/feed.yml"])
    assert sweeps.run_sweep(store, config=config, now=now, feed=load)["catalog_added"] == 0  # unchanged: nothing written

    def down(url: str) -> list[SourceRow]:
        raise ProviderUnavailable("the feed is down")

    counts = sweeps.run_sweep(store, config=config, now=now, feed=down)
    assert counts["catalog_failed"] == 1 and "canceled" in counts  # the other passes ran
    assert sweeps.run_sweep(store, config=velo(), now=now, feed=load)["catalog_added"] == 0 and len(fetched) == 2  # no feed_url: no fetch


def _writes(store) -> object:
    """What was written so far: Firestore's count of writes, the in-memory store's documents."""
    stats = getattr(store, "stats", None)
    return stats["writes"] if stats is not None else copy.deepcopy(store._docs)
