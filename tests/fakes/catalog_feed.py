"""A fake shop serving a YML product feed, as an ``httpx`` transport.

It answers ``GET`` of the paths it was given with their bodies (``application/xml``),
and can be told to fail the next requests (a status, or a connection that drops),
to stall (a timeout) or to send a body bigger than it says. Every request is kept
in ``requests``.
"""

from __future__ import annotations

import httpx

YML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE yml_catalog SYSTEM "shops.dtd">\n'


def yml(offers: str, categories: str = "") -> bytes:
    """A feed in the marketplace format with these ``<category>`` and ``<offer>`` elements."""
    return (
        f'{YML_HEAD}<yml_catalog date="2026-03-01 12:00"><shop><name>Велопробег</name><company>ООО Велопробег</company>'
        f"<url>https://velo.example</url><currencies><currency id=\"RUR\" rate=\"1\"/></currencies>"
        f"<categories>{categories}</categories><offers>{offers}</offers></shop></yml_catalog>"
    ).encode()


class FakeFeed:
    def __init__(self) -> None:
        self.feeds: dict[str, bytes] = {}
        self.failures: list[int | str] = []  # per coming request: an HTTP status, "drop" or "timeout"
        self.requests: list[httpx.Request] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            failure = self.failures.pop(0)
            if failure == "drop":
                raise httpx.ConnectError("connection refused", request=request)
            if failure == "timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            return httpx.Response(int(failure), text="busy")
        body = self.feeds.get(f"{request.url.host}{request.url.path}")
        if body is None:
            return httpx.Response(404, text="not found")
        return httpx.Response(200, content=body, headers={"Content-Type": "application/xml"})
