"""`make bench-scale`: the engine at ten times a busy shop, on the Firestore emulator.

In process, on an instrumented FirestoreStore (the use cases the functions call; every
exception that is not a business refusal counts as a 5xx):

  seed      KOPILKA_SCALE_CUSTOMERS customers and KOPILKA_SCALE_POSTINGS postings, built with the
            ledger's own operations and written raw (BulkWriter): the bulk-write floor
  steady    quote, checkout, payment and delivery of KOPILKA_SCALE_ORDERS orders at concurrency
            KOPILKA_SCALE_CONCURRENCY, each step beside a raw transaction of the same reads and writes
  promo     KOPILKA_SCALE_HOT concurrent checkouts with one promo code vs the same without a code
  partner   KOPILKA_SCALE_HOT concurrent deliveries of one partner's referees vs referees of none
  sweep     the expiry sweep over the whole set
  audit     the ledger audit over every account the run touched (every account when KOPILKA_SCALE_CUSTOMERS ≤ 1,000)
  cost      reads, writes and commits per 1,000 orders (the steady mix), at list price

Figures land in bench/scale.json and bench/SCALE.md. Targets are reported (met/missed), never asserted.
The defaults are a small run (a few minutes); the 10× run is
KOPILKA_SCALE_CUSTOMERS=100000 KOPILKA_SCALE_POSTINGS=1000000 make bench-scale.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from bench.run import READ_PRICE, WRITE_PRICE, concurrent, summary

OUT = Path(__file__).resolve().parent
CUSTOMERS = int(os.environ.get("KOPILKA_SCALE_CUSTOMERS", "2000"))
POSTINGS = int(os.environ.get("KOPILKA_SCALE_POSTINGS", "20000"))
ORDERS = int(os.environ.get("KOPILKA_SCALE_ORDERS", "320"))
CONCURRENCY = int(os.environ.get("KOPILKA_SCALE_CONCURRENCY", "32"))
HOT = int(os.environ.get("KOPILKA_SCALE_HOT", "200"))
HOT_CONCURRENCY = int(os.environ.get("KOPILKA_SCALE_HOT_CONCURRENCY", str(min(HOT, 64))))


class Outcomes:
    """What the calls of a phase ended in: ok, a business refusal (4xx) or anything else (5xx)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def call(self, fn) -> None:
        from shared.domain.errors import BusinessRefusal, DomainError, Retryable

        try:
            fn()
            kind = "ok"
        except Retryable:
            kind = "5xx Retryable (503)"
        except (BusinessRefusal, DomainError) as exc:
            kind = f"4xx {type(exc).__name__}"
        except Exception as exc:  # noqa: BLE001 - counted, it is what a function would answer 500 for
            kind = f"5xx {type(exc).__name__}"
        with self.lock:
            self.counts[kind] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for kind, n in self.counts.items() if kind.startswith("5xx"))


def seed(client, config, now: datetime) -> dict:
    """Customers and postings built on a memory store with the ledger's operations, then written raw."""
    from google.cloud.firestore_v1.bulk_writer import BulkWriterOptions, SendMode

    from shared.adapters.memory_store import MemoryStore
    from shared.domain.ledger import Note
    from shared.services import ledger, registration

    memory = MemoryStore()
    built = time.perf_counter()
    per = max(0, POSTINGS // max(1, CUSTOMERS) - 1)  # each registration posts once already
    for i in range(CUSTOMERS):
        registration.register_customer(memory, config=config, customer_id=f"s{i}", now=now - timedelta(days=30))
        for j in range(per):
            ledger.post(memory, f"s{i}", f"seed:{j}", Note(data={"n": j}), now=now - timedelta(days=29))
    docs = list(memory._docs.items())
    built_s = time.perf_counter() - built
    failures: list = []

    def failed(failure, _writer) -> bool:
        if failure.attempts < 5:
            return True
        failures.append(failure)
        return False

    began = time.perf_counter()
    writer = client.bulk_writer(options=BulkWriterOptions(initial_ops_per_second=1_000_000, max_ops_per_second=1_000_000, mode=SendMode.parallel))
    writer.on_write_error(failed)
    for path, doc in docs:
        writer.create(client.document(path), doc)
    writer.close()
    wrote_s = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"seeding: {len(failures)} writes failed, first: {failures[0].message}")
    postings = sum(1 for path, _ in docs if "/postings/" in path)
    return {"customers": CUSTOMERS, "postings": postings, "documents": len(docs), "build_s": round(built_s, 1), "write_s": round(wrote_s, 1),
            "bulk_write_docs_per_s": round(len(docs) / wrote_s, 1)}


