"""The Anna & Maria story of the Biomiq case study, in headless Chromium or over HTTP.

    make demo                                   # the emulator when it can run here, else the in-memory store
    make demo KOPILKA_STORE=memory              # the in-memory store, whatever is installed
    python -m scripts.demo [--store auto|emulator|memory]

It says in one line which way it plays and why. Where Debian's
``/usr/bin/chromium`` (or the browser ``KOPILKA_CHROMIUM`` names) is installed
and starts and Playwright imports, the storefront's steps happen in the browser,
on the demo shop page of the local stack (:mod:`scripts.demo_browser`).
Otherwise (``KOPILKA_CHROMIUM=/nonexistent`` asks for it) the story is played
over HTTP, as below.

With the Firestore emulator (gcloud's component and Java 17+ on the PATH) it
starts a private emulator, serves every function with functions-framework
on local ports and plays the story against them. Without them (or with
``KOPILKA_STORE=memory``) it says so in one line and serves every function
in this process instead, each on its own local port, over one shared
in-memory store: the same requests, the same answers, nothing kept.
(In the browser every function is served in this process, over either store.)

Either way local fakes of the YooKassa, CDEK and SMS.ru APIs run beside the
functions, and the story is played as the storefront, YooKassa and CDEK
would: the cart is quoted and checked out by the shop's scripts, the payment
and the delivery arrive as webhooks, and the functions re-fetch them from
the (fake) provider APIs before acting. Then everything is stopped.

Over HTTP, customers are registered through the use case rather than an SMS
login and given the token the login would issue.
The hold and the expiry lie weeks and a year ahead: balances are read as of
those instants, and the year-later sweep runs with that instant as ``now``.
The steps are told by :mod:`scripts.demo_story`, the same in both ways.
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
from datetime import datetime, timezone
from typing import Any

from scripts import demo_story as steps
from scripts import emulator, fakes, serve
from scripts.demo_story import SHOP, Story

YOOKASSA_PEER = "185.71.76.10"  # an address of YooKassa's published range, as Google's proxy appends it
STORES = ("auto", "emulator", "memory")


def play(store, urls: dict[str, str], env: dict[str, str], yookassa: Any, carriers: Any, *, label: str) -> int:
    """The story against functions served at ``urls`` over ``store``; 0 when the ledger audit passes."""
    from shared.platform import tokens
    from shared.services import program, registration

    now = datetime.now(timezone.utc)
    config = program.in_force(store, env["KOPILKA_PROGRAM"], now).config
    story = Story(store, urls)
    print(f"Kopilka demo over HTTP — {config.name} ({label})")
    story.urls_list()
    steps.program_in_force(story, config)

    registration.register_customer(store, config=config, customer_id="maria", now=now)
    steps.seed_partner(store, config, "maria", now)
    steps.partner(story, now)

    cart = [
        {"id": "serum", "sku": "BQ-SERUM-30", "name": "Сыворотка", "price": 190000, "quantity": 1},
        {"id": "cream", "sku": "BQ-CREAM-50", "name": "Крем", "price": 120000, "quantity": 1},
    ]
    anonymous = story.post("cart_quote", "/quote", json={"lines": cart}, headers={"Origin": SHOP})
    steps.anonymous_cart(story, subtotal=anonymous["subtotal"], points=anonymous["points_to_earn"], potential=anonymous["potential_points"], how="POST cart_quote/quote")

    welcome = registration.register_customer(store, config=config, customer_id="anna", now=now, invited_by="maria")
    anna = {"Authorization": "Bearer " + tokens.issue(env["KOPILKA_TOKEN_SECRET"], subject="anna", now=now, ttl_seconds=3600), "Origin": SHOP}
    steps.logged_in(story, now, welcome=welcome.welcome, standard=config.welcome.standard)

    quote = story.post("cart_quote", "/quote", json={"lines": cart, "bonuses": 1000}, headers=anna)
    steps.bonuses_quoted(story, quote, bonuses=1000, how="POST cart_quote/quote")
    order = story.post("checkout", "/checkout", json={"order_id": "B-1003", "lines": cart, "bonuses": 1000, "quote_fingerprint": quote["cart_fingerprint"]}, headers=anna)
    order_id = order.get("order_id", "B-1003")  # issued in her namespace: what the payment names
    steps.checked_out(story, now, how="POST checkout/checkout", order_id=order_id, status=order.get("status", ""))

    from tests.fakes.yookassa import notification

    payment = yookassa.create_payment(amount=quote["money_to_pay"], order_id=order_id, description="Заказ B-1003")
    succeeded = notification("payment.succeeded", yookassa.succeed(payment["id"]))
    headers = {"X-Forwarded-For": YOOKASSA_PEER}
    first = story.post("order_paid", "/yookassa", json=succeeded, headers=headers)
    again = story.post("order_paid", "/yookassa", json=succeeded, headers=headers)
    forged = story.http.post(story.urls["order_paid"] + "/yookassa", json=succeeded, headers={"X-Forwarded-For": f"{YOOKASSA_PEER}, 203.0.113.9"})
    steps.paid(
        story,
        now,
        "YooKassa notifies payment.succeeded: POST order_paid/yookassa (the function re-fetches the payment first)",
        f"answer: {first}; the same notification again: {again}",
        f"the same body from a non-YooKassa address is refused: HTTP {forged.status_code}",
    )

    delivered_at = steps.delivered(story, carriers, config, order_id=order_id, now=now, cdek_token=env["KOPILKA_CDEK_TOKEN"])
    steps.hold_passed(story, config, delivered_at)
    steps.swept(story, config, now)
    audit = steps.audited(story)
    print("\nThe back-office console: `make run` serves it and prints its address and one local user per role.")
    return audit


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


def _free_base(span: int) -> int:
    """The first port of a free run of ``span`` local ports."""
    for base in range(20000, 60000, 100):
        if all(_port_free(base + i) for i in range(span)):
            return base
    raise SystemExit("kopilka demo: no free run of local ports for the local stack")


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


def in_browser(chromium: Any, *, memory: bool) -> int:
    """The story in ``chromium`` on the local stack's demo shop, every function in this process."""
    from scripts import demo_browser
    from scripts.local_stack import SHOP_OFFSET, Stack

    os.environ.setdefault("KOPILKA_LOG_LEVEL", "CRITICAL")  # the functions' JSON log lines stay out of the story
    stack = Stack(_free_base(SHOP_OFFSET + 1), memory=memory, reset=not memory, example_customer=False)  # the story's own customers only
    try:
        stack.start()
        return demo_browser.play(stack, chromium, label="in-memory store" if memory else "Firestore emulator")
    finally:
        stack.stop()


def played(*, memory: bool) -> int:
    """The story in headless Chromium when it is here and starts, else over HTTP, said in one line."""
    from scripts import demo_browser

    with demo_browser.launched() as (chromium, why):
        if chromium is not None:
            print(f"kopilka demo: {demo_browser.chromium()} and Playwright are here, so the storefront's steps play in headless Chromium on the demo shop page.", flush=True)
            return in_browser(chromium, memory=memory)
    print(f"kopilka demo: {why}, so the story plays over HTTP, each call made as the shop's scripts and the providers make it.", flush=True)
    return in_memory() if memory else on_emulator()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=STORES, default=os.environ.get("KOPILKA_STORE") or "auto", help="auto (the default, or KOPILKA_STORE): the emulator when it can run, else memory")
    store = parser.parse_args(argv).store
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if store != "memory" and os.environ.get("FIRESTORE_EMULATOR_HOST"):
        return played(memory=False)
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
    return played(memory=True)


if __name__ == "__main__":
    raise SystemExit(main())
