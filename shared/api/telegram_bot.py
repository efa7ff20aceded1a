"""The shop's Telegram bot webhook: the updates Telegram posts and the answer (a Bot API call).

Only what registration reads is modelled; every other field of an update is
ignored. The answer to a webhook may itself be a Bot API method call
(``{"method": "sendMessage", ...}``), so the bot needs no outgoing client.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api import Endpoint


class BotUser(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int = Field(gt=0, lt=2**63)
    username: str | None = Field(default=None, max_length=64)


class BotChat(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    type: str = Field(max_length=32)


class BotContact(BaseModel):
    """A shared contact; ``user_id`` is the Telegram account the contact belongs to (absent for a
    phone-book entry that is no Telegram user)."""

    model_config = ConfigDict(extra="ignore")

    phone_number: str = Field(min_length=1, max_length=32)
    user_id: int | None = Field(default=None, gt=0, lt=2**63)


class BotMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_id: int
    sender: BotUser | None = Field(default=None, alias="from")
    chat: BotChat
    text: str | None = Field(default=None, max_length=4096)
    contact: BotContact | None = None


class BotUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    update_id: int
    message: BotMessage | None = None


class KeyboardButton(BaseModel):
    text: str
    request_contact: bool = False


class ContactKeyboard(BaseModel):
    keyboard: list[list[KeyboardButton]]
    resize_keyboard: bool = True
    one_time_keyboard: bool = True


class RemoveKeyboard(BaseModel):
    remove_keyboard: Literal[True] = True


class BotAnswer(BaseModel):
    """The webhook's answer: a ``sendMessage`` to the chat, or nothing to do (``method`` absent)."""

    model_config = ConfigDict(frozen=True)

    method: Literal["sendMessage"] | None = None
    chat_id: int | None = None
    text: str | None = None
    reply_markup: ContactKeyboard | RemoveKeyboard | None = None


ENDPOINTS = [
    Endpoint(
        function="sms_otp",
        method="POST",
        path="/telegram/bot",
        summary="The shop bot's webhook (Telegram's X-Telegram-Bot-Api-Secret-Token): the user's own shared contact registers them, the phone verified by Telegram, no SMS",
        request=BotUpdate,
        response=BotAnswer,
        auth="telegram_bot",
        errors=(400, 401, 409, 413),
    ),
]
