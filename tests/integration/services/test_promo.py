"""Promo codes: lookup, limits enforced atomically, idempotent redemptions, and the order lifecycle."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest

from shared.adapters.repositories.program import promo_document
from shared.domain.cart import CartLine, PromoRule
from shared.domain.errors import BusinessRefusal, IdempotencyConflict, NotFound, Retryable, ValidationFailed
from shared.domain.promos import PROMO_SHARDS, PromoKind
from shared.services import orders, promo, registration
from shared.services.ledger import audit_account, balances

CART = [CartLine(id="serum", price=100000, quantity=1)]  # 1 000 ₽


def ten_percent(code: str = "Spring10", **extra) -> PromoRule:
    return PromoRule(code=code, kind="percent", percent=Decimal(10), **extra)


def _client_call(fn, attempts: int = 10):
    """A well-behaved client: on a retryable refusal it waits and tries again with the same order id."""
    for _ in range(attempts):
        try:
            return fn()
        except Retryable as exc:
            time.sleep(random.uniform(0.1, min(exc.retry_after_seconds, 1.0)))  # jittered, as Retry-After asks
    raise AssertionError("still contended after client retries")


# --- lookup -----------------------------------------------------------------------------------


def test_codes_resolve_case_insensitively_and_only_while_active(store, now):
    stored = promo.create_discount(store, rule=ten_percent(), total_limit=100, per_customer_limit=1, now=now)
    assert stored.code == "SPRING10" and stored.uses == 0 and stored.active is True and stored.kind is PromoKind.DISCOUNT
    for typed in ("spring10", " SPRING10 ", "Spring10"):
        rule = promo.resolve(store, typed, now)
        assert rule is not None and rule.code == "SPRING10" and rule.percent == Decimal(10)
    assert promo.resolve(store, "nope", now) is None
    assert promo.resolve(store, "bad/code", now) is None
    assert promo.resolve(store, "", now) is None and promo.resolve(store, None, now) is None
    store.run(lambda uow: uow.put("promo_codes/SPRING10", {**uow.get("promo_codes/SPRING10"), "active": False}))
    assert promo.resolve(store, "spring10", now) is None


def test_the_window_is_left_to_cart_maths(store, now):
    promo.create_discount(store, rule=ten_percent("LATER", valid_from=now + timedelta(days=1)), now=now)
    assert promo.resolve(store, "later", now).valid_from == now + timedelta(days=1)


def test_creating_a_code_is_idempotent_and_validated(store, now):
    created = promo.create_discount(store, rule=ten_percent(), total_limit=5, now=now)
    assert promo_document(created) == store.get("promo_codes/SPRING10")  # the code answered is the stored code
    assert promo.create_discount(store, rule=ten_percent("spring10"), total_limit=5, now=now).total_limit == 5
    with pytest.raises(IdempotencyConflict):
        promo.create_discount(store, rule=ten_percent(), total_limit=6, now=now)
    with pytest.raises(ValidationFailed):
        promo.create_discount(store, rule=ten_percent("X"), total_limit=0, now=now)
    with pytest.raises(ValidationFailed):
        promo.create_discount(store, rule=ten_percent("no spaces"), now=now)


def test_a_partner_code_is_stored_and_names_its_partner_but_gives_no_discount(store, now):
    created = promo.create_partner_code(store, code="maria-2026", partner_id="maria", now=now)
    assert (created.code, created.kind, created.rule, created.partner_id) == ("MARIA-2026", PromoKind.PARTNER, None, "maria")
    assert promo.resolve(store, "MARIA-2026", now) is None
    assert promo.partner_of(store, "Maria-2026") == "maria"
    assert promo.partner_of(store, "unknown") is None
    with pytest.raises(BusinessRefusal):
        promo.redeem(store, code="maria-2026", customer_id="anna", order_id="o1", now=now)


# --- limits -----------------------------------------------------------------------------------


def test_per_customer_limit_and_idempotent_redemption(store, now):
    promo.create_discount(store, rule=ten_percent(), total_limit=10, per_customer_limit=2, now=now)
    first = promo.redeem(store, code="spring10", customer_id="anna", order_id="o1", now=now)
    again = promo.redeem(store, code="SPRING10", customer_id="anna", order_id="o1", now=now)
    assert (first.replayed, again.replayed, again.customer_uses) == (False, True, 1)
    assert promo.get(store, "SPRING10").uses == 1
    promo.redeem(store, code="spring10", customer_id="anna", order_id="o2", now=now)
    with pytest.raises(promo.PromoCustomerLimit) as refused:
        promo.redeem(store, code="spring10", customer_id="anna", order_id="o3", now=now)
    assert isinstance(refused.value, BusinessRefusal) and "промокод" in refused.value.message_ru.lower()
    promo.redeem(store, code="spring10", customer_id="boris", order_id="o4", now=now)
    assert store.get("promo_codes/SPRING10/customers/anna")["orders"] == ["o1", "o2"]
    assert promo.get(store, "SPRING10").uses == 3


def test_unredeem_gives_the_use_back_once(store, now):
    promo.create_discount(store, rule=ten_percent(), total_limit=1, now=now)
    promo.redeem(store, code="spring10", customer_id="anna", order_id="o1", now=now)
    with pytest.raises(promo.PromoExhausted):
        promo.redeem(store, code="spring10", customer_id="boris", order_id="o2", now=now)
    assert promo.unredeem(store, code="spring10", customer_id="anna", order_id="o1", now=now) is True
    assert promo.unredeem(store, code="spring10", customer_id="anna", order_id="o1", now=now) is False
    assert promo.get(store, "SPRING10").uses == 0
    promo.redeem(store, code="spring10", customer_id="boris", order_id="o2", now=now)
    assert promo.get(store, "SPRING10").uses == 1


def _place(store, config, customer, order_id, now, **extra):
    return orders.place_order(store, config=config, customer_id=customer, order_id=order_id, lines=CART, bonuses=0, promo_code="spring10", now=now, **extra)[0]


def test_one_customer_cannot_hold_a_limited_code_with_open_orders(store, biomiq, now):
    """A code good for three orders: one account's unpaid orders hold at most one use of it, until the timeout."""
    promo.create_discount(store, rule=ten_percent(), total_limit=3, now=now)
    for name in ("mallory", "anna", "boris"):
        registration.register_customer(store, config=biomiq, customer_id=name, now=now)
    _place(store, biomiq, "mallory", "M1", now)
    for order_id in ("M2", "M3"):  # her second and third unpaid orders would hold the others' uses
        with pytest.raises(BusinessRefusal) as refused:
            _place(store, biomiq, "mallory", order_id, now)
        assert refused.value.code == "promo_open_order" and refused.value.message_ru
        assert store.get(f"orders/{order_id}") is None
    assert promo.get(store, "SPRING10").uses == 1
    _place(store, biomiq, "anna", "A1", now)
    _place(store, biomiq, "boris", "B1", now)
    assert promo.get(store, "SPRING10").uses == 3
    # at the reservation timeout M1's use is released: her next order takes it, never a fourth
    late = now + timedelta(minutes=biomiq.reservation_timeout_minutes, seconds=1)
    assert _place(store, biomiq, "mallory", "M2", late).promo_code == "SPRING10"
    assert promo.get(store, "SPRING10").uses == 3
    assert store.get("promo_codes/SPRING10/customers/mallory")["orders"] == ["M2"]
    # the sweep then cancels M1 without giving its use back a second time
    assert orders.mark_canceled(store, order_id="M1", now=late, reason="timeout").status == "canceled"
    assert promo.get(store, "SPRING10").uses == 3
    assert audit_account(store, "mallory") == []


