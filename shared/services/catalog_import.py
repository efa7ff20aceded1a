"""Importing the shop's catalog (a Tilda CSV export, a YML feed): validated first, then applied in
bounded batches under one recorded import id, so a crash and a retry finish the same import.

The rule for bad rows: **refused rows are reported and skipped, the rest is
applied**. Every row is checked before anything is written
(:func:`shared.domain.catalog.product_of`: a UID, a price in roubles, an old
price if any; a UID, SKU or external id already on an earlier row refuses the
later row); the report lists each refused row with its row number, a code and
a Russian message.

The import id is a digest of what the import writes (the products as the
mapping in force makes them, and the refused rows), so the same file under
the same mapping is the same import:

* the import applied last, sent again, changes nothing and answers its first
  report (``replayed``), after one read;
* an import that stopped half-way (a crash, a timeout) is finished by sending
  it again: the batches recorded as written are skipped, the rest written,
  and the report counts every batch once;
* an older import sent again after another one is applied anew.

Each batch (:data:`BATCH` products, their index documents and the import's
record) is one transaction; a product equal to the stored one is not written
(``unchanged``). Products the file does not list are kept: an import adds and
changes, it never deletes. ``then`` (the back office's audit record) runs in
the transaction of the last batch, once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

import msgspec
from msgspec import Struct

from shared.domain.catalog import MAX_REFUSALS_KEPT, CatalogImport, ImportCounts, Product, RowRefusal, SourceRow, duplicate, product_of
from shared.domain.config import ProgramConfig
from shared.domain.ledger import require_utc
from shared.services.ports import Store, UnitOfWork

BATCH = 150  # products per transaction: with two index documents each, within Firestore's 500 writes


class Checked(Struct, frozen=True):
    """An import validated: the products it writes, in row order, and the rows it refuses."""

    products: list[Product]
    refused: list[RowRefusal]

    @property
    def import_id(self) -> str:
        payload = msgspec.json.encode({"products": self.products, "refused": [(r.row, r.code) for r in self.refused]})
        return hashlib.sha256(payload).hexdigest()[:32]


class ImportOutcome(Struct, frozen=True):
    record: CatalogImport
    replayed: bool


def check(config: ProgramConfig, rows: list[SourceRow]) -> Checked:
    """Every row turned into a product or refused; nothing is written."""
    products: list[Product] = []
    refused: list[RowRefusal] = []
    seen: dict[str, set[str]] = {"uid": set(), "sku": set(), "external": set()}
    for row in rows:
        made = product_of(config.catalog, row)
        if isinstance(made, RowRefusal):
            refused.append(made)
            continue
        taken = [(kind, value) for kind, value in (("uid", made.uid), *made.keys) if value in seen[kind]]
        if taken:
            refused.append(duplicate(row, *taken[0]))
            continue
        for kind, value in (("uid", made.uid), *made.keys):
            seen[kind].add(value)
        products.append(made)
    return Checked(products=products, refused=refused)


def _begin(store: Store, checked: Checked, *, source: str, actor: str, now: datetime) -> ImportOutcome:
    import_id = checked.import_id
    batches = -(-len(checked.products) // BATCH)

    def unit(uow: UnitOfWork) -> ImportOutcome:
        record = uow.catalog_imports.get(import_id)
        if record is not None and record.done and uow.catalog_imports.last_applied() == import_id:
            return ImportOutcome(record, replayed=True)
        if record is not None and not record.done:
            return ImportOutcome(record, replayed=False)  # resumed where it stopped
        record = CatalogImport(
            import_id=import_id,
            source=source,
            actor=actor,
            status="running",
            products=len(checked.products),
            batches=batches,
            batches_done=0,
            counts=ImportCounts(),
            refused_count=len(checked.refused),
            refused=tuple(checked.refused[:MAX_REFUSALS_KEPT]),
            started_at=now,
        )
        uow.catalog_imports.put(record)
        return ImportOutcome(record, replayed=False)

    return store.run(unit)


def _batch(store: Store, import_id: str, index: int, products: list[Product], *, now: datetime, then: Callable[[UnitOfWork, CatalogImport], None] | None) -> CatalogImport:
    def unit(uow: UnitOfWork) -> CatalogImport:
        record = uow.catalog_imports.get(import_id)
        if record is None:
            raise RuntimeError(f"the record of import {import_id} is written before its batches")
        if record.done or record.batches_done != index:
            return record  # another run of the same import wrote this batch meanwhile
        stored = uow.products.get_many(p.uid for p in products)
        added = changed = unchanged = 0
        for product in products:
            before = stored.get(product.uid)
            if before == product:
                unchanged += 1
                continue
            uow.products.put(product, before)
            added, changed = (added + 1, changed) if before is None else (added, changed + 1)
        done = index + 1 >= record.batches
        moved = msgspec.structs.replace(
            record,
            batches_done=index + 1,
            counts=record.counts.plus(ImportCounts(added=added, changed=changed, unchanged=unchanged)),
            status="done" if done else "running",
            finished_at=now if done else None,
        )
        _finish(uow, moved, done, then)
        return moved

    return store.run(unit)


def _finish(uow: UnitOfWork, record: CatalogImport, done: bool, then: Callable[[UnitOfWork, CatalogImport], None] | None) -> None:
    uow.catalog_imports.put(record)
    if done:
        uow.catalog_imports.set_last_applied(record.import_id)
        if then is not None:
            then(uow, record)


def apply(
    store: Store, config: ProgramConfig, rows: list[SourceRow], *, source: str, actor: str, now: datetime, then: Callable[[UnitOfWork, CatalogImport], None] | None = None
) -> ImportOutcome:
    """Check every row, then write the products batch by batch under the import's id (see the module)."""
    require_utc(now)
    checked = check(config, rows)
    begun = _begin(store, checked, source=source, actor=actor, now=now)
    record = begun.record
    if begun.replayed:
        return begun
    if record.batches == 0 and not record.done:
        finished = msgspec.structs.replace(record, status="done", finished_at=now)
        store.run(lambda uow: _finish(uow, finished, True, then))
        return ImportOutcome(finished, replayed=False)
    for index in range(record.batches_done, record.batches):
        record = _batch(store, record.import_id, index, checked.products[index * BATCH : (index + 1) * BATCH], now=now, then=then)
    return ImportOutcome(record, replayed=False)