def raw_floor(client, reads: int, writes: int, total: int, concurrency: int, tag: str) -> dict:
    """A raw transaction of ``reads`` reads and ``writes`` writes on documents of its own, at ``concurrency``."""
    from google.cloud import firestore

    counter = iter(range(10**9))
    lock = threading.Lock()

    def one(_state) -> None:
        with lock:
            n = next(counter)
        refs = [client.document(f"bench_floor_{tag}/{n}-{k}") for k in range(max(reads, writes, 1))]

        @firestore.transactional
        def body(transaction) -> None:
            for ref in refs[:reads]:
                ref.get(transaction=transaction)
            for ref in refs[:writes]:
                transaction.set(ref, {"n": n, "at": firestore.SERVER_TIMESTAMP})

        body(client.transaction())

    lat, wall = concurrent(one, concurrency, total)
    return {**summary(lat), "per_s": round(total / wall, 1)}


def phase(store, client, name: str, calls: list, concurrency: int, floor: bool = True) -> dict:
    """Run the calls at ``concurrency``: latencies, throughput, store ops per call and the raw floor."""
    outcomes = Outcomes()
    queue = iter(calls)
    lock = threading.Lock()

    def one(_state) -> None:
        with lock:
            fn = next(queue)
        outcomes.call(fn)

    before = dict(store.stats)
    lat, wall = concurrent(one, concurrency, len(calls))
    ops = {k: store.stats[k] - before.get(k, 0) for k in ("reads", "writes", "commits")}
    row: dict = {**summary(lat), "per_s": round(len(calls) / wall, 1), "concurrency": concurrency, "outcomes": dict(outcomes.counts),
                 "server_errors": outcomes.server_errors, "per_call": {k: round(v / len(calls), 2) for k, v in ops.items()}}
    if floor:
        reads, writes = round(ops["reads"] / len(calls)), round(ops["writes"] / len(calls))
        row["floor"] = raw_floor(client, reads, writes, len(calls), concurrency, name)
        row["x_floor_per_s"] = round(row["floor"]["per_s"] / row["per_s"], 2) if row["per_s"] else None
    print(name, row, flush=True)
    return row