def test_a_paid_order_frees_its_customer_for_another_order_with_the_code(store, biomiq, now):
    promo.create_discount(store, rule=ten_percent(), total_limit=5, now=now)
    registration.register_customer(store, config=biomiq, customer_id="anna", now=now)
    first = _place(store, biomiq, "anna", "A1", now)
    with pytest.raises(BusinessRefusal):
        _place(store, biomiq, "anna", "A2", now)
    orders.mark_paid(store, config=biomiq, order_id="A1", payment=orders.PaymentRef(provider="test", id="p1", amount=first.money_to_pay), now=now)
    assert _place(store, biomiq, "anna", "A2", now).promo_code == "SPRING10"
    assert promo.get(store, "SPRING10").uses == 2
    assert store.get("promo_codes/SPRING10/customers/anna")["orders"] == ["A1", "A2"]


@pytest.mark.reliability
def test_a_code_with_total_limit_3_used_by_10_concurrent_orders(firestore_store, biomiq, now):
    """Ten customers check out at once with a code good for three orders: exactly three get it."""
    promo.create_discount(firestore_store, rule=ten_percent(), total_limit=3, now=now)
    for n in range(10):
        registration.register_customer(firestore_store, config=biomiq, customer_id=f"c{n}", now=now)

    def place(n):
        try:
            return _client_call(lambda: orders.place_order(firestore_store, config=biomiq, customer_id=f"c{n}", order_id=f"o{n}", lines=CART, bonuses=200, promo_code="spring10", now=now))
        except promo.PromoExhausted:
            return "refused"

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(place, range(10)))
    placed = [r for r in results if r != "refused"]
    assert len(placed) == 3 and results.count("refused") == 7
    assert all(order.promo_code == "SPRING10" and order.discount == 10000 for order, _ in placed)
    assert promo.get(firestore_store, "SPRING10").uses == 3
    for n, result in enumerate(results):
        b = balances(firestore_store, f"c{n}", now)
        if result == "refused":  # refused before anything was reserved or recorded
            assert (b.available, b.reserved) == (500, 0)
            assert firestore_store.get(f"orders/o{n}") is None
        else:
            assert (b.available, b.reserved) == (300, 200)
        assert audit_account(firestore_store, f"c{n}") == []


