"""The production ledger audit (scripts/ledger_audit.py) on the emulator: sound data passes, tampering is named."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scripts import ledger_audit
from shared.domain.cart import CartLine
from shared.domain.config import ProgramConfig
from shared.presets import preset_data
from shared.services import orders, registration

CART = [CartLine(id="serum", price=190000, quantity=1), CartLine(id="cream", price=60000, quantity=2)]


@pytest.fixture
def populated(firestore_store, now):
    config = ProgramConfig.model_validate(preset_data("biomiq"))
    for customer in ("anna", "boris"):
        registration.register_customer(firestore_store, config=config, customer_id=customer, now=now)
    registration.register_customer(firestore_store, config=config, customer_id="maria", invited_by="anna", now=now)
    order, _ = orders.place_order(firestore_store, config=config, customer_id="boris", order_id="B1", lines=CART, bonuses=0, now=now)
    payment = orders.PaymentRef(provider="test", id="p-B1", amount=order.money_to_pay)
    orders.mark_paid(firestore_store, config=config, order_id="B1", payment=payment, now=now + timedelta(minutes=1))
    orders.mark_delivered(firestore_store, config=config, order_id="B1", delivered_at=now + timedelta(days=2), now=now + timedelta(days=2), carrier="test")
    return firestore_store


def test_a_sound_store_passes(populated, capsys):
    assert ledger_audit.main([], store=populated) == 0
    out = capsys.readouterr().out
    assert "accounts checked: 3" in out and "problems: 0" in out and "ledger audit: OK" in out
    postings = int(out.split("postings read: ")[1].split(",")[0])
    assert postings >= 6  # open + welcome for each, boris's purchase and accrual


def test_one_customer_and_limit(populated, capsys):
    assert ledger_audit.main(["--customer", "boris"], store=populated) == 0
    assert "accounts checked: 1" in capsys.readouterr().out
    assert ledger_audit.main(["--limit", "2"], store=populated) == 0
    assert "accounts checked: 2" in capsys.readouterr().out


def test_an_empty_store_passes(firestore_store, capsys):
    assert ledger_audit.main([], store=firestore_store) == 0
    assert "accounts checked: 0" in capsys.readouterr().out


def test_a_tampered_lot_is_detected_and_the_customer_named(populated, capsys):
    doc = populated.client.document("customers/maria")
    data = doc.get().to_dict()
    lot_id = next(iter(data["lots"]))
    doc.update({f"lots.`{lot_id}`.remaining": data["lots"][lot_id]["remaining"] + 1})  # more than the lot's amount

    assert ledger_audit.main([], store=populated) == 1
    out = capsys.readouterr().out
    problems = [line for line in out.splitlines() if line.startswith("PROBLEM")]
    assert problems and all("maria" in line for line in problems)
    assert any("stored lots differs from the fold" in line for line in problems)
    assert any(f"lot {lot_id}" in line for line in problems)  # the invariant names the lot
    assert "ledger audit: FAILED" in out
    # the others still pass on their own
    assert ledger_audit.main(["--customer", "anna", "--customer", "boris"], store=populated) == 0


def test_a_lowered_remaining_is_a_fold_mismatch_only(populated, capsys):
    doc = populated.client.document("customers/anna")
    data = doc.get().to_dict()
    lot_id = next(iter(data["lots"]))
    doc.update({f"lots.`{lot_id}`.remaining": 1})  # still within (0, amount]: only the fold shows it

    assert ledger_audit.main([], store=populated) == 1
    problems = [line for line in capsys.readouterr().out.splitlines() if line.startswith("PROBLEM")]
    assert problems == ["PROBLEM anna: stored lots differs from the fold of its postings"]


def test_the_command_line_runs_against_the_emulator(populated):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    run = subprocess.run([sys.executable, "-m", "scripts.ledger_audit"], cwd=root, capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "accounts checked: 3" in run.stdout
