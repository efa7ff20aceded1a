"""Serve the provider fakes (YooKassa, CDEK …) over real local HTTP for `make run` and `make demo`.

The fakes themselves live in ``tests/fakes`` as httpx handlers (the same
ones the tests mount with ``httpx.MockTransport``); this bridge only turns
HTTP requests on a local port into calls of those handlers, by path prefix:

    /yookassa/v3/...  -> the YooKassa fake
    /cdek/v2/...      -> the CDEK fake
    /smsru/...        -> the SMS.ru fake (codes appear in the fake's log)
    /health           -> "ok"
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

Handler = Callable[[httpx.Request], httpx.Response]
Fakes = dict[str, tuple[Handler, str]]  # local path prefix -> (handler, the provider's base URL it stands for)


def build_fakes() -> tuple[Fakes, object, object]:
    """The fakes, configured with the credentials ``make run`` gives the functions."""
    import os

    from tests.fakes.carriers import CDEK_HOST, FakeCarriers
    from tests.fakes.sms import FakeSmsRu
    from tests.fakes.yookassa import FakeYooKassa

    yookassa = FakeYooKassa(base_path="/v3")
    carriers = FakeCarriers(cdek_client_id=os.environ.get("CDEK_CLIENT_ID", "cdek-account"), cdek_client_secret=os.environ.get("CDEK_CLIENT_SECRET", "cdek-secure"))
    fakes: Fakes = {
        "/yookassa/v3": (yookassa.handle, "https://api.yookassa.ru/v3"),
        "/cdek/v2": (carriers.handle, f"https://{CDEK_HOST}/v2"),
        "/smsru": (FakeSmsRu(api_id=os.environ.get("SMSRU_API_ID", "test-api-id")).handle, "https://sms.ru"),
    }
    return fakes, yookassa, carriers


def make_server(port: int, fakes: Fakes) -> ThreadingHTTPServer:
    class Bridge(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            if self.path == "/health":
                self._reply(httpx.Response(200, text="ok"))
                return
            for prefix, (handler, upstream) in fakes.items():
                if self.path.startswith(prefix + "/") or self.path == prefix:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else b""
                    url = f"{upstream}{self.path[len(prefix):]}"
                    request = httpx.Request(self.command, url, headers=dict(self.headers.items()), content=body)
                    self._reply(handler(request))
                    return
            self._reply(httpx.Response(404, json={"error": "no fake at this path"}))

        def _reply(self, response: httpx.Response) -> None:
            body = response.read()
            self.send_response(response.status_code)
            for key, value in response.headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args) -> None:  # quiet
            return

    return ThreadingHTTPServer(("127.0.0.1", port), Bridge)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    server = make_server(args.port, build_fakes()[0])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