def test_redemptions_from_separate_instances_respect_the_limit(firestore_client, firestore_store, now):
    from shared.adapters.firestore_store import FirestoreStore

    promo.create_discount(firestore_store, rule=ten_percent(), total_limit=3, now=now)
    instances = [FirestoreStore(firestore_client) for _ in range(4)]

    def redeem(n):
        try:
            return _client_call(lambda: promo.redeem(instances[n % 4], code="spring10", customer_id=f"c{n}", order_id=f"o{n}", now=now))
        except promo.PromoExhausted:
            return "refused"

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(redeem, range(8)))
    assert len([r for r in results if r != "refused"]) == 3
    assert promo.get(firestore_store, "SPRING10").uses == 3


# --- the order lifecycle ----------------------------------------------------------------------


def test_place_order_applies_redeems_and_records_the_code(store, biomiq, now):
    promo.create_discount(store, rule=ten_percent(), per_customer_limit=1, now=now)
    registration.register_customer(store, config=biomiq, customer_id="anna", now=now)
    order, q = orders.place_order(store, config=biomiq, customer_id="anna", order_id="A1", lines=CART, bonuses=0, promo_code="spring10", now=now)
    assert (q.discount, q.money_to_pay, q.promo_applied) == (10000, 90000, True)
    assert (order.promo_code, order.promo_code_entered, order.money_to_pay) == ("SPRING10", "SPRING10", 90000)
    again, _ = orders.place_order(store, config=biomiq, customer_id="anna", order_id="A1", lines=CART, bonuses=0, promo_code="Spring10", now=now)
    assert again == order and promo.get(store, "SPRING10").uses == 1
    with pytest.raises(IdempotencyConflict):
        orders.place_order(store, config=biomiq, customer_id="anna", order_id="A1", lines=CART, bonuses=0, promo_code=None, now=now)
    with pytest.raises(promo.PromoCustomerLimit):
        orders.place_order(store, config=biomiq, customer_id="anna", order_id="A2", lines=CART, bonuses=100, promo_code="spring10", now=now)
    assert balances(store, "anna", now).reserved == 0 and store.get("orders/A2") is None


