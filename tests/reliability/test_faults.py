"""Store faults at every step of the main use cases (Firestore emulator).

For each use case a fault-free run counts its steps (unit-of-work reads and
commits, see ``faults.py``); then, for every step k, the use case runs with
a fault injected at k:

* a blip (Aborted / DeadlineExceeded / ServiceUnavailable in turn) that the
  store's retries absorb: the call succeeds;
* a commit that is applied but whose answer is lost: the retry re-runs an
  already-stored unit, which must not apply twice;
* a fault that persists from step k on: the call raises ``Retryable`` and
  nothing else.

After each: no partial writes (if no commit reached the store, every document
is as before; in any case every ledger folds to its stored account), and
running the call again without faults ends in exactly the state of a
fault-free run (the call made twice: a redelivery changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from shared.adapters.firestore_store import FirestoreStore
from shared.domain.cart import CartLine
from shared.domain.catalog import SourceRow
from shared.domain.config import ProgramConfig
from shared.domain.errors import Retryable
from shared.presets import preset_data
from shared.services import account_sweep, catalog_import, orders, registration
from shared.services.ledger import audit_account

from .faults import FAULTS, FaultyStore, snapshot

CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]
CONFIG = ProgramConfig.model_validate(preset_data("biomiq"))
CUSTOMERS = ("anna", "maria")


def _register(store, now):
    registration.register_customer(store, config=CONFIG, customer_id="anna", now=now)
    registration.register_customer(store, config=CONFIG, customer_id="maria", invited_by="anna", now=now)


def _place(store, now):
    return orders.place_order(store, config=CONFIG, customer_id="maria", order_id="M1", lines=CART, bonuses=300, now=now)


def _pay(store, now):
    order = orders.get_order(store, "M1")
    payment = orders.PaymentRef(provider="test", id="p-M1", amount=order.money_to_pay)
    return orders.mark_paid(store, config=CONFIG, order_id="M1", payment=payment, now=now + timedelta(minutes=1))


def _deliver(store, now):
    return orders.mark_delivered(store, config=CONFIG, order_id="M1", delivered_at=now + timedelta(days=3), now=now + timedelta(days=3), carrier="test")


def _return(store, now):
    return orders.mark_returned(store, config=CONFIG, order_id="M1", return_id="r1", returns={"cream": 1}, now=now + timedelta(days=5))


def _sweep(store, now):
    # long after: maria's reservation is stale and the welcome bonuses have expired
    return account_sweep.sweep_account(store, config=CONFIG, customer_id="maria", now=now + timedelta(days=800))


def _import(store, now):
    rows = [SourceRow(row=2, uid="1001", name="Сыворотка", price="1900", sku="S-1"), SourceRow(row=3, uid="1002", name="Крем", price="600", external_id="c-2"), SourceRow(row=4, uid="", price="1")]
    return catalog_import.apply(store, CONFIG, rows, source="csv", actor="m@shop.example", now=now)


# Found by this suite (not fixed here: reported). orders.mark_delivered commits the
# "delivered" transition, then credits the partner's reward in a second transaction.
# If the first commit is applied but its answer is lost, or the partner's transaction
# runs out of retries (Retryable), or the instance dies between the two, the retry and every redelivery see status "delivered" and return early
# (book None): the partner's reward is never credited by mark_delivered and the order's
# event keeps referral_reward=None. mark_returned redoes its lost partner step; this does not.
KNOWN_BUGS: dict[str, str] = {}  # use case -> a known defect; empty: every case must hold


@dataclass
class Case:
    name: str
    setup: list[Callable[[Any, Any], Any]]
    call: Callable[[Any, Any], Any]


CASES = [
    Case("register_customer", [lambda s, n: registration.register_customer(s, config=CONFIG, customer_id="anna", now=n)],
         lambda s, n: registration.register_customer(s, config=CONFIG, customer_id="maria", invited_by="anna", now=n)),
    Case("place_order", [_register], _place),
    Case("mark_paid", [_register, _place], _pay),
    Case("mark_delivered", [_register, _place, _pay], _deliver),
    Case("mark_returned", [_register, _place, _pay, _deliver], _return),
    Case("sweep_account", [_register, _place], _sweep),
    Case("catalog_import", [], _import),
]


def _fresh(firestore_store, case: Case, now) -> dict[str, dict[str, Any]]:
    firestore_store.reset()
    for step in case.setup:
        step(firestore_store, now)
    return snapshot(firestore_store.client)


def _ledgers_sound(store) -> None:
    for customer in CUSTOMERS:
        assert audit_account(store, customer) == [], customer


def _variants(n_steps: int, commits: set[int]):
    for k in range(1, n_steps + 1):
        yield k, dict(fault=FAULTS[k % len(FAULTS)])
        if k in commits:
            yield k, dict(fault=gexc_deadline(), lost_commit=True)
        yield k, dict(fault=FAULTS[(k + 1) % len(FAULTS)], sticky=True)


def gexc_deadline():
    from google.api_core import exceptions as gexc

    return gexc.DeadlineExceeded


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_fault_at_any_step_is_retried_or_retryable_and_never_half_done(firestore_store, now, case):
    client = firestore_store.client

    # the fault-free run: its steps, and the state after the call and its redelivery
    _fresh(firestore_store, case, now)
    probe = FaultyStore(client)
    case.call(probe, now)
    case.call(FirestoreStore(client), now)
    expected = snapshot(client)
    steps = probe.steps
    commits = {i + 1 for i, (kind, _) in enumerate(steps) if kind == "commit"}
    assert steps and commits, "the use case should read and commit"

    outcomes, diverged = [], []
    for k, options in _variants(len(steps), commits):
        label = f"{case.name} step {k}/{len(steps)} {steps[k - 1]} {options}"
        before = _fresh(firestore_store, case, now)
        faulty = FaultyStore(client, at=k, **options)
        try:
            case.call(faulty, now)
            failed = False
        except Retryable:
            failed = True
        except Exception as exc:  # anything else is a finding
            pytest.fail(f"{label}: raised {type(exc).__name__}: {exc}")
        assert faulty.injected, f"{label}: no fault was injected"
        if options.get("sticky"):
            assert failed, f"{label}: a persistent fault must end in Retryable"
        elif not options.get("sticky"):
            assert not failed, f"{label}: a single blip must be absorbed by the retries"
        if failed and faulty.applied_commits == 0:
            assert snapshot(client) == before, f"{label}: failed without a commit, yet documents changed"
        _ledgers_sound(firestore_store)

        case.call(FirestoreStore(client), now)  # the redelivery, fault-free
        after = snapshot(client)
        if after != expected:
            diff = sorted(p for p in set(after) | set(expected) if after.get(p) != expected.get(p))
            diverged.append((faulty.applied_commits > 0, f"{label}: after a fault-free rerun the state differs from a fault-free run at {diff}"))
        outcomes.append((k, failed))
    assert outcomes
    unknown = [msg for after_commit, msg in diverged if not (after_commit and case.name in KNOWN_BUGS)]
    assert not unknown, "\n".join(unknown)
    if diverged:
        pytest.xfail(KNOWN_BUGS[case.name] + "\n" + "\n".join(msg for _, msg in diverged))
