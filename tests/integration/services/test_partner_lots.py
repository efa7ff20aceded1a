"""Referral rewards of one day share one lot; a return takes back exactly its order's part, once."""

from __future__ import annotations

from datetime import timedelta

from scripts.ledger_audit import run_audit
from shared.adapters import layout
from shared.domain.line_book import BookLine, OrderLineBook
from shared.presets import load_preset
from shared.services import ledger, referral, registration
from shared.services.ledger import audit_account, balances


def _book(i: int) -> OrderLineBook:
    return OrderLineBook(
        order_id=f"A{i}",
        customer_id=f"ref{i}",
        kind="purchase",
        lines={"serum": BookLine(quantity=1, paid=100_000), "cream": BookLine(quantity=2, paid=60_000)},
        referrer_id="maria",
    )


def test_rewards_of_a_day_merge_and_a_return_claws_back_its_own_part(store, now):
    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    referral.note_paying_referee(store, partner_id="maria", referee_id="ref0", now=now)
    rewards = [referral.credit_referral_reward(store, config=config, book=_book(i), delivered_at=now + timedelta(minutes=i), now=now + timedelta(minutes=i)) for i in range(4)]
    assert rewards == [80, 80, 80, 80]  # 5 % of 1 600 ₽ each
    again = referral.credit_referral_reward(store, config=config, book=_book(2), delivered_at=now + timedelta(minutes=2), now=now + timedelta(hours=1))
    assert again == 80  # a redelivery credits nothing twice
    tomorrow = now + timedelta(days=1)
    referral.credit_referral_reward(store, config=config, book=_book(9), delivered_at=tomorrow, now=tomorrow)

    waiting = store.get(layout.account("maria"))
    assert waiting is not None and not [lot for lot in waiting["lots"].values() if lot["source"] == "referral"]  # the rewards wait in the inbox
    assert balances(store, "maria", tomorrow).pending == 400  # and the partner sees them already
    assert audit_account(store, "maria") == []
    assert ledger.fold_rewards(store, "maria") == 5
    assert ledger.fold_rewards(store, "maria") == 0  # folded once
    document = store.get(layout.account("maria"))
    assert document is not None
    lots = sorted((lot for lot in document["lots"].values() if lot["source"] == "referral"), key=lambda lot: lot["amount"])
    assert [lot["amount"] for lot in lots] == [80, 320]  # one lot a day
    assert balances(store, "maria", tomorrow).pending == 400

    later = tomorrow + timedelta(hours=1)
    taken = referral.reverse_referral_reward(store, config=config, partner_id="maria", referee_id="ref1", order_id="A1", return_id="R1", returns={"cream": 2}, now=later)
    assert taken == 30  # the cream's 600 ₽ of that order only: its line book keeps its part
    again_taken = referral.reverse_referral_reward(store, config=config, partner_id="maria", referee_id="ref1", order_id="A1", return_id="R1", returns={"cream": 2}, now=later)
    assert again_taken == 30
    assert balances(store, "maria", later).pending == 370
    rest = referral.reverse_referral_reward(store, config=config, partner_id="maria", referee_id="ref1", order_id="A1", return_id="R2", returns={"serum": 1}, now=later)
    assert rest == 50  # the order's reward is gone, the others of its day stay
    assert balances(store, "maria", later).pending == 320
    assert audit_account(store, "maria") == []


def test_a_partner_s_referees_delivered_at_once_do_not_write_the_partner_account(store, now):
    """Rewards from many referees' deliveries at once land in the partner's inbox: the account
    document is not written, what the partner sees is exact before and after the fold, and a
    clawback of a reward still waiting takes back exactly its part."""
    from concurrent.futures import ThreadPoolExecutor

    config = load_preset("biomiq")
    registration.register_customer(store, config=config, customer_id="maria", now=now)
    referral.note_paying_referee(store, partner_id="maria", referee_id="ref0", now=now)
    before = store.get(layout.account("maria"))

    def credit(i: int) -> int:
        return referral.credit_referral_reward(store, config=config, book=_book(i), delivered_at=now, now=now)

    with ThreadPoolExecutor(max_workers=8) as pool:
        rewards = list(pool.map(credit, range(24)))
    assert rewards == [80] * 24
    assert store.get(layout.account("maria")) == before  # no delivery wrote the partner's account
    assert balances(store, "maria", now).pending == 24 * 80
    audited = run_audit(store, customers=["maria"], now=now)
    assert audited.ok and audited.inbox == 24  # the ledger audit counts and checks what waits

    taken = referral.reverse_referral_reward(store, config=config, partner_id="maria", referee_id="ref3", order_id="A3", return_id="R1", returns={"serum": 1}, now=now)
    assert taken == 50  # the clawback folded the inbox first, then took the serum's part of that order
    assert balances(store, "maria", now).pending == 24 * 80 - 50
    assert [lot["remaining"] for lot in store.get(layout.account("maria"))["lots"].values() if lot["source"] == "referral"] == [24 * 80 - 50]
    assert ledger.fold_rewards(store, "maria") == 0
    assert audit_account(store, "maria") == []


def test_rewards_for_one_partner_queue_in_process_per_order_not_on_the_partner(firestore_store, now):
    """The store queues units of one instance on their first document; a reward only reads the
    partner's account, so its unit queues on the book of its own order."""
    config = load_preset("biomiq")
    registration.register_customer(firestore_store, config=config, customer_id="maria", now=now)
    referral.note_paying_referee(firestore_store, partner_id="maria", referee_id="ref0", now=now)
    queued: list[str] = []
    stripe = firestore_store._root_lock
    firestore_store._root_lock = lambda path: queued.append(path) or stripe(path)
    for i in range(3):
        referral.credit_referral_reward(firestore_store, config=config, book=_book(i), delivered_at=now, now=now)
    assert queued == [layout.line_book("maria", f"ref-ref{i}-A{i}") for i in range(3)]
