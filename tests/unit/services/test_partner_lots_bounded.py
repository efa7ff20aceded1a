"""A popular partner's account stays bounded: 50,000 referral rewards over a year.

Rewards of one source that activate on one day and expire on one day are one lot, so the
account holds at most one referral lot per day of the lot lifetime however many rewards it
earns. The 50,000 rewards run through the ledger's commands (the account as the store keeps
it); the service path, through the referral reward, runs on the store below at a smaller size.
"""

from __future__ import annotations

import json
from datetime import timedelta

from shared.adapters import layout
from shared.adapters.memory_store import MemoryStore
from shared.domain import holds
from shared.domain.ledger import Accrue, Expire, Reverse, Spend
from shared.domain.ledger.postings import apply_posting
from shared.domain.ledger.state import Account
from shared.domain.line_book import BookLine, OrderLineBook
from shared.presets import load_preset
from shared.services import ledger, referral, registration
from shared.services.ledger import audit_account, balances
from tests.conftest import NOW

REWARDS = 50_000
DAYS = 365
LIFETIME = 365
# One open referral lot per (activation day, expiry day): rewards credited as they are earned
# fill at most one lot per day of the lot lifetime, and one more across the day's boundary.
LOT_BOUND = LIFETIME + 2
BYTES_BOUND = 128 * 1024  # the account document at its bound: far under Firestore's 1 MiB


def _document_bytes(account: Account) -> int:
    return len(json.dumps(account.to_dict(), default=str).encode())


def test_fifty_thousand_rewards_in_a_year_keep_the_partner_account_bounded():
    account = Account(customer_id="maria")
    credited = spent = reversed_ = 0
    most_lots = 0
    for i in range(REWARDS):
        at = NOW + timedelta(minutes=DAYS * 24 * 60 * i // REWARDS)
        amount = 40 + i % 23
        accrual = Accrue(amount=amount, source="referral", ref=f"A{i}", activates_at=at + timedelta(days=14), expires_at=at + timedelta(days=LIFETIME), order_id=f"ref-r-A{i}", merge=True)
        posting = accrual.posting(account, key=f"referral:ref-r-A{i}", now=at)
        account = apply_posting(account, posting)
        credited += amount
        if i % 50 == 49:  # the partner spends some, and a return claws a reward back
            lot_id = posting.outcome["lot_id"]
            account = apply_posting(account, Reverse(amount=amount // 2, own_lot_id=lot_id, negative_balance="floor", order_id=f"ref-r-A{i}").posting(account, key=f"reverse:{i}", now=at))
            reversed_ += amount // 2
            available = account.balances(at).available
            if available > 100:
                account = apply_posting(account, Spend(amount=100, order_id=f"S{i}").posting(account, key=f"spend:{i}", now=at))
                spent += 100
        most_lots = max(most_lots, len(account.lots))
        assert _document_bytes(account) <= BYTES_BOUND if i % 5000 == 0 else True
    assert LIFETIME - 14 <= most_lots <= LOT_BOUND  # the bound is reached, never passed
    assert _document_bytes(account) <= BYTES_BOUND
    end = NOW + timedelta(days=DAYS)
    held = account.balances(end)
    assert held.total == credited - reversed_ - spent  # merging loses and doubles nothing
    for lot_id in [lot.id for lot in account.lots.values()]:  # a year on, every lot has expired
        account = apply_posting(account, Expire(lot_id=lot_id).posting(account, key=f"expire:{lot_id}", now=end + timedelta(days=LIFETIME + 1)))
    assert account.lots == {}


def test_rewards_through_the_referral_path_share_a_lot_per_day():
    config = load_preset("biomiq")
    store = MemoryStore()
    registration.register_customer(store, config=config, customer_id="maria", now=NOW)
    referral.note_paying_referee(store, partner_id="maria", referee_id="ref0", now=NOW)
    credited = 0
    for i in range(60):  # 3 days, 20 deliveries a day
        at = NOW + timedelta(days=i // 20, minutes=i % 20)
        book = OrderLineBook(order_id=f"A{i}", customer_id=f"ref{i}", kind="purchase", lines={"serum": BookLine(quantity=1, paid=100_000)}, referrer_id="maria")
        credited += referral.credit_referral_reward(store, config=config, book=book, delivered_at=at, now=at)
    assert ledger.fold_rewards(store, "maria") == 60
    document = store.get(layout.account("maria"))
    assert document is not None
    rewards = [lot for lot in document["lots"].values() if lot["source"] == "referral"]
    assert len(rewards) == 3
    assert sorted(lot["amount"] for lot in rewards) == [1000, 1000, 1000]  # 20 × 5 % of 1 000 ₽
    assert credited == 3000
    last = NOW + timedelta(days=2, minutes=19)
    assert max(lot["activates_at"] for lot in rewards) == holds.referral_activation(config, last)  # the day's latest hold
    assert balances(store, "maria", last).pending == credited
    assert audit_account(store, "maria") == []
