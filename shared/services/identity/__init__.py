"""Identity: phone login with one-time SMS codes, sessions, and Telegram login.

* :mod:`.phones`: any spelling of a phone to E.164 (mobile numbers of the configured regions);
* :mod:`.otp`: requesting a code by SMS within the limits and the daily SMS budget, verifying it;
* :mod:`.sessions`: a verified phone's login (registering its customer once), refresh-token rotation, logout;
* :mod:`.access`: whether a customer token's session still stands (not blocked, not revoked);
* :mod:`.telegram`: Telegram Login Widget verification and login;
* :mod:`.oidc`: "Log in with Telegram" (OpenID Connect): the code exchanged, the id_token verified;
* :mod:`.linking`: linking Telegram to a customer (with a fresh proof of the phone) and unlinking it;
* :mod:`.notices`: security notices to the customer's phone by SMS;
* :mod:`.bot`: registration through the shop's Telegram bot (a shared own contact, no SMS);
* :mod:`.keys`: the secrets and the keyed hashes; :mod:`.errors`: the refusals.

The limit rules themselves are pure and live in :mod:`shared.domain.otp`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.api.sms_otp import CodeSent, Session, TelegramResult
    from shared.domain.identity import TelegramUser
    from shared.domain.otp import budget_day, ip_scopes, seconds_until, wait_ru
    from shared.services.identity.access import check_session
    from shared.services.identity.bot import ContactOutcome, check_bot_secret, handle_update, register_by_contact
    from shared.services.identity.errors import (
        CodeAttemptsExceeded,
        CodeExpired,
        InvalidCode,
        InvalidPhone,
        LinkedElsewhere,
        NotLinked,
        PhoneProofRequired,
        RateLimited,
        SessionInvalid,
        TelegramBotUnauthorized,
        TelegramLoginInvalid,
    )
    from shared.services.identity.keys import IdentityKeys
    from shared.services.identity.linking import link_telegram, unlink_telegram
    from shared.services.identity.oidc import oidc_user, verify_id_token
    from shared.services.identity.otp import (
        SmsGateway,
        consume_code,
        generate_code,
        request_code,
        resolve_inviter,
        sms_sent_on,
        verify_code,
    )
    from shared.services.identity.phones import normalize_phone
    from shared.services.identity.sessions import (
        login_phone,
        logout,
        open_account,
        refresh_session,
        start_session,
    )
    from shared.services.identity.telegram import (
        login_linked,
        telegram_check_string,
        telegram_hash,
        telegram_login,
        verify_telegram,
    )

# Each name is imported from its module on first use, so importing one submodule (``.phones``,
# say) does not load the others.
_HOMES = {
    "CodeAttemptsExceeded": "shared.services.identity.errors",
    "CodeExpired": "shared.services.identity.errors",
    "CodeSent": "shared.api.sms_otp",
    "ContactOutcome": "shared.services.identity.bot",
    "IdentityKeys": "shared.services.identity.keys",
    "InvalidCode": "shared.services.identity.errors",
    "InvalidPhone": "shared.services.identity.errors",
    "LinkedElsewhere": "shared.services.identity.errors",
    "NotLinked": "shared.services.identity.errors",
    "PhoneProofRequired": "shared.services.identity.errors",
    "RateLimited": "shared.services.identity.errors",
    "Session": "shared.api.sms_otp",
    "SessionInvalid": "shared.services.identity.errors",
    "SmsGateway": "shared.services.identity.otp",
    "TelegramBotUnauthorized": "shared.services.identity.errors",
    "TelegramLoginInvalid": "shared.services.identity.errors",
    "TelegramResult": "shared.api.sms_otp",
    "TelegramUser": "shared.domain.identity",
    "budget_day": "shared.domain.otp",
    "check_bot_secret": "shared.services.identity.bot",
    "check_session": "shared.services.identity.access",
    "consume_code": "shared.services.identity.otp",
    "link_telegram": "shared.services.identity.linking",
    "login_linked": "shared.services.identity.telegram",
    "unlink_telegram": "shared.services.identity.linking",
    "generate_code": "shared.services.identity.otp",
    "handle_update": "shared.services.identity.bot",
    "ip_scopes": "shared.domain.otp",
    "login_phone": "shared.services.identity.sessions",
    "logout": "shared.services.identity.sessions",
    "normalize_phone": "shared.services.identity.phones",
    "oidc_user": "shared.services.identity.oidc",
    "open_account": "shared.services.identity.sessions",
    "refresh_session": "shared.services.identity.sessions",
    "register_by_contact": "shared.services.identity.bot",
    "request_code": "shared.services.identity.otp",
    "resolve_inviter": "shared.services.identity.otp",
    "seconds_until": "shared.domain.otp",
    "sms_sent_on": "shared.services.identity.otp",
    "start_session": "shared.services.identity.sessions",
    "telegram_check_string": "shared.services.identity.telegram",
    "telegram_hash": "shared.services.identity.telegram",
    "telegram_login": "shared.services.identity.telegram",
    "verify_code": "shared.services.identity.otp",
    "verify_id_token": "shared.services.identity.oidc",
    "verify_telegram": "shared.services.identity.telegram",
    "wait_ru": "shared.domain.otp",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "CodeAttemptsExceeded",
    "CodeExpired",
    "CodeSent",
    "ContactOutcome",
    "IdentityKeys",
    "InvalidCode",
    "InvalidPhone",
    "LinkedElsewhere",
    "NotLinked",
    "PhoneProofRequired",
    "RateLimited",
    "Session",
    "SessionInvalid",
    "SmsGateway",
    "TelegramBotUnauthorized",
    "TelegramLoginInvalid",
    "TelegramResult",
    "TelegramUser",
    "budget_day",
    "check_bot_secret",
    "check_session",
    "consume_code",
    "link_telegram",
    "login_linked",
    "unlink_telegram",
    "generate_code",
    "handle_update",
    "ip_scopes",
    "login_phone",
    "logout",
    "normalize_phone",
    "oidc_user",
    "open_account",
    "refresh_session",
    "register_by_contact",
    "request_code",
    "resolve_inviter",
    "seconds_until",
    "sms_sent_on",
    "start_session",
    "telegram_check_string",
    "telegram_hash",
    "telegram_login",
    "verify_code",
    "verify_id_token",
    "verify_telegram",
    "wait_ru",
]
