"""Fetching a product feed: https on a named host only, a size cap, retries of what may be retried."""

from __future__ import annotations

import httpx
import pytest

from shared.adapters.catalog_feed import FeedClient, FeedRefused, FeedUnavailable, check_url
from tests.fakes.catalog_feed import FakeFeed, yml

URL = "https://velo.example/tstore/yml/feed.yml"


@pytest.fixture
def feed() -> FakeFeed:
    fake = FakeFeed()
    fake.feeds["velo.example/tstore/yml/feed.yml"] = yml('<offer id="1"><price>10</price></offer>')
    return fake


def client(feed: FakeFeed, **kwargs) -> FeedClient:
    return FeedClient(transport=feed.transport(), sleep=lambda _: None, **kwargs)


def test_a_feed_is_fetched(feed):
    assert client(feed).fetch(URL) == feed.feeds["velo.example/tstore/yml/feed.yml"]
    assert [r.method for r in feed.requests] == ["GET"]


@pytest.mark.parametrize("failure", ["drop", "timeout", 503, 429])
def test_a_passing_failure_is_tried_again(feed, failure):
    feed.failures = [failure, failure]
    assert client(feed, attempts=3).fetch(URL).startswith(b"<?xml")
    assert len(feed.requests) == 3


def test_a_feed_that_stays_down_is_unavailable_after_the_attempts(feed):
    feed.failures = ["drop"] * 5
    with pytest.raises(FeedUnavailable):
        client(feed, attempts=3).fetch(URL)
    assert len(feed.requests) == 3


def test_a_wrong_address_is_refused_at_once(feed):
    with pytest.raises(FeedRefused) as refused:
        client(feed).fetch("https://velo.example/nothing.yml")
    assert refused.value.details["status"] == 404 and len(feed.requests) == 1


def test_a_feed_over_the_size_cap_is_refused(feed):
    with pytest.raises(FeedRefused) as refused:
        client(feed, max_bytes=100).fetch(URL)
    assert refused.value.message_ru == "Фид товаров слишком большой."


@pytest.mark.parametrize(
    "url",
    ["http://velo.example/feed.yml", "https://127.0.0.1/feed.yml", "https://[::1]/feed.yml", "https://user:pw@velo.example/f", "https://metadata/computeMetadata", "file:///etc/passwd"],
)
def test_only_https_on_a_named_host_is_fetched(url):
    with pytest.raises(FeedRefused):
        check_url(url)


def test_a_redirect_is_not_followed():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/"})

    with pytest.raises(FeedRefused):
        FeedClient(transport=httpx.MockTransport(handler), sleep=lambda _: None).fetch(URL)
    assert len(seen) == 1
