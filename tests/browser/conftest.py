"""The local stack in a subprocess and headless Chromium, for the storefront kit's browser tests.

The stack (``scripts/local_stack.py``) serves every function, the provider fakes,
the kit and the demo Tilda shop; on the emulator when ``make test`` provides one
(in a project of its own, so other tests' resets do not touch it), else in memory.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
SERUM, CREAM, TONIC = "312045678901", "312045678902", "312045678903"  # the demo shop's Tilda product UIDs
BROWSER_PROJECT = "kopilka-browser"
# Every SMS of the suite comes from one caller address (127.0.0.1), which may ask for 10 codes an
# hour (shared/domain/otp.py): the seed and the tests send 9. A new login test reuses a customer.


def _free_base(span: int = 20) -> int:
    for base in range(18400, 19400, span):
        sockets = []
        try:
            for port in range(base, base + span):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free ports for the local stack")


class LocalStack:
    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.shop: str = info["shop"]
        self.urls: dict[str, str] = info["urls"]
        self.maria: dict[str, str] = info["seed"]["maria"]

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.shop + "/_stack/state", timeout=10) as answer:
            data: dict[str, Any] = json.load(answer)
            return data

    def sms_code(self, phone: str) -> str:
        codes = [m["code"] for m in self.state()["sms"] if m["to"] == phone]
        assert codes, f"no SMS to {phone}"
        return str(codes[-1])


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("local-stack")
    ready = folder / "ready.json"
    env = dict(os.environ)
    command = [sys.executable, "-m", "scripts.local_stack", "--base-port", str(_free_base()), "--ready-file", str(ready), "--reset"]
    if env.get("FIRESTORE_EMULATOR_HOST"):
        env["GOOGLE_CLOUD_PROJECT"] = BROWSER_PROJECT
    else:
        command.append("--memory")
    log = (folder / "stack.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the local stack did not start:\n" + (folder / "stack.log").read_text()[-3000:], pytrace=False)
        time.sleep(0.2)
    time.sleep(0.2)  # the file is written in one go, but let it be closed
    try:
        yield LocalStack(json.loads(ready.read_text()))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (empty localStorage) per test; the kit must never throw into the page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"errors thrown into the page: {errors}"


# --- what the tests do on the demo shop -------------------------------------------------------


def cart(page: Any) -> Any:
    """The kit's widget in Tilda's cart window."""
    return page.locator("[data-kopilka-cartwin] .k")


def add(page: Any, uid: str) -> None:
    page.locator(f".t-store__card[data-product-uid='{uid}'] .js-store-prod-btn").click()


def tilda_total(page: Any) -> float:
    """The total Tilda's cart window shows, in roubles."""
    text = page.locator(".t706__cartwin-prodamount").inner_text()
    return float(re.sub(r"[^\d,.]", "", text.replace("\u00a0", "")).replace(",", "."))


def wait_for_total(page: Any, roubles: float) -> None:
    page.wait_for_function("want => Math.abs(window.tcart.amount - want) < 0.005", arg=roubles)
    assert tilda_total(page) == pytest.approx(roubles)


def login_in_cart(page: Any, stack: LocalStack, phone: str) -> None:
    widget = cart(page)
    widget.get_by_role("button", name="Войдите, чтобы списать бонусы").click()
    widget.get_by_role("textbox", name="Телефон").fill(phone)
    widget.get_by_role("button", name="Получить код").click()
    widget.get_by_role("textbox", name="Код из SMS").wait_for()
    widget.get_by_role("textbox", name="Код из SMS").fill(stack.sms_code(phone))
    widget.get_by_role("button", name="Войти").click()
    widget.get_by_text("Ваш баланс:").wait_for()


def spend(page: Any, bonuses: int) -> None:
    """Choose ``bonuses`` in the cart widget and apply them."""
    widget = cart(page)
    widget.get_by_role("spinbutton", name="Списать бонусов").fill(str(bonuses))
    widget.get_by_text(re.compile(r"скидка " + r"\s?".join(str(bonuses)))).wait_for()
    with page.expect_response(lambda r: r.url.endswith("/checkout/tilda") and r.request.method == "POST") as answer:
        widget.get_by_role("button", name="Применить", exact=True).click()
    assert answer.value.ok, answer.value.text()
    widget.get_by_text("применена к заказу").wait_for()


def access_token(page: Any) -> str:
    return str(page.evaluate("JSON.parse(localStorage.getItem('kopilka.session')).access"))
