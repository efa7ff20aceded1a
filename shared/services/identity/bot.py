"""Registration through the shop's Telegram bot: the bot asks the user to share their contact,
and a contact that is the sender's own counts as a verified phone, without an SMS.

Telegram's contact of the user themselves carries the phone Telegram verified
for that account; a forwarded contact of somebody else has another
``user_id`` (or none), so only a contact whose ``user_id`` is the sender's is
taken. The phone's customer is then registered once (the welcome bonus once)
and the Telegram account linked to it (:func:`.linking.attach`); the user logs
in on the storefront with Telegram. As no SMS is sent, registration stays
open when the day's SMS budget is spent. An existing customer whose phone it
is gets Telegram linked and is told by SMS (:func:`.linking.notify_linked`).

Updates come from Telegram with the webhook's secret token
(:meth:`IdentityKeys.telegram_webhook_secret`); each step is idempotent, so a
delivery Telegram repeats changes nothing twice.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from enum import Enum

from shared.api.telegram_bot import BotAnswer, BotUpdate, ContactKeyboard, KeyboardButton, RemoveKeyboard
from shared.domain.config import ProgramConfig
from shared.domain.identity import CustomerContact, IdentityKind
from shared.domain.ledger import require_utc
from shared.services.identity.errors import InvalidPhone, LinkedElsewhere, TelegramBotUnauthorized
from shared.services.identity.keys import IdentityKeys
from shared.services.identity.linking import attach, notify_linked
from shared.services.identity.notices import Gateway
from shared.services.identity.phones import normalize_phone
from shared.services.identity.sessions import open_account
from shared.services.ports import Store

SHARE_BUTTON = "Поделиться номером"
LOG_IN = "Войдите на сайте магазина кнопкой «Войти через Telegram»."


class ContactOutcome(str, Enum):
    REGISTERED = "registered"  # a new customer, Telegram linked
    LINKED = "linked"  # the phone's customer existed: Telegram linked now
    ALREADY_LINKED = "already_linked"
    LINKED_ELSEWHERE = "linked_elsewhere"  # this Telegram account belongs to another customer
    NOT_OWN_CONTACT = "not_own_contact"
    BAD_PHONE = "bad_phone"


TEXTS = {
    ContactOutcome.REGISTERED: "Готово! Вы зарегистрированы в бонусной программе магазина. " + LOG_IN,
    ContactOutcome.LINKED: "Готово! Telegram привязан к вашему аккаунту. " + LOG_IN,
    ContactOutcome.ALREADY_LINKED: "Этот Telegram уже привязан к вашему аккаунту. " + LOG_IN,
    ContactOutcome.LINKED_ELSEWHERE: "Этот Telegram привязан к другому аккаунту. Отвяжите его в личном кабинете того аккаунта.",
    ContactOutcome.NOT_OWN_CONTACT: "Поделитесь своим номером кнопкой «" + SHARE_BUTTON + "», а не чужим контактом.",
    ContactOutcome.BAD_PHONE: "Этот номер не подходит: участвовать можно с номером мобильного телефона.",
}
START_TEXT = "Здравствуйте! Чтобы зарегистрироваться в бонусной программе магазина или войти, поделитесь номером телефона кнопкой ниже."


def check_bot_secret(keys: IdentityKeys, presented: str | None) -> None:
    """Refuse an update without the webhook's secret token (compared in constant time)."""
    expected = keys.telegram_webhook_secret()
    if not expected or not presented or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise TelegramBotUnauthorized("the update does not carry the webhook's secret token")


def _ask_for_contact(chat_id: int, text: str = START_TEXT) -> BotAnswer:
    keyboard = ContactKeyboard(keyboard=[[KeyboardButton(text=SHARE_BUTTON, request_contact=True)]])
    return BotAnswer(method="sendMessage", chat_id=chat_id, text=text, reply_markup=keyboard)


def handle_update(store: Store, *, config: ProgramConfig, keys: IdentityKeys, gateway: Gateway, update: BotUpdate, now: datetime, daily_budget: int = 0) -> BotAnswer:
    """The bot's answer to an update: a shared contact registers (or links), anything else in a
    private chat is asked for the contact; other updates get no answer."""
    message = update.message
    if message is None or message.sender is None or message.chat.type != "private":
        return BotAnswer()
    if message.contact is None:
        return _ask_for_contact(message.chat.id)
    outcome = register_by_contact(
        store,
        config=config,
        keys=keys,
        gateway=gateway,
        telegram_id=message.sender.id,
        username=message.sender.username,
        contact_user_id=message.contact.user_id,
        phone=message.contact.phone_number,
        now=now,
        daily_budget=daily_budget,
    )
    if outcome in (ContactOutcome.NOT_OWN_CONTACT, ContactOutcome.BAD_PHONE):
        return _ask_for_contact(message.chat.id, TEXTS[outcome])
    return BotAnswer(method="sendMessage", chat_id=message.chat.id, text=TEXTS[outcome], reply_markup=RemoveKeyboard())


def register_by_contact(
    store: Store,
    *,
    config: ProgramConfig,
    keys: IdentityKeys,
    gateway: Gateway,
    telegram_id: int,
    username: str | None,
    contact_user_id: int | None,
    phone: str,
    now: datetime,
    daily_budget: int = 0,
) -> ContactOutcome:
    """Register (or link) the customer of the sender's own shared contact."""
    require_utc(now)
    if contact_user_id != telegram_id:
        return ContactOutcome.NOT_OWN_CONTACT
    try:
        e164 = normalize_phone(phone if phone.startswith("+") else "+" + phone, keys.regions)  # Telegram omits the "+"
    except InvalidPhone:
        return ContactOutcome.BAD_PHONE
    linked = store.read(lambda uow: uow.identities.get(IdentityKind.TELEGRAM, telegram_id))
    if linked is not None and linked.active:
        owner = store.read(lambda uow: uow.identities.get(IdentityKind.PHONE, e164))
        return ContactOutcome.ALREADY_LINKED if owner is not None and owner.customer_id == linked.customer_id else ContactOutcome.LINKED_ELSEWHERE
    registration = open_account(store, config=config, keys=keys, e164=e164, now=now)
    try:
        link = attach(store, telegram_id=telegram_id, username=username, customer_id=registration.customer_id, now=now, contact=CustomerContact(phone=e164, phone_verified_at=now))
    except LinkedElsewhere:
        return ContactOutcome.LINKED_ELSEWHERE
    if registration.registered:
        return ContactOutcome.REGISTERED
    if link.now:
        notify_linked(store, gateway=gateway, keys=keys, link=link, now=now, daily_budget=daily_budget)
        return ContactOutcome.LINKED
    return ContactOutcome.ALREADY_LINKED
