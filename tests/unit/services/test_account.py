"""Pure rules of the personal account (profile fields, history wording, masked payout details,
referral links, partner months) and the payout flow on the in-memory store."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from shared.api.account import ProfileUpdate
from shared.domain import ledger as L
from shared.domain.config import parse_config
from shared.domain.customer import CustomerRecord, Notifications, bonuses_excluded, unknown_customer
from shared.domain.errors import InsufficientBonuses, InvalidState
from shared.domain.history import describe
from shared.domain.payouts import payable
from shared.domain.profile import clean_email, clean_name, notifications, parse_birthday
from shared.platform.sealing import Sealer
from shared.presets import preset_data
from shared.services import partner, payouts
from shared.services.account import update_profile
from shared.services.ledger import AccountSession, audit_account, balances, load_account, post

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
SEALER = Sealer("unit-test-payout-secret-of-32-bytes-or-more")
TODAY = date(2026, 3, 1)


# --- profile fields -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [("1990-02-28", ("1990-02-28", "02-28")), ("02-29", ("02-29", "02-29")), (" 12-31 ", ("12-31", "12-31")), ("2000-02-29", ("2000-02-29", "02-29")), ("2026-03-01", ("2026-03-01", "03-01"))],
)
def test_birthdays_keep_what_was_entered_and_give_the_month_day(text, expected):
    assert parse_birthday(text, TODAY) == expected


@pytest.mark.parametrize("text", ["1990-02-30", "1991-02-29", "02-30", "13-01", "00-10", "2026-03-02", "1899-12-31", "1990/02/28", "0228", "", "--"])
def test_impossible_or_future_birthdays_are_refused(text):
    with pytest.raises(ValueError):
        parse_birthday(text, TODAY)


def test_names_and_emails_are_cleaned_or_refused():
    assert clean_name("  Анна \t Петрова ") == "Анна Петрова"
    assert clean_email(" Anna.P@Example.RU ") == "anna.p@example.ru"
    for bad in ("", "  ", "a\u200bb", "x" * 101):
        with pytest.raises(ValueError):
            clean_name(bad)
    for bad in ("anna", "anna@", "@example.com", "anna@example", "a b@example.com", "a@b@example.com", "a@example..com"):
        with pytest.raises(ValueError):
            clean_email(bad)


def test_notification_defaults_are_filled_in():
    assert notifications(None) == {"sms": True, "email": False, "telegram": False}
    assert notifications({"email": True, "telegram": "yes", "pigeon": True}) == {"sms": True, "email": True, "telegram": False}


def test_a_customer_record_changes_its_typed_fields_and_remembers_explicit_nulls():
    record = CustomerRecord.new("anna")
    assert (record.profile.channels, record.referral.paying, record.blocking.is_blocked, record.nulls) == (Notifications(True, False, False), 0, False, frozenset())
    record = record.set_referral(invited_by=None, registered_at=NOW, paying_referees=0).set_profile(email="anna@example.com")
    assert record.nulls == {"invited_by"} and record.referral.registered_at == NOW
    record = record.change(email=None, blocked=True, referrer_id="maria")
    assert record.nulls == {"invited_by", "email"} and record.profile.email is None
    assert (record.blocking.is_blocked, record.referral.referrer_id) == (True, "maria")
    assert record.set_referral(invited_by="maria").nulls == {"email"}  # set again: no longer a null
    with pytest.raises(TypeError):
        record.change(lots={})  # the account changes through postings only
    assert Notifications(True, False, False).with_choices({"telegram": True, "sms": "no", "pigeon": True}) == Notifications(True, False, True)


def test_the_excluded_groups_and_unknown_customers():
    config = parse_config(preset_data("maxma_b2b"))
    excluded = [g.code for g in config.groups if g.bonuses_excluded]
    assert excluded and bonuses_excluded(config, L.Account(customer_id="b", group=excluded[0]))
    assert unknown_customer("ghost").message_ru


# --- history wording ----------------------------------------------------------------------------


def _apply(account: L.Account, key: str, command: L.Command, now: datetime = NOW) -> tuple[L.Account, L.Posting]:
    posting = command.posting(account, key=key, now=now)
    assert posting.seq == account.seq + 1
    return L.apply_posting(account, posting), posting


def test_every_bonus_movement_has_a_russian_reason_and_a_signed_delta():
    year = NOW + timedelta(days=365)
    account = L.Account(customer_id="anna")
    account, welcome = _apply(account, "welcome:anna", L.Accrue(amount=500, source="welcome", ref="anna", activates_at=NOW, expires_at=year))
    account, reserve = _apply(account, "reserve:B-1003", L.Reserve(reservation_id="B-1003", amount=200, release_after=NOW + timedelta(hours=1)))
    account, spend = _apply(account, "spend:B-1003", L.Spend(amount=150, order_id="B-1003", reservation_id="B-1003"))
    account, earn = _apply(account, "accrue:B-1003", L.Accrue(amount=95, source="purchase", ref="B-1003", activates_at=None, expires_at=year, order_id="B-1003"))
    account, reward = _apply(account, "referral:ref-bob-X1", L.Accrue(amount=210, source="referral", ref="X1", activates_at=NOW, expires_at=year, order_id="ref-bob-X1"))
    account, clawback = _apply(account, "reverse:ref-bob-X1:r1", L.Reverse(amount=10, own_lot_id=None, negative_balance="floor", order_id="ref-bob-X1"))
    account, fix = _apply(account, "adj:1", L.Adjust(amount=-5, actor="admin", reason="ошибка кассы", expires_at=year))
    account, hold = _apply(account, "payout:p-1", L.Reserve(reservation_id="payout:p-1", amount=100, release_after=NOW + timedelta(days=3650)))
    account, paid = _apply(account, "payout:p-1:spend", L.Spend(amount=100, order_id="payout:p-1", reservation_id="payout:p-1"))
    later = NOW + timedelta(days=400)
    lot = next(iter(account.lots))
    account, gone = _apply(account, f"expire:{lot}", L.Expire(lot_id=lot), later)

    entries = {name: describe(p) for name, p in locals().items() if isinstance(p, L.Posting)}
    assert entries["reserve"] is None  # a checkout's reservation moves no bonuses
    assert (entries["welcome"].reason, entries["welcome"].delta, entries["welcome"].kind) == ("Приветственный бонус", 500, "accrual")
    assert (entries["spend"].reason, entries["spend"].delta, entries["spend"].order_id) == ("Списание в заказе B-1003", -150, "B-1003")
    assert (entries["earn"].reason, entries["earn"].delta, entries["earn"].activates_at) == ("Начисление за заказ B-1003", 95, None)
    assert (entries["reward"].reason, entries["reward"].delta, entries["reward"].order_id) == ("Вознаграждение партнёра", 210, None)
    assert (entries["clawback"].delta, entries["clawback"].order_id) == (-10, None) and "bob" not in entries["clawback"].reason
    assert (entries["fix"].reason, entries["fix"].delta) == ("Корректировка: ошибка кассы", -5)
    assert (entries["hold"].kind, entries["hold"].delta, entries["hold"].held) == ("payout_hold", 0, 100)
    assert (entries["paid"].kind, entries["paid"].delta, entries["paid"].held, entries["paid"].reason) == ("payout", -100, -100, "Выплата по заявке p-1")
    assert (entries["gone"].reason, entries["gone"].delta < 0) == ("Сгорание бонусов", True)
    # the deltas add up to the total the account holds
    shown = [e for e in entries.values() if e is not None]
    assert sum(e.delta for e in shown) == account.balances(later).total + account.balances(later).expired_unswept


# --- payouts, links, months --------------------------------------------------------------------------


@pytest.mark.parametrize("details,masked", [("**** 1234", True), ("+7 *** ***-12-34", True), ("Сбер, •• 9876", True), ("", True), ("4111 1111 1111 1111", False), ("+7 (916) 123-45-67", False),
    ("12345", False), ("1234.5678", False)])
def test_masked_details_carry_no_run_of_five_digits(details, masked):
    assert payouts.is_masked(details) is masked


def test_referral_links_keep_the_shops_parameters():
    assert partner.referral_link("https://shop.example", "ABCD2345") == "https://shop.example/?ref=ABCD2345"
    assert partner.referral_link("https://shop.example/catalog?utm=x&ref=OLD#top", "ABCD2345") == "https://shop.example/catalog?utm=x&ref=ABCD2345#top"
    assert partner.referral_link("", "ABCD2345") is None


def test_partner_codes_are_short_and_unambiguous():
    codes = {partner.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(code) == 8 and set(code) <= set(partner.CODE_ALPHABET) for code in codes)
    assert not set("01IO") & set(partner.CODE_ALPHABET)


def test_partner_months_are_moscow_months_oldest_first():
    new_year_eve = datetime(2025, 12, 31, 22, 0, tzinfo=timezone.utc)  # already January 1st in Moscow
    assert partner._months(new_year_eve)[-1] == "2026-01" and partner._months(new_year_eve)[0] == "2025-02"
    assert len(partner._months(NOW)) == 12


# --- on the in-memory store -------------------------------------------------------------------------


@pytest.fixture
def config():
    return parse_config(preset_data("biomiq"))


def _partner(store, config, amount: int = 1500) -> None:
    store.run(lambda uow: AccountSession(uow, "maria").post("open:maria", L.OpenAccount(group="b2c", level="level1"), now=NOW))
    post(store, "maria", "adj", L.Adjust(amount=amount, actor="t", reason="seed", expires_at=NOW + timedelta(days=365)), now=NOW)


def test_profile_changes_leave_the_ledger_as_it_was(memory_store, config):
    _partner(memory_store, config)
    before = load_account(memory_store, "maria").to_dict()
    changes = ProfileUpdate.model_validate({"name": "Мария", "birthday": "1985-07-14", "notifications": {"email": True}})
    update_profile(memory_store, customer_id="maria", update=changes, now=NOW)
    stored = memory_store.get("customers/maria")
    assert (stored["name"], stored["birthday"], stored["birthday_md"], stored["notifications"]["email"]) == ("Мария", "1985-07-14", "07-14", True)
    assert load_account(memory_store, "maria").to_dict() == before
    assert audit_account(memory_store, "maria") == []


def _rewarded_partner(store, amount: int = 1500) -> None:
    """A partner whose referral rewards (``amount`` bonuses) are past their hold: payable."""
    store.run(lambda uow: AccountSession(uow, "maria").post("open:maria", L.OpenAccount(group="b2c", level="level1"), now=NOW))
    reward = L.Accrue(amount=amount, source="referral", ref="A1", activates_at=NOW, expires_at=NOW + timedelta(days=365), order_id="ref-anna-A1")
    post(store, "maria", "referral:ref-anna-A1", reward, now=NOW)


def test_payout_hold_approve_reject_on_the_memory_store(memory_store, config):
    _rewarded_partner(memory_store)
    payouts.request_payout(memory_store, config=config, customer_id="maria", request_id="req-00000001", amount=1000, method="card", details="4111 1111 1111 1111", now=NOW, sealer=SEALER)
    with pytest.raises(InsufficientBonuses):
        payouts.request_payout(memory_store, config=config, customer_id="maria", request_id="req-00000002", amount=600, method="card", details="4111 1111 1111 1111", now=NOW, sealer=SEALER)
    b = balances(memory_store, "maria", NOW)
    assert (b.available, b.reserved, b.total) == (500, 1000, 1500)
    assert payouts.decide_request(memory_store, request_id="req-00000001", decision="reject", actor="m", now=NOW).request.status == "rejected"
    assert balances(memory_store, "maria", NOW).available == 1500
    with pytest.raises(InvalidState):
        payouts.decide_request(memory_store, request_id="req-00000001", decision="approve", actor="m", now=NOW)
    payouts.request_payout(memory_store, config=config, customer_id="maria", request_id="req-00000002", amount=600, method="bonus_account", details="", now=NOW, sealer=SEALER)
    payouts.decide_request(memory_store, request_id="req-00000002", decision="approve", actor="m", now=NOW)
    assert payouts.settle(memory_store, request_id="req-00000002", actor="a", now=NOW).request.status == "paid"
    b = balances(memory_store, "maria", NOW)
    assert (b.available, b.reserved, b.total) == (1500, 0, 1500)  # to the bonus account: spendable, no longer payable
    assert payable(load_account(memory_store, "maria"), NOW) == 900
    assert audit_account(memory_store, "maria") == []
