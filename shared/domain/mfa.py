"""Two-factor login of the back office: a TOTP authenticator (RFC 6238) and recovery codes.

The roles that move money (:data:`MFA_ROLES`: admin, accountant, manager) act
only with a token issued after a second factor; an admin of the other roles
may enrol too, and is then asked for it at every login. A TOTP code is six
digits of a 30-second step, accepted one step either side for clock drift
and never for a step at or before the last one used (no replay). Ten
recovery codes are answered once when the authenticator is confirmed and
kept only as SHA-256 hashes; each logs in once.

pyotp is imported where a code is made or checked, not with the module: the
account model that carries a :class:`Totp` is read on every back-office
request, a code only at a login or an enrolment.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

from msgspec import Struct
from msgspec.structs import replace

MFA_ROLES: frozenset[str] = frozenset({"admin", "accountant", "manager"})
RECOVERY_CODES = 10
DRIFT_STEPS = 1  # steps accepted either side of now
ISSUER = "Kopilka"


def mfa_required(roles: Iterable[str]) -> bool:
    """Whether these roles act only after a second factor."""
    return any(r in MFA_ROLES for r in roles)


class Totp(Struct, frozen=True):
    """An admin's authenticator: its base32 secret, confirmed once a code of it was entered."""

    secret: str
    created_at: datetime
    confirmed_at: datetime | None = None
    last_step: int = -1  # the step of the last code used: no code of it or before is taken again

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @classmethod
    def new(cls, now: datetime) -> Totp:
        import pyotp

        return cls(secret=pyotp.random_base32(), created_at=now)

    def uri(self, email: str) -> str:
        import pyotp

        return pyotp.TOTP(self.secret).provisioning_uri(name=email, issuer_name=ISSUER)

    def matching_step(self, code: str, now: datetime) -> int | None:
        """The step ``code`` is the code of, within the drift and after the last one used."""
        import pyotp

        totp = pyotp.TOTP(self.secret)
        current = totp.timecode(now)
        found = None
        for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
            if hmac.compare_digest(totp.generate_otp(step), code) and step > self.last_step:
                found = step
        return found

    def used(self, step: int, now: datetime) -> Totp:
        return replace(self, last_step=step, confirmed_at=self.confirmed_at or now)


def recovery_hash(code: str) -> str:
    """The stored form of a recovery code, as typed in any case, with or without its dash."""
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


def new_recovery_codes() -> list[str]:
    """Ten fresh codes of 50 random bits, ``xxxxx-xxxxx``."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes
