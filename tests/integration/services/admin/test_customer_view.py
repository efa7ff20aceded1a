"""The back office's customer screen: one search box (phone, e-mail, name, order id, partner code),
the whole picture of a customer, and a manager's return by line and quantity."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.api.account import ProfileUpdate
from shared.domain.cart import CartLine
from shared.domain.errors import Forbidden, ValidationFailed
from shared.edge.admin_auth import Admin
from shared.services import account, orders, partner, registration
from shared.services.admin import customer_view
from shared.services.identity.keys import IdentityKeys
from shared.services.identity.sessions import open_account

KEYS = IdentityKeys(token_secret="integration-token-secret-of-32-bytes", otp_secret=b"integration-otp-secret")
MANAGER = Admin("olga@shop.example", ("manager",))
MARKETER = Admin("mark@shop.example", ("marketer",))
ACCOUNTANT = Admin("acc@shop.example", ("accountant",))
CART = [CartLine(id="serum", name="Сыворотка", price=190000, quantity=1), CartLine(id="cream", name="Крем", price=120000, quantity=2)]


def anna(store, config, now) -> str:
    """Anna, by her phone, with her name and e-mail, and a delivered two-line order A1."""
    customer_id = open_account(store, config=config, keys=KEYS, e164="+79161110002", now=now).customer_id
    account.update_profile(store, customer_id=customer_id, update=ProfileUpdate(name="Анна  Смирнова", email="Anna@Example.ru"), now=now)
    placed, _ = orders.place_order(store, config=config, customer_id=customer_id, order_id="A1", lines=CART, bonuses=100, now=now)
    orders.mark_paid(store, config=config, order_id="A1", payment=orders.PaymentRef(provider="test", id="p-A1", amount=placed.money_to_pay), now=now)
    orders.mark_delivered(store, config=config, order_id="A1", delivered_at=now, now=now, carrier="manager")
    return customer_id


def found(store, config, now, text: str) -> list[str]:
    return [c.customer_id for c in customer_view.find_customers(store, MARKETER, config=config, query=text, now=now).customers]


def test_one_search_box_finds_a_customer_by_phone_e_mail_name_order_and_partner_code(store, biomiq, now):
    customer_id = anna(store, biomiq, now)
    registration.register_customer(store, config=biomiq, customer_id="other", now=now)
    account.update_profile(store, customer_id="other", update=ProfileUpdate(name="Ольга Андреева"), now=now)
    code = partner.ensure_code(store, partner_id=customer_id, now=now)
    for text in ("+7 916 111-00-02", "89161110002", "anna@example.ru", "ANNA@example.RU", "анна", "Смирн", "анна смирнова", "A1", customer_id, code, code.lower()):
        assert found(store, biomiq, now, text) == [customer_id], text
    assert found(store, biomiq, now, "андр") == ["other"]
    assert found(store, biomiq, now, "Борис") == []
    assert found(store, biomiq, now, "1234567890") == []  # digits that are no mobile phone: nothing, not an error
    with pytest.raises(ValidationFailed):
        found(store, biomiq, now, "   ")


def test_a_changed_name_is_found_by_the_new_name_only(store, biomiq, now):
    customer_id = anna(store, biomiq, now)
    account.update_profile(store, customer_id=customer_id, update=ProfileUpdate(name="Анна Ёлкина"), now=now)
    assert found(store, biomiq, now, "смирнова") == []
    assert found(store, biomiq, now, "елкина") == [customer_id]
    account.update_profile(store, customer_id=customer_id, update=ProfileUpdate(name=None), now=now)
    assert found(store, biomiq, now, "анна") == []


def test_the_overview_shows_lots_per_line_bonuses_the_timeline_and_russian_reasons(store, biomiq, now):
    customer_id = anna(store, biomiq, now)
    view = customer_view.customer_overview(store, ACCOUNTANT, config=biomiq, customer_id=customer_id, now=now + timedelta(seconds=1))
    assert view.customer.profile["name"] == "Анна Смирнова"
    assert {lot.source: lot.state for lot in view.customer.lots} == {"welcome": "active", "purchase": "pending"}
    (order,) = view.orders
    assert [(line.name, line.quantity, line.spent > 0, line.earned > 0) for line in order.lines] == [("Сыворотка", 1, True, True), ("Крем", 2, True, True)]
    assert sum(line.spent for line in order.lines) == 100 and sum(line.earned for line in order.lines) == order.points_earned
    assert [e.label_ru for e in order.events] == ["Оплачен", "Доставлен"]
    reasons = [entry.reason_ru for entry in view.ledger]
    assert "Приветственный бонус" in reasons and "Начисление за заказ A1" in reasons and "Списание в заказе A1" in reasons
    assert view.progress.next_level == "level2" and view.progress.remaining_to_next == 3000000 - order.money_paid
    assert view.audit == [] and view.referral.invited == 0
    assert customer_view.customer_overview(store, MANAGER, config=biomiq, customer_id=customer_id, now=now).audit is None  # a manager reads no audit log
    with pytest.raises(ValidationFailed):
        customer_view.customer_overview(store, MANAGER, config=biomiq, customer_id=customer_id, now=now, orders_after="a/b")


def test_a_return_of_one_unit_takes_its_bonuses_back_once_and_is_audited(store, biomiq, now):
    customer_id = anna(store, biomiq, now)
    before = customer_view.customer_overview(store, ACCOUNTANT, config=biomiq, customer_id=customer_id, now=now).customer
    done = customer_view.return_lines(store, MANAGER, config=biomiq, order_id="A1", return_id="r1", lines={"cream": 1}, reason="вернула в магазин", now=now)
    assert (done.status, done.returned_units, done.applied) == ("partially_returned", {"cream": 1}, True)
    assert done.earned_back > 0 and done.spent_back > 0
    after = customer_view.customer_overview(store, ACCOUNTANT, config=biomiq, customer_id=customer_id, now=now).customer
    assert after.pending == before.pending - done.earned_back
    again = customer_view.return_lines(store, MANAGER, config=biomiq, order_id="A1", return_id="r1", lines={"cream": 1}, reason="вернула в магазин", now=now)
    assert (again.applied, again.returned_units) == (False, {"cream": 1})
    audit = store.read(lambda uow: uow.admin_audit.of_target("order:A1", limit=10))
    assert [r.action for r in audit] == ["order.return"]


def test_a_return_of_more_than_kept_or_by_another_role_writes_nothing(store, biomiq, now):
    anna(store, biomiq, now)
    with pytest.raises(ValidationFailed) as refused:
        customer_view.return_lines(store, MANAGER, config=biomiq, order_id="A1", return_id="r1", lines={"cream": 3}, reason="—", now=now)
    assert refused.value.message_ru == "Вернуть можно не больше 2 шт."
    with pytest.raises(Forbidden):
        customer_view.return_lines(store, MARKETER, config=biomiq, order_id="A1", return_id="r2", lines={"cream": 1}, reason="—", now=now)
    assert orders.get_order(store, "A1").returned_units is None


def test_the_orders_and_the_ledger_come_in_pages(store, biomiq, now):
    customer_id = anna(store, biomiq, now)
    orders.place_order(store, config=biomiq, customer_id=customer_id, order_id="A2", lines=CART[:1], bonuses=0, now=now)
    first = customer_view.customer_overview(store, ACCOUNTANT, config=biomiq, customer_id=customer_id, now=now, limit=1)
    assert [o.order_id for o in first.orders] == ["A1"] and first.next_orders_after == "A1" and len(first.ledger) == 1
    second = customer_view.customer_overview(store, ACCOUNTANT, config=biomiq, customer_id=customer_id, now=now, limit=1, orders_after=first.next_orders_after, before_seq=first.next_before_seq)
    assert [o.order_id for o in second.orders] == ["A2"] and second.next_orders_after is None
    assert second.ledger[0].seq < first.ledger[0].seq
