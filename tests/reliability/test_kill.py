"""A serving function killed with SIGKILL mid-request under load, restarted on the same port, its
clients retrying every unanswered request with the same idempotency key (Firestore emulator, real
functions-framework processes, the YooKassa fake over real HTTP).

Two scenarios run at the same time, on customers and servers of their own:

* **checkout**: 8 storefront clients (two tabs per customer) place orders with bonuses through
  ``POST /checkout``, each with its own order id (the idempotency key);
* **order_paid**: YooKassa delivers ``payment.succeeded`` for orders placed beforehand (8 senders);
  the function re-fetches each payment from the fake API served over HTTP; the customers were
  invited by one partner, whose paying-referee count follows each first payment.

Each server's process group (gunicorn master and worker) is SIGKILLed once while requests are in
flight, and started again on the same port. A client retries on a broken connection, a refused
one, 409 ``retryable`` and 503 until it gets its answer. Afterwards every request is sent once
more (a double submit, a redelivery) and must change nothing.

Then: every order exists once, in the right state, with the figures the request implied; every
reservation, spend, purchase and accrual is posted once; balances equal the figures computed
from what was sent; the partner counted each referee once; the production ledger audit finds
nothing.

What a killed instance leaves behind: the Firestore transactions it had begun keep their locks
until the emulator expires them, about 60 s after their last use (as Firestore expires an idle
transaction). Meanwhile a write to one of those documents aborts with "Transaction lock timeout",
the store's retries run out and the client gets 409 ``retryable`` and tries again. That wait is
most of this test's run time, which is why the two scenarios share it rather than run one after
the other; the fixture's teardown waits for the locks to lapse so that the next test's reset of
the emulator is not refused.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts import fakes, serve
from shared.domain.cart import CartLine, cart_fingerprint
from shared.domain.errors import Retryable
from shared.domain.order import customer_order_id
from shared.edge import entry
from shared.services import orders, registration
from shared.services.ledger import balances, load_account, postings
from tests.conftest import SHOP_ORIGIN, TEST_ENV, customer_token
from tests.fakes.yookassa import FakeYooKassa, notification

from .audit import assert_ledgers_sound
from .faults import snapshot

ROOT = Path(__file__).resolve().parents[2]

PRICE = 100000  # one 1 000 ₽ line: up to 500 bonuses payable, 5 % earned on what is paid
LINES = [{"id": "serum", "name": "Сыворотка", "price": PRICE, "quantity": 1}]
WELCOME, INVITED_WELCOME = 500, 1000

CHECKOUT_CUSTOMERS = [f"kill-c{i}" for i in range(4)]
CHECKOUT_THREADS = 8  # two tabs per customer
CHECKOUTS_PER_THREAD = 6

PARTNER = "kill-partner"
PAYING_CUSTOMERS = [f"kill-p{i}" for i in range(4)]  # invited by PARTNER
PAYMENTS_PER_CUSTOMER = 8
PAYMENT_THREADS = 8
YOOKASSA_PEER = "185.71.76.5"  # inside YooKassa's 185.71.76.0/27

# A server is killed once about a third of its requests have started (a warm instance: most of a
# request's time is then spent inside transactions) at a moment with at least 5 of its 8 clients in flight.
KILL_AFTER_STARTED = {"checkout": 18, "order_paid": 12}
KILL_WITH_IN_FLIGHT = 5
START_TIMEOUT = 90.0  # a cold start of functions-framework on a loaded machine
ANSWER_DEADLINE = 240.0  # every request answered within this many seconds of the load's start
LOCK_LAPSE = 100.0  # the emulator expires a killed instance's transactions by then (about 60 s)


def checkout_bonuses(thread: int, i: int) -> int:
    """Bonuses of a checkout: 5..24, and none for every sixth (no reservation at all)."""
    return 0 if i == 5 else 5 + (7 * thread + 3 * i) % 20


def payment_bonuses(j: int) -> int:
    return 10 + (11 * j) % 40  # 10..49 of an invited customer's 1 000


def points(bonuses: int) -> int:
    """5 % (the first level) of the money paid, in whole bonuses rounded down."""
    return (PRICE - 100 * bonuses) * 5 // 100 // 100


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- servers that can be killed ---------------------------------------------------------------


@dataclass
class Server:
    """One function on a fixed port, killed and restarted by the test; counts requests sent to it."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None
    started: int = 0  # attempts begun, retries included
    in_flight: int = 0
    kills: list[dict[str, Any]] = field(default_factory=list)
    restart_failed: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = serve.start_function(self.name, self.port, self.env, output=out)

    def wait(self) -> None:
        serve.wait_serving(self.url + "/health", timeout=START_TIMEOUT)

    def kill(self) -> None:
        if self.process is not None:
            serve.kill_function(self.process)
            self.process = None

    def kill_when_busy(self, stop: threading.Event) -> None:
        """SIGKILL the process group once enough requests started and some are in flight, then restart."""
        while not stop.is_set():
            with self.lock:
                busy = self.started >= KILL_AFTER_STARTED[self.name] and self.in_flight >= KILL_WITH_IN_FLIGHT
                if busy:
                    self.kills.append({"at": utcnow(), "monotonic": time.monotonic(), "in_flight": self.in_flight, "started": self.started})
                    os.killpg(self.process.pid, signal.SIGKILL)  # under the lock: no attempt begins or ends in between
            if busy:
                try:
                    self.kill()  # reap master and worker
                    self.start()  # same port, at once
                    self.wait()
                except Exception as exc:  # the clients give up at once rather than at their deadline
                    self.restart_failed = f"{type(exc).__name__}: {exc}"
                return
            time.sleep(0.002)

    def errors_logged(self) -> list[str]:
        """The server's ERROR (and worse) log entries, shortened: message, reason, order."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        found = []
        for line in lines:
            if not (SEVERE.search(line) or line.startswith("Traceback")):
                continue
            try:
                entry = json.loads(line)
                found.append(" ".join(str(x) for x in (entry.get("message"), entry.get("reason") or "", entry.get("order_id") or "") if x))
            except ValueError:
                found.append(line[:300])
        return found


SEVERE = re.compile(r'"severity":\s*"(ERROR|CRITICAL|ALERT|EMERGENCY)"')


def unexpected_errors(servers: list[Server]) -> list[str]:
    return [f"{s.name}: {e}" for s in servers for e in s.errors_logged()]


def log_tail(servers: list[Server], n: int = 20) -> str:
    """The servers' error entries, for a failure message (the logs themselves are in the test's tmp_path)."""
    out = []
    for s in servers:
        errors = s.errors_logged()
        out.append(f"{s.name} logged {len(errors)} error(s) ({s.log})" + "".join(f"\n  {e}" for e in errors[-n:]))
    return "\n".join(out)


@dataclass
class Tally:
    """What every attempt met, by kind; which requests had an attempt cut by the kill."""

    outcomes: Counter = field(default_factory=Counter)
    cut: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, key: str, outcome: str) -> None:
        with self.lock:
            self.outcomes[outcome] += 1
            if outcome == "cut":
                self.cut.add(key)


RETRIED_CODES = {(409, "retryable"), (503, "provider_unavailable"), (503, "retryable")}


def http_client() -> httpx.Client:
    """A client opening a new connection per request (a broken one is then the kill's doing, not a stale pool's)."""
    return httpx.Client(timeout=httpx.Timeout(90.0, connect=5.0), trust_env=False, limits=httpx.Limits(max_keepalive_connections=0))


def until_answered(server: Server, key: str, send: Callable[[], httpx.Response], tally: Tally, deadline: float) -> httpx.Response:
    """Send until a 200, as the storefront and YooKassa do; anything not retryable fails the test."""
    while True:
        with server.lock:
            server.started += 1
            server.in_flight += 1
        pause = 0.2
        try:
            response = send()
        except httpx.ConnectError:  # the server is down (or restarting)
            tally.note(key, "refused")
        except httpx.TimeoutException:
            tally.note(key, "timeout")
            pause = 0.0
        except httpx.TransportError:  # the connection broke mid-request: the kill
            tally.note(key, "cut")
        else:
            if response.status_code == 200:
                tally.note(key, "200")
                return response
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
            tally.note(key, f"{response.status_code} {code}")
            if (response.status_code, code) not in RETRIED_CODES and response.status_code != 500:
                raise AssertionError(f"{key}: {server.name} refused the request: {response.status_code} {response.text}")
            pause = min(float(response.headers.get("Retry-After") or 1), 1.0)
        finally:
            with server.lock:
                server.in_flight -= 1
        if server.restart_failed:
            raise AssertionError(f"{key}: {server.name} did not start again: {server.restart_failed}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{key}: no answer from {server.name} by the deadline")
        time.sleep(pause * random.uniform(0.5, 1.0))


# --- the scenario ---------------------------------------------------------------------------


@dataclass
class Checkout:
    key: str
    customer: str
    bonuses: int
    token: str

    @property
    def order_id(self) -> str:
        """The id checkout issues for this storefront reference (in the customer's namespace)."""
        return customer_order_id(self.customer, self.key)

    def body(self) -> dict[str, Any]:
        fingerprint = cart_fingerprint([CartLine.model_validate(line) for line in LINES], None, self.bonuses, False)
        return {"order_id": self.key, "lines": LINES, "bonuses": self.bonuses, "quote_fingerprint": fingerprint}

    def send(self, http: httpx.Client, url: str) -> httpx.Response:
        return http.post(url + "/checkout", json=self.body(), headers={"Authorization": f"Bearer {self.token}", "Origin": SHOP_ORIGIN})


@dataclass
class Payment:
    key: str  # the order id
    customer: str
    bonuses: int
    money: int
    points: int
    payment_id: str
    body: dict[str, Any]

    def send(self, http: httpx.Client, url: str) -> httpx.Response:
        return http.post(url + "/yookassa", content=json.dumps(self.body), headers={"Content-Type": "application/json", "X-Forwarded-For": YOOKASSA_PEER})


@pytest.fixture
def servers(function_env, tmp_path):
    """checkout and order_paid served on free ports, and the YooKassa fake over HTTP; all stopped after,
    then the emulator's locks of the killed instances left to lapse."""
    fake = FakeYooKassa(shop_id=TEST_ENV["YOOKASSA_SHOP_ID"], secret_key=TEST_ENV["YOOKASSA_SECRET_KEY"])
    bridge = fakes.make_server(free_port(), {"/yookassa/v3": (fake.handle, "https://api.yookassa.ru/v3")})
    bridge.handle_error = lambda request, address: None  # a function killed mid-call leaves a broken pipe: not news
    threading.Thread(target=bridge.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        **TEST_ENV,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "YOOKASSA_BASE_URL": f"http://127.0.0.1:{bridge.server_address[1]}/yookassa/v3",
        "THREADS": "8",  # gunicorn threads of the worker (functions-framework's default is 4 per CPU)
    }
    started = [Server(name, free_port(), env, tmp_path / f"{name}.log") for name in ("checkout", "order_paid")]
    try:
        for server in started:
            server.start()
        yield function_env, fake, started
    finally:
        for server in started:
            server.kill()
        bridge.shutdown()
        bridge.server_close()
        kills = [k["monotonic"] for s in started for k in s.kills]
        if kills:
            _wait_for_locks_to_lapse(function_env, until=max(kills) + LOCK_LAPSE)


def _wait_for_locks_to_lapse(store, *, until: float) -> None:
    """The emulator refuses to reset while a killed instance's transaction still holds a lock: wait it out."""
    while True:
        try:
            store.reset()
            return
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 409 or time.monotonic() > until:
                raise
            time.sleep(1)


def _prepare(store, fake: FakeYooKassa) -> tuple[list[list[Checkout]], list[Payment]]:
    now = utcnow()
    config = entry.config(now)
    for customer in CHECKOUT_CUSTOMERS:
        registration.register_customer(store, config=config, customer_id=customer, now=now)
    tokens = {c: customer_token(c) for c in CHECKOUT_CUSTOMERS}
    checkouts = [
        [Checkout(f"KC{t}-{i}", CHECKOUT_CUSTOMERS[t % len(CHECKOUT_CUSTOMERS)], checkout_bonuses(t, i), tokens[CHECKOUT_CUSTOMERS[t % len(CHECKOUT_CUSTOMERS)]]) for i in range(CHECKOUTS_PER_THREAD)]
        for t in range(CHECKOUT_THREADS)
    ]

    registration.register_customer(store, config=config, customer_id=PARTNER, now=now)
    for customer in PAYING_CUSTOMERS:
        registration.register_customer(store, config=config, customer_id=customer, now=now, invited_by=PARTNER)

    def place(job: tuple[str, int]) -> Payment:
        customer, j = job
        order_id, bonuses = f"KP{customer[-1]}-{j}", payment_bonuses(j)
        record, _ = orders.place_order(store, config=config, customer_id=customer, order_id=order_id, lines=[CartLine.model_validate(line) for line in LINES], bonuses=bonuses, now=now)
        assert (record.bonuses_reserved, record.money_to_pay, record.points_to_earn) == (bonuses, PRICE - 100 * bonuses, points(bonuses)), record
        created = fake.create_payment(amount=record.money_to_pay, order_id=order_id)
        body = notification("payment.succeeded", fake.succeed(created["id"]))
        return Payment(order_id, customer, bonuses, record.money_to_pay, record.points_to_earn, created["id"], body)

    jobs = [(customer, j) for j in range(PAYMENTS_PER_CUSTOMER) for customer in PAYING_CUSTOMERS]
    with ThreadPoolExecutor(max_workers=4) as pool:  # one customer per worker at a time, roughly
        payments = list(pool.map(place, jobs))
    return checkouts, payments


def _stage_at_kill(store, kill_at: datetime, key: str, kind: str) -> str:
    """How far an interrupted request had got when its instance died (from the stored times)."""
    order = store.get(f"orders/{key}")
    if kind == "checkout":
        reserve = [p for p in postings(store, order["customer_id"], limit=1000) if p.key == f"reserve:{key}"] if order else []
        if order and order["created_at"] < kill_at:
            return "placed before the kill (answer lost)"
        if reserve and reserve[0].at < kill_at:
            return "reserved before the kill, order written by the retry"
        return "nothing committed before the kill"
    if order.get("paid_at") and order["paid_at"] < kill_at:
        first = store.get(f"customers/{order['customer_id']}").get("first_paid_at") == order["paid_at"]
        referee = store.get(f"customers/{PARTNER}/referees/{order['customer_id']}")
        if first and referee and referee["first_paid_at"] >= kill_at:
            return "first payment before the kill, partner's count by the redelivery"
        return "paid before the kill (answer lost)"
    return "nothing committed before the kill"


def test_sigkill_mid_request_then_retries_with_the_same_key_apply_once(servers):
    store, fake, (checkout_server, paid_server) = servers
    t0 = time.monotonic()
    checkouts, payments = _prepare(store, fake)
    for server in (checkout_server, paid_server):
        server.wait()
    ready = time.monotonic()

    checkout_tally, paid_tally = Tally(), Tally()
    answers: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + ANSWER_DEADLINE

    def tab(jobs: list[Checkout]) -> None:
        with http_client() as http:
            for job in jobs:
                response = until_answered(checkout_server, job.key, lambda job=job: job.send(http, checkout_server.url), checkout_tally, deadline)
                answers[job.key] = response.json()

    def sender(jobs: list[Payment]) -> None:
        with http_client() as http:
            for job in jobs:
                response = until_answered(paid_server, job.key, lambda job=job: job.send(http, paid_server.url), paid_tally, deadline)
                answers[job.key] = response.json()

    stop = threading.Event()
    killers = [threading.Thread(target=s.kill_when_busy, args=(stop,), daemon=True) for s in (checkout_server, paid_server)]
    for killer in killers:
        killer.start()
    try:
        with ThreadPoolExecutor(max_workers=CHECKOUT_THREADS + PAYMENT_THREADS) as pool:
            futures = [pool.submit(tab, jobs) for jobs in checkouts]
            futures += [pool.submit(sender, payments[t::PAYMENT_THREADS]) for t in range(PAYMENT_THREADS)]
            for future in futures:
                future.result()
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{log_tail([checkout_server, paid_server])}") from None
    finally:
        stop.set()
        for killer in killers:
            killer.join(timeout=START_TIMEOUT + 10)
    loaded = time.monotonic()

    # each server was killed once, with requests in flight, and some were cut
    for server, tally in ((checkout_server, checkout_tally), (paid_server, paid_tally)):
        assert len(server.kills) == 1, f"{server.name} was not killed under load: {server.started} requests"
        assert server.kills[0]["in_flight"] >= KILL_WITH_IN_FLIGHT
        assert tally.cut, f"no {server.name} request was cut by the kill: {tally.outcomes}"
    stages = Counter(_stage_at_kill(store, checkout_server.kills[0]["at"], key, "checkout") for key in checkout_tally.cut)
    stages += Counter(_stage_at_kill(store, paid_server.kills[0]["at"], key, "payment") for key in paid_tally.cut)
    summary = (
        f"setup {ready - t0:.1f}s, load {loaded - ready:.1f}s; "
        f"checkout: killed with {checkout_server.kills[0]['in_flight']} in flight after {checkout_server.kills[0]['started']} attempts, outcomes {dict(checkout_tally.outcomes)}; "
        f"order_paid: killed with {paid_server.kills[0]['in_flight']} in flight after {paid_server.kills[0]['started']} attempts, outcomes {dict(paid_tally.outcomes)}; "
        f"interrupted requests: {dict(stages)}\n{log_tail([checkout_server, paid_server])}"
    )
    print("\n" + summary)

    try:
        # every request once more: a double submit, a redelivery; nothing changes
        before = snapshot(store.client)
        with httpx.Client(timeout=60.0, trust_env=False) as http:
            for job in (j for jobs in checkouts for j in jobs):
                again = job.send(http, checkout_server.url)
                assert (again.status_code, again.json()) == (200, answers[job.key]), job.key
            for job in payments:
                again = job.send(http, paid_server.url)
                assert (again.status_code, again.json()) == (200, answers[job.key]), job.key
        assert snapshot(store.client) == before, "a repeated request changed the store"

        _check_checkouts(store, checkouts, answers)
        _check_payments(store, payments, answers)
        assert_ledgers_sound(store, min_accounts=len(CHECKOUT_CUSTOMERS) + len(PAYING_CUSTOMERS) + 1)
        for tally in (checkout_tally, paid_tally):
            assert not [o for o in tally.outcomes if o.startswith("500")], "a 500 answer"
        assert not unexpected_errors([checkout_server, paid_server]), "errors logged"
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{summary}") from exc




def _check_checkouts(store, checkouts: list[list[Checkout]], answers: dict[str, dict[str, Any]]) -> None:
    """Orders, reservations and balances of the checkout customers: every answered reservation is held once."""
    jobs = [job for thread in checkouts for job in thread]
    placed = {key for key in store.iter_ids("orders") if key.rpartition(":")[2].startswith("KC")}
    assert placed == {job.order_id for job in jobs}, "orders missing or extra"
    now = utcnow()
    for customer in CHECKOUT_CUSTOMERS:
        mine = [job for job in jobs if job.customer == customer]
        account = load_account(store, customer)
        history = postings(store, customer, limit=1000)
        kinds = Counter((p.kind, p.key) for p in history)
        for job in mine:
            answer = answers[job.key]
            expected = {"order_id": job.order_id, "status": "awaiting_payment", "bonuses_requested": job.bonuses, "bonuses_reserved": job.bonuses, "money_to_pay": PRICE - 100 * job.bonuses,
                "points_to_earn": points(job.bonuses)}
            assert {k: answer[k] for k in expected} == expected, job.key
            order = store.get(f"orders/{job.order_id}")
            assert {k: order[k] for k in expected} == expected and order["customer_id"] == customer and order["events"] == [], job.key
            reservation = account.reservations.get(job.order_id)
            assert kinds[("reserve", f"reserve:{job.order_id}")] == (1 if job.bonuses else 0), job.key
            if not job.bonuses:
                assert reservation is None, job.key
            else:
                timeline = ", ".join(f"{p.kind} at {p.at:%H:%M:%S.%f}" for p in reversed(history) if p.key.endswith(f":{job.order_id}"))
                assert reservation is not None and reservation.amount == job.bonuses, (job.key, reservation, timeline)
                assert kinds[("release", f"release:{job.order_id}")] == 0, (job.key, timeline)
        assert set(account.reservations) <= {job.order_id for job in mine}, "a reservation of no order"
        assert sum(k == "reserve" for k, _ in kinds.elements()) == sum(1 for job in mine if job.bonuses)
        b = balances(store, customer, now)
        assert (b.reserved, b.available, b.pending) == (sum(job.bonuses for job in mine), WELCOME - sum(job.bonuses for job in mine), 0), customer


def _check_payments(store, payments: list[Payment], answers: dict[str, dict[str, Any]]) -> None:
    """Each order paid once by its payment, its bonuses spent once, its points accrued once; the partner's count."""
    now = utcnow()
    for job in payments:
        assert answers[job.key] == {"result": "paid", "order_id": job.key, "status": "paid", "ignored": None}, job.key
        order = store.get(f"orders/{job.key}")
        assert order["status"] == "paid", job.key
        assert order["payment"] == {"provider": "yookassa", "id": job.payment_id, "amount": job.money}, job.key
        assert (order["bonuses_spent"], order["points_earned"], order["money_paid"]) == (job.bonuses, job.points, job.money), job.key
        assert [e["type"] for e in order["events"]] == ["paid"], job.key
        assert store.get(f"customers/{job.customer}/orders/{job.key}") is not None, f"{job.key}: no line book"
    for customer in PAYING_CUSTOMERS:
        mine = [job for job in payments if job.customer == customer]
        every = postings(store, customer, limit=1000)
        keys = Counter(p.key for p in every)
        for job in mine:
            for key in (f"reserve:{job.key}", f"spend:{job.key}", f"purchase:{job.key}", f"accrue:{job.key}"):
                assert keys[key] == 1, (customer, key)
        assert Counter(p.kind for p in every) == Counter({"open": 1, "accrue": 1 + len(mine), "reserve": len(mine), "spend": len(mine), "purchase": len(mine)}), customer
        account = load_account(store, customer)
        assert account.reservations == {}, customer
        b = balances(store, customer, now)
        assert (b.available, b.reserved, b.pending) == (INVITED_WELCOME - sum(j.bonuses for j in mine), 0, sum(j.points for j in mine)), customer
        assert store.get(f"customers/{customer}")["referrer_id"] == PARTNER
    partner = store.get(f"customers/{PARTNER}")
    assert partner["paying_referees"] == len(PAYING_CUSTOMERS)
    assert sorted(store.iter_ids(f"customers/{PARTNER}/referees")) == sorted(PAYING_CUSTOMERS)
    b = balances(store, PARTNER, now)
    assert (b.available, b.pending, b.reserved) == (WELCOME, 0, 0), "the partner is rewarded at delivery, not at payment"


def test_a_checkout_retried_after_its_order_write_ran_out_of_retries_keeps_its_reservation(function_env):
    """Found by the kill test: a placement whose order write runs out of store retries (orders/X
    locked, as by a killed instance's transaction) must leave no reservation behind, and the
    client's retry with the same id must reserve for real. The reservation and the order are
    written in one transaction, so neither exists without the other."""
    from shared.adapters.firestore_store import FirestoreStore

    class LockedOrder(FirestoreStore):
        locked = True

        def run(self, fn):
            def unit(uow):
                real_get = uow.get

                def get(path):
                    if self.locked and path == "orders/X":
                        raise Retryable("orders/X stayed locked")
                    return real_get(path)

                uow.get = get
                return fn(uow)

            return super().run(unit)

    store = function_env
    now = utcnow()
    config = entry.config(now)
    registration.register_customer(store, config=config, customer_id="anna", now=now)
    lines = [CartLine.model_validate(line) for line in LINES]
    with pytest.raises(Retryable):
        orders.place_order(LockedOrder(store.client), config=config, customer_id="anna", order_id="X", lines=lines, bonuses=100, now=now)
    assert balances(store, "anna", now).reserved == 0  # nothing was reserved: the reservation commits with the order

    order, _ = orders.place_order(store, config=config, customer_id="anna", order_id="X", lines=lines, bonuses=100, now=now)
    assert order.bonuses_reserved == 100
    assert_ledgers_sound(store)
    account = load_account(store, "anna")
    assert account.reservations["X"].amount == 100
    assert balances(store, "anna", now).reserved == 100
