"""Helpers for entry points: the store, the program in force, the customer behind a token."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, overload

from shared.domain.config import ProgramConfig
from shared.domain.errors import Unauthorized
from shared.platform import bootstrap, tokens
from shared.platform.settings import settings
from shared.services import program
from shared.services.ports import Store


def store() -> Store:
    return bootstrap.firestore_store()


def config(now: datetime) -> ProgramConfig:
    return program.in_force(store(), settings().program, now).config


@overload
def customer_id(request: Any, now: datetime, *, required: Literal[True] = True) -> str: ...


@overload
def customer_id(request: Any, now: datetime, *, required: bool) -> str | None: ...


def customer_id(request: Any, now: datetime, *, required: bool = True) -> str | None:
    """The customer of a bearer token; ``None`` for an anonymous call when allowed."""
    token = tokens.bearer(request)
    if token is None and request.headers.get("Authorization"):
        raise Unauthorized("the Authorization header must be a Bearer token", message_ru="Сессия недействительна, войдите снова.")
    if token is None:
        if required:
            raise Unauthorized("a customer token is required", message_ru="Войдите в личный кабинет.")
        return None
    return str(tokens.verify(settings().require("token_secret").token_secret, token, now=now)["sub"])
