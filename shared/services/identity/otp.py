"""Login codes: requesting one by SMS, within the limits and the daily budget, and verifying it.

**Codes** are six digits from :mod:`secrets`, stored only as an HMAC-SHA256
(keyed with the server's OTP secret, bound to the phone) under the phone's
key: valid :data:`~shared.domain.otp.CODE_TTL`, single use, at most
:data:`~shared.domain.otp.MAX_ATTEMPTS` guesses; a new code replaces the
previous one.

**Limits** (:mod:`shared.domain.otp`) are all checked and taken in the same
transaction as the code is stored, so concurrent requests cannot overdraw them.

**Sending** happens after the transaction committed (a re-run of the
transaction on contention must not send twice), through a gateway that never
repeats a request that may have been sent (:mod:`shared.adapters.sms`). The
outcome is recorded separately; a send that certainly failed gives its
15-minute slot back (the daily and address counters keep it, so a failing
number cannot hammer the gateway), and an ambiguous one keeps everything,
because the SMS may still arrive.

**Verification** compares hashes in constant time and counts wrong guesses
on the code and on the phone, with the network they came from: a network
with too many wrong codes waits progressively longer before its next guess
is checked (:meth:`~shared.domain.otp.PhoneLimits.verify_delay`); nothing
locks the phone. The first verification of a phone registers
its customer (:func:`~shared.services.identity.sessions.login_phone`).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import datetime
from enum import Enum
from typing import Protocol

from msgspec import Struct

from shared.api.sms_otp import CodeSent, Session
from shared.domain.captcha import CaptchaInvalid, CaptchaRequired, Risk, captcha_reasons
from shared.domain.config import ProgramConfig
from shared.domain.errors import Retryable
from shared.domain.ledger import require_utc
from shared.domain.otp import (
    BUDGET_SHARD_LIFETIME,
    BUDGET_SHARDS,
    CODE_LENGTH,
    CODE_TTL,
    MAX_ATTEMPTS,
    SMS_TEXT,
    BudgetShard,
    CodeStatus,
    IpCounter,
    IpWindow,
    OtpCode,
    PhoneLimits,
    RateLimited,
    SendRecord,
    SendStatus,
    budget_day,
    budget_refusal,
    ip_refusal,
    ip_scopes,
    ip_windows,
)
from shared.domain.sms import SmsReceipt, SmsUnavailable
from shared.services import promo
from shared.services.identity.errors import (
    CodeAttemptsExceeded,
    CodeExpired,
    InvalidCode,
)
from shared.services.identity.keys import IdentityKeys
from shared.services.identity.phones import normalize_phone
from shared.services.identity.sessions import login_phone
from shared.services.ports import Store, UnitOfWork

log = logging.getLogger("kopilka")


class SmsGateway(Protocol):
    def send(self, phone: str, text: str, *, message_id: str) -> SmsReceipt:
        """Send once; :class:`SmsUnavailable` (``definite`` when it certainly was not sent)."""


def generate_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def resolve_inviter(store: Store, invited_by: str | None) -> str | None:
    """The partner behind an invitation: a partner's personal code, or a customer id; ``None`` if unknown."""
    if not invited_by or not invited_by.strip():
        return None
    partner = promo.partner_of(store, invited_by)
    if partner is None and promo.is_well_formed(invited_by) and _has_account(store, invited_by):
        return invited_by
    if partner is not None and not _has_account(store, partner):
        return None  # a code naming a partner without an account
    return partner


def _has_account(store: Store, customer_id: str) -> bool:
    return store.read(lambda uow: uow.customer_contacts.exists(customer_id))


def sms_sent_on(store: Store, day: str) -> int:
    """Codes sent (reserved) on a Moscow day across every phone: the sum of the day's shards."""
    return store.read(lambda uow: uow.sms_budget.sent_on(day))


def _limits(uow: UnitOfWork, phone_key: str, now: datetime) -> PhoneLimits:
    return (uow.phone_limits.get(phone_key) or PhoneLimits()).recent(now)


class CaptchaVerifier(Protocol):
    def validate(self, token: str, ip: str | None) -> bool:
        """Whether a captcha token passed (once); :class:`~shared.domain.captcha.CaptchaUnavailable`."""


def _check_captcha(
    store: Store, *, captcha: CaptchaVerifier, token: str | None, phone_key: str, windows: list[IpWindow], ip: str | None, sent_today: int, daily_budget: int, now: datetime
) -> None:
    """Refuse a risky request (:func:`~shared.domain.captcha.captcha_reasons`) unless its token
    passes. The signals are read before the code's transaction: they decide friction, while the
    limits themselves are taken in the transaction."""

    def signals(uow: UnitOfWork) -> list[Risk]:
        limits = _limits(uow, phone_key, now)
        counters = [(w, _count(uow.ip_rates.get(w.window_id))) for w in windows]
        if limits.send_refusal(now) is not None or ip_refusal(counters, now) is not None:
            return []  # refused by a limit anyway: no captcha to solve first
        return captcha_reasons(ip=ip, limits=limits, counters=counters, sent_today=sent_today, daily_budget=daily_budget, now=now)

    risks = store.read(signals)
    if not risks:
        return
    if not token:
        raise CaptchaRequired("this code request needs a captcha token", risk=[r.value for r in risks])
    if not captcha.validate(token, ip):
        log.warning("captcha refused before an SMS code", extra={"json_fields": {"risk": [r.value for r in risks]}})
        raise CaptchaInvalid("the captcha token did not pass", risk=[r.value for r in risks])


