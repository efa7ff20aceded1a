"""Where a payout goes: the full destination the manager pays to, and the masked form everyone else sees.

* ``card`` — the card number (13 to 19 digits, spaces and dashes allowed, a
  valid check digit): masked ``**** 1234``;
* ``phone`` — a mobile number (any spelling, read as E.164): masked
  ``+7 *** ***-12-34``;
* ``sbp`` — the bank and the phone the transfer goes to (``Сбербанк, +7 916
  123-45-67``): masked ``Сбербанк, +7 *** ***-12-34``;
* ``bonus_account`` — nowhere outside: an optional note, itself masked (no run
  of five digits).

The full destination is kept only sealed (:class:`Sealer`, bound to the
request); what is stored in clear, answered and audited is the masked form.
"""

from __future__ import annotations

import re
from typing import Protocol

from msgspec import Struct

from shared.domain.errors import ValidationFailed
from shared.domain.payouts import PayoutMethod

DETAILS_MAX = 80
_SEPARATORS = re.compile(r"[\s().\-]")
_LONG_NUMBER = re.compile(r"\d{5,}")
_CARD = re.compile(r"\d{13,19}")
_PHONE_IN_TEXT = re.compile(r"\+?\d[\d\s().\-]{8,20}\d")


class Sealer(Protocol):
    """Seals a destination at rest and opens it for a person who pays (:mod:`shared.platform.sealing`)."""

    def seal(self, plaintext: str, *, context: str) -> str: ...

    def open(self, sealed: str, *, context: str) -> str: ...


class Destination(Struct, frozen=True):
    full: str  # what the manager pays to ("" for the bonus account)
    masked: str  # what the partner, the lists and the audit log show


def is_masked(details: str) -> bool:
    """No run of five or more digits once spaces, dots, dashes and brackets are removed."""
    return _LONG_NUMBER.search(_SEPARATORS.sub("", details)) is None


def _refused(message: str, message_ru: str) -> ValidationFailed:
    return ValidationFailed(message, field="details", message_ru=message_ru)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _phone(text: str, what: str) -> str:
    from shared.services.identity.errors import InvalidPhone
    from shared.services.identity.phones import normalize_phone  # loads the phone metadata: only for a payout to a phone

    try:
        return normalize_phone(text)
    except InvalidPhone:
        raise _refused(f"{what} must be a Russian mobile number in full", "Укажите полный номер мобильного телефона, например +7 916 123-45-67.") from None


def _mask_phone(e164: str) -> str:
    import phonenumbers

    number = phonenumbers.parse(e164)
    national = str(number.national_number)
    return f"+{number.country_code} *** ***-{national[-4:-2]}-{national[-2:]}"


def parse(method: PayoutMethod, details: str) -> Destination:
    """The destination ``details`` names for ``method``, or :class:`ValidationFailed` (field ``details``)."""
    text = " ".join((details or "").split())
    if len(text) > DETAILS_MAX:
        raise _refused(f"details must be at most {DETAILS_MAX} characters", "Слишком длинные реквизиты.")
    if method is PayoutMethod.BONUS_ACCOUNT:
        if not is_masked(text):
            raise _refused("a bonus_account payout takes no card or phone number", "Для выплаты на бонусный счёт реквизиты не нужны.")
        return Destination(full="", masked=text)
    if not text:
        raise _refused("details are required for this method", "Укажите, куда перевести выплату.")
    if method is PayoutMethod.CARD:
        digits = re.sub(r"[\s\-]", "", text)
        if not _CARD.fullmatch(digits) or not _luhn(digits):
            raise _refused("details must be the full card number", "Укажите полный номер карты (цифры с лицевой стороны): менеджер переведёт выплату на неё.")
        return Destination(full=digits, masked=f"**** {digits[-4:]}")
    if method is PayoutMethod.PHONE:
        phone = _phone(text, "details")
        return Destination(full=phone, masked=_mask_phone(phone))
    found = _PHONE_IN_TEXT.search(text)  # SBP: the bank and the phone
    bank = " ".join((text[: found.start()] + " " + text[found.end() :]).split()).strip(" ,;:") if found else text
    if found is None or not bank or not is_masked(bank):
        raise _refused("an SBP payout needs the bank and the phone", "Укажите банк и номер телефона, например «Сбербанк, +7 916 123-45-67».")
    phone = _phone(found.group(), "the SBP phone")
    return Destination(full=f"{bank}, {phone}", masked=f"{bank}, {_mask_phone(phone)}")


__all__ = ["DETAILS_MAX", "Destination", "Sealer", "is_masked", "parse"]
