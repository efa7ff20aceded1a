"""`make bench`: the measured figures of the engine, on the Firestore emulator.

Every latency is reported beside a floor measured in the same run (a single
emulator document read), because the machines are shared and noisy: the
ratios are the figures that matter, the milliseconds are context.

Sections (each lands in bench/results.json and a table in bench/RESULTS.md):
  floor      one small-document read with the google.cloud.firestore client, c=1 and c=32
  quote      POST cart_quote/quote over HTTP (functions-framework), anonymous and logged in, c=1/8/32
  lifecycle  quote -> checkout -> YooKassa notification -> CDEK webhook over HTTP, per step, orders/s
  store_ops  reads/writes/commits per lifecycle step, in-process on an instrumented FirestoreStore; cost per 1,000 orders
  history    quote and order-paid store ops and latency for 10 vs 10,000 ledger postings
  served_memory  peak RSS (VmHWM) of each served function's worker process after the load above
  sweep      account_sweep.sweep_due over 100,000 expired lots (KOPILKA_BENCH_SWEEP_LOTS) vs a raw bulk write of the same documents, checked after
  cold_start import time and peak memory (the child's own VmHWM) of each function module in a fresh interpreter vs its floor
  console    every console screen over HTTP on 10,000 customers and 100,000 postings vs the admin API call it makes and one read (bench/console_section.py)
  messages   the dispatcher's messages/s to the in-process SMS.ru fake vs raw outbox writes; the sweep's cost per 10,000 customers with the triggers on (bench/messages_section.py)
Targets are reported as figures (met/missed), never asserted.

KOPILKA_BENCH_SECTIONS=console (or messages, or both) runs those sections alone (on a fresh store) and merges its figures into
bench/results.json and bench/RESULTS.md beside the other sections' last figures.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from bench import console_section, messages_section
from scripts import fakes, serve

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent
SHOP = "https://shop.example"
YOOKASSA_PEER = "185.71.76.10"
READ_PRICE = 0.03 / 100_000  # us-central1 Standard list price per document read (USD)
WRITE_PRICE = 0.09 / 100_000  # per document write
CART = [  # as the storefront kit sends Tilda's cart: the product UID, the page's price (the catalog's is used)
    {"id": "serum", "product": "1001", "sku": "BQ-SERUM-30", "name": "Сыворотка", "price": 190000, "quantity": 1},
    {"id": "cream", "product": "1002", "sku": "BQ-CREAM-50", "name": "Крем", "price": 120000, "quantity": 1},
]
HISTORY_BIG = int(os.environ.get("BENCH_HISTORY", "10000"))
#: the sections run alone (KOPILKA_BENCH_SECTIONS, comma-separated); none: every section
ALONE = {s.strip() for s in os.environ.get("KOPILKA_BENCH_SECTIONS", "").split(",") if s.strip()}


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def summary(samples_s: list[float]) -> dict:
    ms = [x * 1000 for x in samples_s]
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 3), "p99_ms": round(pct(ms, 99), 3), "mean_ms": round(statistics.fmean(ms), 3)}


def concurrent(fn, concurrency: int, total: int, setup=None) -> tuple[list[float], float]:
    """Run fn(worker_state) total times over `concurrency` threads; per-call latencies and wall time.

    ``setup(worker_state)`` runs in each thread before the timed calls (building an HTTP client
    loads a TLS context: tens of ms of CPU that no request of a running client pays), and
    the threads start their calls together, so every call runs at the stated concurrency."""
    per = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]
    lat: list[float] = []
    lock = threading.Lock()
    began = [0.0]
    ready = threading.Barrier(concurrency, action=lambda: began.__setitem__(0, time.perf_counter()))  # the wall clock starts with the calls

    def worker(count: int) -> None:
        state: dict = {}
        if setup is not None:
            setup(state)
        ready.wait()
        mine = []
        for _ in range(count):
            t = time.perf_counter()
            fn(state)
            mine.append(time.perf_counter() - t)
        if "close" in state:
            state["close"]()
        with lock:
            lat.extend(mine)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, per))
    return lat, time.perf_counter() - began[0]


def http_client(state: dict) -> httpx.Client:
    if "http" not in state:
        state["http"] = httpx.Client(timeout=60)  # keep-alive per worker
        state["close"] = state["http"].close
    return state["http"]


def mark(value: float, limit: float) -> str:
    return "met" if value <= limit else "missed"


def mark_at_least(value: float, limit: float) -> str:
    return "met" if value >= limit else "missed"


SWEEP_LOTS = int(os.environ.get("KOPILKA_BENCH_SWEEP_LOTS", "100000"))
LOTS_PER_ACCOUNT = 10
COLD_SAMPLES = 7  # fresh interpreters per cold-start row, each beside a floor sample; the ratio is the median of the pairs' import CPU time ratios
SWEEP_PAGE = 200  # the expiry_sweep function's default page (SweepRequest.batch)
SEQUENTIAL_PAGES = 2  # pages also swept one account per transaction, one at a time (workers=1, group=1), for comparison
FLOOR_TRIAL_DOCS = 5500  # documents each bulk-write method writes to choose the floor's


def proc_status_kib(pid: int | str) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of a process, KiB, from /proc/<pid>/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(line.split()[1])
    return out


def pss_kib(pid: int) -> int | None:
    """Proportional set size now (shared pages split between the processes sharing them), from /proc/<pid>/smaps_rollup."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from the parent field of every /proc/<n>/stat."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def emulator_cpu_s() -> float | None:
    """CPU seconds used so far by this run's emulator: its processes (launcher and JVM) serving FIRESTORE_EMULATOR_HOST's port."""
    port = os.environ.get("FIRESTORE_EMULATOR_HOST", "").rsplit(":", 1)[-1]
    total, found = 0.0, False
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline") as f:
                    argv = f.read().split("\0")
                if "cloud-firestore-emulator" not in " ".join(argv) or f"--port={port}" not in argv:
                    continue
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            found = True
    return total if found else None


class CpuMeter:
    """CPU seconds of this process (all threads) and of the emulator over a block."""

    def __enter__(self) -> CpuMeter:
        self._bench, self._emulator = time.process_time(), emulator_cpu_s()
        return self

    def __exit__(self, *exc) -> None:
        self.bench_s = time.process_time() - self._bench
        end = emulator_cpu_s()
        self.emulator_s = None if end is None or self._emulator is None else end - self._emulator


def served_memory(processes: list) -> dict:
    """Peak RSS of each served function: the functions-framework (gunicorn) master and its worker(s)."""
    rows = {}
    for process in processes:
        try:
            with open(f"/proc/{process.pid}/cmdline") as f:
                argv = f.read().split("\0")
        except OSError:
            continue
        if "--target" not in argv:
            continue
        name = argv[argv.index("--target") + 1]
        kids = children(process.pid)
        workers = [proc_status_kib(pid) for pid in kids]
        master = proc_status_kib(process.pid)
        pss = [pss_kib(pid) for pid in [process.pid, *kids]]
        rows[name] = {"worker_peak_mib": round(max((w["VmHWM"] for w in workers), default=0) / 1024, 1),
                      "worker_rss_mib": round(max((w["VmRSS"] for w in workers), default=0) / 1024, 1),
                      "workers": len(workers), "master_peak_mib": round(master["VmHWM"] / 1024, 1),
                      "instance_pss_mib": None if None in pss else round(sum(pss) / 1024, 1)}
    return rows


