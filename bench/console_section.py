"""`make bench` section ``console``: every console screen rendered over HTTP on a shop of
10,000 customers and 100,000 postings, beside the floors measured in the same run.

Seeded with bulk writes (WriteBatch of 500, 8 commits in flight, as the sweep section seeds):
10,000 accounts whose 100,000 postings (an opening and nine accruals each, built with the
ledger's own operations) are written too, 5,000 audit records over 60 days, 1,000 payout
requests (300 waiting, 200 approved, 500 paid), 56 daily report snapshots, and 100 flagged
orders through the order path's use cases. Today's snapshot is taken by the sweep's own pass
over the 10,000 accounts (timed, reported).

Each screen is timed as a signed-in browser asks for it (the session cookie, keep-alive) and
compared with two floors: the admin JSON API call that answers the same use case (the page's
own work beyond it is the template), and one small-document read. Target: every screen's p50
under 1 s, and within 2x its API call.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

CUSTOMERS = int(os.environ.get("KOPILKA_BENCH_CONSOLE_CUSTOMERS", "10000"))  # fewer only for a quick try of the section
POSTINGS_PER_CUSTOMER = 10  # an opening and nine accruals
AUDIT_RECORDS = 5_000
SNAPSHOT_DAYS = 56
FLAGGED_ORDERS = 100
SAMPLES, WARM = 30, 5
PAGE_TARGET_MS = 1000
API_RATIO_TARGET = 2.0


def _summary(samples: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in samples)
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2), "p99_ms": round(ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))], 2)}


def _time(call: Any) -> dict[str, float]:
    for _ in range(WARM):
        call()
    samples = []
    for _ in range(SAMPLES):
        t = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t)
    return _summary(samples)


def _build(config: Any, now: datetime) -> tuple[list, list]:
    """The account documents and their postings (open + nine accruals each), with the ledger's operations."""
    from bench.run import account_document
    from shared.domain.ledger import COMMANDS, Account, apply_posting

    accounts, postings = [], []
    opened = now - timedelta(days=120)
    for i in range(CUSTOMERS):
        cid = f"console-{i:06d}"
        account = Account(customer_id=cid)
        steps = [("open", {"group": config.default_group, "level": config.levels[0].code})]
        for j in range(POSTINGS_PER_CUSTOMER - 1):
            held = j % 3 == 0  # a third still in their hold
            steps.append(("accrue", {"amount": 20 + j, "source": "referral" if i % 10 == 0 else "purchase", "ref": f"{cid}:{j}",
                                     "activates_at": now + timedelta(days=7) if held else opened, "expires_at": now + timedelta(days=30 * (1 + (i + j) % 12))}))
        for k, (kind, params) in enumerate(steps):
            posting = COMMANDS[kind](**params).posting(account, key=f"bench-console:{cid}:{k}", now=opened + timedelta(minutes=k))
            account = apply_posting(account, posting)
            postings.append((f"{cid}/postings/{posting.id}", posting.to_dict()))
        accounts.append((cid, account_document(account, {"invited_by": None, "registered_at": opened, "referrer_id": None, "paying_referees": 0})))
    return accounts, postings


