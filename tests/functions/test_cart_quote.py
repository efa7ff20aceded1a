"""The cart function through functions-framework, on the emulator with the Biomiq program in force."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from shared.domain.cart import PromoRule
from shared.edge import entry
from shared.services import promo, registration
from tests.catalog import seed_lines
from tests.conftest import SHOP_ORIGIN, customer_token, load_function

CART = [{"id": "serum", "name": "Сыворотка", "price": 100000, "quantity": 1}]  # 1 000 ₽


@pytest.fixture
def client(function_env):
    return load_function("cart_quote")


def register(store, customer_id: str, **kwargs) -> str:
    now = datetime.now(timezone.utc)
    registration.register_customer(store, config=entry.config(now), customer_id=customer_id, now=now, **kwargs)
    return customer_token(customer_id)


def post(client, path: str, body=None, *, token: str | None = None, origin: str | None = SHOP_ORIGIN, raw: bytes | None = None, headers: dict | None = None):
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    if origin is not None:
        all_headers["Origin"] = origin
    if raw is not None:
        return client.post(path, data=raw, headers=all_headers, content_type="application/json")
    return client.post(path, json=body, headers=all_headers)


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "message_ru", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message_ru"]
    return body["error"]


def test_an_anonymous_visitor_sees_what_they_could_earn(client):
    response = post(client, "/quote", {"lines": CART})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    quote = response.get_json()
    assert quote["anonymous"] is True
    assert (quote["money_to_pay"], quote["points_to_earn"], quote["potential_points"], quote["potential_level"]) == (100000, 50, 150, "level3")
    assert quote["available_bonuses"] == 0 and len(quote["cart_fingerprint"]) == 32


def test_anonymous_bonuses_need_a_login(client):
    quote = post(client, "/quote", {"lines": CART, "bonuses": 100}).get_json()
    assert quote["bonuses_applied"] == 0 and [r["code"] for r in quote["reasons"]] == ["login_required"]


def test_a_customer_can_pay_at_most_half_with_bonuses(client, function_env):
    token = register(function_env, "anna")  # the 500 welcome bonuses
    cart = [{"id": "cream", "price": 60000, "quantity": 1}]  # 600 ₽: at most 300 bonuses
    quote = post(client, "/quote", {"lines": cart, "bonuses": 500}, token=token).get_json()
    assert quote["anonymous"] is False and quote["available_bonuses"] == 500
    assert (quote["max_bonuses"], quote["bonuses_applied"], quote["money_to_pay"], quote["points_to_earn"]) == (300, 300, 30000, 15)
    assert "bonus_cap" in [r["code"] for r in quote["reasons"]]


def test_the_fingerprint_changes_with_the_cart(client):
    first = post(client, "/quote", {"lines": CART}).get_json()["cart_fingerprint"]
    same = post(client, "/quote", {"lines": CART}).get_json()["cart_fingerprint"]
    other = post(client, "/quote", {"lines": [{**CART[0], "quantity": 2}]}).get_json()["cart_fingerprint"]
    assert first == same != other


def test_promo_codes_apply_and_unknown_ones_are_a_reason(client, function_env):
    promo.create_discount(function_env, rule=PromoRule(code="SPRING10", kind="percent", percent=Decimal(10)), now=datetime.now(timezone.utc))
    quote = post(client, "/quote", {"lines": CART, "promo_code": "spring10"}).get_json()
    assert (quote["promo_applied"], quote["discount"], quote["money_to_pay"], quote["promo_code"]) == (True, 10000, 90000, "SPRING10")
    unknown = post(client, "/quote", {"lines": CART, "promo_code": "nope"})
    assert unknown.status_code == 200
    assert [r["code"] for r in unknown.get_json()["reasons"]] == ["promo_unknown"]
    assert unknown.get_json()["discount"] == 0


def test_a_partner_code_is_explained_not_unknown(client, function_env):
    promo.create_partner_code(function_env, code="MARIA", partner_id="maria", now=datetime.now(timezone.utc))
    quote = post(client, "/quote", {"lines": CART, "promo_code": "maria"}).get_json()
    assert [r["code"] for r in quote["reasons"]] == ["partner_code"] and quote["discount"] == 0


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        customer_token("anna", now=datetime.now(timezone.utc) - timedelta(hours=2)),  # expired
        customer_token("anna") + "x",  # tampered
    ],
)
def test_a_bad_token_is_refused_not_treated_as_anonymous(client, function_env, token):
    register(function_env, "anna")
    assert_error(post(client, "/quote", {"lines": CART}, token=token), 401, "unauthorized")
    assert_error(post(client, "/preview", {"products": CART}, token=token), 401, "unauthorized")


def test_a_non_bearer_authorization_is_refused(client):
    assert_error(post(client, "/quote", {"lines": CART}, headers={"Authorization": "Basic YTpi"}), 401, "unauthorized")


def test_a_token_of_an_unknown_customer_is_404(client):
    assert_error(post(client, "/quote", {"lines": CART}, token=customer_token("ghost")), 404, "not_found")


def test_cors_preflight_for_the_shop_only(client):
    ok = client.options("/quote", headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"})
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert "Authorization" in ok.headers["Access-Control-Allow-Headers"]
    evil = client.options("/quote", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert evil.status_code == 403 and "Access-Control-Allow-Origin" not in evil.headers
    assert_error(post(client, "/quote", {"lines": CART}, origin="https://evil.example"), 403, "forbidden")


LINE = CART[0]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"lines": []},
        {"lines": "serum"},
        {"lines": [LINE] + [{**LINE, "id": "serum"}]},  # duplicate line ids
        {"lines": [{**LINE, "id": str(n)} for n in range(501)]},
        {"lines": [{**LINE, "price": -1}]},
        {"lines": [{**LINE, "price": 10**12}]},
        {"lines": [{**LINE, "price": 10.5}]},
        {"lines": [{**LINE, "quantity": 0}]},
        {"lines": [{**LINE, "quantity": 10_001}]},
        {"lines": [{**LINE, "id": ""}]},
        {"lines": [{**LINE, "colour": "red"}]},
        {"lines": CART, "bonuses": -1},
        {"lines": CART, "bonuses": "many"},
        {"lines": CART, "promo_code": "X" * 65},
        {"lines": CART, "surprise": True},
        # JSON types are the documented ones, not coerced (found by tests/reliability/test_fuzz.py)
        {"lines": CART, "pays_with_gift_certificate": 0},
        {"lines": [{**LINE, "gift_certificate": 0}]},
        {"lines": [{**LINE, "sale": "yes"}]},
        {"lines": [{**LINE, "quantity": "2"}]},
        {"lines": CART, "bonuses": True},
        [1, 2, 3],
        None,
    ],
)
def test_bad_bodies_are_400_never_500(client, body):
    error = assert_error(post(client, "/quote", body), 400, "validation_failed")
    assert error["details"]["errors"]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe{}", b'{"lines": [' * 2000])
def test_malformed_json_is_400(client, raw):
    assert_error(post(client, "/quote", raw=raw), 400, "validation_failed")


def test_unknown_routes_and_methods(client):
    assert_error(post(client, "/nowhere", {"lines": CART}), 404, "not_found")
    assert client.get("/quote", headers={"Origin": SHOP_ORIGIN}).status_code == 405


def test_a_path_the_framework_cannot_route_is_a_json_404_not_an_html_page(client):
    # functions-framework's one URL rule does not match a path with a newline: Flask answers
    # before the function runs (found by tests/reliability/test_fuzz.py)
    response = post(client, "/quote%0A", {"lines": CART})
    assert response.headers["Content-Type"].startswith("application/json")
    assert_error(response, 404, "not_found")


def test_catalog_preview_for_a_visitor_and_for_a_customer(client, function_env):
    products = [{"id": "serum", "price": 100000, "quantity": 1}, {"id": "gift", "price": 300000, "quantity": 1, "gift_certificate": True}, {"id": "cream", "price": 190000, "quantity": 3}]
    seed_lines(function_env, products)  # the catalog knows the gift certificate
    anonymous = post(client, "/preview", {"products": products})
    assert anonymous.status_code == 200
    assert anonymous.get_json() == {"products": [{"id": "serum", "points": 50, "up_to": 150}, {"id": "gift", "points": 0, "up_to": 0}, {"id": "cream", "points": 95, "up_to": 285}]}
    token = register(function_env, "anna")
    mine = post(client, "/preview", {"products": products[:1]}, token=token).get_json()
    assert mine == {"products": [{"id": "serum", "points": 50, "up_to": 150}]}
    assert_error(post(client, "/preview", {"products": [products[0], products[0]]}), 400, "validation_failed")
    assert_error(post(client, "/preview", {"products": []}), 400, "validation_failed")
