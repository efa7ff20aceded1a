"""Linking a Telegram account to a customer, and unlinking it.

A linked Telegram account logs its customer in without a phone code, so a
link is a credential: a customer token alone never creates one (a leaked
token must not become permanent access). :func:`link_telegram` needs a
fresh proof of the account's phone, a login code sent to it by SMS
(:func:`~shared.services.identity.otp.request_code`) and used up here; the
shop's bot links a Telegram account whose own contact shares the phone
(:mod:`.bot`). Either way the customer is told by SMS (:mod:`.notices`), once
per link, and can unlink: :func:`unlink_telegram` marks the Telegram
identity unlinked and moves the session epoch on, so every session opened
before (one opened through that Telegram account too) is refused.

A customer has one Telegram account: linking another unlinks the previous one.
"""

from __future__ import annotations

import logging
from datetime import datetime

from msgspec import Struct

from shared.api.sms_otp import TelegramResult, TelegramUnlinked
from shared.domain.errors import NotFound
from shared.domain.identity import CustomerContact, Identity, IdentityKind, TelegramUser
from shared.domain.ledger import require_utc
from shared.services.identity.errors import LinkedElsewhere, PhoneProofRequired
from shared.services.identity.keys import IdentityKeys
from shared.services.identity.notices import Gateway, send_notice, telegram_linked_text
from shared.services.identity.otp import consume_code
from shared.services.ports import Store, UnitOfWork

log = logging.getLogger("kopilka")


class Link(Struct, frozen=True):
    """A Telegram account linked to a customer: by this call (``now``) or before."""

    customer_id: str
    telegram_id: int
    username: str | None
    linked_at: datetime
    now: bool
    phone: str | None  # the account's verified phone (the notice goes there)


def attach(store: Store, *, telegram_id: int, username: str | None, customer_id: str, now: datetime, contact: CustomerContact | None = None) -> Link:
    """In one transaction: the Telegram identity names ``customer_id`` (created, or revived after
    an unlink) and the account records it (with ``contact`` also the verified phone). Linked to
    another customer: :class:`LinkedElsewhere`; linked to this one already: no change."""
    require_utc(now)

    def unit(uow: UnitOfWork) -> Link:
        existing = uow.identities.get(IdentityKind.TELEGRAM, telegram_id)
        if existing is not None and existing.active:
            if existing.customer_id != customer_id:
                raise LinkedElsewhere("this Telegram account is linked to another customer", telegram_id=telegram_id)
            stored = uow.customer_contacts.get(customer_id)
            return Link(customer_id=customer_id, telegram_id=telegram_id, username=existing.username, linked_at=existing.created_at or now, now=False, phone=stored.phone if stored else None)
        account = uow.customer_contacts.get(customer_id)
        if account is None:
            raise NotFound("unknown customer", customer_id=customer_id)
        previous = account.telegram_id
        if previous is not None and previous != telegram_id:
            old = uow.identities.get(IdentityKind.TELEGRAM, previous)
            if old is not None and old.active and old.customer_id == customer_id:
                uow.identities.put(old.unlinked(now))
        identity = Identity.telegram(telegram_id, customer_id, now, username)
        if existing is None:
            uow.identities.create(identity)
        else:
            uow.identities.put(identity)
        changed = contact if contact is not None and contact.phone != account.phone else None
        uow.customer_contacts.record_telegram(customer_id, telegram_id, contact=changed)
        phone = contact.phone if contact is not None else account.phone
        return Link(customer_id=customer_id, telegram_id=telegram_id, username=username, linked_at=now, now=True, phone=phone)

    return store.run(unit)


def notify_linked(store: Store, *, gateway: Gateway, keys: IdentityKeys, link: Link, now: datetime, daily_budget: int = 0) -> bool:
    """Tell the customer by SMS that a Telegram account was linked (once per link; replays send nothing)."""
    if link.phone is None:
        log.warning("telegram linked to an account without a phone: no notice", extra={"json_fields": {"customer_id": link.customer_id}})
        return False
    notice_id = keys.mac("notice", f"telegram-linked:{link.customer_id}:{link.telegram_id}:{link.linked_at.isoformat()}")[:32]
    return send_notice(store, gateway=gateway, keys=keys, phone=link.phone, text=telegram_linked_text(link.username), notice_id=notice_id, now=now, daily_budget=daily_budget)


def link_telegram(
    store: Store, *, keys: IdentityKeys, gateway: Gateway, user: TelegramUser, customer_id: str, code: str | None, now: datetime, daily_budget: int = 0
) -> TelegramResult:
    """Link a verified Telegram account to the logged-in customer with a fresh proof of their phone.

    ``code`` is a login code sent to the account's verified phone; it is
    used up (a wrong one counts against the phone like a wrong login code).
    Without one, or for an account without a verified phone:
    :class:`PhoneProofRequired`. A Telegram account linked to this customer
    already is no change (the code is not needed then, and the notice of
    the link is sent if it was not).
    """
    require_utc(now)
    if not code:
        raise PhoneProofRequired("linking Telegram needs a login code sent to the account's phone")
    existing = store.read(lambda uow: uow.identities.get(IdentityKind.TELEGRAM, user.id))
    if existing is None or not existing.active or existing.customer_id != customer_id:
        contact = store.read(lambda uow: uow.customer_contacts.get(customer_id))
        if contact is None:
            raise NotFound("unknown customer", customer_id=customer_id)
        if contact.phone is None:
            raise PhoneProofRequired("the account has no verified phone to prove")
        if existing is not None and existing.active:
            raise LinkedElsewhere("this Telegram account is linked to another customer", telegram_id=user.id)
        consume_code(store, keys=keys, e164=contact.phone, code=code, now=now)
    link = attach(store, telegram_id=user.id, username=user.username, customer_id=customer_id, now=now)
    notify_linked(store, gateway=gateway, keys=keys, link=link, now=now, daily_budget=daily_budget)
    return TelegramResult(customer_id=customer_id, telegram_id=user.id, linked=link.now, session=None)


def unlink_telegram(store: Store, *, customer_id: str, now: datetime) -> TelegramUnlinked:
    """Unlink the customer's Telegram account(s) and end every session of the customer (the
    caller logs in again); no Telegram linked: no change."""
    require_utc(now)
    candidates = store.read(lambda uow: uow.identities.telegram_ids_of(customer_id))

    def unit(uow: UnitOfWork) -> list[int]:
        account = uow.customer_contacts.get(customer_id)
        if account is None:
            raise NotFound("unknown customer", customer_id=customer_id)
        ids = sorted({*candidates, *([account.telegram_id] if account.telegram_id is not None else [])})
        unlinked: list[int] = []
        for telegram_id in ids:
            identity = uow.identities.get(IdentityKind.TELEGRAM, telegram_id)
            if identity is not None and identity.active and identity.customer_id == customer_id:
                uow.identities.put(identity.unlinked(now))
                unlinked.append(telegram_id)
        if unlinked or account.telegram_id is not None:
            uow.customer_contacts.record_telegram(customer_id, None, end_sessions=bool(unlinked))
        return unlinked

    unlinked = store.run(unit)
    if unlinked:
        log.info("telegram unlinked: sessions ended", extra={"json_fields": {"customer_id": customer_id, "telegram_ids": unlinked}})
    return TelegramUnlinked(customer_id=customer_id, telegram_ids=unlinked, unlinked=bool(unlinked))
