"""The Anna & Maria story of the Biomiq case study, over HTTP, on the Firestore emulator.

Run with ``make demo``: it starts the emulator, serves every function with
functions-framework on local ports, runs local fakes of the YooKassa and
CDEK APIs, and plays the story as the storefront, YooKassa and CDEK would:
the cart is quoted and checked out by the shop's scripts, the payment and
the delivery arrive as webhooks, and the functions re-fetch them from the
(fake) provider APIs before acting. Then everything is stopped.

Customers are registered through the use case rather than an SMS login and
given the token the login would issue.
The hold and the expiry lie weeks and a year ahead: balances are read as of
those instants, and the year-later sweep runs with that instant as ``now``.
"""

from __future__ import annotations

import os
import sys
import threading
from datetime import datetime, timedelta, timezone

import httpx

from scripts import fakes, serve

SHOP = "https://shop.example"
YOOKASSA_PEER = "185.71.76.10"  # an address of YooKassa's published range, as Google's proxy appends it


def rub(kopecks: int) -> str:
    return f"{kopecks / 100:,.2f} ₽".replace(",", " ")


class Story:
    def __init__(self, store, urls: dict[str, str]) -> None:
        self.store = store
        self.urls = urls
        self.http = httpx.Client(timeout=30)
        self.step = 0

    def say(self, title: str, *lines: str) -> None:
        self.step += 1
        print(f"\n{self.step}. {title}")
        for line in lines:
            print(f"   {line}")

    def show(self, at: datetime, *who: str) -> None:
        from shared.services.ledger import balances

        for customer in who:
            b = balances(self.store, customer, at)
            print(f"   {customer:<6} total {b.total:>5} | available {b.available:>5} | pending {b.pending:>5} | reserved {b.reserved:>5}")

    def post(self, function: str, path: str, *, expect: int = 200, **kwargs) -> dict:
        response = self.http.post(self.urls[function] + path, **kwargs)
        if response.status_code != expect:
            raise SystemExit(f"{function}{path} answered {response.status_code}: {response.text}")
        return response.json() if response.content else {}


