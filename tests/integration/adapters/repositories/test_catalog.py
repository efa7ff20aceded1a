"""The catalog's repositories on both stores: products by UID, SKU and external id, pages, and the
imports' records; a cart of 500 lines is resolved in a bounded number of batched reads."""

from __future__ import annotations

from datetime import timedelta

from shared.adapters import layout
from shared.domain.catalog import CatalogImport, ImportCounts, Product, RowRefusal
from tests.catalog import seed

BIKE = Product(uid="100", name="Велосипед", price=10000000, product_group="bikes", brand="merida", sku="BK-1", external_id="ext/100")
FLASK = Product(uid="300", name="Фляга", price=49000, old_price=59000, sale=True)


def test_a_product_round_trips_and_its_document_is_small(store):
    seed(store, BIKE, FLASK)
    assert store.read(lambda uow: uow.products.get("100")) == BIKE
    assert store.run(lambda uow: uow.products.get("300")) == FLASK
    raw = store.read(lambda uow: uow.get(layout.product("300")))
    assert raw == {"uid": "300", "name": "Фляга", "price": 49000, "old_price": 59000, "sale": True}
    assert store.read(lambda uow: uow.products.get("missing")) is None
    assert store.read(lambda uow: uow.products.get("a/b")) is None  # never a path


def test_a_product_is_found_by_uid_sku_or_external_id_and_nothing_else(store):
    seed(store, BIKE, FLASK)
    found = store.read(lambda uow: uow.products.resolve(["100", "BK-1", "ext/100", "Фляга", "nope", "300"]))
    assert found == {"100": BIKE, "BK-1": BIKE, "ext/100": BIKE, "300": FLASK}


def test_an_old_sku_finds_nothing_once_the_product_changed_it(store):
    seed(store, BIKE)
    seed(store, Product(uid="100", name="Велосипед", price=10000000, sku="BK-2"))
    found = store.read(lambda uow: uow.products.resolve(["BK-1", "BK-2", "ext/100"]))
    assert set(found) == {"BK-2"}


def test_a_sku_taken_over_by_another_product_finds_the_new_one(store):
    seed(store, BIKE)
    other = Product(uid="101", name="Велосипед L", price=10000000, sku="BK-1")
    seed(store, other)
    assert store.read(lambda uow: uow.products.resolve(["BK-1"])) == {"BK-1": other}


def test_pages_follow_the_uid_order(store):
    seed(store, *(Product(uid=f"p{i:02d}", name=f"Товар {i}", price=100 * i) for i in range(5)))
    first = store.read(lambda uow: uow.products.page(limit=3))
    rest = store.read(lambda uow: uow.products.page(limit=3, after=first[-1].uid))
    assert [p.uid for p in first] == ["p00", "p01", "p02"] and [p.uid for p in rest] == ["p03", "p04"]


def test_500_lines_resolve_in_three_batched_reads_at_most(store, monkeypatch):
    seed(store, *(Product(uid=f"u{i}", name="т", price=100, sku=f"s{i}") for i in range(500)))
    keys = [f"u{i}" if i % 2 else f"s{i}" for i in range(500)]  # half by UID, half by SKU
    calls: list[int] = []

    def count(uow):
        real = uow.get_all

        def get_all(paths):
            calls.append(len(paths))
            return real(paths)

        monkeypatch.setattr(uow, "get_all", get_all)
        return uow.products.resolve(keys)

    found = store.read(count)
    assert len(found) == 500 and all(found[k].uid == (k if k.startswith("u") else "u" + k[1:]) for k in keys)
    assert len(calls) == 3, calls  # the UIDs, the index of what is left, the products it names


def test_an_import_record_and_the_last_import_round_trip(store, now):
    record = CatalogImport(
        import_id="abc", source="csv", actor="m@shop.example", status="running", products=3, batches=1, batches_done=0,
        counts=ImportCounts(added=1), refused_count=1, refused=(RowRefusal(row=4, uid="", code="bad_uid", message="m", message_ru="Строка 4: …"),), started_at=now,
    )
    assert store.read(lambda uow: uow.catalog_imports.get("abc")) is None
    store.run(lambda uow: uow.catalog_imports.put(record))
    assert store.read(lambda uow: uow.catalog_imports.get("abc")) == record
    assert store.read(lambda uow: uow.catalog_imports.last_applied()) is None
    store.run(lambda uow: uow.catalog_imports.set_last_applied("abc"))
    assert store.read(lambda uow: uow.catalog_imports.last_applied()) == "abc"
    done = CatalogImport(**{**{f: getattr(record, f) for f in record.__struct_fields__}, "status": "done", "finished_at": now + timedelta(seconds=1)})
    store.run(lambda uow: uow.catalog_imports.put(done))
    assert store.read(lambda uow: uow.catalog_imports.get("abc")).done
