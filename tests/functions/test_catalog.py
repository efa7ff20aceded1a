"""The catalog over HTTP: the storefront's quote takes the catalog's prices and flags whatever the page
sends, and the back office imports (a Tilda CSV, a YML feed), lists, shows and edits products."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from shared.domain.catalog import Product
from shared.edge import entry
from shared.platform import bootstrap
from shared.platform.settings import reload
from shared.presets import preset_data
from shared.services import admins, orders, program, registration
from tests.catalog import seed
from tests.conftest import SHOP_ORIGIN, customer_token, load_function
from tests.fakes.catalog_feed import FakeFeed, yml

ADMIN_SECRET = "test-admin-secret-distinct-from-the-customers"
PASSWORD = "correct horse battery staple"
BIKE = Product(uid="1001", name="Велосипед", price=10_000_000, product_group="bikes", sku="BK-1")  # 100 000 ₽
FLASK = Product(uid="2002", name="Фляга", price=49_000, old_price=59_000, sale=True)
CARD = Product(uid="3003", name="Сертификат", price=500_000, gift_certificate=True)


@pytest.fixture
def env(function_env):
    """Biomiq (5 % at the first level) with bikes × 0.5, accessories × 1.5, and sale items earning nothing."""
    raw = preset_data("biomiq")
    raw["coefficients"] = {"product_groups": {"bikes": 0.5, "accessories": 1.5}}
    raw["exclusions"] = {**raw.get("exclusions", {}), "sale_items_earn": False}
    raw["catalog"] = {"categories": {"Велосипеды": "bikes"}, "gift_certificate": {"categories": ["Сертификаты"]}}
    moment = datetime.now(UTC) - timedelta(minutes=1)
    program.publish(function_env, raw=raw, author="test", reason="catalog", effective_from=moment, now=moment)
    os.environ["KOPILKA_ADMIN_TOKEN_SECRET"] = ADMIN_SECRET
    reload()
    yield function_env
    bootstrap.set_transport("catalog_feed", None)


def login(store, client, role: str) -> str:
    email = f"{role}@shop.example"
    admins.create_admin(store, email=email, password=PASSWORD, roles=[role], now=datetime.now(UTC))
    session = client.post("/login", json={"email": email, "password": PASSWORD}).get_json()
    if session["mfa_setup_required"]:  # the roles that move or see money enrol an authenticator first
        setup = client.post("/mfa/setup", headers=bearer(session["token"])).get_json()
        session = client.post("/mfa/confirm", json={"otp": pyotp.TOTP(setup["secret"]).now()}, headers=bearer(session["token"])).get_json()
    return session["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_quote_over_http_takes_the_catalog_s_figures_whatever_the_page_sends(env):
    seed(env, BIKE, FLASK, CARD)
    client = load_function("cart_quote")
    cart = [
        {"id": "1", "product": "1001", "name": "bike", "price": 10_000, "quantity": 1, "product_group": "accessories"},  # 100 ₽ and an accessory
        {"id": "2", "product": "2002", "price": 49_000, "quantity": 1},  # the sale flag dropped
        {"id": "3", "sku": "3003", "price": 500_000, "quantity": 1},  # a gift certificate sent as goods
    ]
    response = client.post("/quote", json={"lines": cart}, headers={"Origin": SHOP_ORIGIN})
    assert response.status_code == 200, response.get_data(as_text=True)
    bike, flask, card = response.get_json()["lines"]
    assert (bike["amount"], bike["points_to_earn"]) == (10_000_000, 2500)  # 100 000 ₽ × 5 % × 0.5: bike points
    assert (flask["earn_eligible"], [r["code"] for r in flask["reasons"]]) == (False, ["sale_item_no_earn"])
    assert card["earn_eligible"] is False and "gift_certificate_no_earn" in [r["code"] for r in card["reasons"]]
    unknown = client.post("/quote", json={"lines": [{"id": "9", "price": 100_000, "quantity": 1, "product_group": "accessories"}]}, headers={"Origin": SHOP_ORIGIN}).get_json()
    assert unknown["points_to_earn"] == 50 and unknown["lines"][0]["reasons"][0]["code"] == "not_in_catalog"


def test_a_checkout_over_http_places_the_catalog_s_lines_and_a_tampered_quote_cannot_pass_for_the_real_one(env):
    seed(env, BIKE)
    registration.register_customer(env, config=entry.config(datetime.now(UTC)), customer_id="dmitry", now=datetime.now(UTC))
    token = customer_token("dmitry")
    headers = {"Origin": SHOP_ORIGIN, "Authorization": f"Bearer {token}"}
    cart = [{"id": "1", "product": "BK-1", "price": 10_000, "quantity": 1, "product_group": "accessories"}]
    quote = load_function("cart_quote").post("/quote", json={"lines": cart}, headers=headers).get_json()
    checkout = load_function("checkout")
    response = checkout.post("/checkout", json={"order_id": "V1", "lines": cart, "bonuses": 0, "quote_fingerprint": quote["cart_fingerprint"]}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (response.get_json()["money_to_pay"], response.get_json()["points_to_earn"]) == (10_000_000, 2500)
    [line] = orders.get_order(env, "dmitry:V1").lines
    assert (line.product, line.sku, line.price, line.product_group) == ("1001", "BK-1", 10_000_000, "bikes")


CSV = "\n".join([
    '"Tilda UID";Brand;SKU;Mark;Category;Title;Description;Text;Photo;Price;Quantity;"Price Old";Editions;Modifications;"External ID";"Parent UID"',
    '1001;Merida;BK-1;;Велосипеды;Велосипед;;;;100000;;;;;;',
    '3003;;GC-5;;Сертификаты;"Сертификат 5000";;;;5000;;;;;;',
    ';;;;;Без UID;;;;100;;;;;;',
]).encode("utf-8-sig")


def test_the_back_office_imports_a_tilda_export_once_and_reports_its_rows(env):
    client = load_function("admin")
    marketer = login(env, client, "marketer")
    response = client.post("/catalog/import", data=CSV, headers={**bearer(marketer), "Content-Type": "text/csv"})
    assert response.status_code == 200, response.get_data(as_text=True)
    report = response.get_json()
    assert (report["status"], report["added"], report["refused_count"], report["replayed"]) == ("done", 2, 1, False)
    assert report["refused"][0]["row"] == 4 and report["refused"][0]["message_ru"].startswith("Строка 4: ")
    again = client.post("/catalog/import", data=CSV, headers={**bearer(marketer), "Content-Type": "text/csv"}).get_json()
    assert again["replayed"] is True and again["import_id"] == report["import_id"]
    audit = [doc for _, doc in env.ordered("audit", order_by="key", descending=True, limit=50) if doc["action"] == "catalog.import"]
    assert len(audit) == 1 and audit[0]["result"]["added"] == 2
    product = client.get("/catalog/products/1001", headers=bearer(marketer)).get_json()
    assert (product["price"], product["product_group"], product["brand"], product["sku"]) == (10_000_000, "bikes", "Merida", "BK-1")
    assert client.get("/catalog/products/3003", headers=bearer(marketer)).get_json()["gift_certificate"] is True


def test_roles_decide_who_imports_edits_and_reads(env):
    client = load_function("admin")
    seed(env, BIKE)
    accountant = login(env, client, "accountant")
    assert client.post("/catalog/import", data=CSV, headers={**bearer(accountant), "Content-Type": "text/csv"}).status_code == 403
    edit = {"name": "Велосипед", "price": 9_000_000, "reason": "цена поставщика"}
    assert client.put("/catalog/products/1001", json=edit, headers=bearer(accountant)).status_code == 403
    page = client.get("/catalog?limit=1", headers=bearer(accountant)).get_json()
    assert [p["uid"] for p in page["products"]] == ["1001"] and page["next_cursor"] is None
    found = client.get("/catalog?q=BK-1", headers=bearer(accountant)).get_json()
    assert [p["uid"] for p in found["products"]] == ["1001"]
    assert client.get("/catalog/products/nope", headers=bearer(accountant)).status_code == 404
    assert client.get("/catalog", headers={}).status_code == 401


def test_an_edit_replaces_the_product_and_is_audited_with_its_reason(env):
    client = load_function("admin")
    seed(env, BIKE)
    marketer = login(env, client, "marketer")
    edit = {"name": "Велосипед", "price": 9_000_000, "old_price": 10_000_000, "product_group": "bikes", "sku": "BK-1", "reason": "распродажа"}
    response = client.put("/catalog/products/1001", json=edit, headers=bearer(marketer))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (response.get_json()["price"], response.get_json()["sale"]) == (9_000_000, True)
    [entry] = [doc for _, doc in env.ordered("audit", order_by="key", descending=True, limit=50) if doc["action"] == "catalog.edit"]
    assert entry["params"]["reason"] == "распродажа" and entry["params"]["before"]["price"] == 10_000_000 and entry["result"]["price"] == 9_000_000
    assert client.put("/catalog/products/1001", json={**edit, "reason": " "}, headers=bearer(marketer)).status_code == 400
    assert client.put("/catalog/products/1001", json={**edit, "old_price": 1}, headers=bearer(marketer)).status_code == 400


def test_the_back_office_imports_a_yml_feed_through_the_feed_client(env):
    fake = FakeFeed()
    offer = '<offer id="1001"><price>95000</price><categoryId>1</categoryId><vendorCode>BK-1</vendorCode><name>Велосипед</name></offer>'
    fake.feeds["velo.example/feed.yml"] = yml(offer, '<category id="1">Велосипеды</category>')
    bootstrap.set_transport("catalog_feed", fake.transport())
    client = load_function("admin")
    marketer = login(env, client, "marketer")
    report = client.post("/catalog/import", json={"feed_url": "https://velo.example/feed.yml"}, headers=bearer(marketer)).get_json()
    assert (report["source"], report["added"]) == ("feed", 1)
    assert client.get("/catalog/products/1001", headers=bearer(marketer)).get_json()["price"] == 9_500_000
    fake.failures = ["drop"] * 3
    down = client.post("/catalog/import", json={"feed_url": "https://velo.example/feed.yml"}, headers=bearer(marketer))
    assert down.status_code == 503 and down.get_json()["error"]["code"] == "feed_unavailable"
    missing = client.post("/catalog/import", json={}, headers=bearer(marketer))
    assert missing.status_code == 400 and missing.get_json()["error"]["message_ru"] == "Укажите адрес фида товаров."


def test_the_last_import_s_report_is_read_back_with_its_refused_rows(env):
    client = load_function("admin")
    accountant = login(env, client, "accountant")
    none_yet = client.get("/catalog/import/last", headers=bearer(accountant))
    assert none_yet.status_code == 404 and none_yet.get_json()["error"]["message_ru"] == "Каталог ещё не импортировали."
    marketer = login(env, client, "marketer")
    report = client.post("/catalog/import", data=CSV, headers={**bearer(marketer), "Content-Type": "text/csv"}).get_json()
    last = client.get("/catalog/import/last", headers=bearer(accountant)).get_json()
    assert (last["import_id"], last["added"], last["refused_count"]) == (report["import_id"], 2, 1)
    assert last["refused"][0]["message_ru"] == report["refused"][0]["message_ru"]
    assert client.get(f"/catalog/import/{report['import_id']}", headers=bearer(accountant)).get_json()["import_id"] == report["import_id"]
    assert client.get("/catalog/import/0123456789abcdef", headers=bearer(accountant)).status_code == 404
