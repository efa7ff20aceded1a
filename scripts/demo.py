"""The Anna & Maria story of the Biomiq case study, played on the Firestore emulator.

Run with ``make demo`` (it starts and stops the emulator). Every step goes
through the same use cases the functions call, with the clock passed in.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta, timezone

from shared.adapters.firestore_store import FirestoreStore
from shared.domain.cart import CartLine
from shared.presets import preset_data
from shared.services import lifecycle, program
from shared.services.ledger import audit_account, balances

START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def rub(kopecks: int) -> str:
    return f"{kopecks / 100:,.2f} ₽".replace(",", " ")


class Story:
    def __init__(self, store: FirestoreStore, config) -> None:
        self.store = store
        self.config = config
        self.step = 0

    def say(self, title: str, *lines: str) -> None:
        self.step += 1
        print(f"\n{self.step}. {title}")
        for line in lines:
            print(f"   {line}")

    def show(self, now: datetime, *who: str) -> None:
        for customer in who:
            b = balances(self.store, customer, now)
            print(f"   {customer:<6} total {b.total:>5} | available {b.available:>5} | pending {b.pending:>5} | reserved {b.reserved:>5}")


def main() -> int:
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        print("The demo runs on the Firestore emulator: use `make demo`.", file=sys.stderr)
        return 2
    from google.cloud import firestore

    store = FirestoreStore(firestore.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT", "kopilka-local")))
    store.reset()
    now = START
    version = program.publish(store, raw=preset_data("biomiq"), author="marketer@biomiq", reason="launch", effective_from=now, now=now)
    config = program.in_force(store, "biomiq", now).config
    story = Story(store, config)
    print(f"Kopilka demo — {config.name}")
    story.say(
        f"The marketer publishes the Biomiq program (version {version.version}), by configuration alone",
        "levels: " + ", ".join(f"{lv.name} {lv.accrual_percent}% from {rub(lv.threshold)}" for lv in config.levels),
        f"bonuses pay up to {config.levels[0].max_redeem_percent}% of an order; hold {config.hold_days} days; lifetime {config.lot_lifetime_days} days",
        f"welcome {config.welcome.standard}, invited {config.welcome.invited}; partner rate "
        + ", then ".join(f"{s.percent}% from {s.from_paying_referees} paying friends" for s in config.referral.schedule),
    )

    lifecycle.register_customer(store, config=config, customer_id="maria", now=now)
    for friend, order in (("olga", "B-1001"), ("irina", "B-1002")):
        lifecycle.register_customer(store, config=config, customer_id=friend, now=now, invited_by="maria")
        lifecycle.pay_order(store, config=config, customer_id=friend, order_id=order, lines=[CartLine(id="1", price=150000, quantity=1)], bonuses=0, now=now)
    story.say("Maria is a customer and a partner: two friends already bought through her link", "(so her next paying friend moves her to the 10 % rate)")
    story.show(now, "maria")

    now += timedelta(days=1)
    welcome = lifecycle.register_customer(store, config=config, customer_id="anna", now=now, invited_by="maria")
    story.say(f"Anna arrives by Maria's personal link and registers: {welcome['welcome']} bonuses instead of the standard {config.welcome.standard}")
    story.show(now, "anna")

    cart = [
        CartLine(id="serum", sku="BQ-SERUM-30", name="Сыворотка", price=190000, quantity=1, product_group="face"),
        CartLine(id="cream", sku="BQ-CREAM-50", name="Крем", price=120000, quantity=1, product_group="face"),
    ]
    quote = lifecycle.checkout(store, config=config, customer_id="anna", order_id="B-1003", lines=cart, bonuses=1000, now=now)
    story.say(
        "Anna puts two products in her cart and pays part with bonuses (checkout reserves them)",
        f"cart {rub(quote.subtotal)}; at most {quote.max_bonuses_by_rules} bonuses payable (half the order); she applies {quote.bonuses_applied}",
        f"to pay {rub(quote.money_to_pay)}; she will earn {quote.points_to_earn} points ({config.levels[0].accrual_percent}% of the money paid)",
        *(f"line {ql.id}: {rub(ql.amount)} - {ql.bonuses_applied} bonuses = {rub(ql.money_to_pay)}, earns {ql.points_to_earn}" for ql in quote.lines),
    )
    story.show(now, "anna")

    now += timedelta(minutes=7)
    paid = lifecycle.pay_order(store, config=config, customer_id="anna", order_id="B-1003", lines=cart, bonuses=1000, now=now)
    again = lifecycle.pay_order(store, config=config, customer_id="anna", order_id="B-1003", lines=cart, bonuses=1000, now=now + timedelta(seconds=30))
    story.say(
        "Anna pays online: the reservation is spent, the accrual waits for delivery",
        f"spent {paid.spent}, paid {rub(paid.paid)}, {paid.earned} points pending; bound for ever to partner {paid.referrer_id!r}",
        f"Maria is notified of a new paying referral; a repeated payment notification changes nothing (replayed={again.replayed})",
    )
    story.show(now, "anna", "maria")

    delivered = now + timedelta(days=3)
    result = lifecycle.deliver_order(store, config=config, customer_id="anna", order_id="B-1003", delivered_at=delivered, now=delivered)
    story.say(
        "The carrier delivers the order",
        f"Maria receives {result['referral_reward']} bonuses: 10 % of Anna's {rub(paid.paid)} purchase",
        f"Anna's {result['earned']} points and Maria's reward are held until {result['activates_at']:%Y-%m-%d} ({config.hold_days} days)",
    )
    story.show(delivered, "anna", "maria")

    after_hold = result["activates_at"]
    story.say(f"{config.hold_days} days later the held bonuses become available")
    story.show(after_hold, "anna", "maria")

    year_later = now + timedelta(days=config.lot_lifetime_days + 5)
    swept = lifecycle.sweep_due(store, config=config, now=year_later)
    swept_again = lifecycle.sweep_due(store, config=config, now=year_later)
    story.say(
        f"A year on ({year_later:%Y-%m-%d}), unspent bonuses expire: the sweep writes them off",
        f"{swept['accounts']} accounts swept, {swept['expired']} bonuses expired; a second run expires {swept_again['expired']}",
    )
    story.show(year_later, "anna", "maria")

    problems = [p for who in ("anna", "maria", "olga", "irina") for p in audit_account(store, who)]
    story.say("Ledger audit: every stored balance equals the fold of its entries", "OK" if not problems else "; ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
