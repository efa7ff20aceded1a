"""`make bench` section ``messages``: the dispatcher's throughput beside a raw-write floor, and
the sweep's cost per 10,000 customers with the message triggers on.

Dispatcher: MESSAGES customers (a phone, SMS only) each with one due SMS in the outbox, seeded
raw (WriteBatch of 500, 8 commits in flight). The same MESSAGES outbox documents written raw
under another root is the floor (documents per second). The dispatcher then runs as the
`dispatch` route runs it (calls of `limit` 200 until the outbox is empty), sending through
the real SmsChannel and SmsRuClient to the in-process SMS.ru fake (tests/fakes/sms.py); its
messages per second over the floor's documents per second is the ratio. Checked after:
the fake got each message exactly once and every message is `sent`.

Sweep: SWEEP_CUSTOMERS customers, each with one lot expiring in 7 days (within the
program's `expiry_soon` days_before) and a phone, seeded raw; one `sweeps.run_sweep` over
them on an instrumented FirestoreStore (every pass, as `/run` runs it), then its time and
store operations scaled to 10,000 customers, and the messages it enqueued (checked: one per
customer and channel of the trigger).
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

MESSAGES = int(os.environ.get("KOPILKA_BENCH_MESSAGES", "2000"))
SWEEP_CUSTOMERS = int(os.environ.get("KOPILKA_BENCH_MESSAGES_CUSTOMERS", "2000"))
DISPATCH_LIMIT = 200  # what dispatch_outbox asks for per call
SEED_METHOD = "WriteBatch of 500, 8 commits in flight"


def _customer_doc(config: Any, cid: str, phone: str, opened: datetime, lot_expires: datetime | None) -> dict:
    from shared.adapters.repositories.ledger import record_document, record_from_document
    from shared.domain.customer import Notifications
    from shared.domain.ledger import COMMANDS, Account, apply_posting

    def post(account: Account, kind: str, key: str, **params: Any) -> Account:
        return apply_posting(account, COMMANDS[kind](**params).posting(account, key=key, now=opened))

    account = post(Account(customer_id=cid), "open", f"open:{cid}", group=config.default_group, level=config.levels[0].code)
    if lot_expires is not None:
        account = post(account, "accrue", f"bench-messages:{cid}", amount=300, source="bench", ref=cid, activates_at=opened, expires_at=lot_expires)
    extra = {"invited_by": None, "registered_at": opened, "referrer_id": None, "paying_referees": 0}
    record = record_from_document({**extra, **account.to_dict()}).set_profile(phone=phone, notifications=Notifications(sms=True, email=False, telegram=False))
    return record_document(record)


def messages_section(client: Any, config: Any, methods: dict) -> dict:
    from google.cloud import firestore

    from shared.adapters.firestore_store import FirestoreStore
    from shared.adapters.message_channels import SmsChannel
    from shared.adapters.repositories.outbox import _document
    from shared.adapters.sms import SmsRuClient
    from shared.domain.messages import Channel, OutboxMessage, Status, Trigger
    from shared.services import sweeps
    from shared.services.dispatch import dispatch
    from tests.fakes.sms import FakeSmsRu

    now = datetime.now(timezone.utc).replace(hour=9, minute=0, second=0, microsecond=0)  # noon in Moscow: no quiet hours
    opened = now - timedelta(days=30)
    section: dict = {"messages": MESSAGES, "sweep_customers": SWEEP_CUSTOMERS, "seed_method": SEED_METHOD}
    write = methods[SEED_METHOD]

    # ---- dispatcher: seed customers and their due messages
    customers, outbox, keys = [], [], []
    for i in range(MESSAGES):
        cid = f"msg-{i:06d}"
        customers.append((cid, _customer_doc(config, cid, f"+7999{i:07d}", opened, None)))
        message = OutboxMessage(key=f"bonus_available:bench-{i:06d}:sms", customer_id=cid, trigger=Trigger.BONUS_AVAILABLE, channel=Channel.SMS,
                                subject="", body=f"{config.name}: 150 бонусов доступны, их можно тратить.", variables={"amount": "150"},
                                due_at=now, next_at=now, created_at=now)
        keys.append(message.key)
        outbox.append((message.key, _document(message)))
    t = time.perf_counter()
    write(customers, "customers")
    write(outbox, "outbox")
    section["seed_s"] = round(time.perf_counter() - t, 1)
    del customers

    # ---- floor: the same outbox documents written raw under another root
    t = time.perf_counter()
    write(outbox, "benchfloor_outbox")
    dt = time.perf_counter() - t
    section["floor"] = {"method": SEED_METHOD, "documents": len(outbox), "s": round(dt, 2), "docs_per_s": round(len(outbox) / dt, 1)}
    print("messages floor", section["floor"], flush=True)
    del outbox

    # ---- the dispatcher, as the route runs it, to the in-process SMS.ru fake
    fake = FakeSmsRu(api_id="bench")
    channels = {Channel.SMS: SmsChannel(SmsRuClient(api_id="bench", transport=fake.transport, sleep=lambda _: None))}
    counted = FirestoreStore(firestore.Client(project=client.project))
    sent = calls = 0
    t = time.perf_counter()
    while True:
        report = dispatch(counted, channels, now=now, owner=uuid.uuid4().hex, limit=DISPATCH_LIMIT)
        calls += 1
        sent += report.sent
        if report.sent + report.failed + report.skipped + report.held == 0:
            break
    dt = time.perf_counter() - t
    delivered = {m.key for m in fake.messages}
    if sent != MESSAGES or len(fake.messages) != MESSAGES or fake.duplicates or delivered != set(keys):
        raise RuntimeError(f"dispatcher: sent {sent}, the fake got {len(fake.messages)} ({fake.duplicates} duplicates) of {MESSAGES}")
    stored = counted.read(lambda uow: [uow.outbox.get(k) for k in keys[:: max(1, MESSAGES // 50)]])
    if any(m is None or m.status is not Status.SENT for m in stored):
        raise RuntimeError("dispatcher: a sampled message is not sent")
    st = counted.stats
    section["dispatch"] = {"calls": calls, "limit": DISPATCH_LIMIT, "sent": sent, "s": round(dt, 2), "messages_per_s": round(sent / dt, 1),
                           "reads_per_message": round(st["reads"] / sent, 2), "writes_per_message": round(st["writes"] / sent, 2),
                           "commits_per_message": round(st["commits"] / sent, 2), "retries": st["retries"]}
    section["x_floor"] = round(section["dispatch"]["messages_per_s"] / section["floor"]["docs_per_s"], 3)
    print("messages dispatch", section["dispatch"], "x_floor", section["x_floor"], flush=True)

    # ---- the sweep with the message triggers on
    soon = config.messages.of(Trigger.EXPIRY_SOON)
    days = 7
    if not soon.enabled or config.messages.expiry_soon.days_before < days:
        raise RuntimeError(f"the bench program's expiry_soon must be on with days_before >= {days}")
    docs = [(f"exp-{i:06d}", _customer_doc(config, f"exp-{i:06d}", f"+7998{i:07d}", opened, now + timedelta(days=days))) for i in range(SWEEP_CUSTOMERS)]
    write(docs, "customers")
    del docs
    counted = FirestoreStore(firestore.Client(project=client.project))
    everyone = len(list(client.collection("customers").select([]).stream()))  # the sweep's passes go over every customer
    before = len(list(client.collection("outbox").select([]).stream()))
    t = time.perf_counter()
    counts = sweeps.run_sweep(counted, config=config, now=now, batch=200, max_pages=10_000)
    dt = time.perf_counter() - t
    enqueued = len(list(client.collection("outbox").select([]).stream())) - before
    channels_on = len([c for c in dict.fromkeys(soon.channels) if soon.templates.for_channel(c)[1].strip()])
    if counts.get("notices") != SWEEP_CUSTOMERS or enqueued != SWEEP_CUSTOMERS * channels_on:
        raise RuntimeError(f"sweep: {counts.get('notices')} notices and {enqueued} messages for {SWEEP_CUSTOMERS} customers on {channels_on} channels")
    st = counted.stats
    scale = 10_000 / everyone
    section["sweep"] = {"customers": everyone, "warned": SWEEP_CUSTOMERS, "days_before": config.messages.expiry_soon.days_before,
                        "channels": channels_on, "messages_enqueued": enqueued, "s": round(dt, 2), "counts": counts,
                        "reads": st["reads"], "writes": st["writes"], "commits": st["commits"], "retries": st["retries"],
                        "per_10000_customers": {"s": round(dt * scale, 1), "reads": round(st["reads"] * scale), "writes": round(st["writes"] * scale),
                                                "commits": round(st["commits"] * scale)}}
    print("messages sweep", section["sweep"], flush=True)
    return section


HEADING = "## Messages: the dispatcher beside a raw outbox write, and the sweep with the message triggers on"


def markdown_lines(m: dict) -> list[str]:
    d, f, s = m["dispatch"], m["floor"], m["sweep"]
    p = s["per_10000_customers"]
    return [
        HEADING, "",
        "| messages | dispatcher | messages/s | floor: raw outbox writes/s | x floor | reads/msg | writes/msg | commits/msg | retries |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| messages {d['sent']:,} | {d['calls']} calls of limit {d['limit']}, {d['s']} s | {d['messages_per_s']} | {f['docs_per_s']} ({f['method']}, {f['s']} s) | "
        f"{m['x_floor']} | {d['reads_per_message']} | {d['writes_per_message']} | {d['commits_per_message']} | {d['retries']} |",
        "",
        "| sweep | customers | warned (lot expiring in 7 days) | messages enqueued | s | reads | writes | commits | per 10,000 customers: s | reads | writes | commits |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| messages sweep | {s['customers']:,} | {s['warned']:,} | {s['messages_enqueued']:,} | {s['s']} | {s['reads']:,} | {s['writes']:,} | {s['commits']:,} | "
        f"{p['s']} | {p['reads']:,} | {p['writes']:,} | {p['commits']:,} |",
        "",
        "**Messages**: the dispatcher sends each due message through the real SmsChannel to the in-process SMS.ru fake "
        "(each exactly once, checked), one lease and one record transaction per message, one call after another as the "
        "`dispatch` route runs; the floor writes the same outbox documents raw. The sweep is one `sweeps.run_sweep` (every pass) "
        "on an instrumented FirestoreStore; its passes go over every customer in the store "
        "(the warned ones and the dispatcher's), so the figures are scaled by all of them: per 10,000 customers of whom the same share is warned.",
    ]


def patch_report(text: str, r: dict) -> str:
    """RESULTS.md with this section's table replaced (or inserted before the targets)."""
    lines = text.split("\n")
    mine = markdown_lines(r["messages"])
    alone = (r.get("meta") or {}).get("alone") or {}
    if "messages" in alone.get("sections", []):
        mine.append(f"(This section was run alone, {alone.get('started')} — `KOPILKA_BENCH_SECTIONS=messages`; the other sections' figures are from the run above.)")
    if HEADING in lines:
        a = lines.index(HEADING)
        b = next(i for i in range(a + 1, len(lines)) if lines[i].startswith("## "))
        lines[a:b] = [*mine, ""]
    else:
        t = next(i for i, line in enumerate(lines) if line.startswith("## Targets"))
        lines[t:t] = [*mine, ""]
    return "\n".join(lines)