def bulk_write_methods(client) -> dict:
    """Raw ways to write [(path, document)] under a root collection: creates, no reads, no transactions."""
    from google.cloud.firestore_v1.bulk_writer import BulkWriterOptions, SendMode

    def bulk_writer(docs: list, root: str) -> None:
        failures = []

        def failed(failure, _writer) -> bool:
            if failure.attempts < 5:
                return True
            failures.append(failure)
            return False

        writer = client.bulk_writer(options=BulkWriterOptions(initial_ops_per_second=1_000_000, max_ops_per_second=1_000_000, mode=SendMode.parallel))
        writer.on_write_error(failed)
        for path, doc in docs:
            writer.create(client.document(f"{root}/{path}"), doc)
        writer.close()
        if failures:
            raise RuntimeError(f"BulkWriter: {len(failures)} writes failed, first: {failures[0].message}")

    def write_batches(in_flight: int):
        def write(docs: list, root: str) -> None:
            def one(chunk: list) -> None:
                batch = client.batch()
                for path, doc in chunk:
                    batch.create(client.document(f"{root}/{path}"), doc)
                batch.commit()

            chunks = [docs[i:i + 500] for i in range(0, len(docs), 500)]
            if in_flight == 1:
                for chunk in chunks:
                    one(chunk)
            else:
                with ThreadPoolExecutor(in_flight) as pool:
                    list(pool.map(one, chunks))
        return write

    return {
        "BulkWriter (parallel mode, its 500 ops/s ramp-up lifted)": bulk_writer,
        "WriteBatch of 500, one commit at a time": write_batches(1),
        "WriteBatch of 500, 8 commits in flight": write_batches(8),
        "WriteBatch of 500, 16 commits in flight": write_batches(16),
    }


def cpu_per(cpu: CpuMeter, units: float) -> dict:
    return {"bench": round(cpu.bench_s * 1000 / units, 2), "emulator": None if cpu.emulator_s is None else round(cpu.emulator_s * 1000 / units, 2)}


def account_document(account, extra: dict) -> dict:
    """The stored customer document of ``account`` with the record fields ``extra`` (seeding)."""
    from shared.adapters.repositories.ledger import record_document, record_from_document

    return record_document(record_from_document({**extra, **account.to_dict()}))


