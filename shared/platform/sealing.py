"""Sealing: what the store must keep but never show, encrypted at rest (AES-256-GCM).

A sealed value is ``v1.<base64url(nonce ‖ ciphertext ‖ tag)>``. The key is
derived (HKDF-SHA256, one key per purpose) from a secret of at least 32
characters; the *context* (e.g. ``payout:<request id>``) is authenticated as
associated data, so a sealed value copied onto another document does not open
there. A value sealed under another key, altered or in another context raises
:class:`SealBroken`.

:func:`payout_sealer` seals partners' payout destinations with
``KOPILKA_PAYOUT_SECRET`` (a Secret Manager secret of the account and admin
functions). Losing the secret loses the sealed destinations, nothing else:
requests still show their masked form.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.platform.settings import settings

VERSION = "v1."
SECRET_MIN = 32
_NONCE = 12
PAYOUT_DESTINATIONS = "kopilka/payout-destination"


class SealBroken(ValueError):
    """A sealed value that does not open: another key, another context, or altered."""


class Sealer:
    """Seals and opens short texts with a key derived from ``secret`` for ``purpose``."""

    def __init__(self, secret: str, *, purpose: str = PAYOUT_DESTINATIONS) -> None:
        if len(secret) < SECRET_MIN:
            raise ValueError(f"a sealing secret must be at least {SECRET_MIN} characters")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret.encode())
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return VERSION + base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, sealed: str, *, context: str) -> str:
        if not sealed.startswith(VERSION):
            raise SealBroken("not a sealed value")
        body = sealed.removeprefix(VERSION)
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise SealBroken("the sealed value does not open with this key and context") from exc


def payout_sealer() -> Sealer:
    """The sealer of payout destinations (``KOPILKA_PAYOUT_SECRET``; missing: :class:`~shared.platform.settings.MissingSetting`)."""
    return Sealer(settings().require("payout_secret").payout_secret)
