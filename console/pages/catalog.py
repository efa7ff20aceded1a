"""The catalog: products with their group, brand, sale and gift-certificate flags (searchable,
paged), a product's edit, the last import with its refused rows, a Tilda CSV (or YML) upload, and
the program's YML feed pulled again."""

from __future__ import annotations

from pydantic import ValidationError

from console.app import NOTICES, FormInvalid, Page, Reply, field_errors, page, redirect, upload
from console.pages.promo import parse_rubles
from shared.api.admin.catalog import CatalogImportResponse, ProductPutRequest, ProductView
from shared.domain import errors
from shared.edge import entry
from shared.services.admin import catalog

NOTICES.update(catalog_imported="Каталог загружен.", catalog_replayed="Этот файл уже загружен: ничего не изменилось.", product_saved="Товар сохранён.")

FILE_KINDS = {".csv": "text/csv", ".txt": "text/csv", ".yml": "application/xml", ".xml": "application/xml"}
PAGE = 50


def _catalog_page(p: Page, *, status: int = 200, upload_error: str | None = None, report: CatalogImportResponse | None = None) -> Reply:
    args = p.ctx.request.args
    query = (args.get("q") or "").strip() or None
    cursor = args.get("cursor") or None
    try:
        listed = catalog.list_products(entry.store(), p.admin, query=query, cursor=cursor, limit=PAGE)
        products, next_cursor = listed.products, listed.next_cursor
    except errors.NotFound:
        products, next_cursor = [], None
    if report is None:
        report = _report(p, args.get("import") or None) or _report(p, None)
    feed_url = entry.config(p.now).catalog.feed_url
    return p.render(
        "catalog.html", status=status, products=products, next_cursor=next_cursor, query=query or "", first=cursor is None, report=report, feed_url=feed_url, upload_error=upload_error
    )


def _report(p: Page, import_id: str | None) -> CatalogImportResponse | None:
    """An import's report (``None``: the last one applied), or ``None`` when there is none."""
    try:
        return catalog.import_report(entry.store(), p.admin, import_id=import_id)
    except errors.NotFound:
        return None


@page("GET", "/catalog")
def catalog_list(p: Page) -> Reply:
    p.require("catalog.read")
    return _catalog_page(p)


def _imported(report: CatalogImportResponse) -> Reply:
    return redirect(f"/catalog?import={report.import_id}&done={'catalog_replayed' if report.replayed else 'catalog_imported'}")


@page("POST", "/catalog/import")
def catalog_upload(p: Page) -> Reply:
    p.require("catalog.import")
    file = p.ctx.request.files.get("file")
    name = (file.filename or "").lower() if file is not None else ""
    try:
        data = upload(p.ctx, "file", limit=16 * 1024 * 1024)
        if data is None:
            return _catalog_page(p, status=400, upload_error="Выберите файл выгрузки товаров.")
        kind = next((k for ext, k in FILE_KINDS.items() if name.endswith(ext)), None)
        if kind is None:
            return _catalog_page(p, status=400, upload_error="Нужен файл CSV из Tilda (Товары → Экспорт) или YML.")
        config = entry.config(p.now)
        rows = entry.catalog_file_rows(kind, data, config)
        report = catalog.import_rows(entry.store(), p.admin, config=config, rows=rows, source=entry.CATALOG_FILES[kind], now=p.now)
    except errors.ValidationFailed as exc:
        return _catalog_page(p, status=400, upload_error=exc.message_ru)
    return _imported(report)


@page("POST", "/catalog/import/feed")
def catalog_feed(p: Page) -> Reply:
    p.require("catalog.import")
    config = entry.config(p.now)
    try:
        report = catalog.import_feed(entry.store(), p.admin, config=config, feed_url=None, load=entry.feed_loader(config), now=p.now)
    except (errors.ValidationFailed, errors.Retryable) as exc:
        return _catalog_page(p, status=400 if isinstance(exc, errors.ValidationFailed) else 503, upload_error=exc.message_ru)
    return _imported(report)


def _product_values(product: ProductView | None) -> dict[str, str]:
    if product is None:
        return {}

    def money(value: int | None) -> str:
        return "" if value is None else f"{value // 100}" + (f",{value % 100:02d}" if value % 100 else "")

    return {
        "name": product.name,
        "price": money(product.price),
        "old_price": money(product.old_price),
        "sale": "on" if product.sale else "",
        "gift_certificate": "on" if product.gift_certificate else "",
        "product_group": product.product_group or "",
        "brand": product.brand or "",
        "sku": product.sku or "",
        "external_id": product.external_id or "",
    }


@page("GET", "/catalog/products/{uid}")
def product_view(p: Page) -> Reply:
    p.require("catalog.read")
    product = catalog.get_product(entry.store(), p.admin, uid=p.ctx.params["uid"])
    return p.render("catalog_product.html", product=product, values=_product_values(product), errors={}, message=None)


def product_from_form(fields: dict[str, str]) -> ProductPutRequest:
    """The product a filled-in form stands for (prices in roubles); each refused field has its message."""
    problems: dict[str, str] = {}
    body: dict[str, object] = {k: fields[k].strip() for k in ("name", "product_group", "brand", "sku", "external_id", "reason") if fields.get(k, "").strip()}
    for name in ("price", "old_price"):
        text = fields.get(name, "").strip()
        if not text:
            continue
        try:
            body[name] = parse_rubles(text)
        except ValueError:
            problems[name] = "Цена в рублях, например 1900 или 1899,90."
    body["sale"] = fields.get("sale") == "on"
    body["gift_certificate"] = fields.get("gift_certificate") == "on"
    if problems:
        raise FormInvalid(problems)
    try:
        return ProductPutRequest.model_validate(body)
    except ValidationError as exc:
        found = field_errors(exc)
        if "__all__" in found:
            found["old_price"] = "Старая цена должна быть больше цены (или пусто)."
            del found["__all__"]
        raise FormInvalid(found) from exc


@page("POST", "/catalog/products/{uid}")
def product_save(p: Page) -> Reply:
    p.require("catalog.edit")
    uid = p.ctx.params["uid"]
    product = catalog.get_product(entry.store(), p.admin, uid=uid)
    fields = p.form()
    try:
        body = product_from_form(fields)
        catalog.put_product(entry.store(), p.admin, product=body.product(product.uid), reason=body.reason, now=p.now)
    except FormInvalid as exc:
        return p.render("catalog_product.html", status=400, product=product, values=fields, errors=exc.fields, message="Проверьте выделенные поля.")
    except errors.ValidationFailed as exc:
        field = str(exc.details.get("field") or "name")
        return p.render("catalog_product.html", status=400, product=product, values=fields, errors={field: exc.message_ru}, message="Проверьте выделенные поля.")
    return redirect(f"/catalog/products/{product.uid}?done=product_saved")