def _raw_docs(now: datetime) -> dict[str, list]:
    """Audit records, payout requests and past report snapshots, as their repositories store them."""
    from msgspec.structs import replace

    from shared.adapters.repositories.admin import audit_document
    from shared.adapters.repositories.program import payout_document
    from shared.domain.admin import AuditRecord
    from shared.domain.clock import MSK
    from shared.domain.payouts import PayoutMethod, PayoutRequest, PayoutStatus
    from shared.domain.reports import DaySnapshot

    actions = ("payout.reveal", "ledger.adjust", "config.replace", "customer.block", "promo.create")
    audit = []
    for i in range(AUDIT_RECORDS):
        at = now - timedelta(minutes=i * 17)
        record = AuditRecord.new(audit_id=f"bench{i:08d}", actor=f"staff{i % 7}@shop.example", roles=("manager",), action=actions[i % len(actions)],
                                 target=f"customer:console-{i % CUSTOMERS:06d}", params={"reason": "bench"}, result={"ok": True}, at=at)
        audit.append((record.id, audit_document(record)))
    payouts = []
    for i in range(1000):
        status = PayoutStatus.REQUESTED if i < 300 else PayoutStatus.APPROVED if i < 500 else PayoutStatus.PAID
        request = PayoutRequest.new(request_id=f"bench-payout-{i:05d}", customer_id=f"console-{(i * 10) % CUSTOMERS:06d}", amount=500 + i, method=PayoutMethod.CARD,
                                    details="**** 1111", now=now - timedelta(hours=i))
        payouts.append((request.request_id, payout_document(replace(request, status=status, decided_by="bench@shop.example" if i >= 300 else None,
                                                                    decided_at=now if i >= 300 else None))))
    today = now.astimezone(MSK).date()
    snapshots = []
    for d in range(1, SNAPSHOT_DAYS + 1):
        day = today - timedelta(days=d)
        s = DaySnapshot(day=day.isoformat(), activity_day=(day - timedelta(days=1)).isoformat(), started_at=now, updated_at=now, accounts_done=True, orders_done=True,
                        accounts=CUSTOMERS, outstanding=2_000_000 + d * 1000, available=1_500_000, pending=500_000, expiring={day.strftime("%Y-%m"): 40_000},
                        orders=300 + d, orders_with_bonuses=90, spent=30_000, earned=45_000, partner_pending=9_000, partner_available=4_000)
        snapshots.append((s.day, {**{n: getattr(s, n) for n in DaySnapshot.__struct_fields__}, "orders_after": None}))
    return {"audit": audit, "payouts": payouts, "report_days": snapshots}


def _flag_orders(store: Any, config: Any, now: datetime) -> None:
    from shared.domain.cart import CartLine
    from shared.domain.order import review_flag
    from shared.services import orders

    for i in range(FLAGGED_ORDERS):
        order_id = f"tilda-bench-{i:04d}"
        orders.place_order(store, config=config, customer_id=f"console-{i:06d}", order_id=order_id, lines=[CartLine(id="serum", price=190000, quantity=1)], bonuses=0, now=now)
        orders.flag_for_review(store, order_id=order_id, review=review_flag("amount_mismatch", at=now + timedelta(seconds=i), payment_id=f"bench-pay-{i}"), now=now)


def _staff(store: Any, role: str, now: datetime) -> str:
    """A back-office user of ``role`` with the authenticator enrolled: its admin token."""
    import pyotp

    from shared.services import admin_mfa, admins

    email = f"bench-{role}@shop.example"
    admins.create_admin(store, email=email, password="bench-password-1", roles=[role], now=now, replace=True)
    secret = admin_mfa.setup_totp(store, email=email, now=now).secret
    admin_mfa.confirm_totp(store, email=email, code=pyotp.TOTP(secret).at(now, counter_offset=-1), now=now)
    return admins.login(store, email=email, password="bench-password-1", otp=pyotp.TOTP(secret).at(now), now=now).token


