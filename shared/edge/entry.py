"""Helpers for entry points: the store, the program in force, the customer behind a token.

A customer token names its customer and the session epoch it was issued in.
:func:`customer_id` checks the session against the customer's account (one
read: a blocked customer, or a session a block revoked, is refused) before
the route runs; the storefront's hot paths take :func:`customer_token` and
compare the epoch in the read of the account they make anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, overload

from shared.domain.config import ProgramConfig
from shared.domain.errors import Unauthorized
from shared.domain.identity import CustomerToken
from shared.platform import bootstrap, tokens
from shared.platform.settings import settings
from shared.services import program
from shared.services.ports import Store

if TYPE_CHECKING:
    from shared.domain.catalog import SourceRow


def store() -> Store:
    return bootstrap.firestore_store()


def config(now: datetime) -> ProgramConfig:
    return program.in_force(store(), settings().program, now).config


CATALOG_FILES = {"text/csv": "csv", "application/xml": "yml", "text/xml": "yml"}  # content type -> the import's source


def catalog_file_rows(content_type: str, data: bytes, config: ProgramConfig) -> list[SourceRow]:
    """The rows of an uploaded catalog file: a Tilda CSV export or a YML file (by its content type)."""
    from shared.adapters import catalog_sources  # the parsers load with the first import, not at a cold start

    marker = config.catalog.gift_certificate.field
    read = catalog_sources.read_csv if CATALOG_FILES[content_type] == "csv" else catalog_sources.read_yml
    return read(data, marker_field=marker)


def feed_loader(config: ProgramConfig) -> Callable[[str], list[SourceRow]]:
    """Fetch a YML product feed (the instance's feed client) and read its offers with the program's
    gift-certificate field; the feed adapters load on the first fetch."""

    def load(url: str) -> list[SourceRow]:
        from shared.adapters import catalog_sources

        return catalog_sources.read_yml(bootstrap.catalog_feed().fetch(url), marker_field=config.catalog.gift_certificate.field)

    return load


@overload
def customer_token(request: Any, now: datetime, *, required: Literal[True] = True) -> CustomerToken: ...


@overload
def customer_token(request: Any, now: datetime, *, required: bool) -> CustomerToken | None: ...


def customer_token(request: Any, now: datetime, *, required: bool = True) -> CustomerToken | None:
    """The verified bearer token (its customer and session epoch), not yet checked against the
    account: the use case compares the epoch (``None`` for an anonymous call when allowed)."""
    token = tokens.bearer(request)
    if token is None and request.headers.get("Authorization"):
        raise Unauthorized("the Authorization header must be a Bearer token", message_ru="Сессия недействительна, войдите снова.")
    if token is None:
        if required:
            raise Unauthorized("a customer token is required", message_ru="Войдите в личный кабинет.")
        return None
    return verified_token(token, now)


def verified_token(token: str, now: datetime) -> CustomerToken:
    """A customer token's customer and session epoch (signature, expiry and type checked)."""
    claims = tokens.verify(settings().require("token_secret").token_secret, token, now=now)
    return CustomerToken(customer_id=str(claims["sub"]), epoch=tokens.epoch(claims))


@overload
def customer_id(request: Any, now: datetime, *, required: Literal[True] = True) -> str: ...


@overload
def customer_id(request: Any, now: datetime, *, required: bool) -> str | None: ...


def customer_id(request: Any, now: datetime, *, required: bool = True) -> str | None:
    """The customer of a bearer token whose session still stands (one read of the account:
    blocked, or revoked by a block, is refused); ``None`` for an anonymous call when allowed."""
    from shared.services.identity.access import check_session

    token = customer_token(request, now, required=required)
    if token is None:
        return None
    check_session(store(), token)
    return token.customer_id
