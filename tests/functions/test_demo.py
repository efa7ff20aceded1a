"""`make demo` without the Firestore emulator: the whole story on the in-memory store, said in one line;
over HTTP where no browser is found, else in headless Chromium on the demo shop page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEPS = 11  # numbered steps of the story over HTTP, the ledger audit last
BROWSER_STEPS = 12  # in the browser the shop's manager also opens the back-office console
NO_BROWSER = {"KOPILKA_CHROMIUM": "/nonexistent"}
OVER_HTTP = "kopilka demo: no browser at /nonexistent, so the story plays over HTTP, each call made as the shop's scripts and the providers make it."


def run_demo(tmp_path: Path, *args: str, timeout: int = 300, **env: str) -> subprocess.CompletedProcess[str]:
    """scripts/demo.py in a fresh interpreter whose PATH holds neither gcloud nor java (and, unless
    ``env`` says otherwise, that finds no browser)."""
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    base = {"PATH": str(empty), "HOME": str(tmp_path), "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT), **NO_BROWSER}
    return subprocess.run([sys.executable, "-m", "scripts.demo", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=timeout)


def check_numbers(out: str, steps: int = STEPS) -> None:
    """The story's steps and numbers, the same in both modes; the last step is the audit, then where the console is."""
    titles = re.findall(r"^(\d+)\. ", out, re.M)
    assert [int(t) for t in titles] == list(range(1, steps + 1)), out
    assert "cart 3 100.00 ₽: she would earn 155 points, up to 465 at the top level" in out
    assert "and is registered as Maria's friend: 1000 bonuses instead of 500\n   anna   total  1000 | available  1000 | pending     0 | reserved     0" in out
    assert "at most 1550 bonuses payable (half the order); applied 1000\n   to pay 2 100.00 ₽; she will earn 105 points" in out
    assert "line serum: 1 900.00 ₽ - 613 bonuses = 1 287.00 ₽, earns 64\n   line cream: 1 200.00 ₽ - 387 bonuses = 813.00 ₽, earns 41" in out
    assert re.search(r": awaiting_payment\n(.*\n)?   anna   total  1000 \| available     0 \| pending     0 \| reserved  1000\n", out), "the bonuses are reserved"
    assert re.search(r"^   maria  total   710 \| available   500 \| pending   210 ", out, re.M), "Maria's 10 % reward is held after the delivery"
    assert re.search(r"^   maria  total   710 \| available   710 ", out, re.M), "Maria's 10 % reward reached her after the hold"
    assert "4 accounts, 2965 bonuses expired; a second run expires 0" in out
    assert f"{steps}. Ledger audit: every stored balance equals the fold of its entries\n   OK\n\nThe back-office console" in out


def check_story(out: str) -> None:
    header = next(line for line in out.splitlines() if line.startswith("Kopilka demo"))
    assert header.startswith("Kopilka demo over HTTP") and header.endswith("(in-memory store)")
    check_numbers(out)
    assert "the same body from a non-YooKassa address is refused: HTTP 403" in out
    assert re.search(r"answer: \{'outcome': 'applied', 'order_id': 'anna:B-1003', 'status': 'delivered'", out)


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


def test_where_no_browser_is_found_the_demo_says_so_and_plays_the_story_over_http(tmp_path: Path) -> None:
    result = run_demo(tmp_path, KOPILKA_STORE="memory", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == OVER_HTTP and [line for line in lines if "so the story plays" in line] == [OVER_HTTP]
    assert lines[2].startswith("Kopilka demo over HTTP")
    assert "Traceback" not in result.stderr
    check_story(result.stdout)


def test_with_chromium_and_playwright_the_demo_plays_the_storefront_in_the_browser(tmp_path: Path) -> None:
    shots = {name: ROOT / ".run" / name for name in ("demo-cart.png", "demo-account.png", "demo-partner.png")}
    for path in shots.values():
        path.unlink(missing_ok=True)
    env = {key: value for key, value in os.environ.items() if key not in ("FIRESTORE_EMULATOR_HOST", "KOPILKA_CHROMIUM")}
    env.update(KOPILKA_STORE="memory", PYTHONIOENCODING="utf-8", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "scripts.demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    lines = out.splitlines()
    assert lines[:3] == [
        "kopilka demo: KOPILKA_STORE=memory, so the story runs on the in-memory store; nothing is kept.",
        "kopilka demo: /usr/bin/chromium and Playwright are here, so the storefront's steps play in headless Chromium on the demo shop page.",
        "Kopilka demo in the browser — Biomiq — бонусная и партнёрская программа (in-memory store)",
    ]
    assert "Traceback" not in result.stderr and '"severity"' not in out
    check_numbers(out, BROWSER_STEPS)
    # each storefront step happened on the page
    assert "opens the shop by Maria's link: two products in Tilda's cart, quoted by the cart widget" in out
    assert "Anna logs in in the cart widget by the SMS code (read from the SMS.ru fake)" in out
    assert "Tilda's cart takes the 1 000.00 ₽ as its one discount: it shows 2 100.00 ₽" in out
    paid = re.search(r"^   paid 2 100\.00 ₽ \(YooKassa payment [\w-]+\); answer: \{'result': 'paid', 'order_id': '(c_\w+:k[\w-]+)', 'status': 'paid'\}$", out, re.M)
    assert paid, out
    order = paid.group(1)
    assert f"   the same webhook again: {{'result': 'paid', 'order_id': '{order}', 'status': 'paid'}}" in out
    assert f"answer: {{'outcome': 'applied', 'order_id': '{order}', 'status': 'delivered'" in out  # CDEK's webhook for the order Tilda's form paid
    # the manager finds Anna in the console by the phone she gave, her order delivered, its bonuses on hold
    assert f"   her screen shows Всего 105, Доступно 0, В холде 105; Заказ {order} доставлен" in lines, out
    assert re.search(r"^   manager +manager@kopilka\.local +password kopilka-manager +authenticator secret [A-Z2-7]{32}$", out, re.M), "the demo ends by naming the console's users"
    # on the day the hold ends the widgets show the story's numbers
    assert "   Anna's account widget: Всего 105 бонусов, Доступно 105 бонусов, Ожидают начисления 0 бонусов" in lines
    assert "   Maria's account widget: Всего 710 бонусов, Доступно 710 бонусов, Ожидают начисления 0 бонусов" in lines
    assert "   Maria's partner widget: Сделали покупку 3, Ваш процент 10 %, Ожидают окончания срока 0 бонусов, Можно вывести 210 бонусов" in lines
    for path in shots.values():
        assert path.stat().st_size > 5000, path  # something was drawn
