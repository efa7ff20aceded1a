"""The Anna & Maria story of the Biomiq case study, over HTTP.

    make demo                                   # the emulator when it can run here, else the in-memory store
    make demo KOPILKA_STORE=memory              # the in-memory store, whatever is installed
    python -m scripts.demo [--store auto|emulator|memory]

With the Firestore emulator (gcloud's component and Java 17+ on the PATH) it
starts a private emulator, serves every function with functions-framework
on local ports and plays the story against them. Without them (or with
``KOPILKA_STORE=memory``) it says so in one line and serves every function
in this process instead, each on its own local port, over one shared
in-memory store: the same requests, the same answers, nothing kept.

Either way local fakes of the YooKassa, CDEK and SMS.ru APIs run beside the
functions, and the story is played as the storefront, YooKassa and CDEK
would: the cart is quoted and checked out by the shop's scripts, the payment
and the delivery arrive as webhooks, and the functions re-fetch them from
the (fake) provider APIs before acting. Then everything is stopped.

Customers are registered through the use case rather than an SMS login and
given the token the login would issue.
The hold and the expiry lie weeks and a year ahead: balances are read as of
those instants, and the year-later sweep runs with that instant as ``now``.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from scripts import emulator, fakes, serve

SHOP = "https://shop.example"
YOOKASSA_PEER = "185.71.76.10"  # an address of YooKassa's published range, as Google's proxy appends it
STORES = ("auto", "emulator", "memory")


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


def play(store, urls: dict[str, str], env: dict[str, str], yookassa: Any, carriers: Any, *, label: str) -> int:
    """The story against functions served at ``urls`` over ``store``; 0 when the ledger audit passes."""
    from shared.domain.cart import CartLine
    from shared.platform import tokens
    from shared.services import account_sweep, orders, program, registration
    from shared.services.ledger import audit_account
    from tests.fakes.carriers import cdek_webhook
    from tests.fakes.yookassa import notification

    now = datetime.now(timezone.utc)
    config = program.in_force(store, env["KOPILKA_PROGRAM"], now).config
    story = Story(store, urls)
    print(f"Kopilka demo over HTTP — {config.name} ({label})")
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
    again_swept = account_sweep.sweep_due(store, config=config, now=year_later)
    story.say(
        f"The scheduler's sweep a year on ({year_later:%Y-%m-%d}) writes off what was not spent",
        f"{swept['accounts']} accounts, {swept['expired']} bonuses expired; a second run expires {again_swept['expired']}",
    )
    story.show(year_later, "anna", "maria")

    problems = [p for who in ("anna", "maria", "olga", "irina") for p in audit_account(store, who)]
    story.say("Ledger audit: every stored balance equals the fold of its entries", "OK" if not problems else "; ".join(problems))
    return 1 if problems else 0


def _environment() -> dict[str, str]:
    env = serve.environment()
    env["KOPILKA_FAKES"] = "0"  # the demo runs the fakes itself, to play the provider's side
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    return env


def on_emulator() -> int:
    """The story on the emulator at FIRESTORE_EMULATOR_HOST, every function a functions-framework process."""
    env = _environment()
    from google.cloud import firestore

    from shared.adapters.firestore_store import FirestoreStore
    from shared.platform.settings import reload

    reload()
    store = FirestoreStore(firestore.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT", "kopilka-local")))
    store.reset()
    serve.publish_program(env)
    fake_apis, yookassa, carriers = fakes.build_fakes()
    bridge = fakes.make_server(serve.FAKES_PORT, fake_apis)
    threading.Thread(target=bridge.serve_forever, daemon=True).start()
    processes = serve.start(env)
    try:
        return play(store, serve.function_urls(), env, yookassa, carriers, label="Firestore emulator")
    finally:
        serve.stop(processes)
        bridge.shutdown()


@contextmanager
def functions_in_process(names: list[str]) -> Iterator[dict[str, str]]:
    """Every function served from this process, each on a free local port; their URLs."""
    servers = []
    try:
        for name in names:
            servers.append((name, serve.in_process(name)))
        yield {name: f"http://127.0.0.1:{server.server_port}" for name, server in servers}
    finally:
        for _, server in servers:
            server.shutdown()
            server.server_close()


def in_memory() -> int:
    """The story on one in-memory store shared by every function, all served from this process."""
    env = _environment()
    fake_apis, yookassa, carriers = fakes.build_fakes()  # with the credentials the environment gives the functions
    bridge = fakes.make_server(0, fake_apis)  # a free port: nothing else is asked to find it
    fakes_url = f"http://127.0.0.1:{bridge.server_address[1]}"
    threading.Thread(target=bridge.serve_forever, daemon=True).start()
    providers = {"YOOKASSA_BASE_URL": f"{fakes_url}/yookassa/v3", "CDEK_BASE_URL": f"{fakes_url}/cdek/v2", "SMSRU_BASE_URL": f"{fakes_url}/smsru"}
    env.update(providers)
    os.environ.update(providers)
    os.environ.setdefault("KOPILKA_LOG_LEVEL", "CRITICAL")  # the functions' JSON log lines stay out of the story

    from shared.adapters.memory_store import MemoryStore
    from shared.platform import bootstrap
    from shared.platform.settings import reload
    from shared.presets import preset_data
    from shared.services import program

    reload()
    store = MemoryStore()
    bootstrap.set_store(store)
    published = datetime.now(timezone.utc)
    program.publish(store, raw=preset_data(env["KOPILKA_PROGRAM"]), author="make demo", reason="local program", effective_from=published, now=published)
    try:
        with functions_in_process(serve.FUNCTIONS) as urls:
            return play(store, urls, env, yookassa, carriers, label="in-memory store")
    finally:
        bootstrap.set_store(None)
        bridge.shutdown()
        bridge.server_close()


def emulator_missing() -> str | None:
    """Why the Firestore emulator cannot run here (gcloud, its component or Java missing), or ``None``."""
    try:
        emulator.check_prerequisites()
    except emulator.PrerequisiteError as missing:
        text = str(missing)
        return text[text.rfind("[") + 1 : -1] if text.endswith("]") else text
    return None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports_for_the_functions() -> None:
    """Where the usual ports (8081+ for the functions, 8099 for the fakes) are taken and none was
    chosen, pick a free run of them for the functions-framework processes the emulator run starts."""
    if "KOPILKA_BASE_PORT" in os.environ or "KOPILKA_FAKES_PORT" in os.environ:
        return
    wanted = [serve.BASE_PORT + i for i in range(len(serve.FUNCTIONS))] + [serve.FAKES_PORT]
    if all(_port_free(port) for port in wanted):
        return
    for base in range(20000, 60000, 100):
        if all(_port_free(base + i) for i in range(len(serve.FUNCTIONS) + 1)):
            os.environ["KOPILKA_BASE_PORT"], os.environ["KOPILKA_FAKES_PORT"] = str(base), str(base + len(serve.FUNCTIONS))
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=STORES, default=os.environ.get("KOPILKA_STORE") or "auto", help="auto (the default, or KOPILKA_STORE): the emulator when it can run, else memory")
    store = parser.parse_args(argv).store
    if store != "memory" and os.environ.get("FIRESTORE_EMULATOR_HOST"):
        return on_emulator()
    if store == "auto":
        missing = emulator_missing()
        if missing is None:
            store = "emulator"
        else:
            print(f"kopilka demo: no Firestore emulator here ({missing}), so the story runs on the in-memory store; nothing is kept.", flush=True)
            store = "memory"
    elif store == "memory":
        print("kopilka demo: KOPILKA_STORE=memory, so the story runs on the in-memory store; nothing is kept.", flush=True)
    if store == "emulator":  # start a private emulator and play the story on it
        _free_ports_for_the_functions()
        return emulator.cmd_run(["--", sys.executable, "-m", "scripts.demo", "--store", "emulator"])
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    return in_memory()


if __name__ == "__main__":
    raise SystemExit(main())
