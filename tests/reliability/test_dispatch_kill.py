"""A dispatcher process SIGKILLed mid-send and started again sends each message exactly once.

The channel is an HTTP fake in this process (counting by the message key, as SMS.ru counts by
its ``Idempotency-Key``) that takes the first request and never answers it; the dispatcher
process (real Firestore emulator) is killed while it waits. Its lease lapses, a second
dispatcher process — started at a clock past the lease — sends every message; each is
received once, and every outbox message ends ``sent``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from shared.domain.config import parse_config
from shared.domain.customer import CustomerRecord
from shared.domain.messages import Status, Trigger
from shared.presets import preset_data
from shared.services.outbox import enqueue

ROOT = Path(__file__).resolve().parents[2]
NOON = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)  # 12:00 in Moscow: not quiet hours
CUSTOMERS = [f"c{n}" for n in range(5)]

CHILD = r"""
import sys, httpx
from datetime import datetime
from google.cloud import firestore
from shared.adapters.firestore_store import FirestoreStore
from shared.domain.messages import Channel
from shared.services.dispatch import dispatch

class HttpChannel:
    def send(self, message, address):
        httpx.post(sys.argv[1], json={"key": message.key, "to": address, "text": message.body}, timeout=600).raise_for_status()

store = FirestoreStore(firestore.Client(project=sys.argv[4]))
report = dispatch(store, {Channel.SMS: HttpChannel()}, now=datetime.fromisoformat(sys.argv[2]), owner=sys.argv[3])
print(report.sent, flush=True)
"""


class Channel:
    """Receives messages; counts deliveries by key; the first request hangs until released."""

    def __init__(self) -> None:
        self.received: dict[str, int] = {}
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        channel = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                import json

                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with channel.lock:
                    first = not channel.first_arrived.is_set()
                    channel.first_arrived.set()
                if first:  # the provider never answers: the sender is killed while waiting
                    channel.release.wait(60)
                    return
                with channel.lock:
                    channel.received[body["key"]] = channel.received.get(body["key"], 0) + 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _child(url: str, now: datetime, owner: str, project: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GOOGLE_CLOUD_PROJECT": project}
    return subprocess.Popen([sys.executable, "-c", CHILD, url, now.isoformat(), owner, project], cwd=ROOT, env=env, stdout=subprocess.PIPE, start_new_session=True)


def test_a_dispatcher_killed_mid_send_and_restarted_sends_each_message_once(firestore_store):
    config = parse_config(preset_data("biomiq")).model_copy(deep=True)
    for customer_id in CUSTOMERS:
        record = CustomerRecord.new(customer_id).set_profile(phone=f"+7999000000{customer_id[1:]}")
        firestore_store.run(lambda uow, record=record: uow.accounts.save(record))
        firestore_store.run(lambda uow, c=customer_id: enqueue(uow, config, trigger=Trigger.BONUS_AVAILABLE, cause=f"o-{c}", customer_id=c, variables={"amount": 100}, due_at=NOON, now=NOON))
    channel = Channel()
    first = _child(channel.url, NOON, "first", firestore_store.client.project)
    assert channel.first_arrived.wait(60), "the first dispatcher never sent"
    time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    channel.release.set()
    later = NOON + timedelta(minutes=5)  # past the killed dispatcher's lease
    second = _child(channel.url, later, "second", firestore_store.client.project)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0
    sms_keys = {f"bonus_available:o-{c}:sms" for c in CUSTOMERS}
    assert {k: n for k, n in channel.received.items() if k in sms_keys} == dict.fromkeys(sms_keys, 1)
    for key in sms_keys:
        message = firestore_store.read(lambda uow, key=key: uow.outbox.get(key))
        assert message.status is Status.SENT
    channel.server.shutdown()