def request_code(
    store: Store,
    *,
    gateway: SmsGateway,
    keys: IdentityKeys,
    phone: str,
    ip: str | None,
    now: datetime,
    invited_by: str | None = None,
    daily_budget: int = 0,
    captcha: CaptchaVerifier | None = None,
    captcha_token: str | None = None,
) -> CodeSent:
    """Send a login code to a phone, within the per-phone and per-address limits and the
    shop's daily SMS budget (``daily_budget`` codes per Moscow day across every phone; 0: none).

    :class:`InvalidPhone` (400), :class:`RateLimited` (429, nothing sent or
    counted), with a ``captcha`` verifier a risky request without a passing
    ``captcha_token`` is :class:`~shared.domain.captcha.CaptchaRequired` or
    :class:`~shared.domain.captcha.CaptchaInvalid` (403, nothing sent or
    counted; :class:`~shared.domain.captcha.CaptchaUnavailable` 503 when the
    service gives no answer), :class:`~shared.domain.sms.SmsUnavailable` (the gateway did
    not take the message; the quota is given back when it certainly was not
    sent). The code is never returned: it only travels by SMS.

    The budget is a circuit breaker against SMS pumping: the day's count is
    read (a plain read of its shards) before the send is reserved, and the
    reservation adds one to a random shard, so no document is written by every
    send. Concurrent requests may pass it by a few; a send the gateway refused
    still counts.
    """
    require_utc(now)
    e164 = normalize_phone(phone, keys.regions)
    day, day_ends = budget_day(now)
    shard: int | None = None
    sent = 0
    if daily_budget > 0:
        sent = sms_sent_on(store, day)
        spent = budget_refusal(sent, daily_budget, now)
        if spent is not None:
            log.error("daily SMS budget spent: login codes refused until the next Moscow day", extra={"json_fields": {"day": day, "sent": sent, "budget": daily_budget}})
            raise spent
        shard = secrets.randbelow(BUDGET_SHARDS)
    phone_key = keys.phone_key(e164)
    partner = resolve_inviter(store, invited_by)
    code = generate_code()
    send_id = secrets.token_hex(16)
    windows = ip_windows(ip, now, bucket=keys.ip_bucket, daily_budget=daily_budget)
    if captcha is not None:
        _check_captcha(store, captcha=captcha, token=captcha_token, phone_key=phone_key, windows=windows, ip=ip, sent_today=sent, daily_budget=daily_budget, now=now)

    def reserve(uow: UnitOfWork) -> int:
        limits = _limits(uow, phone_key, now)  # read first: same-phone units queue on it
        refusal = limits.send_refusal(now)
        if refusal is not None:
            raise refusal
        counters = [(w, _count(uow.ip_rates.get(w.window_id))) for w in windows]
        full = ip_refusal(counters, now)
        if full is not None:
            raise full
        if shard is not None:
            current = uow.sms_budget.get(day, shard)
            count = current.count if current is not None else 0
            uow.sms_budget.put(BudgetShard(day=day, index=shard, count=count + 1, expires_at=day_ends + BUDGET_SHARD_LIFETIME))
        limits = limits.with_send(now, send_id)
        uow.phone_limits.put(phone_key, limits, now=now)
        for w, count in counters:
            uow.ip_rates.put(w.window_id, IpCounter(count=count + 1, window_ends_at=w.ends_at))
        uow.otp_codes.put(phone_key, OtpCode(code_hash=keys.code_hash(e164, code), send_id=send_id, created_at=now, expires_at=now + CODE_TTL, invited_by=partner))
        uow.otp_sends.create(send_id, SendRecord.reserved(phone_key, now))
        after = limits.send_refusal(now)
        return after.retry_after if after is not None else 0

    resend_after = store.run(reserve)
    # Committed: the quota is taken and the code stored. Only now the side effect, exactly once.
    try:
        receipt = gateway.send(e164, SMS_TEXT.format(code=code), message_id=send_id)
    except SmsUnavailable as exc:
        _record_send(store, send_id=send_id, phone_key=phone_key, now=now, status=SendStatus.FAILED if exc.definite else SendStatus.UNKNOWN, reason=exc.message)
        raise
    _record_send(store, send_id=send_id, phone_key=phone_key, now=now, status=SendStatus.SENT, provider_id=receipt.provider_id)
    return CodeSent(expires_in=int(CODE_TTL.total_seconds()), resend_after=resend_after, invited=partner is not None)


def _count(counter: IpCounter | None) -> int:
    return counter.count if counter is not None else 0


