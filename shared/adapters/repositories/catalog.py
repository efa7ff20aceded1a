"""The product catalog: ``products/{uid}``, the key index ``product_keys/{kind}:{digest}``, and the
imports' records ``catalog_imports/{id}`` with ``catalog_state/current`` (the last import applied).

A product document holds only what pricing needs (name, price, old price, the
flags, SKU and external id). Each SKU and external id has a small index
document naming its product's UID, keyed by a digest of the value (so any text
may be a key); an index document is trusted only when the product it names
still carries that key, so a product that changed its SKU needs no delete.

:meth:`ProductRepository.resolve` finds the products of up to 500 cart lines in
at most three batched reads (``get_all``): the UIDs, the index documents of
what is left, the products those name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from shared.adapters import layout
from shared.adapters.repositories.base import Repository
from shared.domain.catalog import CatalogImport, ImportCounts, Product, RowRefusal
from shared.domain.ids import is_external_id

KINDS = ("sku", "external")


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _product(data: dict[str, Any]) -> Product:
    return Product(
        uid=data["uid"],
        name=data.get("name", ""),
        price=int(data["price"]),
        old_price=None if data.get("old_price") is None else int(data["old_price"]),
        sale=bool(data.get("sale", False)),
        product_group=data.get("product_group"),
        brand=data.get("brand"),
        gift_certificate=bool(data.get("gift_certificate", False)),
        sku=data.get("sku"),
        external_id=data.get("external_id"),
    )


def _document(product: Product) -> dict[str, Any]:
    data: dict[str, Any] = {"uid": product.uid, "name": product.name, "price": product.price}
    optional = {
        "old_price": product.old_price,
        "sale": product.sale or None,
        "product_group": product.product_group,
        "brand": product.brand,
        "gift_certificate": product.gift_certificate or None,
        "sku": product.sku,
        "external_id": product.external_id,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    return data


def _carries(product: Product, kind: str, value: str) -> bool:
    return (product.sku if kind == "sku" else product.external_id) == value


class ProductRepository(Repository):
    """The catalog's products, found by UID, SKU or external id."""

    def get(self, uid: str) -> Product | None:
        if not is_external_id(uid):
            return None
        data = self._docs.get(layout.product(uid))
        return None if data is None else _product(data)

    def get_many(self, uids: Iterable[str]) -> dict[str, Product]:
        wanted = [uid for uid in dict.fromkeys(uids) if is_external_id(uid)]
        if not wanted:
            return {}
        found = self._docs.get_all([layout.product(uid) for uid in wanted])
        return {uid: _product(data) for uid in wanted if (data := found[layout.product(uid)]) is not None}

    def resolve(self, keys: Iterable[str]) -> dict[str, Product]:
        """``{key: product}`` for each key that is a product's UID, else its SKU, else its external id."""
        wanted = list(dict.fromkeys(keys))
        by_uid = self.get_many(wanted)
        result = {key: by_uid[key] for key in wanted if key in by_uid}
        left = [key for key in wanted if key not in result]
        if not left:
            return result
        paths = {(kind, key): layout.product_key(kind, digest(key)) for key in left for kind in KINDS}
        index = self._docs.get_all(list(paths.values()))
        pointed = {ref: data["uid"] for ref, path in paths.items() if (data := index[path]) is not None and isinstance(data.get("uid"), str)}
        products = {**by_uid, **self.get_many(uid for uid in pointed.values() if uid not in by_uid)}
        for key in left:
            for kind in KINDS:
                uid = pointed.get((kind, key))
                product = products.get(uid) if uid is not None else None
                if product is not None and _carries(product, kind, key):
                    result[key] = product
                    break
        return result

    def put(self, product: Product, previous: Product | None) -> None:
        """Write the product and the index documents of the keys it did not have before."""
        self._docs.put(layout.product(product.uid), _document(product))
        had = set(previous.keys) if previous is not None else set()
        for kind, value in product.keys:
            if (kind, value) not in had:
                self._docs.put(layout.product_key(kind, digest(value)), {"uid": product.uid, "kind": kind})

    def page(self, *, limit: int, after: str | None = None) -> list[Product]:
        """Products in UID order after ``after``."""
        rows = self._queries.ordered(layout.PRODUCTS, order_by="uid", limit=limit, start_after=after)
        return [_product(data) for _, data in rows]


# --- imports -------------------------------------------------------------------------------------


def _refusal(data: dict[str, Any]) -> RowRefusal:
    return RowRefusal(row=int(data["row"]), uid=data.get("uid", ""), code=data["code"], message=data.get("message", ""), message_ru=data.get("message_ru", ""))


def _import(import_id: str, data: dict[str, Any]) -> CatalogImport:
    return CatalogImport(
        import_id=import_id,
        source=data["source"],
        actor=data.get("actor", ""),
        status=data["status"],
        products=int(data["products"]),
        batches=int(data["batches"]),
        batches_done=int(data["batches_done"]),
        counts=ImportCounts(added=int(data.get("added", 0)), changed=int(data.get("changed", 0)), unchanged=int(data.get("unchanged", 0))),
        refused_count=int(data.get("refused_count", 0)),
        refused=tuple(_refusal(r) for r in data.get("refused", [])),
        started_at=data["started_at"],
        finished_at=data.get("finished_at"),
    )


class CatalogImportRepository(Repository):
    """``catalog_imports/{id}`` and ``catalog_state/current``."""

    def get(self, import_id: str) -> CatalogImport | None:
        data = self._docs.get(layout.catalog_import(import_id))
        return None if data is None else _import(import_id, data)

    def put(self, record: CatalogImport) -> None:
        self._docs.put(
            layout.catalog_import(record.import_id),
            {
                "source": record.source,
                "actor": record.actor,
                "status": record.status,
                "products": record.products,
                "batches": record.batches,
                "batches_done": record.batches_done,
                "added": record.counts.added,
                "changed": record.counts.changed,
                "unchanged": record.counts.unchanged,
                "refused_count": record.refused_count,
                "refused": [{"row": r.row, "uid": r.uid, "code": r.code, "message": r.message, "message_ru": r.message_ru} for r in record.refused],
                "started_at": record.started_at,
                "finished_at": record.finished_at,
            },
        )

    def last_applied(self) -> str | None:
        data = self._docs.get(layout.catalog_state())
        return None if data is None else data.get("last_import")

    def set_last_applied(self, import_id: str) -> None:
        self._docs.put(layout.catalog_state(), {"last_import": import_id})