def main() -> int:
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        print("bench-scale runs on the Firestore emulator: use `make bench-scale`.", file=sys.stderr)
        return 2
    from google.cloud import firestore

    from scripts.ledger_audit import run_audit
    from shared.adapters.firestore_store import FirestoreStore
    from shared.domain.cart import CartLine, PromoRule
    from shared.domain.order import PaymentRef
    from shared.presets import load_preset
    from shared.services import account_sweep, orders, promo, registration, storefront

    client = firestore.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT", "kopilka-local"))
    store = FirestoreStore(client)
    store.reset()
    config = load_preset("biomiq")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    cart = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=120000, quantity=1)]
    results: dict = {"meta": {"started": now.isoformat(), "cpus": os.cpu_count(), "customers": CUSTOMERS, "postings": POSTINGS, "orders": ORDERS,
                              "concurrency": CONCURRENCY, "hot": HOT, "hot_concurrency": HOT_CONCURRENCY}}
    began = time.perf_counter()
    results["seed"] = seed(client, config, now)
    print("seed", results["seed"], flush=True)

    # ------------------------------------------------------------------ the steady mix
    buyers = [f"s{i % CUSTOMERS}" for i in range(ORDERS)]
    ids = [f"{who}:m{i}" for i, who in enumerate(buyers)]
    steady = {
        "quote": phase(store, client, "quote", [lambda who=who: storefront.quote_cart(store, config=config, customer_id=who, lines=cart, bonuses=0, now=now) for who in buyers], CONCURRENCY),
        "checkout": phase(store, client, "checkout", [lambda who=who, oid=oid: orders.place_order(store, config=config, customer_id=who, order_id=oid, lines=cart, bonuses=0, now=now)
                                                      for who, oid in zip(buyers, ids, strict=True)], CONCURRENCY),
    }

    def pay(oid: str) -> None:
        order = orders.get_order(store, oid)
        orders.mark_paid(store, config=config, order_id=oid, payment=PaymentRef(provider="bench", id=f"p-{oid}", amount=order.money_to_pay), now=now)

    steady["payment"] = phase(store, client, "payment", [lambda oid=oid: pay(oid) for oid in ids], CONCURRENCY)
    steady["delivery"] = phase(store, client, "delivery", [lambda oid=oid: orders.mark_delivered(store, config=config, order_id=oid, delivered_at=now, now=now, carrier="bench")
                                                           for oid in ids], CONCURRENCY)
    results["steady"] = steady

    # ------------------------------------------------------------------ one promo code, HOT checkouts at once
    promo.create_discount(store, rule=PromoRule(code="FLASH", kind="percent", percent=Decimal(10)), total_limit=HOT * 10, now=now)
    hot_buyers = [f"s{(ORDERS + i) % CUSTOMERS}" for i in range(HOT)]
    plain = phase(store, client, "checkout_plain", [lambda who=who, i=i: orders.place_order(store, config=config, customer_id=who, order_id=f"{who}:hp{i}", lines=cart, bonuses=0, now=now)
                                                   for i, who in enumerate(hot_buyers)], HOT_CONCURRENCY, floor=False)
    def with_code(who: str, i: int) -> None:
        orders.place_order(store, config=config, customer_id=who, order_id=f"{who}:hc{i}", lines=cart, bonuses=0, now=now, promo_code="flash")

    coded = phase(store, client, "checkout_promo", [lambda who=who, i=i: with_code(who, i) for i, who in enumerate(hot_buyers)], HOT_CONCURRENCY, floor=False)
    for i in range(HOT):
        promo.create_discount(store, rule=PromoRule(code=f"OWN{i}", kind="percent", percent=Decimal(10)), total_limit=10, now=now)

    def own_code(who: str, i: int) -> None:
        orders.place_order(store, config=config, customer_id=who, order_id=f"{who}:ho{i}", lines=cart, bonuses=0, now=now, promo_code=f"own{i}")

    owned = phase(store, client, "checkout_own_code", [lambda who=who, i=i: own_code(who, i) for i, who in enumerate(hot_buyers)], HOT_CONCURRENCY, floor=False)
    used = promo.get(store, "FLASH")
    results["promo"] = {"without_code": plain, "own_code": owned, "one_code": coded, "ratio": round(coded["per_s"] / owned["per_s"], 2),
                        "ratio_to_no_code": round(coded["per_s"] / plain["per_s"], 2), "uses": used.uses if used else None, "uses_expected": coded["outcomes"].get("ok", 0)}

    # ------------------------------------------------------------------ one partner's referees delivered at once
    registration.register_customer(store, config=config, customer_id="hot-partner", now=now)
    referees = [f"hr{i}" for i in range(HOT)]
    loners = [f"hl{i}" for i in range(HOT)]
    invitees = [f"hi{i}" for i in range(HOT)]  # each the referee of a partner of their own
    for who in referees:
        registration.register_customer(store, config=config, customer_id=who, now=now, invited_by="hot-partner")
    for who in loners:
        registration.register_customer(store, config=config, customer_id=who, now=now)
    for i, who in enumerate(invitees):
        registration.register_customer(store, config=config, customer_id=f"hp{i}", now=now)
        registration.register_customer(store, config=config, customer_id=who, now=now, invited_by=f"hp{i}")
    for who in referees + loners + invitees:
        orders.place_order(store, config=config, customer_id=who, order_id=f"{who}:d", lines=cart, bonuses=0, now=now)
        pay(f"{who}:d")
    alone = phase(store, client, "delivery_no_partner", [lambda who=who: orders.mark_delivered(store, config=config, order_id=f"{who}:d", delivered_at=now, now=now, carrier="bench")
                                                        for who in loners], HOT_CONCURRENCY, floor=False)
    shared = phase(store, client, "delivery_one_partner", [lambda who=who: orders.mark_delivered(store, config=config, order_id=f"{who}:d", delivered_at=now, now=now, carrier="bench")
                                                          for who in referees], HOT_CONCURRENCY, floor=False)
    own = phase(store, client, "delivery_own_partner", [lambda who=who: orders.mark_delivered(store, config=config, order_id=f"{who}:d", delivered_at=now, now=now, carrier="bench")
                                                        for who in invitees], HOT_CONCURRENCY, floor=False)
    results["partner"] = {"without_partner": alone, "own_partner": own, "one_partner": shared, "ratio": round(shared["per_s"] / own["per_s"], 2),
                          "ratio_to_no_partner": round(shared["per_s"] / alone["per_s"], 2)}

    # ------------------------------------------------------------------ the sweep over the whole set
    later = now + timedelta(days=config.lot_lifetime_days + 400)
    before = dict(store.stats)
    t = time.perf_counter()
    swept = account_sweep.sweep_due(store, config=config, now=later)
    sweep_s = time.perf_counter() - t
    results["sweep"] = {"s": round(sweep_s, 2), "outcome": swept, "reads": store.stats["reads"] - before["reads"], "writes": store.stats["writes"] - before["writes"],
                        "writes_per_s": round((store.stats["writes"] - before["writes"]) / sweep_s, 1) if sweep_s else None}
    print("sweep", results["sweep"], flush=True)

    # ------------------------------------------------------------------ the audit
    touched = sorted(set(buyers) | set(hot_buyers) | set(referees) | set(loners) | set(invitees) | {f"hp{i}" for i in range(HOT)} | {"hot-partner"})
    audited = run_audit(store, customers=None if CUSTOMERS <= 1000 else touched, now=later)
    results["audit"] = {"accounts": audited.accounts, "postings": audited.postings, "problems": len(audited.problems), "first": audited.problems[:5]}
    print("audit", results["audit"], flush=True)

    # ------------------------------------------------------------------ cost of the steady mix
    ops = {k: sum(steady[s]["per_call"][k] for s in ("checkout", "payment", "delivery")) * 1000 for k in ("reads", "writes", "commits")}
    quote_reads = steady["quote"]["per_call"]["reads"] * 1000
    results["cost_per_1000_orders"] = {"reads": round(ops["reads"] + quote_reads), "writes": round(ops["writes"]), "commits": round(ops["commits"]),
                                       "usd": round((ops["reads"] + quote_reads) * READ_PRICE + ops["writes"] * WRITE_PRICE, 4), "quotes_per_order": 1}
    server_errors = sum(r["server_errors"] for r in [*steady.values(), plain, owned, coded, alone, own, shared])
    results["targets"] = [
        {"target": "promo: one shared code ≥ ½ the throughput of a code each", "value": results["promo"]["ratio"], "met": results["promo"]["ratio"] >= 0.5},
        {"target": "partner: one shared partner ≥ ½ the throughput of a partner each", "value": results["partner"]["ratio"], "met": results["partner"]["ratio"] >= 0.5},
        {"target": "no 5xx", "value": server_errors, "met": server_errors == 0},
        {"target": "promo uses exactly the successful checkouts", "value": results["promo"]["uses"], "met": results["promo"]["uses"] == results["promo"]["uses_expected"]},
        {"target": "ledger audit clean", "value": results["audit"]["problems"], "met": results["audit"]["problems"] == 0},
    ]
    results["meta"]["total_s"] = round(time.perf_counter() - began, 1)
    (OUT / "scale.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (OUT / "SCALE.md").write_text(markdown(results))
    print((OUT / "SCALE.md").read_text())
    return 0


def markdown(r: dict) -> str:
    m, s = r["meta"], r["seed"]
    out = ["# Scale run (`make bench-scale`)", "",
           f"Run {m['started']} on {m['cpus']} CPUs (the emulator shares them): {s['customers']:,} customers, {s['postings']:,} postings seeded "
           f"({s['documents']:,} documents written raw in {s['write_s']} s: {s['bulk_write_docs_per_s']:,} documents/s, the bulk-write floor); "
           f"{m['orders']} orders at concurrency {m['concurrency']}; {m['hot']} hot checkouts and deliveries at concurrency {m['hot_concurrency']}; "
           f"total {m['total_s']} s. Sizes: `KOPILKA_SCALE_CUSTOMERS`, `KOPILKA_SCALE_POSTINGS`, `KOPILKA_SCALE_ORDERS`, `KOPILKA_SCALE_CONCURRENCY`, "
           "`KOPILKA_SCALE_HOT`, `KOPILKA_SCALE_HOT_CONCURRENCY`.", "",
           "## The steady mix", "",
           "| step | p50 ms | p99 ms | per s | reads/writes/commits per call | floor per s (raw transaction, same reads and writes) | floor ÷ step | outcomes |",
           "|---|---|---|---|---|---|---|---|"]
    for name, row in r["steady"].items():
        pc = row["per_call"]
        out.append(f"| {name} | {row['p50_ms']} | {row['p99_ms']} | {row['per_s']} | {pc['reads']}/{pc['writes']}/{pc['commits']} | "
                   f"{row['floor']['per_s']} | {row['x_floor_per_s']} | {row['outcomes']} |")
    out += ["", "## Hot spots", "", "| load | p50 ms | p99 ms | per s | outcomes |", "|---|---|---|---|---|"]
    for label, row in (("checkouts, no code", r["promo"]["without_code"]), ("checkouts, a code each", r["promo"]["own_code"]), ("checkouts, one promo code", r["promo"]["one_code"]),
                       ("deliveries, no partner", r["partner"]["without_partner"]), ("deliveries, a partner each", r["partner"]["own_partner"]),
                       ("deliveries, one partner's referees", r["partner"]["one_partner"])):
        out.append(f"| {label} | {row['p50_ms']} | {row['p99_ms']} | {row['per_s']} | {row['outcomes']} |")
    sw, au, c = r["sweep"], r["audit"], r["cost_per_1000_orders"]
    out += ["", f"One shared code: {r['promo']['ratio']} × the throughput of a code each, {r['promo']['ratio_to_no_code']} × that of no code "
            f"(uses counted {r['promo']['uses']}, successful checkouts {r['promo']['uses_expected']}). "
            f"One shared partner: {r['partner']['ratio']} × the throughput of a partner each, {r['partner']['ratio_to_no_partner']} × that of no partner.", "",
            "## Sweep, audit, cost", "",
            f"The sweep over the whole set: {sw['s']} s, {sw['outcome']}, {sw['reads']} reads and {sw['writes']} writes "
            f"({sw['writes_per_s']} writes/s; the bulk-write floor is {s['bulk_write_docs_per_s']} documents/s).", "",
            f"Ledger audit after the run: {au['accounts']} accounts, {au['postings']} postings, {au['problems']} problems.", "",
            f"Per 1,000 orders (one quote, checkout, payment, delivery each): {c['reads']:,} reads, {c['writes']:,} writes, {c['commits']:,} commits ≈ ${c['usd']} at list price.", "",
            "## Targets", "", "| target | value | met |", "|---|---|---|"]
    out += [f"| {t['target']} | {t['value']} | {'met' if t['met'] else 'missed'} |" for t in r["targets"]]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
