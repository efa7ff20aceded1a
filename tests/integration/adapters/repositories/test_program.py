"""Contract of the program, promo code, payout, sweep cursor and admin repositories, on both stores.

Each round-trips its domain object and stores exactly the document the data
model describes (read back raw through the unit of work)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from msgspec.structs import replace

from shared.adapters import layout
from shared.domain.admins import AdminAccount, PasswordHash, Role
from shared.domain.cart import PromoRule
from shared.domain.config import ConfigVersion
from shared.domain.mfa import Totp
from shared.domain.payouts import PayoutEvent, PayoutMethod, PayoutRequest, PayoutStatus
from shared.domain.program import ProgramHead, Publication, VersionRef
from shared.domain.promos import PromoCode, PromoKind, PromoUse
from shared.domain.sweeps import OpenPass, SweepCursor
from shared.presets import load_preset


def raw(store, path):
    return store.read(lambda uow: uow.get(path))


# --- the program -----------------------------------------------------------------------------


def test_program_head_versions_and_publications_round_trip_in_todays_shape(store, now):
    assert store.read(lambda uow: uow.programs.head("biomiq")) is None
    assert store.read(lambda uow: uow.programs.version("biomiq", 1)) is None
    config = load_preset("biomiq")
    version = ConfigVersion(version=1, effective_from=now, config=config, author="marketer", reason="launch", created_at=now)
    head = ProgramHead("biomiq").with_version(VersionRef(1, now)).with_version(VersionRef(2, now + timedelta(days=3)))
    first = Publication(actor="marketer", at=now, version=1, effective_from=now, reason="launch", changed=("hold_days", "levels"))
    second = Publication(actor="olga", at=now, version=2, effective_from=now + timedelta(days=3), reason="later", changed=())

    def write(uow):
        uow.programs.create_version("biomiq", version)
        uow.programs.put_head(head)
        uow.programs.create_publication("biomiq", first)
        uow.programs.create_publication("biomiq", second)

    store.run(write)
    assert store.read(lambda uow: uow.programs.head("biomiq")) == head
    assert head.in_force(now + timedelta(days=1)) == VersionRef(1, now) and head.scheduled(now) == (VersionRef(2, now + timedelta(days=3)),)
    assert store.read(lambda uow: uow.programs.version("biomiq", 1)) == version
    assert store.read(lambda uow: uow.programs.publications("biomiq", limit=10)) == [second, first]
    assert store.read(lambda uow: uow.programs.publications("biomiq", limit=1)) == [second]
    assert raw(store, "programs/biomiq") == {"program": "biomiq", "versions": [{"version": 1, "effective_from": now}, {"version": 2, "effective_from": now + timedelta(days=3)}]}
    assert raw(store, "programs/biomiq/versions/1") == {
        "version": 1,
        "effective_from": now,
        "config": config.model_dump(mode="json"),
        "author": "marketer",
        "reason": "launch",
        "created_at": now,
    }
    assert raw(store, "programs/biomiq/audit/v000001") == {
        "action": "config.publish",
        "actor": "marketer",
        "at": now,
        "version": 1,
        "effective_from": now,
        "reason": "launch",
        "changed": ["hold_days", "levels"],
    }


# --- promo codes ----------------------------------------------------------------------------


def _discount(now, **changes):
    rule = PromoRule(code="SPRING10", kind="percent", percent=Decimal(10))
    base = {"code": "SPRING10", "kind": PromoKind.DISCOUNT, "rule": rule, "partner_id": None, "active": True, "total_limit": 100, "per_customer_limit": 1, "uses": 0, "created_at": now}
    return PromoCode(**{**base, **changes})


def test_a_promo_code_and_its_uses_round_trip_in_todays_shape(store, now):
    assert store.read(lambda uow: uow.promos.get("SPRING10")) is None
    assert store.read(lambda uow: uow.promos.use("SPRING10", "maria")) is None
    code = _discount(now)
    store.run(lambda uow: uow.promos.create(code))
    assert store.read(lambda uow: uow.promos.get("SPRING10")) == code
    assert raw(store, layout.promo_code("SPRING10")) == {
        "code": "SPRING10",
        "kind": "discount",
        "rule": code.rule.model_dump(mode="json"),
        "partner_id": None,
        "active": True,
        "total_limit": 100,
        "per_customer_limit": 1,
        "uses": 0,
        "created_at": now,
    }
    later = now + timedelta(hours=1)
    use = PromoUse("SPRING10", "maria").with_order("o-1", later)
    store.run(lambda uow: (uow.promos.save(code.used(later)), uow.promos.save_use(use)))
    assert store.read(lambda uow: uow.promos.get("SPRING10")) == code.used(later)
    assert raw(store, layout.promo_code("SPRING10"))["uses"] == 1 and raw(store, layout.promo_code("SPRING10"))["last_used_at"] == later
    assert store.read(lambda uow: uow.promos.use("SPRING10", "maria")) == use
    assert raw(store, "promo_codes/SPRING10/customers/maria") == {"code": "SPRING10", "customer_id": "maria", "orders": ["o-1"], "updated_at": later}
    off = code.used(later).deactivated("olga@shop.example", later)
    store.run(lambda uow: uow.promos.save(off))
    assert store.read(lambda uow: uow.promos.get("SPRING10")) == off
    stored = raw(store, layout.promo_code("SPRING10"))
    assert {k: stored[k] for k in ("active", "deactivated_at", "deactivated_by")} == {"active": False, "deactivated_at": later, "deactivated_by": "olga@shop.example"}


def test_a_partners_code_and_a_damaged_rule_are_stored_as_they_are(store, now):
    partner = PromoCode(code="MARIA-2026", kind=PromoKind.PARTNER, rule=None, partner_id="maria", active=True, total_limit=None, per_customer_limit=None, uses=0, created_at=now)
    store.run(lambda uow: uow.promos.create(partner))
    assert raw(store, layout.promo_code("MARIA-2026")) == {
        "code": "MARIA-2026",
        "kind": "partner",
        "rule": None,
        "partner_id": "maria",
        "active": True,
        "total_limit": None,
        "per_customer_limit": None,
        "uses": 0,
        "created_at": now,
    }
    damaged = {**raw(store, layout.promo_code("MARIA-2026")), "code": "BROKEN", "kind": "discount", "partner_id": None, "rule": {"kind": "nonsense"}, "uses": 2}
    store.run(lambda uow: uow.put(layout.promo_code("BROKEN"), damaged))
    read = store.read(lambda uow: uow.promos.get("BROKEN"))
    assert read is not None and read.rule is None and not read.is_discount
    store.run(lambda uow: uow.promos.save(read.given_back()))
    assert raw(store, layout.promo_code("BROKEN")) == {**damaged, "uses": 1}  # the damaged rule stays as stored


def test_promo_pages_list_codes_and_their_customers_in_order(store, now):
    for name in ("B1", "A1", "C1"):
        store.run(lambda uow, name=name: uow.promos.create(_discount(now, code=name, rule=PromoRule(code=name, kind="fixed", fixed=1000))))
    for customer in ("zoe", "anna", "ivan"):
        store.run(lambda uow, customer=customer: uow.promos.save_use(PromoUse("A1", customer).with_order(f"o-{customer}", now)))
    assert [c.code for c in store.read(lambda uow: uow.promos.page(limit=2))] == ["A1", "B1"]
    assert [c.code for c in store.read(lambda uow: uow.promos.page(limit=2, after="B1"))] == ["C1"]
    assert [u.customer_id for u in store.read(lambda uow: uow.promos.uses("A1", limit=2))] == ["anna", "ivan"]
    assert [u.orders for u in store.read(lambda uow: uow.promos.uses("A1", limit=5, after="ivan"))] == [("o-zoe",)]


# --- payout requests -------------------------------------------------------------------------


def test_a_payout_request_round_trips_through_its_steps_in_todays_shape(store, now):
    assert store.read(lambda uow: uow.payouts.get("payout-0001")) is None
    requested = PayoutRequest.new(request_id="payout-0001", customer_id="maria", amount=600, method=PayoutMethod.CARD, details="**** 4242", now=now)
    store.run(lambda uow: uow.payouts.create(requested))
    assert store.read(lambda uow: uow.payouts.get("payout-0001")) == requested
    stored = {
        "request_id": "payout-0001",
        "customer_id": "maria",
        "amount": 600,
        "method": "card",
        "details": "**** 4242",
        "status": "requested",
        "created_at": now,
        "updated_at": now,
        "history": [{"status": "requested", "at": now, "actor": "maria", "reason": None}],
    }
    assert raw(store, layout.payout("payout-0001")) == stored
    decided_at, paid_at = now + timedelta(hours=1), now + timedelta(hours=2)
    approved = requested.decided(PayoutStatus.APPROVED, by="manager@shop", reason=None, now=decided_at)
    store.run(lambda uow: uow.payouts.put(approved))
    assert store.read(lambda uow: uow.payouts.get("payout-0001")) == approved
    assert raw(store, layout.payout("payout-0001")) == {
        **stored,
        "status": "approved",
        "updated_at": decided_at,
        "decided_by": "manager@shop",
        "decided_at": decided_at,
        "reason": None,
        "history": [*stored["history"], {"status": "approved", "at": decided_at, "actor": "manager@shop", "reason": None}],
    }
    paid = approved.paid(by="accountant@shop", now=paid_at)
    store.run(lambda uow: uow.payouts.put(paid))
    assert store.read(lambda uow: uow.payouts.get("payout-0001")) == paid
    document = raw(store, layout.payout("payout-0001"))
    assert (document["status"], document["paid_by"], document["paid_at"], document["updated_at"]) == ("paid", "accountant@shop", paid_at, paid_at)
    assert document["history"][-1] == {"status": "paid", "at": paid_at, "actor": "accountant@shop", "reason": None}
    assert paid.history[-1] == PayoutEvent(PayoutStatus.PAID, paid_at, "accountant@shop")


def test_payout_requests_are_found_by_partner_and_by_status(store, now):
    for request_id, customer in (("req-00000003", "maria"), ("req-00000001", "maria"), ("req-00000002", "ivan")):
        request = PayoutRequest.new(request_id=request_id, customer_id=customer, amount=500, method=PayoutMethod.SBP, details="+7 *** ***-12-34", now=now)
        store.run(lambda uow, request=request: uow.payouts.create(request))
    rejected = store.read(lambda uow: uow.payouts.get("req-00000002")).decided(PayoutStatus.REJECTED, by="m", reason="wrong details", now=now)
    store.run(lambda uow: uow.payouts.put(rejected))
    assert store.read(lambda uow: uow.payouts.ids_of_customer("maria", limit=5)) == ["req-00000001", "req-00000003"]
    assert store.read(lambda uow: uow.payouts.ids_of_customer("maria", limit=5, after="req-00000001")) == ["req-00000003"]
    assert store.read(lambda uow: uow.payouts.ids_with_status(PayoutStatus.REQUESTED, limit=5)) == ["req-00000001", "req-00000003"]
    assert store.read(lambda uow: uow.payouts.ids_with_status(PayoutStatus.REJECTED, limit=5)) == ["req-00000002"]
    found = store.read(lambda uow: uow.payouts.get_many(["req-00000003", "missing-0001", "req-00000002"]))
    assert [(r.request_id, r.status, r.reason) for r in found] == [("req-00000003", PayoutStatus.REQUESTED, None), ("req-00000002", PayoutStatus.REJECTED, "wrong details")]


# --- sweep cursors ---------------------------------------------------------------------------


def test_a_sweep_cursor_round_trips_its_pass_in_todays_shape(store, now):
    assert store.read(lambda uow: uow.cursors.get("expiry")) is None
    started = OpenPass(id="p1", scope="2026-03-01", after=None, started_at=now, updated_at=now)
    opened = SweepCursor("expiry").opened(started)
    store.run(lambda uow: uow.cursors.put(opened))
    assert store.read(lambda uow: uow.cursors.get("expiry")) == opened
    assert raw(store, layout.sweep("expiry")) == {"name": "expiry", "passes": 0, "pass": {"id": "p1", "scope": "2026-03-01", "after": None, "started_at": now, "updated_at": now}}
    later = now + timedelta(minutes=1)
    moved = opened.advanced((now, "c1"), later)
    store.run(lambda uow: uow.cursors.put(moved))
    assert store.read(lambda uow: uow.cursors.get("expiry")) == moved
    assert raw(store, layout.sweep("expiry"))["pass"] == {"id": "p1", "scope": "2026-03-01", "after": [now, "c1"], "started_at": now, "updated_at": later}
    closed = moved.closed(later)
    store.run(lambda uow: uow.cursors.put(closed))
    assert store.read(lambda uow: uow.cursors.get("expiry")) == closed
    assert raw(store, layout.sweep("expiry")) == {"name": "expiry", "passes": 1, "pass": None, "completed_at": later, "completed_scope": "2026-03-01"}


def test_a_watermark_is_stored_without_passes(store, now):
    mark = SweepCursor("order_timeouts", passes=None).watermark_raised((now, "tilda-1"), now)
    store.run(lambda uow: uow.cursors.put(mark))
    assert store.read(lambda uow: uow.cursors.get("order_timeouts")) == mark
    assert raw(store, layout.sweep("order_timeouts")) == {"name": "order_timeouts", "after": [now, "tilda-1"], "updated_at": now}


# --- admin accounts --------------------------------------------------------------------------


def test_an_admin_account_round_trips_in_todays_shape(store, now):
    assert store.read(lambda uow: uow.admins.get("olga@shop.example")) is None
    password = PasswordHash(salt="00" * 16, hash="ab" * 32, n=2**14, r=8, p=1, algo="scrypt")  # a hash of before Argon2id
    account = AdminAccount(
        email="olga@shop.example",
        password=password,
        roles=(Role.ACCOUNTANT, Role.MARKETER),
        active=True,
        epoch=0,
        failed_logins=0,
        locked_until=None,
        created_at=now,
        updated_at=now,
    )
    store.run(lambda uow: uow.admins.put(account))
    assert store.read(lambda uow: uow.admins.get("olga@shop.example")) == account
    stored = {
        "email": "olga@shop.example",
        "password": {"algo": "scrypt", "n": 2**14, "r": 8, "p": 1, "salt": "00" * 16, "hash": "ab" * 32},
        "roles": ["accountant", "marketer"],
        "active": True,
        "epoch": 0,
        "failed_logins": 0,
        "locked_until": None,
        "created_at": now,
        "updated_at": now,
    }
    assert raw(store, layout.admin("olga@shop.example")) == stored
    locked = account.failed_login(now)
    store.run(lambda uow: uow.admins.put(locked))
    assert raw(store, layout.admin("olga@shop.example")) == {**stored, "failed_logins": 1}
    back = locked.logged_in(now + timedelta(minutes=20))
    store.run(lambda uow: uow.admins.put(back))
    assert store.read(lambda uow: uow.admins.get("olga@shop.example")) == back
    assert raw(store, layout.admin("olga@shop.example")) == {**stored, "last_login_at": now + timedelta(minutes=20)}
    enrolled = replace(
        back,
        password=PasswordHash(hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"),
        totp=Totp(secret="JBSWY3DPEHPK3PXP", created_at=now, confirmed_at=now, last_step=12345),
        recovery_codes=("f" * 64,),
    )
    store.run(lambda uow: uow.admins.put(enrolled))
    assert store.read(lambda uow: uow.admins.get("olga@shop.example")) == enrolled
    assert raw(store, layout.admin("olga@shop.example"))["password"] == {"algo": "argon2id", "hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}
    assert raw(store, layout.admin("olga@shop.example"))["totp"] == {"secret": "JBSWY3DPEHPK3PXP", "created_at": now, "confirmed_at": now, "last_step": 12345}
