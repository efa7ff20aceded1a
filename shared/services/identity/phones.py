"""Phones: whatever the customer types is parsed into E.164 before anything is keyed on it.

``+7 900 123-45-67``, ``8 (900) 123 45 67`` and ``79001234567`` are one phone,
so every spelling meets the same limiter. Only mobile numbers of the
configured regions (``RU`` by default) are accepted: SMS to other
destinations is where SMS pumping pays.
"""

from __future__ import annotations

import phonenumbers

from shared.services.identity.errors import InvalidPhone

_MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalize_phone(raw: str, regions: tuple[str, ...] = ("RU",)) -> str:
    """The E.164 form of a mobile number of one of ``regions``, or :class:`InvalidPhone`.

    A number without ``+`` is read as a number of the first region, so
    ``8 (900) 123-45-67``, ``79001234567`` and ``+7 900 123 45 67`` are one phone.
    """
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 32:
        raise InvalidPhone("the phone number is empty or too long", field="phone")
    try:
        number = phonenumbers.parse(raw, regions[0])
    except phonenumbers.NumberParseException:
        raise InvalidPhone("the phone number cannot be parsed", field="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("the phone number is not valid", field="phone")
    region = phonenumbers.region_code_for_number(number)
    if region not in regions:
        allowed = ", ".join(regions)
        raise InvalidPhone(f"numbers of {region} are not accepted (accepted: {allowed})", field="phone",
            message_ru="Вход доступен только по номерам мобильных телефонов России." if regions == ("RU",) else "Номера этой страны не поддерживаются.")
    if phonenumbers.number_type(number) not in _MOBILE:
        raise InvalidPhone("only mobile numbers receive codes", field="phone", message_ru="Укажите номер мобильного телефона.")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
