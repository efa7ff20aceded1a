"""Text from outside read strictly: numbers of ASCII digits only, and the one type of an id
that comes from outside (order ids, webhook labels, back-office job and approval ids).

``str.isdigit()`` says yes to ``"²"``, ``"①"`` and ``"٣"``; :func:`is_digits` says yes only
to ``0``-``9``, so ``int()`` of what it accepts never fails and never reads another script's digits.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")


def is_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits (nothing else: no sign, space or other script)."""
    return _DIGITS.fullmatch(text) is not None
