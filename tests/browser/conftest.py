"""The local stack in a subprocess and headless Chromium, for the storefront kit's browser tests.

The stack (``scripts/local_stack.py``) serves every function, the provider fakes,
the kit and the demo Tilda shop; on the emulator when ``make test`` provides one
(in a project of its own, so other tests' resets do not touch it), else in memory.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from scripts import shop_page
from scripts.shop_page import CHROMIUM, CHROMIUM_ARGS
from tests.workers import per_worker

ROOT = Path(__file__).resolve().parents[2]
BROWSER_PROJECT = per_worker("kopilka-browser")
# Every SMS of the suite comes from one caller address (127.0.0.1), which may ask for 10 codes an
# hour (shared/domain/otp.py): the seed and the tests send 9. A new login test reuses a customer.


def _free_base(start: int, span: int = 20) -> int:
    """A run of ``span`` free ports from ``start`` on."""
    for base in range(start, start + 2000, span):
        sockets = []
        try:
            for port in range(base, base + span):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free ports for the local stack")


SCREENSHOTS = os.environ.get("KOPILKA_SCREENSHOTS")  # a folder (docs/img) to keep the screenshots in


def screenshot(target: Any, name: str, tmp_path: Path, *, full_page: bool = False) -> Path:
    """A screenshot of a page or a locator, into $KOPILKA_SCREENSHOTS when set (else the test's
    folder), to look at; a blank or tiny image fails the test."""
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    target.screenshot(path=str(path), animations="disabled", **({"full_page": True} if full_page else {}))
    assert path.stat().st_size > 5000  # something was drawn
    return path


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


@contextmanager
def launched(folder: Path, *, module: str = "scripts.local_stack", project: str = BROWSER_PROJECT, start_port: int = 18400) -> Iterator[LocalStack]:
    """``module`` (the local stack, or a variant with the same arguments) in a subprocess of its own,
    on the emulator's ``project`` when ``make test`` provides one, else in memory; stopped after.
    A port taken between the probe and the bind (another run starting beside it) is tried again, elsewhere."""
    env = dict(os.environ)
    if env.get("FIRESTORE_EMULATOR_HOST"):
        env["GOOGLE_CLOUD_PROJECT"] = project
    for attempt in range(3):
        ready, log = folder / f"ready-{attempt}.json", (folder / f"stack-{attempt}.log").open("w")
        command = [sys.executable, "-m", module, "--base-port", str(_free_base(start_port + 200 * attempt)), "--ready-file", str(ready), "--reset"]
        if not env.get("FIRESTORE_EMULATOR_HOST"):
            command.append("--memory")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if ready.exists():
            break
        with suppress(ProcessLookupError):  # it may have exited already (its port was taken)
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()
    else:
        pytest.fail("the local stack did not start:\n" + (folder / "stack-2.log").read_text()[-3000:], pytrace=False)
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
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with launched(tmp_path_factory.mktemp("local-stack")) as running:
        yield running


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


# --- what the tests do on the demo shop (scripts/shop_page.py) ---------------------------------


def wait_for_total(page: Any, roubles: float) -> None:
    assert shop_page.wait_for_total(page, roubles) == pytest.approx(roubles)


def login_in_cart(page: Any, stack: LocalStack, phone: str) -> None:
    shop_page.login_in_cart(page, phone, stack.sms_code)


def spend(page: Any, bonuses: int) -> None:
    """Choose ``bonuses`` in the cart widget and apply them."""
    shop_page.spend(page, bonuses)


# --- the back-office console ---------------------------------------------------------------------


class Console:
    """The local stack's console and its users (one per role, the authenticator enrolled)."""

    def __init__(self, stack: LocalStack, browser: Any) -> None:
        self.url: str = stack.urls["console"]
        self.users: dict[str, dict[str, str]] = {u["role"]: u for u in stack.info["seed"]["console"]}
        self.browser = browser
        self._last_step: dict[str, int] = {}
        self._states: dict[str, Any] = {}

    def code(self, role: str) -> str:
        """A fresh authenticator code of ``role``'s user: never one of a step already used (no replay)."""
        import pyotp

        totp = pyotp.TOTP(self.users[role]["totp_secret"])
        while True:
            current = int(time.time()) // 30
            for step in (current, current + 1):  # the stack enrolled each with the step before its start
                if step > self._last_step.get(role, -10):
                    self._last_step[role] = step
                    return str(totp.generate_otp(step))
            time.sleep(1)

    def sign_in(self, page: Any, role: str, next_path: str = "/") -> None:
        """Sign in on the sign-in page with e-mail, password and the authenticator's code."""
        user = self.users[role]
        page.goto(self.url + next_path)
        page.get_by_label("Электронная почта").fill(user["email"])
        page.get_by_label("Пароль").fill(user["password"])
        page.get_by_label("Код из приложения-аутентификатора").fill(self.code(role))
        page.get_by_role("button", name="Войти").click()
        page.wait_for_url(lambda url: "/login" not in url)

    def page_as(self, role: str, path: str = "/") -> Any:
        """A new tab of ``role``'s signed-in session (signed in once per test session), at ``path``."""
        if role not in self._states:
            context = self._context()
            tab = context.new_page()
            self.sign_in(tab, role)
            self._states[role] = context.storage_state()
            context.close()
        context = self._context(storage_state=self._states[role])
        tab = context.new_page()
        tab.goto(self.url + path)
        return tab

    def _context(self, **options: Any) -> Any:
        context = self.browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU", **options)
        context.set_default_timeout(10_000)
        return context


@pytest.fixture(scope="session")
def console(stack: LocalStack, browser: Any) -> Console:
    return Console(stack, browser)