def console_section(client: Any, store: Any, config: Any, urls: dict[str, str], floor_read: Any) -> dict:
    from bench.run import bulk_write_methods
    from shared.platform import tokens
    from shared.services import admins, console_sessions, report_snapshots

    began = time.perf_counter()
    now = datetime.now(timezone.utc)
    section: dict = {"customers": CUSTOMERS, "postings": CUSTOMERS * POSTINGS_PER_CUSTOMER, "samples": SAMPLES}
    t = time.perf_counter()
    accounts, postings = _build(config, now)
    raw = _raw_docs(now)
    section["build_s"] = round(time.perf_counter() - t, 1)
    write = bulk_write_methods(client)["WriteBatch of 500, 8 commits in flight"]
    t = time.perf_counter()
    write(accounts, "customers")
    write(postings, "customers")
    for collection, docs in raw.items():
        write(docs, collection)
    section["seed"] = {"documents": len(accounts) + len(postings) + sum(len(d) for d in raw.values()), "s": round(time.perf_counter() - t, 1), "method": "WriteBatch of 500, 8 commits in flight"}
    del accounts, postings, raw
    _flag_orders(store, config, now)
    t = time.perf_counter()
    snap = report_snapshots.take_snapshot(store, config=config, now=now, batch=200, max_pages=100)
    section["snapshot"] = {"accounts": snap["snapshot_accounts"], "complete": snap["snapshot_complete"], "s": round(time.perf_counter() - t, 1)}
    print("console seed", section["seed"], section["snapshot"], flush=True)

    tokens_by_role = {role: _staff(store, role, now) for role in ("manager", "accountant")}
    cookies = {}
    for role, token in tokens_by_role.items():
        claims = tokens.verify(admins.token_secret(), token, now=now, kind=admins.TOKEN_KIND)
        expires = datetime.fromtimestamp(int(claims["exp"]), tz=timezone.utc)
        cookies[role] = console_sessions.start(store, token=token, email=f"bench-{role}@shop.example", expires_at=expires, now=now)
    since = (now - timedelta(days=30)).date().isoformat()
    screens = [  # (name, role, console method + path, the admin API call answering the same use case)
        ("overview (dashboards)", "accountant", ("GET", "/"), ("POST", "/reports/dashboard", {})),
        ("payouts: waiting", "manager", ("GET", "/payouts"), ("POST", "/payouts/search", {"status": "requested"})),
        ("payouts: approved", "manager", ("GET", "/payouts?status=approved"), ("POST", "/payouts/search", {"status": "approved"})),
        ("one payout request", "manager", ("GET", "/payouts/bench-payout-00007"), ("GET", "/payouts/bench-payout-00007", None)),
        ("bank's batch (CSV, 200 rows)", "manager", ("POST", "/payouts/export"), ("POST", "/payouts/export", {})),
        ("audit log", "accountant", ("GET", "/audit"), ("POST", "/audit/search", {})),
        ("audit log, filtered (action, 30 days)", "accountant", ("GET", f"/audit?action=payout.&date_from={since}"), ("POST", "/audit/search", {"action": "payout.", "date_from": since})),
        ("flagged orders", "manager", ("GET", "/orders/flagged"), ("POST", "/orders/flagged", {})),
    ]
    floor = _time(floor_read)
    rows = {}
    with httpx.Client(timeout=60) as http:
        for name, role, (method, path), (api_method, api_path, body) in screens:
            cookie = {"Cookie": f"{console_sessions.COOKIE}={cookies[role]}"}
            csrf = console_sessions.csrf_token(cookies[role])

            def page(method: str = method, path: str = path, cookie: dict = cookie, csrf: str = csrf) -> None:
                r = http.request(method, urls["console"] + path, headers=cookie, data={"csrf": csrf} if method == "POST" else None)
                if r.status_code != 200:
                    raise RuntimeError(f"console {path} {r.status_code}: {r.text[:300]}")

            def api(role: str = role, api_method: str = api_method, api_path: str = api_path, body: Any = body) -> None:
                r = http.request(api_method, urls["admin"] + api_path, headers={"Authorization": "Bearer " + tokens_by_role[role]}, json=body)
                if r.status_code != 200:
                    raise RuntimeError(f"admin {api_path} {r.status_code}: {r.text[:300]}")

            api_row, page_row = _time(api), _time(page)
            rows[name] = {"role": role, "path": f"{method} {path}", "api": f"{api_method} {api_path}", "page": page_row, "api_call": api_row,
                          "x_api": round(page_row["p50_ms"] / api_row["p50_ms"], 2), "x_read": round(page_row["p50_ms"] / floor["p50_ms"], 1)}
            print("console", name, rows[name], flush=True)
    section.update(floor_read=floor, screens=rows, wall_s=round(time.perf_counter() - began, 1))
    return section


def target_rows(section: dict) -> list[dict]:
    from bench.run import mark

    rows = []
    for name, row in section["screens"].items():
        p50 = row["page"]["p50_ms"]
        rows.append({"target": f"console {name} p50 < {PAGE_TARGET_MS} ms", "value": p50, "limit": PAGE_TARGET_MS, "status": mark(p50, PAGE_TARGET_MS)})
        rows.append({"target": f"console {name} p50 <= {API_RATIO_TARGET}x its admin API call", "value": row["x_api"], "limit": API_RATIO_TARGET, "status": mark(row["x_api"], API_RATIO_TARGET)})
    return rows