def sweep_section(client, config, lots_total: int) -> dict:
    """account_sweep.sweep_due over `lots_total` expired lots beside a raw bulk write of the documents it writes.

    Accounts of LOTS_PER_ACCOUNT expired lots each are built with the ledger's own operations (open, then
    accruals) and their documents written raw. The documents the sweep will write (one expire posting per
    lot and the emptied account, from the same operations sweep_account posts) are computed too, and
    written under another root with the fastest raw bulk-write method: the floor. Then sweep_due runs
    over the accounts as the expiry_sweep function runs it (page 200, cursor `expiry`), and the outcome is
    checked, failing loudly: every stored account equals the document the ledger's operations give (no lot
    left, balance 0), one expire posting per lot, and a second sweep finds nothing.
    """
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    from shared.adapters.firestore_store import FirestoreStore
    from shared.domain.ledger import COMMANDS, Account, apply_posting
    from shared.services import account_sweep

    if lots_total < LOTS_PER_ACCOUNT:
        raise ValueError(f"KOPILKA_BENCH_SWEEP_LOTS must be at least {LOTS_PER_ACCOUNT}")
    began = time.perf_counter()
    n_main = lots_total // LOTS_PER_ACCOUNT
    n_seq = SEQUENTIAL_PAGES * SWEEP_PAGE if n_main >= SEQUENTIAL_PAGES * SWEEP_PAGE else 0  # skipped in tiny runs
    now = datetime.now(timezone.utc)
    opened = now - timedelta(days=400)
    extra = {"invited_by": None, "registered_at": opened, "referrer_id": None, "paying_referees": 0}
    section: dict = {"lots": n_main * LOTS_PER_ACCOUNT, "accounts": n_main, "lots_per_account": LOTS_PER_ACCOUNT, "page": SWEEP_PAGE, "workers": account_sweep.SWEEP_WORKERS}

    def post(account: Account, out: list | None, kind: str, key: str, when: datetime, **params) -> Account:
        posting = COMMANDS[kind](**params).posting(account, key=key, now=when)
        if out is not None:
            # under `floor_postings`, so that counting the sweep's `postings` below does not count the floor's
            out.append((f"{account.customer_id}/floor_postings/{posting.id}", posting.to_dict()))
        return apply_posting(account, posting)

    # ---- build (untimed): the seeded account documents, and every document the sweep will write
    t = time.perf_counter()
    seed_docs: list = []
    floor_docs: list = []
    finals: dict = {}  # the account documents the sweep must leave
    for i in range(n_seq + n_main):
        cid = f"sweep-{i:06d}"
        expiring = now - timedelta(days=2 if i < n_seq else 1)  # the comparison accounts come first in the due order
        account = post(Account(customer_id=cid), None, "open", f"open:{cid}", opened, group=config.default_group, level=config.levels[0].code)
        for j in range(LOTS_PER_ACCOUNT):
            account = post(account, None, "accrue", f"bench-sweep:{cid}:{j}", opened + timedelta(minutes=j), amount=10 + j, source="bench",
                           ref=f"{cid}:{j}", activates_at=opened, expires_at=expiring - timedelta(minutes=j))
        seed_docs.append((cid, account_document(account, extra)))
        swept: list = []
        for lot in sorted(account.lots.values(), key=lambda lot: lot.order_key()):  # as sweep_account posts them
            account = post(account, swept, "expire", f"expire:{lot.id}:{account.seq}", now, lot_id=lot.id)
        swept.append((cid, account_document(account, extra)))
        finals[cid] = swept[-1][1]
        if i >= n_seq:
            floor_docs += swept
    section["build_s"] = round(time.perf_counter() - t, 1)
    expected_amount = (n_seq + n_main) * sum(10 + j for j in range(LOTS_PER_ACCOUNT))
    methods = bulk_write_methods(client)

    # ---- seed: the account documents only (their open/accrue postings are not written: the sweep never reads them)
    t = time.perf_counter()
    methods["WriteBatch of 500, 8 commits in flight"](seed_docs, "customers")
    dt = time.perf_counter() - t
    section["seed"] = {"accounts": n_seq + n_main, "lots": (n_seq + n_main) * LOTS_PER_ACCOUNT, "documents": len(seed_docs), "s": round(dt, 1),
                       "method": "WriteBatch of 500, 8 commits in flight"}
    del seed_docs
    print("sweep seed", section["seed"], flush=True)

    # ---- floor: the fastest raw method on a sample, then it writes every document the sweep writes
    trial = floor_docs[:FLOOR_TRIAL_DOCS]
    trials = {}
    for k, (name, write) in enumerate(methods.items()):
        t = time.perf_counter()
        write(trial, f"benchtrial{k}")
        trials[name] = round(len(trial) / (time.perf_counter() - t), 1)
    best = max(trials, key=trials.get)
    t = time.perf_counter()
    with CpuMeter() as cpu:
        methods[best](floor_docs, "benchfloor")
    dt = time.perf_counter() - t
    section["floor"] = {"method": best, "trial_docs": len(trial), "trial_docs_per_s": trials, "documents": len(floor_docs),
                        "account_docs": n_main, "posting_docs": len(floor_docs) - n_main, "s": round(dt, 2), "docs_per_s": round(len(floor_docs) / dt, 1),
                        "cpu_ms_per_11_docs": cpu_per(cpu, len(floor_docs) / (1 + LOTS_PER_ACCOUNT))}
    print("sweep floor", section["floor"], flush=True)
    data_docs = len(floor_docs)
    del floor_docs, trial

    # ---- the sweep: the comparison pages one account at a time, then the measured accounts as the function sweeps them
    def timed_sweep(**kw) -> tuple[dict, float, dict, CpuMeter]:
        counted = FirestoreStore(firestore.Client(project=client.project))
        due, spent = counted.due, [0.0]

        def timed_due(*args, **kwargs):  # the due-accounts queries' own time (sweep_due queries from its calling thread)
            t = time.perf_counter()
            try:
                return due(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - t

        counted.due = timed_due
        t = time.perf_counter()
        with CpuMeter() as cpu:
            totals = account_sweep.sweep_due(counted, config=config, now=now, batch=SWEEP_PAGE, **kw)
        return totals, time.perf_counter() - t, {**counted.stats, "due_query_s": round(spent[0], 2)}, cpu

    runs = {}
    if n_seq:
        totals, dt, stats, cpu = timed_sweep(max_pages=SEQUENTIAL_PAGES, workers=1, group=1)
        runs["one_at_a_time"] = {"workers": 1, "group": 1, "cursor": None, "totals": totals, "s": round(dt, 2), "stats": stats, "cpu_ms_per_account": cpu_per(cpu, totals["accounts"])}
    totals, dt, stats, cpu = timed_sweep(cursor="expiry")
    runs["measured"] = {"workers": account_sweep.SWEEP_WORKERS, "group": account_sweep.SWEEP_GROUP, "cursor": "expiry", "totals": totals, "s": round(dt, 2), "stats": stats,
        "cpu_ms_per_account": cpu_per(cpu, totals["accounts"])}
    for run in runs.values():
        tot, dt, st = run["totals"], run["s"], run["stats"]
        docs = tot["accounts"] * (1 + LOTS_PER_ACCOUNT)  # the account and one expire posting per lot (cursor writes apart)
        run.update(accounts=tot["accounts"], lots=tot["accounts"] * LOTS_PER_ACCOUNT, docs=docs,
                   accounts_per_s=round(tot["accounts"] / dt, 1), lots_per_s=round(tot["accounts"] * LOTS_PER_ACCOUNT / dt, 1), docs_per_s=round(docs / dt, 1),
                   reads_per_account=round(st["reads"] / tot["accounts"], 2), writes_per_account=round(st["writes"] / tot["accounts"], 2),
                   commits_per_account=round(st["commits"] / tot["accounts"], 3), x_floor=round(docs / dt / section["floor"]["docs_per_s"], 3))
        print("sweep run", run, flush=True)
    section["runs"] = runs
    measured = runs["measured"]

    # ---- checks, failing loudly
    problems = []
    if measured["accounts"] != n_main or measured["docs"] != data_docs or measured["totals"]["complete"] != 1:
        problems.append(f"the measured sweep did {measured['totals']} for {n_main} accounts")
    swept_amount = sum(r["totals"]["expired"] for r in runs.values())
    if swept_amount != expected_amount:
        problems.append(f"{swept_amount} bonuses written off, {expected_amount} expected")
    checked = 0
    ours = client.collection("customers").where(filter=FieldFilter("customer_id", ">=", "sweep-")).where(filter=FieldFilter("customer_id", "<", "sweep."))
    for snap in ours.stream():
        data = snap.to_dict()
        account = Account.from_dict(data)
        checked += 1
        if data != finals.get(snap.id):
            problems.append(f"{snap.id}: the stored account differs from the one the ledger's operations give")
        if account.lots or data.get("next_expiry_at") is not None or account.balances(now).total != 0:
            problems.append(f"{snap.id}: {len(account.lots)} lots left, balance {account.balances(now).total}")
    if checked != n_seq + n_main:
        problems.append(f"{checked} seeded accounts found, {n_seq + n_main} expected")
    expires = client.collection_group("postings").where(filter=FieldFilter("kind", "==", "expire")).count().get()[0][0].value
    if expires != (n_seq + n_main) * LOTS_PER_ACCOUNT:
        problems.append(f"{expires} expire postings, {(n_seq + n_main) * LOTS_PER_ACCOUNT} expected")
    again, _, _, _ = timed_sweep(cursor="expiry")
    if again["accounts"] or again["expired"]:
        problems.append(f"a second sweep still found work: {again}")
    if problems:
        raise RuntimeError(f"expiry sweep check failed ({len(problems)} problems): " + "; ".join(problems[:10]))
    section["checked"] = {"accounts": checked, "lots_left": 0, "nonzero_balances": 0, "expire_postings": expires, "bonuses_written_off": swept_amount,
                          "second_sweep": {k: again[k] for k in ("accounts", "expired", "complete")}}
    section["x_floor"] = measured["x_floor"]
    section["wall_s"] = round(time.perf_counter() - began, 1)
    return section


def main() -> int:
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        print("bench runs on the Firestore emulator: use `make bench`.", file=sys.stderr)
        return 2
    began = time.perf_counter()
    env = serve.environment()
    env["KOPILKA_FAKES"] = "0"
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    from google.cloud import firestore

    from shared.adapters.firestore_store import FirestoreStore
    from shared.adapters.layout import account as account_path
    from shared.adapters.layout import posting as posting_path
    from shared.domain.cart import CartLine
    from shared.domain.ledger import COMMANDS, Account, apply_posting
    from shared.platform import bootstrap, tokens
    from shared.platform.settings import reload
    from shared.services import delivery, orders, payments, program, registration, storefront
    from tests.fakes.carriers import cdek_webhook
    from tests.fakes.yookassa import notification

    reload()
    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "kopilka-local")
    client = firestore.Client(project=project)
    store = FirestoreStore(client)
    store.reset()
    serve.publish_program(env)
    from shared.domain.catalog import Product
    from shared.services import catalog

    for line in CART:  # the shop's catalog holds the cart's products, as a connected shop's does
        catalog.put_product(store, Product(uid=line["product"], name=line["name"], price=line["price"], sku=line["sku"]))
    fake_apis, yookassa, carrier_fakes = fakes.build_fakes()
    bridge = fakes.make_server(serve.FAKES_PORT, fake_apis)
    threading.Thread(target=bridge.serve_forever, daemon=True).start()
    processes = serve.start(env)
    urls = serve.function_urls()
    results: dict = {"meta": {"started": datetime.now(timezone.utc).isoformat(), "python": sys.version.split()[0], "cpus": os.cpu_count(),
                              "server": "functions-framework (gunicorn, one process per function) on 127.0.0.1", "emulator": os.environ["FIRESTORE_EMULATOR_HOST"]}}
    secret = env["KOPILKA_TOKEN_SECRET"]
    now = datetime.now(timezone.utc)
    config = program.in_force(store, env["KOPILKA_PROGRAM"], now).config

    def bearer(who: str) -> dict:
        return {"Authorization": "Bearer " + tokens.issue(secret, subject=who, now=datetime.now(timezone.utc), ttl_seconds=7200), "Origin": SHOP}

    if ALONE:
        if not ALONE <= {"console", "messages"}:
            print(f"only the console and messages sections run alone; asked for {sorted(ALONE)}", file=sys.stderr)
            return 2
        try:
            client.document("bench/floor").set({"x": 1})
            if "console" in ALONE:
                results["console"] = console_section.console_section(client, store, config, urls, client.document("bench/floor").get)
            if "messages" in ALONE:
                results["messages"] = messages_section.messages_section(client, config, bulk_write_methods(client))
        finally:
            serve.stop(processes)
            bridge.shutdown()
        return merge_alone(results)
    try:
        # ---------------------------------------------------------------- floor
        client.document("bench/floor").set({"x": 1})
        floor_doc = client.document("bench/floor")
        for _ in range(20):
            floor_doc.get()
        floor = {}
        for c, total in ((1, 300), (32, 640)):
            lat, wall = concurrent(lambda s: floor_doc.get(), c, total)
            floor[f"c{c}"] = {**summary(lat), "per_s": round(total / wall, 1)}
        results["floor"] = floor
        print("floor", floor, flush=True)

        # ---------------------------------------------------------------- quote
        registration.register_customer(store, config=config, customer_id="q-anna", now=now)
        anna = bearer("q-anna")
        quote_url = urls["cart_quote"] + "/quote"
        quotes: dict = {}
        with httpx.Client(timeout=60) as warm:
            for _ in range(20):
                warm.post(quote_url, json={"lines": CART}, headers={"Origin": SHOP}).raise_for_status()
                warm.post(quote_url, json={"lines": CART, "bonuses": 100}, headers=anna).raise_for_status()
        for who, headers, body in (("anonymous", {"Origin": SHOP}, {"lines": CART}), ("logged_in", anna, {"lines": CART, "bonuses": 100})):
            for c, total in ((1, 200), (8, 320), (32, 400)):
                def call(s, headers=headers, body=body):
                    r = http_client(s).post(quote_url, json=body, headers=headers)
                    if r.status_code != 200:
                        raise RuntimeError(f"quote {r.status_code}: {r.text}")
                lat, wall = concurrent(call, c, total, setup=http_client)
                row = {**summary(lat), "per_s": round(total / wall, 1)}
                f = floor["c1" if c == 1 else "c32"] if c in (1, 32) else floor["c1"]
                row["p50_x_floor_c1"] = round(row["p50_ms"] / floor["c1"]["p50_ms"], 2)
                row["p99_x_floor_same_c"] = round(row["p99_ms"] / f["p99_ms"], 2) if c in (1, 32) else None
                quotes[f"{who}_c{c}"] = row
                print("quote", who, c, row, flush=True)
        results["quote"] = quotes

        # ---------------------------------------------------------------- lifecycle over HTTP
        n_orders = 30
        for i in range(n_orders):
            registration.register_customer(store, config=config, customer_id=f"lc-{i}", now=now)
        steps = {"quote": [], "checkout": [], "order_paid": [], "delivery_status": []}
        http = httpx.Client(timeout=60)

        def post(function: str, path: str, **kw) -> dict:
            r = http.post(urls[function] + path, **kw)
            if r.status_code != 200:
                raise RuntimeError(f"{function}{path} {r.status_code}: {r.text}")
            return r.json() if r.content else {}

        def one_order(customer: str, order_id: str, record: dict | None) -> None:
            h = bearer(customer)
            t = time.perf_counter()
            q = post("cart_quote", "/quote", json={"lines": CART, "bonuses": 100}, headers=h)
            t1 = time.perf_counter()
            placed = post("checkout", "/checkout", json={"order_id": order_id, "lines": CART, "bonuses": 100, "quote_fingerprint": q["cart_fingerprint"]}, headers=h)
            t2 = time.perf_counter()
            order_id = placed["order_id"]  # issued in the customer's namespace: what the payment and the carrier name
            payment = yookassa.create_payment(amount=q["money_to_pay"], order_id=order_id, description=f"Заказ {order_id}")
            body = notification("payment.succeeded", yookassa.succeed(payment["id"]))
            t3 = time.perf_counter()  # the fake's bookkeeping is not the function's time
            paid = post("order_paid", "/yookassa", json=body, headers={"X-Forwarded-For": YOOKASSA_PEER})
            t4 = time.perf_counter()
            at = datetime.now(timezone.utc)
            uuid = carrier_fakes.add_cdek_order(number=order_id, statuses=[("CREATED", at), ("DELIVERED", at)])
            t5 = time.perf_counter()
            delivered = post("delivery_status", f"/cdek/{env['KOPILKA_CDEK_TOKEN']}", json=cdek_webhook(uuid, "DELIVERED", at, number=order_id))
            t6 = time.perf_counter()
            if record is not None:
                record["quote"].append(t1 - t)
                record["checkout"].append(t2 - t1)
                record["order_paid"].append(t4 - t3)
                record["delivery_status"].append(t6 - t5)
                record.setdefault("outcomes", []).append((paid.get("result"), delivered.get("outcome")))

        one_order("lc-0", "W-0", None)  # warm-up (first checkout/paid/delivery in each process)
        t0 = time.perf_counter()
        for i in range(1, n_orders):
            one_order(f"lc-{i}", f"L-{i}", steps)
        wall = time.perf_counter() - t0
        http.close()
        outcomes = steps.pop("outcomes")
        life = {step: {**summary(v), "p50_x_floor_c1": round(summary(v)["p50_ms"] / floor["c1"]["p50_ms"], 2)} for step, v in steps.items()}
        life["orders"] = n_orders - 1
        life["orders_per_s_sequential"] = round((n_orders - 1) / wall, 2)
        life["sum_of_step_p50_ms"] = round(sum(life[s]["p50_ms"] for s in steps), 2)
        life["outcomes_sample"] = sorted({f"{a}/{b}" for a, b in outcomes})
        results["lifecycle"] = life
        print("lifecycle", life, flush=True)

        # ---------------------------------------------------------------- store operations, in-process
        gateway = bootstrap.yookassa()
        cdek = bootstrap.carrier("cdek")
        counted = FirestoreStore(firestore.Client(project=project))
        program.in_force(counted, env["KOPILKA_PROGRAM"], now)  # warm the instance's config cache, as a warm function has

        def measured(fn) -> tuple[dict, float, object]:
            before = dict(counted.stats)
            t = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t
            return {k: counted.stats[k] - before[k] for k in before}, dt, out

        def lifecycle_in_process(customer: str, order_id: str) -> dict:
            rows = {}
            lines = [CartLine(**line) for line in CART]

            def q():
                cfg = program.in_force(counted, env["KOPILKA_PROGRAM"], datetime.now(timezone.utc)).config
                return storefront.quote_cart(counted, config=cfg, customer_id=customer, lines=lines, bonuses=100, now=datetime.now(timezone.utc))

            rows["quote"], rows["quote_s"], quote = measured(q)

            def co():
                cfg = program.in_force(counted, env["KOPILKA_PROGRAM"], datetime.now(timezone.utc)).config
                return orders.place_order(counted, config=cfg, customer_id=customer, order_id=order_id, lines=lines, bonuses=100, promo_code=None,
                                          quote_fingerprint=quote.cart_fingerprint, pays_with_gift_certificate=False, now=datetime.now(timezone.utc))

            rows["checkout"], rows["checkout_s"], _ = measured(co)
            payment = yookassa.create_payment(amount=quote.money_to_pay, order_id=order_id, description=order_id)
            yookassa.succeed(payment["id"])

            def paid():
                cfg = program.in_force(counted, env["KOPILKA_PROGRAM"], datetime.now(timezone.utc)).config
                return payments.yookassa_notification(counted, config=cfg, gateway=gateway, event="payment.succeeded", object_id=payment["id"], now=datetime.now(timezone.utc))

            rows["order_paid"], rows["order_paid_s"], out = measured(paid)
            rows["order_paid_result"] = getattr(out, "result", None)
            at = datetime.now(timezone.utc)
            uuid = carrier_fakes.add_cdek_order(number=order_id, statuses=[("CREATED", at), ("DELIVERED", at)])

            def dlv():
                cfg = program.in_force(counted, env["KOPILKA_PROGRAM"], datetime.now(timezone.utc)).config
                return delivery.cdek_event(counted, config=cfg, cdek=cdek, uuid=uuid, code="DELIVERED", is_return=False, now=datetime.now(timezone.utc))

            rows["delivery_status"], rows["delivery_status_s"], out = measured(dlv)
            rows["delivery_outcome"] = getattr(out, "outcome", None)
            return rows

        registration.register_customer(store, config=config, customer_id="ops-0", now=now)
        registration.register_customer(store, config=config, customer_id="ops-1", now=now)
        lifecycle_in_process("ops-0", "OPS-W")  # warm-up order (different customer from the measured one)
        rows = lifecycle_in_process("ops-1", "OPS-1")
        ops = {step: rows[step] for step in ("quote", "checkout", "order_paid", "delivery_status")}
        total_r = sum(v["reads"] for v in ops.values())
        total_w = sum(v["writes"] for v in ops.values())
        store_ops = {
            "per_step": ops,
            "per_order": {"reads": total_r, "writes": total_w, "commits": sum(v["commits"] for v in ops.values())},
            "cost_per_1000_orders_usd": {
                "reads": round(total_r * 1000 * READ_PRICE, 5),
                "writes": round(total_w * 1000 * WRITE_PRICE, 5),
                "total": round(total_r * 1000 * READ_PRICE + total_w * 1000 * WRITE_PRICE, 5),
                "prices": "us-central1 Standard list prices: $0.03 per 100k reads, $0.09 per 100k writes (deletes, storage, egress and free tier not counted)",
            },
            "note": "counted by FirestoreStore.stats around each use case as the function calls it, on a warm instance (the program head and its parsed version cached, "
                "the head re-read every 30 s: shared.services.program.HEAD_TTL); provider calls go to the local fakes",
            "order_paid_result": rows["order_paid_result"],
            "delivery_outcome": rows["delivery_outcome"],
        }
        results["store_ops"] = store_ops
        print("store_ops", json.dumps(store_ops), flush=True)

        # ---------------------------------------------------------------- history 10 vs 10,000
        def seed_history(customer: str, postings_wanted: int) -> dict:
            """Open the customer, then write accrue/spend pairs straight into Firestore (batches of 500):
            the same documents AccountSession.post writes (posting + account), built with the domain's
            own operations, so the account's open lots stay few (each accrual is spent) while the
            postings collection grows."""
            registration.register_customer(store, config=config, customer_id=customer, now=now)
            data = client.document(account_path(customer)).get().to_dict()
            extra = {k: v for k, v in data.items() if k not in Account.__struct_fields__ and k != "next_expiry_at"}
            account = Account.from_dict(data)
            pending = []
            t = time.perf_counter()
            when = now - timedelta(days=30)
            i = 0
            while account.seq < postings_wanted:
                for kind, params in (("accrue", {"amount": 10, "source": "bench", "ref": f"seed-{i}", "activates_at": when, "expires_at": now + timedelta(days=300)}),
                                     ("spend", {"amount": 10})):
                    if account.seq >= postings_wanted:
                        break
                    posting = COMMANDS[kind](**params).posting(account, key=f"bench-seed:{i}:{kind}", now=when)
                    account = apply_posting(account, posting)
                    pending.append((posting_path(customer, posting.id), posting.to_dict()))
                i += 1
                if len(pending) >= 499:
                    batch = client.batch()
                    for path, doc in pending:
                        batch.create(client.document(path), doc)
                    batch.commit()
                    pending = []
            batch = client.batch()
            for path, doc in pending:
                batch.create(client.document(path), doc)
            batch.set(client.document(account_path(customer)), account_document(account, extra))
            batch.commit()
            return {"postings": account.seq, "seed_s": round(time.perf_counter() - t, 2), "open_lots": len(account.lots),
                    "account_doc_bytes_approx": len(json.dumps(account_document(account, extra), default=str))}

        hist: dict = {}
        labels = (("small", 10), ("large", HISTORY_BIG))
        infos = {label: seed_history(f"hist-{label}", n) for label, n in labels}
        lines = [CartLine(**line) for line in CART]
        samples: dict = {label: {"quote": [], "paid": [], "http": [], "quote_ops": None, "paid_ops": None} for label, _ in labels}

        def rounds(k: int) -> list[str]:  # the two customers' samples interleaved, each first in every other round
            order = [label for label, _ in labels]
            return order if k % 2 == 0 else order[::-1]

        # in-process: quote (store ops + latency over 60 runs each) and order paid (15 orders each)
        for k in range(65):
            for label in rounds(k):
                def q(who=f"hist-{label}"):
                    cfg = program.in_force(counted, env["KOPILKA_PROGRAM"], datetime.now(timezone.utc)).config
                    return storefront.quote_cart(counted, config=cfg, customer_id=who, lines=lines, bonuses=100, now=datetime.now(timezone.utc))
                qops, dt, _ = measured(q)
                samples[label]["quote_ops"] = qops
                if k >= 5:
                    samples[label]["quote"].append(dt)
        for k in range(16):
            for label in rounds(k):
                r = lifecycle_in_process(f"hist-{label}", f"H-{label}-{k}")
                if k >= 1:
                    samples[label]["paid"].append(r["order_paid_s"])
                    samples[label]["paid_ops"] = r["order_paid"]
        # over HTTP: quote at c=1, one keep-alive client per customer
        clients = {label: httpx.Client(timeout=60) for label, _ in labels}
        try:
            for k in range(110):
                for label in rounds(k):
                    t = time.perf_counter()
                    clients[label].post(quote_url, json={"lines": CART, "bonuses": 100}, headers=bearer(f"hist-{label}")).raise_for_status()
                    if k >= 10:
                        samples[label]["http"].append(time.perf_counter() - t)
        finally:
            for c in clients.values():
                c.close()
        for label, _ in labels:
            got = samples[label]
            hist[label] = {**infos[label], "quote_ops": got["quote_ops"], "quote_in_process": summary(got["quote"]), "order_paid_ops": got["paid_ops"],
                           "order_paid_in_process": summary(got["paid"]), "quote_http_c1": summary(got["http"])}
            print("history", label, hist[label], flush=True)
        hist["ratio_large_over_small"] = {
            "quote_in_process_p50": round(hist["large"]["quote_in_process"]["p50_ms"] / hist["small"]["quote_in_process"]["p50_ms"], 2),
            "quote_http_c1_p50": round(hist["large"]["quote_http_c1"]["p50_ms"] / hist["small"]["quote_http_c1"]["p50_ms"], 2),
            "order_paid_in_process_p50": round(hist["large"]["order_paid_in_process"]["p50_ms"] / hist["small"]["order_paid_in_process"]["p50_ms"], 2),
        }
        hist["seeding"] = "accrue/spend pairs of 10 bonuses written in batches of 500 (postings + final account document), built with shared.domain.ledger operations"
        # what the account document would weigh with every one of those accruals still open
        one = COMMANDS["accrue"](amount=10, source="bench", ref="r0", activates_at=now, expires_at=now + timedelta(days=300)).posting(Account(customer_id="x"), key="fat:0", now=now)
        lot = apply_posting(Account(customer_id="x"), one).to_dict()["lots"]
        per_lot = len(json.dumps(lot, default=str)) - 2  # one `"id": {...}` entry, estimated (JSON, not Firestore's encoding)
        hist["account_doc_bytes_if_all_lots_open_approx"] = hist["large"]["account_doc_bytes_approx"] + per_lot * HISTORY_BIG
        results["history"] = hist

        # ---------------------------------------------------------------- peak memory of the served functions, after the load above
        results["served_memory"] = served_memory(processes)
        results["served_memory_note"] = ("VmHWM (peak resident set) from /proc/<pid>/status of each functions-framework process after every section above: "
                                         "the gunicorn worker that served the requests and its master (which imported the function before forking it); "
                                         "PSS (smaps_rollup) counts the pages they share once, so master + worker PSS is what the pair holds now. "
                                         "cart_quote, checkout, order_paid and delivery_status served the quote, lifecycle and history load, "
                                         "the other functions only their start-up and a readiness request")
        print("served_memory", results["served_memory"], flush=True)
    finally:
        serve.stop(processes)
        bridge.shutdown()

    # ---------------------------------------------------------------- expiry sweep over SWEEP_LOTS lots vs a raw bulk write
    results["sweep"] = sweep_section(client, config, SWEEP_LOTS)

    # ---------------------------------------------------------------- cold start
    probe = (
        "import sys, time, importlib.util\n"
        "t, c = time.perf_counter(), time.process_time()\n"
        "{body}\n"
        "dt, dc = time.perf_counter() - t, time.process_time() - c\n"
        "print(dt, dc, next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM:')))\n"
    )
    by_path = ("import functions_framework\n"
               "spec = importlib.util.spec_from_file_location('main', {path!r}); m = importlib.util.module_from_spec(spec); sys.modules['main'] = m; spec.loader.exec_module(m)")
    floor_body = "import functions_framework\nimport google.cloud.firestore"
    child_env = {**env, "PYTHONDONTWRITEBYTECODE": "0"}

    def probe_once(body: str) -> tuple[float, float, int]:
        out = subprocess.run([sys.executable, "-c", probe.format(body=body)], cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
        dt, dc, hwm = out.stdout.split()[-3:]
        return float(dt), float(dc), int(hwm)

    def row_of(runs: list[tuple[float, float, int]]) -> dict:
        return {"import_ms_median": round(statistics.median(r[0] for r in runs) * 1000, 1), "import_cpu_ms_median": round(statistics.median(r[1] for r in runs) * 1000, 1),
                "peak_rss_mib": round(max(r[2] for r in runs) / 1024, 1)}

    probe_once(floor_body)  # warm the page cache and __pycache__
    floor_runs: list = []
    cold: dict = {}
    for name in serve.FUNCTIONS:
        body = by_path.format(path=str(ROOT / "functions" / name / "main.py"))
        probe_once(body)
        runs, ratios = [], []
        for _ in range(COLD_SAMPLES):  # a floor sample beside each sample of the function: load that drifts over the run moves both
            floor_sample, sample = probe_once(floor_body), probe_once(body)
            floor_runs.append(floor_sample)
            runs.append(sample)
            ratios.append(sample[1] / floor_sample[1])
        cold[name] = {**row_of(runs), "x_floor": round(statistics.median(ratios), 2)}
    cold = {"floor": row_of(floor_runs), **cold}
    results["cold_start"] = cold
    results["cold_start_note"] = (f"a fresh `python -c` per sample: functions_framework + functions/<f>/main.py imported by path (median of {COLD_SAMPLES}, after one warm-up) "
                                   "vs the floor functions_framework + google.cloud.firestore, a floor sample run just before each sample; "
                                   "× floor is the median of the pairs' ratios of the import's CPU time (the child's process_time), "
                                   "which other load on the machine does not stretch as it does the wall time; "
                                   f"peak RSS is the child's own VmHWM from /proc/self/status, max of the {COLD_SAMPLES} "
                                   "(its ru_maxrss is not used: Linux carries the forking parent's high-water mark across exec, so every row showed the bench's own)")
    print("cold_start", cold, flush=True)

    # ---------------------------------------------------------------- console screens (after the sweep: its 10,000 accounts would weigh on the sweep's queries)
    store.reset()
    serve.publish_program(env)
    processes = serve.start(env)
    try:
        client.document("bench/floor").set({"x": 1})
        results["console"] = console_section.console_section(client, store, program.in_force(store, env["KOPILKA_PROGRAM"], now).config, urls, client.document("bench/floor").get)
        results["messages"] = messages_section.messages_section(client, program.in_force(store, env["KOPILKA_PROGRAM"], now).config, bulk_write_methods(client))
    finally:
        serve.stop(processes)
    results["meta"]["wall_s"] = round(time.perf_counter() - began, 1)

    results["targets"] = targets(results)
    results["against_previous"] = against_previous(OUT / "results.json", results["targets"])
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (OUT / "RESULTS.md").write_text(markdown(results))
    print((OUT / "RESULTS.md").read_text())
    return 0


def merge_alone(results: dict) -> int:
    """The sections run alone, merged into the last full run's figures (results.json, RESULTS.md)."""
    path = OUT / "results.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    if not merged.get("floor"):
        print("no full run to merge into: run `make bench` once", file=sys.stderr)
        return 2
    for name in ALONE:
        merged[name] = results[name]
    merged.setdefault("meta", {})["alone"] = {"sections": sorted(ALONE), "started": results["meta"]["started"]}
    merged["targets"] = targets(merged)  # against_previous stays the last full run's: a section alone replaces no run
    path.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    report = OUT / "RESULTS.md"
    if not report.exists():
        report.write_text(markdown(merged))
    else:
        text = report.read_text()
        if "console" in ALONE:
            text = console_section.patch_report(text, merged)
        if "messages" in ALONE:
            text = messages_section.patch_report(text, merged)
        report.write_text(text)
    print(report.read_text())
    return 0


def targets(r: dict) -> list[dict]:
    fl, q, ops, hist, cold = r["floor"], r["quote"], r["store_ops"]["per_step"], r["history"], r["cold_start"]
    rows = []
    for who in ("anonymous", "logged_in"):
        v = q[f"{who}_c1"]["p50_ms"] / fl["c1"]["p50_ms"]
        rows.append({"target": f"quote p50 <= 3x floor p50 at c=1 ({who})", "value": round(v, 2), "limit": 3, "status": mark(v, 3)})
        v = q[f"{who}_c32"]["p99_ms"] / fl["c32"]["p99_ms"]
        rows.append({"target": f"quote p99 <= 5x floor p99 at c=32 ({who})", "value": round(v, 2), "limit": 5, "status": mark(v, 5)})
    rows.append({"target": "order paid reads <= 4", "value": ops["order_paid"]["reads"], "limit": 4, "status": mark(ops["order_paid"]["reads"], 4)})
    rows.append({"target": "order paid writes <= 8", "value": ops["order_paid"]["writes"], "limit": 8, "status": mark(ops["order_paid"]["writes"], 8)})
    for k, v in hist["ratio_large_over_small"].items():
        rows.append({"target": f"history {hist['large']['postings']} vs {hist['small']['postings']} postings: {k} <= 1.2x", "value": v, "limit": 1.2, "status": mark(v, 1.2)})
    for name, row in cold.items():
        if name != "floor":
            rows.append({"target": f"cold-start import {name} <= 1.3x floor", "value": row["x_floor"], "limit": 1.3, "status": mark(row["x_floor"], 1.3)})
    sw = r["sweep"]
    rows.append({"target": f"expiry sweep over {sw['lots']:,} lots >= 0.5x bulk-write floor (documents written per second)", "value": sw["x_floor"], "limit": 0.5,
                 "status": mark_at_least(sw["x_floor"], 0.5)})
    if r.get("console"):
        rows += console_section.target_rows(r["console"])
    return rows


DRIFT = 0.10  # a ratio more than 10 % worse than the previous run's is reported as a regression


def against_previous(path: Path, now: list[dict]) -> dict:
    """Each target's ratio beside the previous run's (the ``results.json`` this run replaces): its change, and
    whether it stayed within ``DRIFT``. For a ``<=`` target a higher ratio is worse; for the sweep's ``>=`` target, a lower one."""
    if not path.exists():
        return {"previous_run": None, "rows": []}
    before = json.loads(path.read_text())
    old = {t["target"]: t["value"] for t in before.get("targets", [])}
    rows = []
    for t in now:
        if t["target"] not in old or not old[t["target"]]:
            continue
        was, value = old[t["target"]], t["value"]
        lower_is_better = not t["target"].startswith("expiry sweep")
        worse = (value - was) / was if lower_is_better else (was - value) / was
        rows.append({"target": t["target"], "previous": was, "now": value, "change": round(value / was - 1, 3),
                     "status": "within 10 %" if worse <= DRIFT else f"{round(worse * 100)} % worse"})
    return {"previous_run": before.get("meta", {}).get("started"), "rows": rows}


def why(r: dict) -> list[str]:
    """The reasons, from this run's figures and from tracing the order-paid use case's store calls."""
    missed = {t["target"] for t in r["targets"] if t["status"] == "missed"}
    q, so, h = r["quote"], r["store_ops"], r["history"]
    lines = []
    if any(t.startswith("quote p99") for t in missed):
        lines.append(
            f"* **quote p99 at c=32**: throughput is flat from c=8 to c=32 (anonymous {q['anonymous_c8']['per_s']} → {q['anonymous_c32']['per_s']} req/s, "
            f"logged in {q['logged_in_c8']['per_s']} → {q['logged_in_c32']['per_s']} req/s), so the extra concurrency only queues: by Little's law "
            f"32 / {q['logged_in_c32']['per_s']} req/s ≈ {round(32 / q['logged_in_c32']['per_s'] * 1000)} ms, beside the measured p50 {q['logged_in_c32']['p50_ms']} ms. "
            "The function is served by one functions-framework process (one Python interpreter, GIL-bound request handling: routing, pydantic, token check, quote maths) "
            f"on a {r['meta']['cpus']}-CPU machine shared with the emulator's JVM and the load generator, while the floor at c=32 is the emulator alone. "
            "In Cloud Functions concurrency is spread over instances; reducing per-request CPU (or more workers per instance) is what would move this figure.")
    if "order paid reads <= 4" in missed:
        lines.append(
            f"* **order paid reads = {so['per_step']['order_paid']['reads']}** (traced once with the store's get/put wrapped): 1 program head `programs/<p>` "
            "(entry.config re-reads it on every request; only the version parse is cached), 2 × `orders/<id>` outside the transaction (the same document read twice before the unit of work), "
            "2 × `customers/<id>` inside the transaction (the account is read twice in one unit of work — no read cache in FirestoreUnitOfWork), 1 order book, "
            "and 3 idempotency look-ups `customers/<id>/postings/<key>` (one per posting: spend, purchase, accrue). "
            "A cached program head, one order read, one account read and one composite idempotency record would make it 4. "
            f"Writes ({so['per_step']['order_paid']['writes']}) are within target because the unit of work coalesces the 4 puts of the account into one write.")
    if any(t.startswith("history") for t in missed):
        ratio = h["ratio_large_over_small"]
        lines.append(
            f"* **history, in-process quote ratio {ratio['quote_in_process_p50']}**: read as noise, not a history effect — both customers cost the same "
            f"{h['small']['quote_ops']['reads']} reads per quote and {h['small']['order_paid_ops']['reads']} reads/{h['small']['order_paid_ops']['writes']} writes per order paid, "
            f"their account documents weigh ≈{h['small']['account_doc_bytes_approx']} and ≈{h['large']['account_doc_bytes_approx']} bytes, nothing on the hot path lists postings, "
            f"and the same comparison over HTTP gives {ratio['quote_http_c1_p50']} and order paid {ratio['order_paid_in_process_p50']} (samples interleaved; p50 of 60 runs of a few ms). "
            "The real history risk is different: the account document holds every *open* lot, so a customer with many unspent accruals grows it "
            f"(≈{h['account_doc_bytes_if_all_lots_open_approx']:,} bytes for {h['large']['postings']} open lots, over Firestore's 1 MiB limit); not measured here.")
    if any(t.startswith("expiry sweep") for t in missed):
        sw = r["sweep"]
        m, fl = sw["runs"]["measured"], sw["floor"]
        one = sw["runs"].get("one_at_a_time")
        cpu, fcpu = m["cpu_ms_per_account"], fl["cpu_ms_per_11_docs"]
        ceiling = 1000 / cpu["bench"]
        busy = (cpu["bench"] + (cpu["emulator"] or 0)) * m["accounts_per_s"] / 1000
        lines.append(
            f"* **expiry sweep {sw['x_floor']}x the bulk-write floor**: both write the same {fl['documents']:,} documents, but the floor sends them as "
            f"{fl['method']} — no reads, one commit per 500 documents — while the sweep runs one transaction per {m.get('group', 1)} accounts "
            f"({m['commits_per_account']} commits, {m['reads_per_account']} reads — its row in the due-accounts query and the account itself — and "
            f"{m['writes_per_account']} writes per account: begin, read the group's accounts in one call, commit their {LOTS_PER_ACCOUNT} expire postings each and the accounts), "
            f"{m['workers']} transactions at a time. "
            f"Per account ({1 + LOTS_PER_ACCOUNT} documents) the sweep cost {cpu['bench']} ms of the bench process's CPU and {cpu['emulator']} ms of the emulator's; "
            f"the floor, per {1 + LOTS_PER_ACCOUNT} documents, {fcpu['bench']} ms and {fcpu['emulator']} ms. The client side is one Python process (one GIL): "
            f"at {cpu['bench']} ms per account it cannot sweep more than {ceiling:.0f} accounts/s ({ceiling * (1 + LOTS_PER_ACCOUNT):.0f} documents/s, "
            f"{ceiling * (1 + LOTS_PER_ACCOUNT) / fl['docs_per_s']:.2f}x this floor) even with the emulator and the machine to itself, and it shared "
            f"{r['meta']['cpus']} CPUs with the emulator ({busy:.1f} CPUs busy with the two at the measured rate) and other jobs. "
            "The client's extra cost is the Firestore client's work per transaction and per document read (the begin, read and commit calls through gRPC, "
            "each document read decoded and copied twice) and the ledger's own work (each posting applied to a copy of the account); the emulator's is the transactions (begin, locks, "
            "commit) and the due-accounts query, "
            f"which it answers by scanning the collection: {m['totals']['pages']} queries took {m['stats']['due_query_s']} s, overlapped with the sweeping "
            f"of the page before" + (f" (one account at a time they are not: its {one['totals']['pages']} queries took {one['stats']['due_query_s']} s of its {one['s']} s)" if one else "") + ". "
            + (f"One account per transaction, one at a time, the same sweep does {one['docs_per_s']} documents/s ({one['x_floor']}x); as measured, {m['docs_per_s']}. " if one else "")
            + "What would move it further: larger groups (each transaction then locks more customers for longer), "
            "and a transaction begun with its first read instead of a separate begin call (FirestoreStore).")
    if r.get("console"):
        lines += console_section.why_lines(r["console"], missed)
    explained = ("quote p99", "order paid reads", "history", "expiry sweep", "console")
    for t in r["targets"]:
        if t["status"] == "missed" and not t["target"].startswith(explained):
            lines.append(f"* **{t['target']}** ({t['value']} against {t['limit']}): not explained by this run's figures — a noisy sample on a shared machine "
                         "or a regression; re-run `make bench` to tell them apart.")
    return lines or ["Every target is met in this run."]


def markdown(r: dict) -> str:
    m = r["meta"]
    out = ["# Kopilka benchmark (`make bench`)", "",
           f"Run {m['started']} · Python {m['python']} · {m['cpus']} CPUs · {m['server']} · emulator {m['emulator']} · whole run {m['wall_s']} s.",
           "Latencies are on a shared, noisy machine against the Firestore **emulator**; compare the ratios to the floor measured in the same run, not the milliseconds.", ""]
    out += ["## Floor: one small-document read (google.cloud.firestore `.get()`)", "", "| concurrency | n | p50 ms | p99 ms | reads/s |", "|---|---|---|---|---|"]
    for k, v in r["floor"].items():
        out.append(f"| {k[1:]} | {v['n']} | {v['p50_ms']} | {v['p99_ms']} | {v['per_s']} |")
    out += ["", "## cart_quote `POST /quote` over HTTP (httpx keep-alive, one client per worker, built before the timed calls)", "",
            "| caller | c | n | p50 ms | p99 ms | req/s | p50 / floor p50 (c=1) | p99 / floor p99 (same c) |", "|---|---|---|---|---|---|---|---|"]
    for k, v in r["quote"].items():
        who, c = k.rsplit("_c", 1)
        out.append(f"| {who} | {c} | {v['n']} | {v['p50_ms']} | {v['p99_ms']} | {v['per_s']} | {v['p50_x_floor_c1']} | {v['p99_x_floor_same_c'] if v['p99_x_floor_same_c'] is not None else '–'} |")
    life = r["lifecycle"]
    out += ["", f"## Lifecycle over HTTP, {life['orders']} orders one after another", "",
            "| step | p50 ms | p99 ms | mean ms | p50 / floor p50 |", "|---|---|---|---|---|"]
    for s in ("quote", "checkout", "order_paid", "delivery_status"):
        v = life[s]
        out.append(f"| {s} | {v['p50_ms']} | {v['p99_ms']} | {v['mean_ms']} | {v['p50_x_floor_c1']} |")
    out += ["",
        f"Orders per second (sequential, one client, webhook steps including the functions' re-fetch from the local provider fakes): **{life['orders_per_s_sequential']}**; outcomes "
        f"{', '.join(life['outcomes_sample'])}."]
    so = r["store_ops"]
    out += ["", "## Store operations per lifecycle step (in-process, instrumented FirestoreStore, one order)", "",
            "| step | reads | writes | commits | retries |", "|---|---|---|---|---|"]
    for s, v in so["per_step"].items():
        out.append(f"| {s} | {v['reads']} | {v['writes']} | {v['commits']} | {v['retries']} |")
    po, cost = so["per_order"], so["cost_per_1000_orders_usd"]
    out += [f"| **order total** | {po['reads']} | {po['writes']} | {po['commits']} | |", "",
            f"Firestore cost per 1,000 orders: reads ${cost['reads']}, writes ${cost['writes']}, **total ${cost['total']}** — {cost['prices']}.", "", f"Note: {so['note']}."]
    h = r["history"]
    out += ["", f"## Ledger history: {h['small']['postings']} vs {h['large']['postings']} postings", "",
            "| history | postings | seed s | open lots | account doc ≈bytes | quote reads/writes | quote p50 ms (in-process) | quote p50 ms (HTTP c=1) | order-paid reads/writes | order-paid "
            "p50 ms (in-process) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for label in ("small", "large"):
        v = h[label]
        out.append(f"| {label} | {v['postings']} | {v['seed_s']} | {v['open_lots']} | {v['account_doc_bytes_approx']} | {v['quote_ops']['reads']}/{v['quote_ops']['writes']} | "
            f"{v['quote_in_process']['p50_ms']} | {v['quote_http_c1']['p50_ms']} | {v['order_paid_ops']['reads']}/{v['order_paid_ops']['writes']} | {v['order_paid_in_process']['p50_ms']} |")
    ratio = h["ratio_large_over_small"]
    out += ["", f"Ratios large/small: quote in-process {ratio['quote_in_process_p50']}, quote HTTP {ratio['quote_http_c1_p50']}, order paid {ratio['order_paid_in_process_p50']}.",
            f"Seeding: {h['seeding']}. Had all {h['large']['postings']} accruals stayed open, the account document would weigh ≈{h['account_doc_bytes_if_all_lots_open_approx']:,} bytes "
            f"(Firestore's limit is 1 MiB = 1,048,576) — not measured here."]
    cold = r["cold_start"]
    sw = r["sweep"]
    fl = sw["floor"]
    out += ["", f"## Expiry sweep over {sw['lots']:,} expired lots vs a raw bulk write of the same documents", "",
            f"{sw['accounts']:,} accounts of {sw['lots_per_account']} expired lots each (built with the ledger's operations: open, then accruals), "
            f"seeded as {sw['seed']['documents']:,} account documents in {sw['seed']['s']} s ({sw['seed']['method']}; their postings are not written — the sweep never reads them); "
            f"{sw['seed']['accounts'] - sw['accounts']} more accounts, due earlier, for the one-at-a-time comparison. Building the documents took {sw['build_s']} s (untimed).", "",
            f"**Floor**: the {fl['documents']:,} documents the sweep writes ({fl['account_docs']:,} emptied accounts + {fl['posting_docs']:,} expire postings, computed with the "
            f"same ledger operations) created under another root by the fastest raw method. Methods tried on the first {fl['trial_docs']:,} documents:", "",
            "| bulk-write method | documents/s |", "|---|---|"]
    for name, rate in fl["trial_docs_per_s"].items():
        out.append(f"| {name}{' (chosen)' if name == fl['method'] else ''} | {rate} |")
    fcpu = fl["cpu_ms_per_11_docs"]
    out += ["", f"Floor: {fl['method']}, {fl['documents']:,} documents in {fl['s']} s = **{fl['docs_per_s']} documents/s** "
                f"(CPU per {1 + sw['lots_per_account']} documents: bench {fcpu['bench']} ms, emulator {fcpu['emulator']} ms).", "",
            f"**Sweep**: `account_sweep.sweep_due(store, batch={sw['page']}, cursor=...)` on an instrumented FirestoreStore; documents = accounts + expire postings written "
            "(the cursor's own writes apart); ratio = sweep documents/s ÷ floor documents/s.", "",
            "| run | workers | accounts | lots | documents | s | due queries s | accounts/s | lots/s | documents/s | reads / writes / commits per account | CPU ms per account (bench / "
            "emulator) | × floor |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, run in sw["runs"].items():
        c = run["cpu_ms_per_account"]
        out.append(f"| {label.replace('_', ' ')} | {run['workers']} | {run['accounts']:,} | {run['lots']:,} | {run['docs']:,} | {run['s']} | {run['stats']['due_query_s']} | "
            f"{run['accounts_per_s']} | {run['lots_per_s']} | "
                   f"{run['docs_per_s']} | {run['reads_per_account']} / {run['writes_per_account']} / {run['commits_per_account']} | {c['bench']} / {c['emulator']} | {run['x_floor']} |")
    ck = sw["checked"]
    out += ["", f"Checked after the sweep: {ck['accounts']:,} accounts, each equal to the document the ledger's operations give (no lot left, balance 0); "
                f"{ck['expire_postings']:,} expire postings (one per lot); {ck['bonuses_written_off']:,} bonuses written off; a second sweep found "
                f"{ck['second_sweep']['accounts']} accounts. Section wall time {sw['wall_s']} s."]
    out += ["", "## Cold start: import in a fresh interpreter", "", "| module | import CPU ms (median) | import wall ms (median) | × floor (CPU) | peak RSS MiB |", "|---|---|---|---|---|",
            f"| floor: functions_framework + google.cloud.firestore | {cold['floor'].get('import_cpu_ms_median', '–')} | {cold['floor']['import_ms_median']} | 1.0 | {cold['floor']['peak_rss_mib']} |"]
    for name, v in cold.items():
        if name != "floor":
            out.append(f"| functions_framework + functions/{name}/main.py | {v.get('import_cpu_ms_median', '–')} | {v['import_ms_median']} | {v['x_floor']} | {v['peak_rss_mib']} |")
    out += ["", f"({r['cold_start_note']}.)"]
    mem = r.get("served_memory") or {}
    out += ["", "## Peak memory per served function, after the load", "",
            "| function | worker peak RSS MiB | worker RSS now MiB | master peak RSS MiB | master + worker PSS now MiB |", "|---|---|---|---|---|"]
    for name, v in mem.items():
        out.append(f"| {name} | {v['worker_peak_mib']} | {v['worker_rss_mib']} | {v['master_peak_mib']} | {v['instance_pss_mib']} |")
    out += ["", f"({r.get('served_memory_note', '')}.)"]
    if r.get("console"):
        alone = m.get("alone") or {}
        out += console_section.markdown_lines(r["console"])
        if "console" in alone.get("sections", []):
            out.append(f"(This section was run alone, {alone['started']} — `KOPILKA_BENCH_SECTIONS=console`; the other sections' figures are from the run above.)")
    if r.get("messages"):
        out += ["", *messages_section.markdown_lines(r["messages"])]
    out += ["", "## Targets (figures, not timed tests)", "", "| target | value | limit | status |", "|---|---|---|---|"]
    for t in r["targets"]:
        out.append(f"| {t['target']} | {t['value']} | {t['limit']} | {t['status']} |")
    out += ["", "## Why the missed targets are missed", ""] + why(r) + [""]
    prev = r.get("against_previous") or {}
    if prev.get("rows"):
        worse = [row for row in prev["rows"] if row["status"] != "within 10 %"]
        out += ["## Against the previous run", "",
                f"Each ratio beside the run this one replaced ({prev['previous_run']}); a ratio more than 10 % worse is named. "
                + (f"{len(prev['rows']) - len(worse)} of {len(prev['rows'])} ratios are within 10 % of it or better." if worse else f"All {len(prev['rows'])} ratios are within 10 % of it or better."),
                "", "| target | previous | now | change | status |", "|---|---|---|---|---|"]
        for row in prev["rows"]:
            out.append(f"| {row['target']} | {row['previous']} | {row['now']} | {row['change']:+.1%} | {row['status']} |")
        out.append("")
    cost = OUT / "COST.md"  # the monthly cost of a shop, from `make bench-scale`'s counted store operations
    if cost.exists():
        out += ["", cost.read_text()]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
