"""Sessions: a short-lived access token (``customer``) and a refresh token (``refresh``) rotated
on every use.

A refresh token is recorded by its id and marked used when it is exchanged;
presenting a used one again revokes its whole family (every token rotated
from the same login), the thief's tokens and the customer's alike, and moves
the customer's session epoch on, so the access tokens already issued end at
once. A logout (:func:`logout`) revokes its family and moves the epoch on
the same way.

Both tokens carry the customer's session epoch (``ep``). A block moves the
epoch on: from then on every session opened before is refused
(:func:`~shared.services.identity.access.check_session` on the customer
routes, the epoch compared in the hot paths' own read of the account), a
blocked customer cannot log in
(:class:`~shared.domain.customer.AccountBlocked`), and a refresh family
presented while blocked, or with an old epoch after the unblock, is revoked
for good. Unlinking Telegram moves the epoch on the same way
(:func:`~shared.services.identity.linking.unlink_telegram`).

A verified phone's login (:func:`login_phone`) also opens the customer's
account exactly once: the customer id is derived from the phone (``c_`` + an
HMAC), the phone's identity records which customer it belongs to (created
once), and :func:`registration.register_customer` gives the welcome bonus once.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta

from msgspec import Struct

from shared.api.sms_otp import LoggedOut, Session
from shared.domain.config import ProgramConfig
from shared.domain.customer import AccountBlocked, SessionRevoked
from shared.domain.errors import NotFound
from shared.domain.identity import (
    CustomerContact,
    FamilyRevocation,
    Identity,
    IdentityKind,
    RefreshToken,
    RevocationReason,
    RotationOutcome,
)
from shared.domain.ledger import require_utc
from shared.platform import tokens
from shared.services.identity.errors import SessionInvalid
from shared.services.identity.keys import IdentityKeys
from shared.services.ports import Store, UnitOfWork
from shared.services.registration import Registration, register_customer

log = logging.getLogger("kopilka")
_TOKEN_ID = re.compile(r"[0-9a-f]{32}")  # a refresh token's id and family, as secrets.token_hex(16) makes them


def login_phone(store: Store, *, config: ProgramConfig, keys: IdentityKeys, e164: str, now: datetime, invited_by: str | None = None) -> Session:
    """A verified phone's session; its customer is registered once, whatever the concurrency.

    Each step is idempotent, so a crash between them is repaired by the next
    login: the identity document is created once (a lost race re-reads the
    winner's), registration opens an account and gives the welcome bonus once.
    """
    registration = open_account(store, config=config, keys=keys, e164=e164, now=now, invited_by=invited_by)
    session = start_session(store, keys=keys, customer_id=registration.customer_id, now=now, phone=e164)
    return session.model_copy(update={"registered": registration.registered, "welcome_bonus": registration.welcome})


def open_account(store: Store, *, config: ProgramConfig, keys: IdentityKeys, e164: str, now: datetime, invited_by: str | None = None) -> Registration:
    """The customer a verified phone belongs to, registered once (the phone's identity created
    once, the account and its welcome bonus once)."""
    require_utc(now)
    derived = keys.customer_id_for(e164)

    def claim(uow: UnitOfWork) -> str:
        existing = uow.identities.get(IdentityKind.PHONE, e164)
        if existing is not None:
            return existing.customer_id
        uow.identities.create(Identity.phone(e164, derived, now))
        return derived

    customer_id = store.run(claim)
    partner = invited_by if invited_by and invited_by != customer_id else None
    try:
        registration = register_customer(store, config=config, customer_id=customer_id, now=now, invited_by=partner)
    except NotFound:
        if partner is None:
            raise
        # the partner's account went away since the code was requested: register uninvited
        registration = register_customer(store, config=config, customer_id=customer_id, now=now)
    return registration


def start_session(store: Store, *, keys: IdentityKeys, customer_id: str, now: datetime, phone: str | None = None, family: str | None = None) -> Session:
    """Issue an access token and a recorded refresh token (a new family unless one is given).

    With ``phone`` the customer's account learns its verified phone (written
    only when it changes, in the same transaction). A blocked customer gets no
    session (:class:`AccountBlocked`); the tokens carry the account's session epoch.
    """
    require_utc(now)
    jti, family = secrets.token_hex(16), family or secrets.token_hex(16)

    def unit(uow: UnitOfWork) -> int:
        blocking = uow.customer_contacts.blocking(customer_id)
        if blocking is not None and blocking.is_blocked:
            raise AccountBlocked("the customer is blocked: no new session", customer_id=customer_id)
        if phone is not None:
            contact = uow.customer_contacts.get(customer_id)
            if contact is not None and contact.phone != phone:
                uow.customer_contacts.put(customer_id, CustomerContact(phone=phone, phone_verified_at=now))
        uow.refresh_tokens.create(jti, RefreshToken.issue(customer_id, family, now, timedelta(seconds=keys.refresh_ttl_seconds)))
        return blocking.epoch if blocking is not None else 0

    epoch = store.run(unit)
    return _session(keys, customer_id, jti, family, now, epoch)


def _session(keys: IdentityKeys, customer_id: str, jti: str, family: str, now: datetime, epoch: int) -> Session:
    return Session(
        customer_id=customer_id,
        access_token=tokens.issue(keys.token_secret, subject=customer_id, now=now, ttl_seconds=keys.access_ttl_seconds, ep=epoch),
        refresh_token=tokens.issue(keys.token_secret, subject=customer_id, now=now, ttl_seconds=keys.refresh_ttl_seconds, kind="refresh", jti=jti, fam=family, ep=epoch),
        expires_in=keys.access_ttl_seconds,
        refresh_expires_in=keys.refresh_ttl_seconds,
    )


class _Presented(Struct, frozen=True):
    customer_id: str
    jti: str
    family: str
    epoch: int


def _presented(keys: IdentityKeys, refresh_token: str, now: datetime) -> _Presented:
    claims = tokens.verify(keys.token_secret, refresh_token, now=now, kind="refresh")
    jti, family = claims.get("jti"), claims.get("fam")
    if not isinstance(jti, str) or not isinstance(family, str) or not _TOKEN_ID.fullmatch(jti) or not _TOKEN_ID.fullmatch(family):
        raise SessionInvalid("the refresh token has no id")
    return _Presented(customer_id=str(claims["sub"]), jti=jti, family=family, epoch=tokens.epoch(claims))


def refresh_session(store: Store, *, keys: IdentityKeys, refresh_token: str, now: datetime) -> Session:
    """A new token pair for a refresh token, which is used up. A used token presented again
    revokes its family (every token rotated from the same login) and is refused; so is a
    token of a blocked customer (:class:`AccountBlocked`) or of a session a block revoked
    (:class:`SessionRevoked`), and its family is revoked for good."""
    require_utc(now)
    presented = _presented(keys, refresh_token, now)
    customer_id, jti, family = presented.customer_id, presented.jti, presented.family
    new_jti = secrets.token_hex(16)
    ttl = timedelta(seconds=keys.refresh_ttl_seconds)

    def revoke(uow: UnitOfWork, reason: RevocationReason) -> None:
        uow.refresh_families.put(family, FamilyRevocation(customer_id=customer_id, revoked_at=now, reason=reason, jti=jti, expires_at=now + ttl))

    def rotate(uow: UnitOfWork) -> RotationOutcome:
        record = uow.refresh_tokens.get(jti)
        if record is None or record.customer_id != customer_id or record.family != family:
            return RotationOutcome.UNKNOWN
        blocking = uow.customer_contacts.blocking(customer_id)
        revoked = uow.refresh_families.get(family) is not None
        if blocking is not None and blocking.is_blocked:
            if not revoked:
                revoke(uow, RevocationReason.BLOCKED)
            return RotationOutcome.BLOCKED
        if revoked:
            return RotationOutcome.REVOKED
        if presented.epoch != (blocking.epoch if blocking is not None else 0):
            revoke(uow, RevocationReason.REVOKED)
            return RotationOutcome.STALE
        if record.used_at is not None:  # a stolen token: the access tokens issued before end too
            revoke(uow, RevocationReason.REUSE)
            if blocking is not None:
                uow.customer_contacts.end_sessions(customer_id)
            return RotationOutcome.REUSED
        uow.refresh_tokens.put(jti, record.rotated(now, new_jti))
        uow.refresh_tokens.create(new_jti, RefreshToken.issue(customer_id, family, now, ttl))
        return RotationOutcome.OK

    outcome = store.run(rotate)
    if outcome is RotationOutcome.REUSED:
        log.warning("refresh token reused: family revoked", extra={"json_fields": {"customer_id": customer_id, "family": family}})
    if outcome is RotationOutcome.BLOCKED:
        raise AccountBlocked("the customer is blocked: the refresh family is revoked", customer_id=customer_id)
    if outcome is RotationOutcome.STALE:
        raise SessionRevoked("the session was revoked (a block, a logout or a Telegram unlink since): the refresh family is revoked", customer_id=customer_id)
    if outcome is not RotationOutcome.OK:
        raise SessionInvalid(f"the refresh token is {outcome.value}", reason=outcome.value)
    return _session(keys, customer_id, new_jti, family, now, presented.epoch)


def logout(store: Store, *, keys: IdentityKeys, refresh_token: str, now: datetime) -> LoggedOut:
    """End the session of a refresh token: its family is revoked and the customer's session epoch
    moves on, so every access token issued before is refused at once (on every device: an access
    token names no family). A repeated logout changes nothing (``replayed``); a token of no
    recorded session is refused (:class:`SessionInvalid`)."""
    require_utc(now)
    presented = _presented(keys, refresh_token, now)
    customer_id, family = presented.customer_id, presented.family

    def unit(uow: UnitOfWork) -> bool | None:
        record = uow.refresh_tokens.get(presented.jti)
        if record is None or record.customer_id != customer_id or record.family != family:
            return None
        if uow.refresh_families.get(family) is not None:
            return True
        blocking = uow.customer_contacts.blocking(customer_id)
        uow.refresh_families.put(
            family,
            FamilyRevocation(customer_id=customer_id, revoked_at=now, reason=RevocationReason.LOGOUT, jti=presented.jti, expires_at=now + timedelta(seconds=keys.refresh_ttl_seconds)),
        )
        if blocking is not None and presented.epoch == blocking.epoch:  # else a block or a logout already ended them
            uow.customer_contacts.end_sessions(customer_id)
        return False

    replayed = store.run(unit)
    if replayed is None:
        raise SessionInvalid(f"the refresh token is {RotationOutcome.UNKNOWN.value}", reason=RotationOutcome.UNKNOWN.value)
    return LoggedOut(replayed=replayed)
