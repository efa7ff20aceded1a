"""Back-office password hashes: Argon2id (argon2-cffi), and the scrypt hashes of before.

New hashes are Argon2id with argon2-cffi's defaults (RFC 9106's second
recommended option: 3 passes over 64 MiB, 4 lanes, a 16-byte random salt),
stored as the encoded PHC string that carries its own parameters. Accounts
hashed earlier hold scrypt (N=2¹⁴, r=8, p=1) with a hex salt: they are still
checked, and :func:`needs_rehash` says that the next successful login must
replace them. An unknown account still costs one hash (no timing oracle).

argon2-cffi is loaded, and the unknown account's hash computed, on the first
check or hash, not at import: the back office's routes other than the login
and a password change never pay for them on a cold start.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from typing import TYPE_CHECKING

from shared.domain.admins import PasswordHash

if TYPE_CHECKING:
    from argon2 import PasswordHasher

ARGON2ID = "argon2id"
SCRYPT = "scrypt"


@cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


@cache
def _dummy() -> str:
    """The hash an unknown account is checked against."""
    return _hasher().hash("an unknown account still costs one hash")


def hash_password(password: str) -> PasswordHash:
    return PasswordHash(algo=ARGON2ID, hash=_hasher().hash(password))


def _scrypt(stored: PasswordHash, password: str) -> bool:
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(stored.salt), n=stored.n, r=stored.r, p=stored.p, dklen=32, maxmem=256 * 1024 * 1024)
    return hmac.compare_digest(candidate.hex(), stored.hash)


def check_password(stored: PasswordHash | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant time for each algorithm)."""
    if stored is not None and stored.algo == SCRYPT:
        return _scrypt(stored, password)
    from argon2.exceptions import InvalidHashError, VerificationError

    dummy = _dummy()  # made on the first check of any account, so the first unknown one takes no longer
    known = stored is not None and stored.algo == ARGON2ID
    try:
        matches = _hasher().verify(stored.hash if stored is not None and known else dummy, password)
    except (VerificationError, InvalidHashError):
        return False
    return known and matches


def needs_rehash(stored: PasswordHash) -> bool:
    """An scrypt hash, or an Argon2id one with weaker parameters than today's."""
    from argon2.exceptions import InvalidHashError

    if stored.algo != ARGON2ID:
        return True
    try:
        return _hasher().check_needs_rehash(stored.hash)
    except InvalidHashError:
        return True