def test_a_code_that_does_not_apply_is_not_used_up(store, biomiq, now):
    promo.create_discount(store, rule=ten_percent(min_order=500000), total_limit=1, now=now)
    registration.register_customer(store, config=biomiq, customer_id="anna", now=now)
    order, q = orders.place_order(store, config=biomiq, customer_id="anna", order_id="A1", lines=CART, bonuses=0, promo_code="spring10", now=now)
    assert (q.promo_applied, order.promo_code, order.promo_code_entered) == (False, None, "SPRING10")
    assert promo.get(store, "SPRING10").uses == 0


def test_a_failed_placement_gives_the_use_back(store, biomiq, now):
    promo.create_discount(store, rule=ten_percent(), total_limit=1, now=now)
    with pytest.raises(NotFound):  # nobody registered: the reservation step fails after the redemption
        orders.place_order(store, config=biomiq, customer_id="ghost", order_id="G1", lines=CART, bonuses=0, promo_code="spring10", now=now)
    assert promo.get(store, "SPRING10").uses == 0 and store.get("orders/G1") is None


def test_cancel_gives_the_use_and_the_bonuses_back(store, biomiq, now):
    promo.create_discount(store, rule=ten_percent(), total_limit=1, now=now)
    registration.register_customer(store, config=biomiq, customer_id="anna", now=now)
    orders.place_order(store, config=biomiq, customer_id="anna", order_id="A1", lines=CART, bonuses=200, promo_code="spring10", now=now)
    orders.mark_canceled(store, order_id="A1", now=now, reason="payment_canceled")
    orders.mark_canceled(store, order_id="A1", now=now, reason="payment_canceled")
    assert promo.get(store, "SPRING10").uses == 0
    assert store.get("promo_codes/SPRING10/customers/anna")["orders"] == []
    assert balances(store, "anna", now).available == 500


def test_payment_is_priced_with_the_rule_the_order_was_placed_with(store, biomiq, now):
    promo.create_discount(store, rule=ten_percent(valid_to=now + timedelta(hours=1)), now=now)
    registration.register_customer(store, config=biomiq, customer_id="anna", now=now)
    orders.place_order(store, config=biomiq, customer_id="anna", order_id="A1", lines=CART, bonuses=100, promo_code="spring10", now=now)
    store.run(lambda uow: uow.put("promo_codes/SPRING10", {**uow.get("promo_codes/SPRING10"), "active": False}))
    later = now + timedelta(hours=2)  # the code has expired and been switched off since checkout
    paid = orders.mark_paid(store, config=biomiq, order_id="A1", payment=orders.PaymentRef(id="p1"), now=later)
    assert (paid.status, paid.money_paid, paid.bonuses_spent) == ("paid", 80000, 100)
    assert paid.points_earned == 40  # 5 % of the 800 ₽ paid


# --- the back office's views -------------------------------------------------------------------


def test_deactivating_a_code_writes_once_and_usage_pages_its_customers(store, now):
    promo.create_discount(store, rule=ten_percent(), total_limit=10, now=now)
    for customer, order_id in (("zoe", "o1"), ("anna", "o2"), ("anna", "o3")):
        promo.redeem(store, code="spring10", customer_id=customer, order_id=order_id, now=now)
    audited = []
    off = promo.deactivate(store, code=" spring10", actor="olga@shop.example", now=now, then=lambda uow, code: audited.append(code))
    assert (off.active, off.deactivated_by, off.deactivated_at, off.uses) == (False, "olga@shop.example", now, 3)
    assert promo.deactivate(store, code="SPRING10", actor="ivan@shop.example", now=now + timedelta(hours=1), then=lambda uow, code: audited.append(code)) == off
    assert audited == [off]  # switching an inactive code off again changes nothing
    assert store.get("promo_codes/SPRING10")["deactivated_by"] == "olga@shop.example"
    page = promo.usage(store, code="spring10", limit=1)
    assert (page.code, [(u.customer_id, u.orders) for u in page.customers], page.next_cursor) == (off, [("anna", ("o2", "o3"))], "anna")
    rest = promo.usage(store, code="spring10", cursor=page.next_cursor, limit=1)
    assert ([u.customer_id for u in rest.customers], rest.code.remaining) == (["zoe"], 7)
    with pytest.raises(NotFound):
        promo.usage(store, code="nope")
    with pytest.raises(NotFound):
        promo.deactivate(store, code="nope", actor="olga@shop.example", now=now)
    promo.create_partner_code(store, code="maria-2026", partner_id="maria", now=now)
    first = promo.codes(store, limit=1)
    assert ([c.code for c in first.codes], first.next_cursor) == (["MARIA-2026"], "MARIA-2026")
    assert [c.code for c in promo.codes(store, cursor=first.next_cursor).codes] == ["SPRING10"]


