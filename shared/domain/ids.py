"""Text from outside read strictly: numbers of ASCII digits only, and the one type of an id
that comes from outside (order ids, webhook labels, back-office job and approval ids).

An outside id (:data:`ExternalId` in request models, :func:`external_id` and
:func:`is_external_id` in use cases) is 1 to 200 ASCII letters, digits and ``_.:@+-``, and
never a form Firestore reserves or cannot hold (``.``, ``..``, ``__…__``, a slash).

``str.isdigit()`` says yes to ``"²"``, ``"①"`` and ``"٣"``; :func:`is_digits` says yes only
to ``0``-``9``, so ``int()`` of what it accepts never fails and never reads another script's digits.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from shared.domain.errors import ValidationFailed

_DIGITS = re.compile(r"[0-9]+")


def is_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits (nothing else: no sign, space or other script)."""
    return _DIGITS.fullmatch(text) is not None


# --- ids from outside ---------------------------------------------------------------------------

MAX_ID_LENGTH = 200
ID_PATTERN = rf"^[A-Za-z0-9_.:@+\-]{{1,{MAX_ID_LENGTH}}}$"
_ID = re.compile(ID_PATTERN)
_RESERVED = re.compile(r"__.*__", re.DOTALL)  # Firestore reserves these document ids, and "." and ".."


def is_external_id(value: object) -> bool:
    """Whether ``value`` may be an id that comes from outside and names a document: 1 to 200 ASCII
    letters, digits and ``_.:@+-`` (no slash, space or other script), never ``.``, ``..`` nor ``__…__``."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None and value not in (".", "..") and _RESERVED.fullmatch(value) is None


def external_id(value: object, *, field: str, message_ru: str = "Некорректный идентификатор.") -> str:
    """``value`` when it is a well-formed outside id (:func:`is_external_id`), else :class:`ValidationFailed` naming ``field``."""
    if not is_external_id(value):
        raise ValidationFailed(f"{field} is not a well-formed id (1-{MAX_ID_LENGTH} of A-Z a-z 0-9 _.:@+-, not '.', '..' or '__…__')", field=field, message_ru=message_ru)
    assert isinstance(value, str)
    return value


def not_reserved(value: str) -> str:
    """A pydantic check: ``value`` when it is an outside id (:func:`is_external_id`), else a ``ValueError``."""
    if not is_external_id(value):
        raise ValueError("not a well-formed id: '.', '..' and '__…__' are reserved")
    return value


# The one type of an outside id in request models (order ids, return ids, job ids …).
ExternalId = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN), AfterValidator(not_reserved)]