def _record_send(store: Store, *, send_id: str, phone_key: str, now: datetime, status: SendStatus, provider_id: str | None = None, reason: str | None = None) -> None:
    """The gateway's answer, in its own transaction; a send that certainly failed gives its slot back
    and its code can never be used."""

    def unit(uow: UnitOfWork) -> None:
        if status is SendStatus.FAILED:
            freed = _limits(uow, phone_key, now).with_failed_send(send_id)
            if freed is not None:
                uow.phone_limits.put(phone_key, freed, now=now)
            stored = uow.otp_codes.get(phone_key)
            if stored is not None and stored.send_id == send_id and stored.status is CodeStatus.ACTIVE:
                uow.otp_codes.put(phone_key, stored.not_sent())
        record = uow.otp_sends.get(send_id) or SendRecord.reserved(phone_key, now)
        uow.otp_sends.put(send_id, record.outcome(status, now=now, provider_id=provider_id, reason=reason))

    try:
        store.run(unit)
    except Retryable:
        # the SMS went (or did not) whatever we manage to write: never turn that into another answer
        log.warning("otp send outcome not recorded", extra={"json_fields": {"send_id": send_id, "status": status.value}})


# --- verifying a code ----------------------------------------------------------------


class _Result(Enum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"  # used, replaced, expired or never sent
    EXHAUSTED = "exhausted"
    DELAYED = "delayed"


class _Verdict(Struct, frozen=True):
    result: _Result
    attempts_left: int = 0
    invited_by: str | None = None
    delay: RateLimited | None = None


def guesser_network(keys: IdentityKeys, ip: str | None) -> str:
    """The keyed bucket of the network a guess came from (IPv4 /24, IPv6 /48)."""
    return keys.ip_bucket(f"net:{ip_scopes(ip)['net']}")


def verify_code(store: Store, *, config: ProgramConfig, keys: IdentityKeys, phone: str, code: str, now: datetime, ip: str | None = None) -> Session:
    """Check a code and log the phone's customer in, registering them on their first login.

    A wrong code is :class:`InvalidCode` (its attempts and the phone's
    failures are counted); a used, replaced, expired or unknown code is
    :class:`CodeExpired`; a code guessed :data:`MAX_ATTEMPTS` times is
    :class:`CodeAttemptsExceeded`; a guess from a network that must still wait
    after its wrong codes is :class:`RateLimited` (``verify_delay``), unchecked.
    """
    require_utc(now)
    e164 = normalize_phone(phone, keys.regions)
    invited_by = consume_code(store, keys=keys, e164=e164, code=code, now=now, ip=ip)
    return login_phone(store, config=config, keys=keys, e164=e164, invited_by=invited_by, now=now)


def consume_code(store: Store, *, keys: IdentityKeys, e164: str, code: str, now: datetime, ip: str | None = None) -> str | None:
    """Use up the phone's current code if ``code`` is it (a fresh proof of the phone), with the
    refusals of :func:`verify_code`; the partner of the code's invitation, if any."""
    require_utc(now)
    phone_key = keys.phone_key(e164)
    presented = keys.code_hash(e164, code)
    net = guesser_network(keys, ip)

    def check(uow: UnitOfWork) -> _Verdict:
        limits = _limits(uow, phone_key, now)
        stored = uow.otp_codes.get(phone_key)
        if stored is None or not stored.usable(now):
            return _Verdict(_Result.EXPIRED)
        if stored.exhausted:
            return _Verdict(_Result.EXHAUSTED)
        delay = limits.verify_delay(net, now)
        if delay is not None:
            return _Verdict(_Result.DELAYED, delay=delay)
        if hmac.compare_digest(presented.encode(), stored.code_hash.encode()):
            uow.otp_codes.put(phone_key, stored.used(now))
            if limits.failures:
                uow.phone_limits.put(phone_key, limits.without_failures(), now=now)
            return _Verdict(_Result.OK, invited_by=stored.invited_by)
        guessed = stored.guessed_wrong()
        uow.otp_codes.put(phone_key, guessed)
        uow.phone_limits.put(phone_key, limits.with_failure(now, net), now=now)
        return _Verdict(_Result.WRONG, attempts_left=MAX_ATTEMPTS - guessed.attempts)

    verdict = store.run(check)  # wrong guesses are committed before they are refused
    if verdict.result is _Result.DELAYED:
        assert verdict.delay is not None
        raise verdict.delay
    if verdict.result is _Result.EXPIRED:
        raise CodeExpired("the code is used, replaced, expired or was never sent")
    if verdict.result is _Result.EXHAUSTED:
        raise CodeAttemptsExceeded(f"the code was guessed {MAX_ATTEMPTS} times")
    if verdict.result is _Result.WRONG:
        left = verdict.attempts_left
        message_ru = f"Неверный код. Осталось попыток: {left}." if left else "Неверный код. Попытки закончились, запросите новый код."
        raise InvalidCode("wrong code", message_ru=message_ru, attempts_left=left)
    return verdict.invited_by
