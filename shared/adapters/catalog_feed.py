"""Fetching a shop's YML product feed: ``GET <feed_url>`` with a timeout, a size cap and retries.

Only ``https://`` addresses with a host name are fetched (no user info, no IP
address literal, no redirect followed), so a feed address cannot point the
function at its own metadata server or the internal network. The body is
read in chunks and refused past :data:`MAX_FEED_BYTES`. A request that got
no answer, a timeout or a 5xx/429 is tried again (a GET changes nothing) up
to ``attempts`` times with a growing, jittered pause; then
:class:`FeedUnavailable` (503). Any other non-200 answer or an oversized body
is :class:`FeedRefused` (422): the address is wrong, asking again will not help.

The instance's client is built by :mod:`shared.platform.bootstrap`
(``catalog_feed``); tests route it through ``tests/fakes/catalog_feed.py``.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from shared.adapters.retry import Again, Exhausted, Retry
from shared.domain.errors import BusinessRefusal, ProviderUnavailable
from shared.domain.ids import is_digits

log = logging.getLogger("kopilka")

MAX_FEED_BYTES = 20 * 1024 * 1024


class FeedUnavailable(ProviderUnavailable):
    code = "feed_unavailable"
    message_ru = "Фид товаров сейчас недоступен, повторите попытку позже."


class FeedRefused(BusinessRefusal):
    code = "feed_refused"
    message_ru = "Фид товаров не удалось получить по этому адресу."


def check_url(url: str) -> str:
    """``url`` when it is an https address of a named host, else :class:`FeedRefused`."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        literal = False
    if parts.scheme != "https" or not host or parts.username or parts.password or literal or "." not in host:
        raise FeedRefused("a feed address must be https:// on a named host", message_ru="Адрес фида должен начинаться с https:// и указывать имя сайта.", field="feed_url")
    return url


class FeedClient:
    """``fetch(url) -> bytes`` with a timeout, a size cap and retries of what may be retried."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_bytes: int = MAX_FEED_BYTES,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_bytes = max_bytes
        self.retry = Retry(attempts=attempts, backoff_seconds=backoff_seconds, sleep=sleep)
        self._http = httpx.Client(timeout=httpx.Timeout(timeout), transport=transport, follow_redirects=False, headers={"Accept": "application/xml, text/xml"})

    def close(self) -> None:
        self._http.close()

    def fetch(self, url: str) -> bytes:
        check_url(url)

        def attempt(_: int) -> bytes:
            try:
                with self._http.stream("GET", url) as response:
                    if response.status_code == 200:
                        return self._body(response)
                    if response.status_code != 429 and response.status_code < 500:
                        raise FeedRefused(f"the feed answered {response.status_code}", status=response.status_code)
                    raise Again(f"status {response.status_code}")
            except httpx.TransportError as exc:
                raise Again(type(exc).__name__) from None

        try:
            return self.retry.run(attempt)
        except Exhausted as gave_up:
            log.warning("product feed unreachable", extra={"json_fields": {"reason": gave_up.reason, "attempts": self.retry.attempts}})
            raise FeedUnavailable(f"the feed did not answer ({gave_up.reason})", reason=gave_up.reason) from None

    def _body(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if is_digits(declared) and int(declared) > self.max_bytes:
            raise FeedRefused(f"the feed is larger than {self.max_bytes} bytes", message_ru="Фид товаров слишком большой.", limit=self.max_bytes)
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FeedRefused(f"the feed is larger than {self.max_bytes} bytes", message_ru="Фид товаров слишком большой.", limit=self.max_bytes)
            chunks.append(chunk)
        return b"".join(chunks)
