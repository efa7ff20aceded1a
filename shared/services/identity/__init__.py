"""Identity: phone login with one-time SMS codes, sessions, and Telegram login.

* :mod:`.phones`: any spelling of a phone to E.164 (mobile numbers of the configured regions);
* :mod:`.otp`: requesting a code by SMS within the limits and the daily SMS budget, verifying it;
* :mod:`.sessions`: a verified phone's login (registering its customer once), refresh-token rotation;
* :mod:`.telegram`: Telegram Login Widget verification, linking and login;
* :mod:`.keys`: the secrets and the keyed hashes; :mod:`.errors`: the refusals.

The limit rules themselves are pure and live in :mod:`shared.domain.otp`.
"""

from __future__ import annotations

from shared.api.sms_otp import CodeSent, Session, TelegramResult
from shared.domain.identity import TelegramUser
from shared.domain.otp import budget_day, ip_scopes, seconds_until, wait_ru
from shared.services.identity.errors import (
    CodeAttemptsExceeded,
    CodeExpired,
    InvalidCode,
    InvalidPhone,
    LinkedElsewhere,
    NotLinked,
    RateLimited,
    SessionInvalid,
    TelegramLoginInvalid,
)
from shared.services.identity.keys import IdentityKeys
from shared.services.identity.otp import (
    SmsGateway,
    generate_code,
    request_code,
    resolve_inviter,
    sms_sent_on,
    verify_code,
)
from shared.services.identity.phones import normalize_phone
from shared.services.identity.sessions import (
    login_phone,
    refresh_session,
    start_session,
)
from shared.services.identity.telegram import (
    telegram_check_string,
    telegram_hash,
    telegram_login,
    verify_telegram,
)

__all__ = [
    "CodeAttemptsExceeded",
    "CodeExpired",
    "CodeSent",
    "IdentityKeys",
    "InvalidCode",
    "InvalidPhone",
    "LinkedElsewhere",
    "NotLinked",
    "RateLimited",
    "Session",
    "SessionInvalid",
    "SmsGateway",
    "TelegramLoginInvalid",
    "TelegramResult",
    "TelegramUser",
    "budget_day",
    "generate_code",
    "ip_scopes",
    "login_phone",
    "normalize_phone",
    "refresh_session",
    "request_code",
    "resolve_inviter",
    "seconds_until",
    "sms_sent_on",
    "start_session",
    "telegram_check_string",
    "telegram_hash",
    "telegram_login",
    "verify_code",
    "verify_telegram",
    "wait_ru",
]