def main() -> int:
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        print("The demo runs on the Firestore emulator: use `make demo`.", file=sys.stderr)
        return 2
    env = serve.environment()
    env["KOPILKA_FAKES"] = "0"  # the demo runs the fakes itself, to play the provider's side
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    from google.cloud import firestore

    from shared.adapters.firestore_store import FirestoreStore
    from shared.domain.cart import CartLine
    from shared.platform import tokens
    from shared.platform.settings import reload
    from shared.services import account_sweep, orders, program, registration
    from shared.services.ledger import audit_account
    from tests.fakes.carriers import cdek_webhook
    from tests.fakes.yookassa import notification

    reload()
    store = FirestoreStore(firestore.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT", "kopilka-local")))
    store.reset()
    serve.publish_program(env)
    fake_apis, yookassa, carriers = fakes.build_fakes()
    bridge = fakes.make_server(serve.FAKES_PORT, fake_apis)
    threading.Thread(target=bridge.serve_forever, daemon=True).start()
    processes = serve.start(env)
    try:
        now = datetime.now(timezone.utc)
        config = program.in_force(store, env["KOPILKA_PROGRAM"], now).config
        story = Story(store, serve.function_urls())
        print(f"Kopilka demo over HTTP — {config.name}")
        for name, url in story.urls.items():
            print(f"   {name:<16} {url}")
        story.say(
            "The Biomiq program is in force, published as data",
            "levels: " + ", ".join(f"{lv.name} {lv.accrual_percent}%" for lv in config.levels),
            f"bonuses pay up to {config.levels[0].max_redeem_percent}% of an order; hold {config.hold_days} days; lifetime {config.lot_lifetime_days} days",
            f"welcome {config.welcome.standard}, invited {config.welcome.invited}; partner rate "
            + ", then ".join(f"{s.percent}% from {s.from_paying_referees} paying friends" for s in config.referral.schedule),
        )

        registration.register_customer(store, config=config, customer_id="maria", now=now)
        for friend, order in (("olga", "B-1001"), ("irina", "B-1002")):
            registration.register_customer(store, config=config, customer_id=friend, now=now, invited_by="maria")
            placed, _ = orders.place_order(store, config=config, customer_id=friend, order_id=order, lines=[CartLine(id="1", price=150000, quantity=1)], bonuses=0, now=now)
            orders.mark_paid(store, config=config, order_id=order, payment=orders.PaymentRef(provider="demo", id=f"seed-{order}", amount=placed.money_to_pay), now=now)
        story.say("Maria is a customer and a partner: two friends already bought through her link", "(her next paying friend moves her to the 10 % rate)")
        story.show(now, "maria")

        cart = [
            {"id": "serum", "sku": "BQ-SERUM-30", "name": "Сыворотка", "price": 190000, "quantity": 1},
            {"id": "cream", "sku": "BQ-CREAM-50", "name": "Крем", "price": 120000, "quantity": 1},
        ]
        anonymous = story.post("cart_quote", "/quote", json={"lines": cart}, headers={"Origin": SHOP})
        story.say(
            "Anna, not yet logged in, opens the shop by Maria's link: POST cart_quote/quote",
            f"cart {rub(anonymous['subtotal'])}: she would earn {anonymous['points_to_earn']} points, up to {anonymous['potential_points']} at the top level",
        )

        welcome = registration.register_customer(store, config=config, customer_id="anna", now=now, invited_by="maria")
        anna = {"Authorization": "Bearer " + tokens.issue(env["KOPILKA_TOKEN_SECRET"], subject="anna", now=now, ttl_seconds=3600), "Origin": SHOP}
        story.say(f"Anna logs in and is registered as Maria's friend: {welcome.welcome} bonuses instead of {config.welcome.standard}")
        story.show(now, "anna")

        quote = story.post("cart_quote", "/quote", json={"lines": cart, "bonuses": 1000}, headers=anna)
        story.say(
            "Her cart, logged in, with 1000 bonuses applied: POST cart_quote/quote",
            f"at most {quote['max_bonuses_by_rules']} bonuses payable (half the order); applied {quote['bonuses_applied']}",
            f"to pay {rub(quote['money_to_pay'])}; she will earn {quote['points_to_earn']} points",
            *(f"line {ql['id']}: {rub(ql['amount'])} - {ql['bonuses_applied']} bonuses = {rub(ql['money_to_pay'])}, earns {ql['points_to_earn']}" for ql in quote["lines"]),
        )
        order = story.post("checkout", "/checkout", json={"order_id": "B-1003", "lines": cart, "bonuses": 1000, "quote_fingerprint": quote["cart_fingerprint"]}, headers=anna)
        order_id = order.get("order_id", "B-1003")  # issued in her namespace: what the payment names
        story.say("She checks out: POST checkout/checkout reserves the bonuses (a second tab cannot spend them)", f"order {order_id}: {order.get('status', '')}")
        story.show(now, "anna")

        payment = yookassa.create_payment(amount=quote["money_to_pay"], order_id=order_id, description="Заказ B-1003")
        succeeded = notification("payment.succeeded", yookassa.succeed(payment["id"]))
        headers = {"X-Forwarded-For": YOOKASSA_PEER}
        first = story.post("order_paid", "/yookassa", json=succeeded, headers=headers)
        again = story.post("order_paid", "/yookassa", json=succeeded, headers=headers)
        forged = story.http.post(story.urls["order_paid"] + "/yookassa", json=succeeded, headers={"X-Forwarded-For": f"{YOOKASSA_PEER}, 203.0.113.9"})
        story.say(
            "YooKassa notifies payment.succeeded: POST order_paid/yookassa (the function re-fetches the payment first)",
            f"answer: {first}; the same notification again: {again}",
            f"the same body from a non-YooKassa address is refused: HTTP {forged.status_code}",
            "Maria is notified of a new paying referral (an event on the order)",
        )
        story.show(now, "anna", "maria")

        delivered_at = datetime.now(timezone.utc)
        uuid = carriers.add_cdek_order(number=order_id, statuses=[("CREATED", now), ("DELIVERED", delivered_at)])
        token = env["KOPILKA_CDEK_TOKEN"]
        delivered = story.post("delivery_status", f"/cdek/{token}", json=cdek_webhook(uuid, "DELIVERED", delivered_at, number=order_id))
        story.say(
            "CDEK reports DELIVERED: POST delivery_status/cdek/<secret> (the function re-reads the CDEK order)",
            f"answer: {delivered}",
            f"Anna's points and Maria's 10 % reward start their {config.hold_days}-day hold",
        )
        story.show(delivered_at + timedelta(seconds=1), "anna", "maria")

        after_hold = delivered_at + timedelta(days=config.hold_days, seconds=1)
        story.say(f"As of {after_hold:%Y-%m-%d}, {config.hold_days} days later, the held bonuses are available")
        story.show(after_hold, "anna", "maria")

        year_later = now + timedelta(days=config.lot_lifetime_days + 5)
        swept = account_sweep.sweep_due(store, config=config, now=year_later)
        again = account_sweep.sweep_due(store, config=config, now=year_later)
        story.say(
            f"The scheduler's sweep a year on ({year_later:%Y-%m-%d}) writes off what was not spent",
            f"{swept['accounts']} accounts, {swept['expired']} bonuses expired; a second run expires {again['expired']}",
        )
        story.show(year_later, "anna", "maria")

        problems = [p for who in ("anna", "maria", "olga", "irina") for p in audit_account(store, who)]
        story.say("Ledger audit: every stored balance equals the fold of its entries", "OK" if not problems else "; ".join(problems))
        return 1 if problems else 0
    finally:
        serve.stop(processes)
        bridge.shutdown()


if __name__ == "__main__":
    raise SystemExit(main())
