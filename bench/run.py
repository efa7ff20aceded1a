"""`make bench`: a first measured subset of issue 6 item 1, on the Firestore emulator.

Every latency is reported beside a floor measured in the same run (a single
emulator document read), because the machines are shared and noisy: the
ratios are the figures that matter, the milliseconds are context.

Sections (each lands in bench/results.json and a table in bench/RESULTS.md):
  floor      one small-document read with the google.cloud.firestore client, c=1 and c=32
  quote      POST cart_quote/quote over HTTP (functions-framework), anonymous and logged in, c=1/8/32
  lifecycle  quote -> checkout -> YooKassa notification -> CDEK webhook over HTTP, per step, orders/s
  store_ops  reads/writes/commits per lifecycle step, in-process on an instrumented FirestoreStore; cost per 1,000 orders
  history    quote and order-paid store ops and latency for 10 vs 10,000 ledger postings
  cold_start import time and peak memory of each function module in a fresh interpreter vs its floor
Targets are reported as figures (met/missed), never asserted.
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

from scripts import fakes, serve

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent
SHOP = "https://shop.example"
YOOKASSA_PEER = "185.71.76.10"
READ_PRICE = 0.03 / 100_000  # us-central1 Standard list price per document read (USD)
WRITE_PRICE = 0.09 / 100_000  # per document write
CART = [
    {"id": "serum", "sku": "BQ-SERUM-30", "name": "Сыворотка", "price": 190000, "quantity": 1},
    {"id": "cream", "sku": "BQ-CREAM-50", "name": "Крем", "price": 120000, "quantity": 1},
]
HISTORY_BIG = int(os.environ.get("BENCH_HISTORY", "10000"))


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def summary(samples_s: list[float]) -> dict:
    ms = [x * 1000 for x in samples_s]
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 3), "p99_ms": round(pct(ms, 99), 3), "mean_ms": round(statistics.fmean(ms), 3)}


def concurrent(fn, concurrency: int, total: int) -> tuple[list[float], float]:
    """Run fn(worker_state) total times over `concurrency` threads; per-call latencies and wall time."""
    per = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]
    lat: list[float] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        state: dict = {}
        mine = []
        for _ in range(count):
            t = time.perf_counter()
            fn(state)
            mine.append(time.perf_counter() - t)
        if "close" in state:
            state["close"]()
        with lock:
            lat.extend(mine)

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, per))
    return lat, time.perf_counter() - start


def http_client(state: dict) -> httpx.Client:
    if "http" not in state:
        state["http"] = httpx.Client(timeout=60)  # keep-alive per worker
        state["close"] = state["http"].close
    return state["http"]


def mark(value: float, limit: float) -> str:
    return "met" if value <= limit else "missed"


def main() -> int:
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        print("bench runs on the Firestore emulator: use `make bench`.", file=sys.stderr)
        return 2
    began = time.perf_counter()
    env = serve.environment()
    env["KOPILKA_FAKES"] = "0"
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    from google.cloud import firestore

    from shared import tokens
    from shared.adapters import carriers as carrier_adapters
    from shared.adapters import yookassa as yookassa_adapter
    from shared.adapters.firestore_store import FirestoreStore
    from shared.domain.cart import CartLine
    from shared.domain.ledger import OPERATIONS, Account, apply_posting
    from shared.services import delivery, lifecycle, orders, payments, program, storefront
    from shared.services.ledger import account_document, account_path, posting_path
    from shared.settings import reload
    from tests.fakes.carriers import cdek_webhook
    from tests.fakes.yookassa import notification

    reload()
    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "kopilka-local")
    client = firestore.Client(project=project)
    store = FirestoreStore(client)
    store.reset()
    serve.publish_program(env)
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
        lifecycle.register_customer(store, config=config, customer_id="q-anna", now=now)
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
                lat, wall = concurrent(call, c, total)
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
            lifecycle.register_customer(store, config=config, customer_id=f"lc-{i}", now=now)
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
            post("checkout", "/checkout", json={"order_id": order_id, "lines": CART, "bonuses": 100, "quote_fingerprint": q["cart_fingerprint"]}, headers=h)
            t2 = time.perf_counter()
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
        gateway = yookassa_adapter.client()
        cdek = carrier_adapters.carrier("cdek")
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
            rows["delivery_outcome"] = out.get("outcome") if isinstance(out, dict) else None
            return rows

        lifecycle.register_customer(store, config=config, customer_id="ops-0", now=now)
        lifecycle.register_customer(store, config=config, customer_id="ops-1", now=now)
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
            "note": "counted by FirestoreStore.stats around each use case as the function calls it (program head read by entry.config included; config version parse cached, as in a warm instance); provider calls go to the local fakes",
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
            lifecycle.register_customer(store, config=config, customer_id=customer, now=now)
            data = client.document(account_path(customer)).get().to_dict()
            extra = {k: v for k, v in data.items() if k not in Account.__dataclass_fields__ and k != "next_expiry_at"}
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
                    posting = OPERATIONS[kind](account, key=f"bench-seed:{i}:{kind}", now=when, **params)
                    posting.customer_id = customer
                    posting.seq = account.seq + 1
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
        for label, n in (("small", 10), ("large", HISTORY_BIG)):
            who = f"hist-{label}"
            info = seed_history(who, n)
            # in-process: quote (store ops + latency over 60 runs) and order paid (15 orders)
            lines = [CartLine(**line) for line in CART]
            qlat = []
            for k in range(65):
                def q():
                    cfg = program.in_force(counted, env["KOPILKA_PROGRAM"], datetime.now(timezone.utc)).config
                    return storefront.quote_cart(counted, config=cfg, customer_id=who, lines=lines, bonuses=100, now=datetime.now(timezone.utc))
                qops, dt, _ = measured(q)
                if k >= 5:
                    qlat.append(dt)
            plat, pops = [], None
            for k in range(16):
                r = lifecycle_in_process(who, f"H-{label}-{k}")
                if k >= 1:
                    plat.append(r["order_paid_s"])
                    pops = r["order_paid"]
            # over HTTP: quote at c=1
            h = bearer(who)
            hq = []
            with httpx.Client(timeout=60) as c:
                for k in range(110):
                    t = time.perf_counter()
                    c.post(quote_url, json={"lines": CART, "bonuses": 100}, headers=h).raise_for_status()
                    if k >= 10:
                        hq.append(time.perf_counter() - t)
            hist[label] = {**info, "quote_ops": qops, "quote_in_process": summary(qlat), "order_paid_ops": pops, "order_paid_in_process": summary(plat), "quote_http_c1": summary(hq)}
            print("history", label, hist[label], flush=True)
        hist["ratio_large_over_small"] = {
            "quote_in_process_p50": round(hist["large"]["quote_in_process"]["p50_ms"] / hist["small"]["quote_in_process"]["p50_ms"], 2),
            "quote_http_c1_p50": round(hist["large"]["quote_http_c1"]["p50_ms"] / hist["small"]["quote_http_c1"]["p50_ms"], 2),
            "order_paid_in_process_p50": round(hist["large"]["order_paid_in_process"]["p50_ms"] / hist["small"]["order_paid_in_process"]["p50_ms"], 2),
        }
        hist["seeding"] = "accrue/spend pairs of 10 bonuses written in batches of 500 (postings + final account document), built with shared.domain.ledger operations"
        # what the account document would weigh with every one of those accruals still open
        one = OPERATIONS["accrue"](Account(customer_id="x"), key="fat:0", now=now, amount=10, source="bench", ref="r0", activates_at=now, expires_at=now + timedelta(days=300))
        lot = apply_posting(Account(customer_id="x"), one).to_dict()["lots"]
        per_lot = len(json.dumps(lot, default=str)) - 2  # one `"id": {...}` entry, estimated (JSON, not Firestore's encoding)
        hist["account_doc_bytes_if_all_lots_open_approx"] = hist["large"]["account_doc_bytes_approx"] + per_lot * HISTORY_BIG
        results["history"] = hist
    finally:
        serve.stop(processes)
        bridge.shutdown()

    # ---------------------------------------------------------------- cold start
    probe = (
        "import resource, sys, time, importlib.util\n"
        "t = time.perf_counter()\n"
        "{body}\n"
        "dt = time.perf_counter() - t\n"
        "print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    by_path = ("import functions_framework\n"
               "spec = importlib.util.spec_from_file_location('main', {path!r}); m = importlib.util.module_from_spec(spec); sys.modules['main'] = m; spec.loader.exec_module(m)")
    floor_body = "import functions_framework\nimport google.cloud.firestore"
    child_env = {**env, "PYTHONDONTWRITEBYTECODE": "0"}

    def probe_run(body: str) -> dict:
        runs = []
        for _ in range(3):
            out = subprocess.run([sys.executable, "-c", probe.format(body=body)], cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=120)
            if out.returncode != 0:
                raise RuntimeError(out.stderr)
            dt, rss = out.stdout.split()[-2:]
            runs.append((float(dt), int(rss)))
        return {"import_ms_median": round(statistics.median(r[0] for r in runs) * 1000, 1), "ru_maxrss_mib": round(max(r[1] for r in runs) / 1024, 1)}

    probe_run(floor_body)  # warm the page cache and __pycache__
    cold = {"floor": probe_run(floor_body)}
    for name in serve.FUNCTIONS:
        path = str(ROOT / "functions" / name / "main.py")
        probe_run(by_path.format(path=path))
        row = probe_run(by_path.format(path=path))
        row["x_floor"] = round(row["import_ms_median"] / cold["floor"]["import_ms_median"], 2)
        cold[name] = row
    results["cold_start"] = cold
    results["cold_start_note"] = "a fresh `python -c` per sample: functions_framework + functions/<f>/main.py imported by path (median of 3, after one warm-up) vs the floor functions_framework + google.cloud.firestore; ru_maxrss is the max of the 3"
    print("cold_start", cold, flush=True)
    results["meta"]["wall_s"] = round(time.perf_counter() - began, 1)

    results["targets"] = targets(results)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (OUT / "RESULTS.md").write_text(markdown(results))
    print((OUT / "RESULTS.md").read_text())
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
    return rows


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
            f"and the same comparison over HTTP gives {ratio['quote_http_c1_p50']} and order paid {ratio['order_paid_in_process_p50']} (samples were not interleaved; p50 of 60 runs of a few ms). "
            "The real history risk is different: the account document holds every *open* lot, so a customer with many unspent accruals grows it "
            f"(≈{h['account_doc_bytes_if_all_lots_open_approx']:,} bytes for {h['large']['postings']} open lots, over Firestore's 1 MiB limit); not measured here.")
    return lines or ["Every target is met in this run."]


def markdown(r: dict) -> str:
    m = r["meta"]
    out = ["# Kopilka benchmark (`make bench`)", "",
           f"Run {m['started']} · Python {m['python']} · {m['cpus']} CPUs · {m['server']} · emulator {m['emulator']} · whole run {m['wall_s']} s.",
           "Latencies are on a shared, noisy machine against the Firestore **emulator**; compare the ratios to the floor measured in the same run, not the milliseconds.", ""]
    out += ["## Floor: one small-document read (google.cloud.firestore `.get()`)", "", "| concurrency | n | p50 ms | p99 ms | reads/s |", "|---|---|---|---|---|"]
    for k, v in r["floor"].items():
        out.append(f"| {k[1:]} | {v['n']} | {v['p50_ms']} | {v['p99_ms']} | {v['per_s']} |")
    out += ["", "## cart_quote `POST /quote` over HTTP (httpx keep-alive, one client per worker)", "",
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
    out += ["", f"Orders per second (sequential, one client, webhook steps including the functions' re-fetch from the local provider fakes): **{life['orders_per_s_sequential']}**; outcomes {', '.join(life['outcomes_sample'])}."]
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
            "| history | postings | seed s | open lots | account doc ≈bytes | quote reads/writes | quote p50 ms (in-process) | quote p50 ms (HTTP c=1) | order-paid reads/writes | order-paid p50 ms (in-process) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for label in ("small", "large"):
        v = h[label]
        out.append(f"| {label} | {v['postings']} | {v['seed_s']} | {v['open_lots']} | {v['account_doc_bytes_approx']} | {v['quote_ops']['reads']}/{v['quote_ops']['writes']} | {v['quote_in_process']['p50_ms']} | {v['quote_http_c1']['p50_ms']} | {v['order_paid_ops']['reads']}/{v['order_paid_ops']['writes']} | {v['order_paid_in_process']['p50_ms']} |")
    ratio = h["ratio_large_over_small"]
    out += ["", f"Ratios large/small: quote in-process {ratio['quote_in_process_p50']}, quote HTTP {ratio['quote_http_c1_p50']}, order paid {ratio['order_paid_in_process_p50']}.",
            f"Seeding: {h['seeding']}. Had all {h['large']['postings']} accruals stayed open, the account document would weigh ≈{h['account_doc_bytes_if_all_lots_open_approx']:,} bytes (Firestore's limit is 1 MiB = 1,048,576) — not measured here."]
    cold = r["cold_start"]
    out += ["", "## Cold start: import in a fresh interpreter", "", "| module | import ms (median of 3) | × floor | ru_maxrss MiB |", "|---|---|---|---|",
            f"| floor: functions_framework + google.cloud.firestore | {cold['floor']['import_ms_median']} | 1.0 | {cold['floor']['ru_maxrss_mib']} |"]
    for name, v in cold.items():
        if name != "floor":
            out.append(f"| functions_framework + functions/{name}/main.py | {v['import_ms_median']} | {v['x_floor']} | {v['ru_maxrss_mib']} |")
    out += ["", f"({r['cold_start_note']}.)"]
    out += ["", "## Targets (figures, not timed tests)", "", "| target | value | limit | status |", "|---|---|---|---|"]
    for t in r["targets"]:
        out.append(f"| {t['target']} | {t['value']} | {t['limit']} | {t['status']} |")
    out += ["", "## Why the missed targets are missed", ""] + why(r) + [""]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