# --- a busy code: uses counted on shards --------------------------------------------------------


def _shards(store, code: str) -> list[dict]:
    return [store.get(f"promo_codes/{code}/shards/{i}") for i in range(PROMO_SHARDS)]


@pytest.mark.reliability
def test_a_flash_sale_code_gives_exactly_its_limit_and_takes_cancellations_back(firestore_store, now):
    """40 checkouts at once on a code good for 13: exactly 13 get it, the code's own document is
    never written by an order, and uses given back are had again, never more than the limit."""
    promo.create_discount(firestore_store, rule=ten_percent(), total_limit=13, now=now)
    created = firestore_store.get("promo_codes/SPRING10")
    assert PROMO_SHARDS == 16 and [shard["left"] for shard in _shards(firestore_store, "SPRING10")] == [1] * 13 + [0] * 3

    def redeem(n: int):
        try:
            return _client_call(lambda: promo.redeem(firestore_store, code="spring10", customer_id=f"c{n}", order_id=f"o{n}", now=now))
        except promo.PromoExhausted:
            return "refused"

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(redeem, range(40)))
    won = [n for n, r in enumerate(results) if r != "refused"]
    assert len(won) == 13 and results.count("refused") == 27
    assert firestore_store.get("promo_codes/SPRING10") == created  # no order wrote the code itself
    shards = _shards(firestore_store, "SPRING10")
    assert sum(s["left"] for s in shards) == 0 and sum(s["used"] for s in shards) == 13
    assert promo.get(firestore_store, "SPRING10").uses == 13

    for n in won[:3]:  # three orders canceled: their uses go back to the shards they came from
        assert promo.unredeem(firestore_store, code="SPRING10", customer_id=f"c{n}", order_id=f"o{n}", now=now)
        assert not promo.unredeem(firestore_store, code="SPRING10", customer_id=f"c{n}", order_id=f"o{n}", now=now)  # once
    assert promo.get(firestore_store, "SPRING10").uses == 10
    with ThreadPoolExecutor(max_workers=8) as pool:
        again = list(pool.map(redeem, range(100, 110)))
    assert len([r for r in again if r != "refused"]) == 3
    shards = _shards(firestore_store, "SPRING10")
    assert all(s["left"] >= 0 for s in shards) and sum(s["left"] + s["used"] for s in shards) == 13
    assert promo.get(firestore_store, "SPRING10").uses == 13


def test_a_checkout_looks_a_busy_code_up_with_one_read_not_one_per_shard(firestore_store, now):
    promo.create_discount(firestore_store, rule=ten_percent(), total_limit=1000, now=now)
    before = firestore_store.stats["reads"]
    assert promo.offer(firestore_store, "spring10").rule == promo.get(firestore_store, "SPRING10").rule
    assert firestore_store.stats["reads"] - before == 1 + 1 + PROMO_SHARDS  # the offer, then the figures' read of every shard


def test_a_code_without_a_total_limit_counts_its_uses_on_shards(store, now):
    promo.create_discount(store, rule=ten_percent(), now=now)
    for n in range(20):
        promo.redeem(store, code="spring10", customer_id=f"c{n}", order_id=f"o{n}", now=now)
    shards = _shards(store, "SPRING10")
    assert all(s["left"] is None for s in shards) and sum(s["used"] for s in shards) == 20
    assert len([s for s in shards if s["used"]]) > 1  # spread over the shards
    assert promo.get(store, "SPRING10").uses == 20
