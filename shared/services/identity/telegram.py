"""Telegram login: Login Widget data is verified (HMAC-SHA256 keyed with SHA-256 of the bot
token, ``auth_date`` at most an hour old); a Telegram account linked to a customer
(:mod:`.linking`) then logs its customer in."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from shared.api.sms_otp import TelegramResult
from shared.domain.identity import IdentityKind, TelegramUser
from shared.domain.ledger import require_utc
from shared.services.identity.errors import NotLinked, TelegramLoginInvalid
from shared.services.identity.keys import IdentityKeys
from shared.services.identity.sessions import start_session
from shared.services.ports import Store

TELEGRAM_MAX_AGE = timedelta(hours=1)
TELEGRAM_MAX_SKEW = timedelta(minutes=5)  # an auth_date this far in the future is refused

Fields = Mapping[str, str | int]  # the widget's fields as it sent them


def telegram_check_string(fields: Fields) -> str:
    """Every received field but ``hash``, sorted by key, as ``key=value`` lines."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def telegram_hash(fields: Fields, bot_token: str) -> str:
    secret = hashlib.sha256(bot_token.encode()).digest()
    return hmac.new(secret, telegram_check_string(fields).encode(), hashlib.sha256).hexdigest()


def verify_telegram(fields: Fields, *, bot_token: str, now: datetime) -> TelegramUser:
    """Login Widget data signed by our bot, at most :data:`TELEGRAM_MAX_AGE` old; else :class:`TelegramLoginInvalid`.

    ``fields`` are the received fields as strings or integers (what the widget sent).
    """
    require_utc(now)
    if not bot_token:
        raise TelegramLoginInvalid("Telegram login is not configured (TELEGRAM_BOT_TOKEN)")
    received = str(fields.get("hash", ""))
    if not hmac.compare_digest(telegram_hash(fields, bot_token).encode(), received.lower().encode()):
        raise TelegramLoginInvalid("the Telegram login data failed verification")
    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
        user_id = int(fields["id"])
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise TelegramLoginInvalid("the Telegram login data has no valid id or auth_date") from None
    if now - auth_date > TELEGRAM_MAX_AGE:
        raise TelegramLoginInvalid("the Telegram login data is too old", message_ru="Данные входа через Telegram устарели. Войдите ещё раз.")
    if auth_date - now > TELEGRAM_MAX_SKEW:
        raise TelegramLoginInvalid("the Telegram login data is from the future")
    username = fields.get("username")
    return TelegramUser(id=user_id, username=str(username) if username is not None else None, auth_date=auth_date)


def telegram_login(store: Store, *, keys: IdentityKeys, fields: Fields, now: datetime) -> TelegramResult:
    """Log in the customer a verified Telegram account is linked to.

    An unlinked (or since unlinked) Telegram account is :class:`NotLinked`:
    the customer logs in by phone first and links Telegram from there
    (:func:`~shared.services.identity.linking.link_telegram`), or registers
    through the shop's bot.
    """
    user = verify_telegram(fields, bot_token=keys.telegram_bot_token, now=now)
    return login_linked(store, keys=keys, telegram_id=user.id, now=now)


def login_linked(store: Store, *, keys: IdentityKeys, telegram_id: int, now: datetime) -> TelegramResult:
    """A session for the customer a verified Telegram account is linked to, or :class:`NotLinked`."""
    linked = store.read(lambda uow: uow.identities.get(IdentityKind.TELEGRAM, telegram_id))
    if linked is None or not linked.active:
        raise NotLinked("this Telegram account is not linked to a customer", telegram_id=telegram_id)
    owner = linked.customer_id
    return TelegramResult(customer_id=owner, telegram_id=telegram_id, linked=False, session=start_session(store, keys=keys, customer_id=owner, now=now))
