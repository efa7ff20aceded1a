"""The product catalog in the back office: imports, pages, one product and its edit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from shared.api.admin.common import Cursor, Reason, _In, _Out
from shared.domain.catalog import CatalogImport, Product
from shared.domain.ids import ID_PATTERN, MAX_ID_LENGTH, not_reserved

Uid = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN), AfterValidator(not_reserved)]
Money = Annotated[int, Field(ge=0, le=10**11, description="Kopecks.")]
GroupCode = Annotated[str, Field(min_length=1, max_length=64)]
Key = Annotated[str, Field(min_length=1, max_length=128)]


class CatalogImportRequest(_In):
    """``POST /catalog/import`` with a JSON body: import the YML feed at ``feed_url`` (none: the
    program's ``catalog.feed_url``). A CSV export is posted as the body itself (``text/csv``), a
    YML file as ``application/xml``."""

    feed_url: str | None = Field(default=None, max_length=2000, pattern=r"^https://\S+$")


class RefusedRow(_Out):
    row: int = Field(description="The CSV line (the header is line 1) or the feed's offer number.")
    uid: str
    code: str
    message: str
    message_ru: str


class CatalogImportResponse(_Out):
    import_id: str = Field(description="A digest of what the import writes: the same file under the same mapping is the same import.")
    source: str
    status: str = Field(description="done, or running when it stopped half-way: send it again to finish it.")
    replayed: bool = Field(description="The import applied last, sent again: nothing was written.")
    products: int = Field(description="Rows applied (refused rows excluded).")
    added: int
    changed: int
    unchanged: int
    refused_count: int
    refused: list[RefusedRow] = Field(description="The refused rows (at most 200 listed); they are skipped, the rest applied.")
    batches: int
    batches_done: int
    started_at: datetime
    finished_at: datetime | None = None

    @classmethod
    def of(cls, record: CatalogImport, *, replayed: bool) -> CatalogImportResponse:
        return cls(
            import_id=record.import_id,
            source=record.source,
            status=record.status,
            replayed=replayed,
            products=record.products,
            added=record.counts.added,
            changed=record.counts.changed,
            unchanged=record.counts.unchanged,
            refused_count=record.refused_count,
            refused=[RefusedRow(row=r.row, uid=r.uid, code=r.code, message=r.message, message_ru=r.message_ru) for r in record.refused],
            batches=record.batches,
            batches_done=record.batches_done,
            started_at=record.started_at,
            finished_at=record.finished_at,
        )


class CatalogQuery(_In):
    q: str | None = Field(default=None, min_length=1, max_length=200, description="A product's UID, SKU or external id: that product alone.")
    cursor: Cursor = None
    limit: int = Field(default=50, ge=1, le=200)


class ProductView(_Out):
    uid: str
    name: str
    price: int = Field(description="Kopecks.")
    old_price: int | None = Field(default=None, description="Kopecks, before the shop's reduction.")
    sale: bool
    product_group: str | None = None
    brand: str | None = None
    gift_certificate: bool
    sku: str | None = None
    external_id: str | None = None

    @classmethod
    def of(cls, product: Product) -> ProductView:
        return cls(
            uid=product.uid,
            name=product.name,
            price=product.price,
            old_price=product.old_price,
            sale=product.sale,
            product_group=product.product_group,
            brand=product.brand,
            gift_certificate=product.gift_certificate,
            sku=product.sku,
            external_id=product.external_id,
        )


class CatalogPage(_Out):
    products: list[ProductView]
    next_cursor: str | None = None


class ProductPutRequest(_In):
    """A product as it should be (all of it): created or replaced, with the reason in the audit log."""

    name: str = Field(min_length=1, max_length=300)
    price: Money
    old_price: Money | None = None
    sale: bool = Field(default=False, description="The reduced-price flag; an old price above the price sets it too.")
    product_group: GroupCode | None = None
    brand: GroupCode | None = None
    gift_certificate: bool = False
    sku: Key | None = None
    external_id: Key | None = None
    reason: Reason

    @model_validator(mode="after")
    def _old_price(self) -> ProductPutRequest:
        if self.old_price is not None and self.old_price <= self.price:
            raise ValueError("old_price must be above the price (or left out)")
        return self

    def product(self, uid: str) -> Product:
        return Product(
            uid=uid,
            name=self.name,
            price=self.price,
            old_price=self.old_price,
            sale=self.sale or self.old_price is not None,
            product_group=self.product_group,
            brand=self.brand,
            gift_certificate=self.gift_certificate,
            sku=self.sku,
            external_id=self.external_id,
        )
