"""`make demo` without the Firestore emulator: the whole story on the in-memory store, said in one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEPS = 11  # numbered steps of the story, the ledger audit last


def run_demo(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """scripts/demo.py in a fresh interpreter whose PATH holds neither gcloud nor java."""
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    base = {"PATH": str(empty), "HOME": str(tmp_path), "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "scripts.demo", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=300)


def check_story(out: str) -> None:
    titles = re.findall(r"^(\d+)\. ", out, re.M)
    assert [int(t) for t in titles] == list(range(1, STEPS + 1)), out
    assert "(in-memory store)" in out.splitlines()[1]
    assert "the same body from a non-YooKassa address is refused: HTTP 403" in out
    assert re.search(r"answer: \{'outcome': 'applied', 'order_id': 'anna:B-1003', 'status': 'delivered'", out)
    assert re.search(r"^   maria  total   710 \| available   710 ", out, re.M), "Maria's 10 % reward reached her after the hold"
    assert out.rstrip().endswith("Ledger audit: every stored balance equals the fold of its entries\n   OK")


def test_without_gcloud_or_java_the_demo_says_so_once_and_plays_the_story_in_memory(tmp_path: Path) -> None:
    result = run_demo(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    memory = [line for line in lines if "in-memory store;" in line]
    assert memory == [lines[0]] == ["kopilka demo: no Firestore emulator here (gcloud not found), so the story runs on the in-memory store; nothing is kept."]
    assert "Traceback" not in result.stderr and '"severity"' not in result.stdout  # no function log lines in the story
    check_story(result.stdout)


def test_kopilka_store_memory_asks_for_the_in_memory_store_even_where_the_emulator_could_run(tmp_path: Path) -> None:
    gcloud = tmp_path / "bin" / "gcloud"
    gcloud.parent.mkdir()
    gcloud.write_text("#!/bin/sh\nexit 1\n")  # would be found first: the demo must not reach for it
    gcloud.chmod(0o755)
    result = run_demo(tmp_path, KOPILKA_STORE="memory", FIRESTORE_EMULATOR_HOST=os.environ.get("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == "kopilka demo: KOPILKA_STORE=memory, so the story runs on the in-memory store; nothing is kept."
    check_story(result.stdout)
