"""The product catalog in the back office: imports (audited once, when finished), pages, one product,
and an edit (audited with its reason and the product before and after)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec

from shared.api.admin.catalog import CatalogImportResponse, CatalogPage, ProductView
from shared.domain.catalog import CatalogImport, Product, SourceRow
from shared.domain.config import ProgramConfig
from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.ids import external_id, is_external_id
from shared.edge.admin_auth import Admin
from shared.services import catalog, catalog_import
from shared.services.admin import audit as _audit
from shared.services.admin.common import required_reason
from shared.services.ports import Store, UnitOfWork

FeedLoader = Callable[[str], list[SourceRow]]


def _record(admin: Admin, now: datetime) -> Callable[[UnitOfWork, CatalogImport], None]:
    def record(uow: UnitOfWork, done: CatalogImport) -> None:
        result = {"added": done.counts.added, "changed": done.counts.changed, "unchanged": done.counts.unchanged, "refused": done.refused_count}
        _audit.audit_in(uow, admin, action="catalog.import", target=f"catalog_import:{done.import_id}", params={"source": done.source, "products": done.products}, result=result, now=now)

    return record


def import_rows(store: Store, admin: Admin, *, config: ProgramConfig, rows: list[SourceRow], source: str, now: datetime) -> CatalogImportResponse:
    """An uploaded file's rows (a CSV export, a YML file) imported (see :mod:`shared.services.catalog_import`)."""
    admin.require("catalog.import")
    outcome = catalog_import.apply(store, config, rows, source=source, actor=admin.email, now=now, then=_record(admin, now))
    return CatalogImportResponse.of(outcome.record, replayed=outcome.replayed)


def import_feed(store: Store, admin: Admin, *, config: ProgramConfig, feed_url: str | None, load: FeedLoader, now: datetime) -> CatalogImportResponse:
    """The YML feed at ``feed_url`` (``None``: the program's ``catalog.feed_url``) fetched and imported."""
    admin.require("catalog.import")
    url = feed_url or config.catalog.feed_url
    if not url:
        raise ValidationFailed("no feed_url given and none in the program's catalog settings", field="feed_url", message_ru="Укажите адрес фида товаров.")
    return import_rows(store, admin, config=config, rows=load(url), source="feed", now=now)


def import_report(store: Store, admin: Admin, *, import_id: str | None = None) -> CatalogImportResponse:
    """An import's report: the one of ``import_id``, or the last one applied (:class:`NotFound` before any)."""
    admin.require("catalog.read")
    if import_id is not None and not is_external_id(import_id):
        raise NotFound("unknown import", import_id=import_id)

    def read(uow: UnitOfWork) -> CatalogImport | None:
        wanted = import_id or uow.catalog_imports.last_applied()
        return None if wanted is None else uow.catalog_imports.get(wanted)

    record = store.read(read)
    if record is None:
        raise NotFound("unknown import", import_id=import_id, message_ru="Такого импорта нет." if import_id else "Каталог ещё не импортировали.")
    return CatalogImportResponse.of(record, replayed=False)


def list_products(store: Store, admin: Admin, *, query: str | None, cursor: str | None, limit: int) -> CatalogPage:
    admin.require("catalog.read")
    page = catalog.products(store, query=query, cursor=cursor, limit=limit)
    return CatalogPage(products=[ProductView.of(p) for p in page.products], next_cursor=page.next_cursor)


def _uid(uid: str) -> str:
    return external_id(uid, field="uid", message_ru="Некорректный идентификатор товара.")


def get_product(store: Store, admin: Admin, *, uid: str) -> ProductView:
    admin.require("catalog.read")
    return ProductView.of(catalog.product(store, _uid(uid)))


def put_product(store: Store, admin: Admin, *, product: Product, reason: str, now: datetime) -> ProductView:
    """Create or replace a product; audited (with the reason, before and after) only when it changed."""
    admin.require("catalog.edit")
    why = required_reason(reason)
    product = msgspec.structs.replace(product, uid=_uid(product.uid))

    def record(uow: UnitOfWork, change: tuple[Product | None, Product]) -> None:
        before, after = change
        params = {"reason": why, "before": None if before is None else msgspec.to_builtins(before)}
        _audit.audit_in(uow, admin, action="catalog.edit", target=f"product:{after.uid}", params=params, result=msgspec.to_builtins(after), now=now)

    _, stored = catalog.put_product(store, product, then=record)
    return ProductView.of(stored)
