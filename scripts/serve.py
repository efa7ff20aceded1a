"""Serve every function locally (functions-framework, one process each) against the emulator.

    python -m scripts.serve       # when FIRESTORE_EMULATOR_HOST is already set

``make demo``, ``make bench`` and the process-kill tests use it; ``make run`` serves everything
in one process with the kit and a demo shop (:mod:`scripts.local_stack`).

Each function listens on its own port, from 8081 upwards in folder order,
like its own Cloud Functions URL. Local provider fakes (YooKassa, CDEK) are
served from scripts/fakes.py when KOPILKA_FAKES=1 (the default here).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "main.py").exists())
BASE_PORT = int(os.environ.get("KOPILKA_BASE_PORT", "8081"))
FAKES_PORT = int(os.environ.get("KOPILKA_FAKES_PORT", "8099"))

LOCAL_ENV = {
    "KOPILKA_PROGRAM": "biomiq",
    "KOPILKA_ALLOWED_ORIGINS": "http://localhost:8000,https://shop.example",
    "KOPILKA_TOKEN_SECRET": "local-token-secret-of-at-least-32-bytes",
    "KOPILKA_PAYOUT_SECRET": "local-payout-secret-of-at-least-32-bytes",
    "KOPILKA_TILDA_TOKEN": "local-tilda-secret",
    "KOPILKA_EVENTS_SECRET": "local-events-secret",
    "KOPILKA_CDEK_TOKEN": "local-cdek-secret",
    "KOPILKA_SWEEP_SECRET": "local-sweep-secret",
    "YOOMONEY_NOTIFICATION_SECRET": "local-yoomoney-secret",
    "YOOKASSA_SHOP_ID": "100500",
    "YOOKASSA_SECRET_KEY": "test_local_secret",
    "YOOKASSA_BASE_URL": f"http://127.0.0.1:{FAKES_PORT}/yookassa/v3",
    "CDEK_BASE_URL": f"http://127.0.0.1:{FAKES_PORT}/cdek/v2",
    "CDEK_CLIENT_ID": "local-cdek-client",
    "CDEK_CLIENT_SECRET": "local-cdek-secret-key",
    "KOPILKA_TRUSTED_PROXY_HOPS": "1",
    "KOPILKA_ADMIN_TOKEN_SECRET": "local-admin-token-secret-of-at-least-32-bytes",
    "KOPILKA_SHOP_URL": "http://localhost:8000",
    "SMSRU_API_ID": "local-smsru-api-id",
    "SMSRU_BASE_URL": f"http://127.0.0.1:{FAKES_PORT}/smsru",
    "TELEGRAM_BOT_TOKEN": "123456:local-telegram-bot-token",
}


def function_urls() -> dict[str, str]:
    return {name: f"http://127.0.0.1:{BASE_PORT + i}" for i, name in enumerate(FUNCTIONS)}


def environment() -> dict[str, str]:
    env = {**LOCAL_ENV, **os.environ}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def publish_program(env: dict[str, str]) -> None:
    from google.cloud import firestore

    from shared.adapters.firestore_store import FirestoreStore
    from shared.presets import preset_data
    from shared.services import program

    store = FirestoreStore(firestore.Client(project=env.get("GOOGLE_CLOUD_PROJECT", "kopilka-local")))
    head = store.get(f"programs/{env['KOPILKA_PROGRAM']}")
    if not head:
        now = datetime.now(timezone.utc)
        program.publish(store, raw=preset_data(env["KOPILKA_PROGRAM"]), author="make run", reason="local program", effective_from=now, now=now)


def _wait(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def start_function(name: str, port: int, env: dict[str, str], *, output: Any = subprocess.DEVNULL) -> subprocess.Popen:
    """Serve one function on ``port`` in a process group of its own (the leader's pid is the group id).

    functions-framework runs a gunicorn master and a worker: :func:`kill_function`
    signals the whole group, as when an instance dies. ``output`` takes the
    server's stdout and stderr (its JSON log lines). Returns at once; wait with
    :func:`wait_serving`.
    """
    command = [sys.executable, "-m", "functions_framework", "--target", name, "--source", str(ROOT / "functions" / name / "main.py"), "--port", str(port), "--host", "127.0.0.1"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def wait_serving(url: str, timeout: float = 60.0) -> None:
    """Until ``url`` answers HTTP (any status); RuntimeError after ``timeout`` seconds."""
    _wait(url, time.monotonic() + timeout)


def kill_function(process: subprocess.Popen, sig: int = signal.SIGKILL, timeout: float = 10.0) -> None:
    """Send ``sig`` to the process group of :func:`start_function` (master and worker) and reap the leader."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:  # the group is gone already
        pass
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=timeout)


def in_process(name: str, port: int = 0) -> Any:
    """``functions/<name>/main.py`` served from this process through functions-framework on a
    threaded WSGI server (``port`` 0: a free one), serving in a daemon thread; stop it with
    ``shutdown()`` and ``server_close()``. Every function served so shares this process's store."""
    import threading

    import functions_framework
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
            return

    app = functions_framework.create_app(target=name, source=str(ROOT / "functions" / name / "main.py"))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, name=f"function-{name}", daemon=True).start()
    return server


def start(env: dict[str, str]) -> list[subprocess.Popen]:
    processes = []
    if env.get("KOPILKA_FAKES", "1") == "1":
        processes.append(subprocess.Popen([sys.executable, "-m", "scripts.fakes", "--port", str(FAKES_PORT)], cwd=ROOT, env=env))
    for name, url in function_urls().items():
        port = url.rsplit(":", 1)[1]
        command = [sys.executable, "-m", "functions_framework", "--target", name, "--source", str(ROOT / "functions" / name / "main.py"), "--port", port, "--host", "127.0.0.1"]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 60
    for url in function_urls().values():
        _wait(url + "/", deadline)
    if env.get("KOPILKA_FAKES", "1") == "1":
        _wait(f"http://127.0.0.1:{FAKES_PORT}/health", deadline)
    return processes


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> int:
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        print("serve needs the emulator: use `make run`", file=sys.stderr)
        return 2
    env = environment()
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    publish_program(env)
    processes = start(env)
    for name, url in function_urls().items():
        print(f"{name:<16} {url}")
    print("Ctrl-C stops everything.")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop(processes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
