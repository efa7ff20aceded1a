"""The customer's own profile fields: name, e-mail, birthday and notification channels. Pure.

Stored on ``customers/{id}`` beside the account (see
:mod:`shared.services.account`). The birthday is kept as entered
(``"YYYY-MM-DD"`` or ``"MM-DD"``) in ``birthday`` and always as ``"MM-DD"`` in
``birthday_md``, the field the sweep's birthday pass queries.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

NAME_MAX = 100
EMAIL_MAX = 254
CHANNELS = ("sms", "email", "telegram")
# Service notices (expiry, rewards) go by SMS until the customer chooses otherwise.
DEFAULT_NOTIFICATIONS = {"sms": True, "email": False, "telegram": False}

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_FULL = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")
LEAP_YEAR = 2000  # any leap year: "02-29" is a valid birthday


def clean_name(value: str) -> str:
    """The name with blanks (tabs, new lines) collapsed and trimmed; other control characters refused."""
    if any(unicodedata.category(ch) in ("Cc", "Cf") and not ch.isspace() for ch in value):
        raise ValueError("the name contains control characters")
    name = " ".join(value.split())
    if not name:
        raise ValueError("the name is empty")
    if len(name) > NAME_MAX:
        raise ValueError(f"the name is longer than {NAME_MAX} characters")
    return name


def clean_email(value: str) -> str:
    """A plausible address (``local@domain.tld``), trimmed and lower-cased."""
    email = value.strip().lower()
    if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email):
        raise ValueError("not an e-mail address")
    return email


def parse_birthday(value: str, today: date) -> tuple[str, str]:
    """``(birthday as entered, "MM-DD")`` of ``"YYYY-MM-DD"`` or ``"MM-DD"``; a real day, not in the future."""
    text = value.strip()
    full = _FULL.fullmatch(text)
    if full:
        year, month, day = (int(part) for part in full.groups())
        try:
            born = date(year, month, day)
        except ValueError:
            raise ValueError("not a calendar date") from None
        if born > today or year < 1900:
            raise ValueError("the birthday must be a past date after 1900")
        return text, text[5:]
    short = _MONTH_DAY.fullmatch(text)
    if short:
        month, day = (int(part) for part in short.groups())
        try:
            date(LEAP_YEAR, month, day)
        except ValueError:
            raise ValueError("not a calendar day") from None
        return text, text
    raise ValueError('the birthday must be "YYYY-MM-DD" or "MM-DD"')


def notifications(stored: dict[str, object] | None) -> dict[str, bool]:
    """The customer's channel choices, defaults filled in."""
    chosen = dict(DEFAULT_NOTIFICATIONS)
    for channel in CHANNELS:
        value = (stored or {}).get(channel)
        if isinstance(value, bool):
            chosen[channel] = value
    return chosen


def known_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows (``Europe/Moscow``, ``Asia/Omsk``)."""
    import re
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z0-9_+\-]+){0,2}", name):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