def markdown_lines(section: dict) -> list[str]:
    fl = section["floor_read"]
    out = ["", f"## Console screens on {section['customers']:,} customers and {section['postings']:,} postings", "",
           f"Seeded in {section['seed']['s']} s ({section['seed']['documents']:,} documents, {section['seed']['method']}; built in {section['build_s']} s, untimed): "
           f"the accounts and their postings, {AUDIT_RECORDS:,} audit records, 1,000 payout requests (300 waiting, 200 approved), {SNAPSHOT_DAYS} daily snapshots, "
           f"{FLAGGED_ORDERS} flagged orders. Today's snapshot: the sweep's pass over {section['snapshot']['accounts']:,} accounts took {section['snapshot']['s']} s "
           f"(complete: {bool(section['snapshot']['complete'])}).", "",
           f"Each screen over HTTP as a signed-in browser asks for it, {section['samples']} sequential requests after a warm-up, beside the admin JSON API call that answers "
           f"the same use case and one small-document read (p50 {fl['p50_ms']} ms).", "",
           "| screen | role | console request | p50 ms | p99 ms | admin API call | API p50 ms | page / API | page / one read |", "|---|---|---|---|---|---|---|---|---|"]
    for name, row in section["screens"].items():
        page, api = row["page"], row["api_call"]
        out.append(f"| {name} | {row['role']} | `{row['path']}` | {page['p50_ms']} | {page['p99_ms']} | `{row['api']}` | {api['p50_ms']} | {row['x_api']} | {row['x_read']} |")
    out += ["", f"Section wall time {section['wall_s']} s."]
    return out


#: what a screen does beyond the admin API call it is compared with
EXTRA_WORK = {
    "one payout request": "the pending approvals, read to show whether its approval waits for a second manager",
    "overview (dashboards)": "five SVG charts and their tables",
}


def why_lines(section: dict, missed: set[str]) -> list[str]:
    lines = []
    for name, row in section["screens"].items():
        for target in (f"console {name} p50 < {PAGE_TARGET_MS} ms", f"console {name} p50 <= {API_RATIO_TARGET}x its admin API call"):
            if target not in missed:
                continue
            extra = round(row["page"]["p50_ms"] - row["api_call"]["p50_ms"], 1)
            lines.append(
                f"* **{target}** ({row['page']['p50_ms']} ms against the API's {row['api_call']['p50_ms']} ms): the page costs {extra} ms more — its session "
                f"(console_sessions/{{key}} and the admin's account read on every request, as the API's token check reads the account), the template"
                + (f", and {EXTRA_WORK[name]}" if name in EXTRA_WORK else "") + "; against a call this short, that fixed cost is a large share.")
    return lines


def patch_report(text: str, r: dict) -> str:
    """RESULTS.md with only this section's parts replaced (its table, its target rows, its reasons):
    the rest of the report, and what was written into it by hand, stays as the last full run left it."""
    lines = text.split("\n")
    mine = markdown_lines(r["console"])[1:]
    alone = (r.get("meta") or {}).get("alone") or {}
    mine.append(f"(This section was run alone, {alone.get('started')} — `KOPILKA_BENCH_SECTIONS=console`; the other sections' figures are from the run above.)")
    lines = [line for line in lines if not line.startswith(("| console ", "* **console "))]
    if any(line.startswith("## Console screens") for line in lines):
        a = next(i for i, line in enumerate(lines) if line.startswith("## Console screens"))
        b = next(i for i in range(a + 1, len(lines)) if lines[i].startswith("## "))
        lines[a:b] = [*mine, ""]
    else:
        t = next(i for i, line in enumerate(lines) if line.startswith("## Targets"))
        lines[t:t] = [*mine, ""]
    w = next(i for i, line in enumerate(lines) if line.startswith("## Why the missed"))
    end = w - 1
    while not lines[end].strip():
        end -= 1
    lines[end + 1:end + 1] = [f"| {t['target']} | {t['value']} | {t['limit']} | {t['status']} |" for t in target_rows(r["console"])]
    w = next(i for i, line in enumerate(lines) if line.startswith("## Why the missed"))
    missed = {t["target"] for t in target_rows(r["console"]) if t["status"] == "missed"}
    reasons = why_lines(r["console"], missed)
    if reasons and lines[w + 2].startswith("Every target"):
        lines[w + 2] = "Every target of the sections of the full run above is met. Of the console section, run alone since:"
        lines[w + 3:w + 3] = ["", *reasons]
    else:
        lines[w + 2:w + 2] = reasons
    return "\n".join(line for i, line in enumerate(lines) if line.strip() or i == 0 or lines[i - 1].strip())  # no blank line doubled
