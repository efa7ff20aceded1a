"""Identity: phone login with one-time SMS codes, sessions, and Telegram login.

**Phones.** Whatever the customer types (``+7 900 123-45-67``,
``8 (900) 123 45 67``, ``79001234567``) is parsed with ``phonenumbers`` into
E.164 before anything is keyed on it, so every spelling meets the same
limiter. Only mobile numbers of the configured regions (``RU`` by default)
are accepted: SMS to other destinations is where SMS pumping pays.

**Codes** are six digits from :mod:`secrets`, stored only as an HMAC-SHA256
(keyed with the server's OTP secret, bound to the phone) in
``otp_codes/{phone key}``: valid :data:`CODE_TTL`, single use, at most
:data:`MAX_ATTEMPTS` guesses; a new code replaces the previous one.

**Limits**, all checked and taken in the same transaction as the code is
stored, so concurrent requests cannot overdraw them:

* per phone (``otp_rate/{phone key}``, a sliding log of the last 24 h):
  :data:`SENDS_PER_WINDOW` SMS per :data:`SEND_WINDOW`, :data:`SENDS_PER_DAY`
  per 24 h, and a lockout (no sends, no verifications) after
  :data:`LOCKOUT_FAILURES` wrong codes in 24 h across codes;
* per caller address (``ip_rate/{hash}_{window}``, fixed windows): the
  address (an IPv6 /64) and its network (IPv4 /24, IPv6 /48), see
  :data:`IP_LIMITS`.

A refusal is :class:`RateLimited` with ``retry_after`` seconds and the
Russian "Повторная отправка кода возможна через N минут".

**Sending** happens after the transaction committed (a re-run of the
transaction on contention must not send twice), through a gateway that never
repeats a request that may have been sent (:mod:`shared.adapters.sms`). The
outcome is recorded separately in ``otp_sends/{send id}``; a send that
certainly failed gives its 15-minute slot back (the daily and address
counters keep it, so a failing number cannot hammer the gateway), and an
ambiguous one keeps everything, because the SMS may still arrive.

**Verification** compares hashes in constant time and counts wrong guesses
on the code and on the phone. The first verification of a phone opens the
customer's account exactly once: the customer id is derived from the phone
(``c_`` + an HMAC), ``identities/phone:{e164}`` records which customer the
phone belongs to (created once), and :func:`lifecycle.register_customer`
gives the welcome bonus once (the invited one when the code was requested
with a partner's code or id).

**Sessions** are a short-lived access token (``customer``) and a refresh
token (``refresh``) rotated on every use: ``refresh_tokens/{jti}`` is marked
used, and presenting a used one again revokes its whole family
(``refresh_families/{family}``), the thief's tokens and the customer's alike.

**Telegram** Login Widget data is verified (HMAC-SHA256 keyed with
SHA-256 of the bot token, ``auth_date`` at most an hour old) and linked
through ``identities/telegram:{id}``.

Every document here carries ``expires_at`` for a Firestore TTL policy;
the code never relies on TTL deletion and checks times itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import phonenumbers

from shared.platform import tokens
from shared.adapters.sms import SmsReceipt, SmsUnavailable
from shared.domain.clock import MSK
from shared.domain.config import ProgramConfig
from shared.domain.errors import InvalidState, NotFound, Retryable, TooManyRequests, Unauthorized, ValidationFailed
from shared.domain.ledger import require_utc
from shared.services.ports import CUSTOMERS, Store, UnitOfWork
from shared.services import lifecycle, promo

log = logging.getLogger("kopilka")

# --- policy (constants: changing them is a code review, not a config edit) -----------

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5  # wrong guesses per code
SEND_WINDOW = timedelta(minutes=15)
SENDS_PER_WINDOW = 3
DAY = timedelta(hours=24)
SENDS_PER_DAY = 10  # per phone, rolling 24 h
LOCKOUT_FAILURES = 10  # wrong codes per phone in a rolling 24 h, across codes
TELEGRAM_MAX_AGE = timedelta(hours=1)
TELEGRAM_MAX_SKEW = timedelta(minutes=5)  # an auth_date this far in the future is refused
SEND_RECORD_LIFETIME = timedelta(days=30)
BUDGET_SHARDS = 16  # the day's SMS count is spread over this many documents: no hot document

SMS_TEXT = "{code} — код для входа. Никому его не сообщайте."


@dataclass(frozen=True)
class IpLimit:
    scope: str  # "ip": the address (IPv6: its /64); "net": IPv4 /24, IPv6 /48
    label: str  # the window's name in the document id
    window: timedelta
    limit: int  # SMS sent per window


IP_LIMITS: tuple[IpLimit, ...] = (
    IpLimit("ip", "h", timedelta(hours=1), 10),
    IpLimit("ip", "d", DAY, 50),
    IpLimit("net", "d", DAY, 200),
)

# --- documents -----------------------------------------------------------------------

OTP_CODES = "otp_codes"
OTP_RATE = "otp_rate"
OTP_SENDS = "otp_sends"
SMS_BUDGET = "sms_budget"
IP_RATE = "ip_rate"
IDENTITIES = "identities"
REFRESH_TOKENS = "refresh_tokens"
REFRESH_FAMILIES = "refresh_families"


def identity_path(kind: str, value: str | int) -> str:
    return f"{IDENTITIES}/{kind}:{value}"


def _account_path(customer_id: str) -> str:
    return f"{CUSTOMERS}/{customer_id}"


# --- errors --------------------------------------------------------------------------


def _plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def wait_ru(seconds: int) -> str:
    """A wait in Russian, rounded up: "1 минуту", "3 минуты", "15 минут"; long waits in hours."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes <= 90:
        return f"{minutes} {_plural(minutes, 'минуту', 'минуты', 'минут')}"
    hours = math.ceil(minutes / 60)
    return f"{hours} {_plural(hours, 'час', 'часа', 'часов')}"


class RateLimited(TooManyRequests):
    """Too many codes or wrong guesses: try again in ``retry_after`` seconds (an HTTP 429)."""

    code = "rate_limited"

    MESSAGES = {
        "phone_window": "Повторная отправка кода возможна через {wait}.",
        "phone_daily": "Повторная отправка кода возможна через {wait}.",
        "lockout": "Слишком много неверных кодов. Вход по этому номеру возможен через {wait}.",
        "ip": "Слишком много запросов кода с вашего адреса. Повторите через {wait}.",
        "daily_budget": "Вход по SMS временно недоступен. Повторите через {wait} или войдите через Telegram.",
    }

    def __init__(self, message: str, *, retry_after: int, reason: str) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(message, message_ru=self.MESSAGES[reason].format(wait=wait_ru(retry_after)), retry_after=retry_after, reason=reason)
        self.retry_after = retry_after
        self.retry_after_seconds = retry_after  # the attribute shared.edge.http reads for Retry-After


class InvalidPhone(ValidationFailed):
    code = "invalid_phone"
    message_ru = "Некорректный номер телефона."


class InvalidCode(Unauthorized):
    code = "invalid_code"
    message_ru = "Неверный код."


class CodeExpired(Unauthorized):
    code = "code_expired"
    message_ru = "Код недействителен или устарел. Запросите новый код."


class CodeAttemptsExceeded(Unauthorized):
    code = "code_attempts_exceeded"
    message_ru = "Превышено число попыток ввода кода. Запросите новый код."


class SessionInvalid(Unauthorized):
    code = "session_invalid"
    message_ru = "Сессия недействительна, войдите снова."


class TelegramLoginInvalid(Unauthorized):
    code = "telegram_login_invalid"
    message_ru = "Не удалось подтвердить вход через Telegram. Попробуйте ещё раз."


class NotLinked(NotFound):
    code = "not_linked"
    message_ru = "Этот Telegram ещё не привязан к аккаунту. Войдите по номеру телефона и привяжите Telegram в личном кабинете."


class LinkedElsewhere(InvalidState):
    code = "telegram_linked_elsewhere"
    message_ru = "Этот Telegram уже привязан к другому аккаунту."


# --- keys ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityKeys:
    """The secrets and lifetimes the use cases need (built from settings by the entry point)."""

    token_secret: str
    otp_secret: bytes
    access_ttl_seconds: int = 3600
    refresh_ttl_seconds: int = 30 * 24 * 3600
    regions: tuple[str, ...] = ("RU",)
    telegram_bot_token: str = ""

    @classmethod
    def from_settings(cls, s: Any) -> IdentityKeys:
        """From :class:`shared.platform.settings.Settings`. Without ``KOPILKA_OTP_SECRET`` the OTP key is
        derived from the token secret (a separate secret is better: set it in production)."""
        if not s.token_secret:
            raise RuntimeError("KOPILKA_TOKEN_SECRET is not configured")
        otp = s.otp_secret.encode() if s.otp_secret else hmac.new(s.token_secret.encode(), b"kopilka/otp-secret", hashlib.sha256).digest()
        return cls(
            token_secret=s.token_secret,
            otp_secret=otp,
            access_ttl_seconds=s.token_ttl_seconds,
            refresh_ttl_seconds=s.refresh_token_ttl_seconds,
            regions=tuple(r.upper() for r in s.phone_regions) or ("RU",),
            telegram_bot_token=s.telegram_bot_token,
        )

    def mac(self, purpose: str, value: str) -> str:
        return hmac.new(self.otp_secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def phone_key(self, e164: str) -> str:
        """The document id of a phone's code and limits (no phone number in clear in those documents)."""
        return self.mac("phone", e164)[:40]

    def customer_id_for(self, e164: str) -> str:
        """The id of the customer a phone registers (the identity document may name an older one)."""
        return "c_" + self.mac("customer", e164)[:20]

    def code_hash(self, e164: str, code: str) -> str:
        return self.mac("code", f"{e164}:{code}")


# --- phones --------------------------------------------------------------------------

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
        raise InvalidPhone(f"numbers of {region} are not accepted (accepted: {allowed})", field="phone", message_ru="Вход доступен только по номерам мобильных телефонов России." if regions == ("RU",) else "Номера этой страны не поддерживаются.")
    if phonenumbers.number_type(number) not in _MOBILE:
        raise InvalidPhone("only mobile numbers receive codes", field="phone", message_ru="Укажите номер мобильного телефона.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def generate_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


# --- limits (pure) -------------------------------------------------------------------


def seconds_until(moment: datetime, now: datetime, *, at_most: timedelta | None = None) -> int:
    """Whole seconds from ``now`` to ``moment``, at least 1; capped at the rule's own period, since a
    concurrent request may have recorded an instant a little later than this request's clock."""
    seconds = max(1, math.ceil((moment - now).total_seconds()))
    return seconds if at_most is None else min(seconds, int(at_most.total_seconds()))


@dataclass
class PhoneLimits:
    """The ``otp_rate`` document: the sends and the failed verifications of the last 24 h."""

    sends: list[dict[str, Any]]  # {"at", "id", "failed"?}, oldest first
    failures: list[datetime]  # oldest first

    @classmethod
    def load(cls, data: dict[str, Any] | None, now: datetime) -> PhoneLimits:
        horizon = now - DAY
        sends = sorted((dict(s) for s in (data or {}).get("sends", []) if s["at"] > horizon), key=lambda s: s["at"])
        failures = sorted(f for f in (data or {}).get("failures", []) if f > horizon)
        return cls(sends=sends, failures=failures)

    def to_doc(self, now: datetime) -> dict[str, Any]:
        return {"sends": self.sends, "failures": self.failures, "updated_at": now, "expires_at": now + DAY}

    def lockout(self, now: datetime) -> RateLimited | None:
        if len(self.failures) < LOCKOUT_FAILURES:
            return None
        wait = seconds_until(self.failures[-LOCKOUT_FAILURES] + DAY, now, at_most=DAY)
        return RateLimited(f"{LOCKOUT_FAILURES} wrong codes in 24 h: locked", retry_after=wait, reason="lockout")

    def send_refusal(self, now: datetime) -> RateLimited | None:
        """Why another SMS may not be sent now (the longest wait wins), or ``None``."""
        waits: list[tuple[int, str]] = []
        window = [s for s in self.sends if s["at"] > now - SEND_WINDOW and not s.get("failed")]
        if len(window) >= SENDS_PER_WINDOW:
            waits.append((seconds_until(window[-SENDS_PER_WINDOW]["at"] + SEND_WINDOW, now, at_most=SEND_WINDOW), "phone_window"))
        if len(self.sends) >= SENDS_PER_DAY:
            waits.append((seconds_until(self.sends[-SENDS_PER_DAY]["at"] + DAY, now, at_most=DAY), "phone_daily"))
        if not waits:
            return None
        wait, reason = max(waits)
        limit = f"{SENDS_PER_WINDOW} per {int(SEND_WINDOW.total_seconds()) // 60} minutes" if reason == "phone_window" else f"{SENDS_PER_DAY} per 24 h"
        return RateLimited(f"at most {limit} codes per phone", retry_after=wait, reason=reason)

    def fail(self, send_id: str) -> bool:
        """A send that certainly did not happen gives its window slot back (it still counts for the day)."""
        for send in self.sends:
            if send["id"] == send_id and not send.get("failed"):
                send["failed"] = True
                return True
        return False


def ip_scopes(ip: str | None) -> dict[str, str]:
    """The buckets a caller's address falls in; an unknown or unreadable address shares one bucket."""
    if not ip:
        return {"ip": "unknown", "net": "unknown"}
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return {"ip": "invalid", "net": "invalid"}
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        return {"ip": str(address), "net": str(ipaddress.ip_network(f"{address}/24", strict=False))}
    return {"ip": str(ipaddress.ip_network(f"{address}/64", strict=False)), "net": str(ipaddress.ip_network(f"{address}/48", strict=False))}


@dataclass(frozen=True)
class IpWindow:
    path: str
    limit: int
    ends_at: datetime


def ip_windows(keys: IdentityKeys, ip: str | None, now: datetime) -> list[IpWindow]:
    scopes = ip_scopes(ip)
    windows = []
    for rule in IP_LIMITS:
        seconds = int(rule.window.total_seconds())
        index = int(now.timestamp()) // seconds
        bucket = keys.mac("ip", f"{rule.scope}:{scopes[rule.scope]}")[:32]
        windows.append(IpWindow(f"{IP_RATE}/{bucket}_{rule.label}{index}", rule.limit, datetime.fromtimestamp((index + 1) * seconds, timezone.utc)))
    return windows


# --- the SMS gateway port ------------------------------------------------------------


class SmsGateway(Protocol):
    def send(self, phone: str, text: str, *, message_id: str) -> SmsReceipt:
        """Send once; :class:`SmsUnavailable` (``definite`` when it certainly was not sent)."""


# --- requesting a code ---------------------------------------------------------------


@dataclass(frozen=True)
class CodeSent:
    expires_in: int  # seconds the code is valid
    resend_after: int  # seconds until another code may be requested (0: now)
    invited: bool  # the invitation was recognised (it applies if this phone registers now)


def resolve_inviter(store: Store, invited_by: str | None) -> str | None:
    """The partner behind an invitation: a partner's personal code, or a customer id; ``None`` if unknown."""
    if not invited_by or not invited_by.strip():
        return None
    partner = promo.partner_of(store, invited_by)
    if partner is None and promo.is_well_formed(invited_by) and store.get(_account_path(invited_by)) is not None:
        return invited_by
    if partner is not None and store.get(_account_path(partner)) is None:
        return None  # a code naming a partner without an account
    return partner


def budget_day(now: datetime) -> tuple[str, datetime]:
    """The Moscow day of ``now`` and the moment (UTC) it ends."""
    local = now.astimezone(MSK)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return local.date().isoformat(), midnight.astimezone(timezone.utc)


def budget_shards(day: str) -> list[str]:
    return [f"{SMS_BUDGET}/{day}-{shard:02d}" for shard in range(BUDGET_SHARDS)]


def sms_sent_on(store: Store, day: str) -> int:
    """Codes sent (reserved) on a Moscow day across every phone: the sum of the day's shards."""
    shards = store.read(lambda uow: uow.get_all(budget_shards(day)))
    return sum(int((doc or {}).get("count", 0)) for doc in shards.values())


def request_code(
    store: Store, *, gateway: SmsGateway, keys: IdentityKeys, phone: str, ip: str | None, now: datetime, invited_by: str | None = None, daily_budget: int = 0
) -> CodeSent:
    """Send a login code to a phone, within the per-phone and per-address limits and the
    shop's daily SMS budget (``daily_budget`` codes per Moscow day across every phone; 0: none).

    :class:`InvalidPhone` (400), :class:`RateLimited` (429, nothing sent or
    counted), :class:`~shared.adapters.sms.SmsUnavailable` (the gateway did
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
    shard = None
    if daily_budget > 0:
        sent = sms_sent_on(store, day)
        if sent >= daily_budget:
            log.error("daily SMS budget spent: login codes refused until the next Moscow day", extra={"json_fields": {"day": day, "sent": sent, "budget": daily_budget}})
            raise RateLimited("the shop's daily SMS budget is spent", retry_after=seconds_until(day_ends, now), reason="daily_budget")
        shard = budget_shards(day)[secrets.randbelow(BUDGET_SHARDS)]
    phone_key = keys.phone_key(e164)
    partner = resolve_inviter(store, invited_by)
    code = generate_code()
    send_id = secrets.token_hex(16)
    windows = ip_windows(keys, ip, now)
    rate_path, code_path = f"{OTP_RATE}/{phone_key}", f"{OTP_CODES}/{phone_key}"

    def reserve(uow: UnitOfWork) -> int:
        limits = PhoneLimits.load(uow.get(rate_path), now)  # read first: same-phone units queue on it
        refusal = limits.lockout(now) or limits.send_refusal(now)
        if refusal is not None:
            raise refusal
        counters = [(w, int((uow.get(w.path) or {}).get("count", 0))) for w in windows]
        full = [w for w, count in counters if count >= w.limit]
        if full:
            wait = max(seconds_until(w.ends_at, now) for w in full)
            raise RateLimited("too many codes requested from this address", retry_after=wait, reason="ip")
        if shard is not None:
            count = int((uow.get(shard) or {}).get("count", 0))
            uow.put(shard, {"day": day, "count": count + 1, "expires_at": day_ends + timedelta(days=2)})
        limits.sends.append({"at": now, "id": send_id})
        uow.put(rate_path, limits.to_doc(now))
        for w, count in counters:
            uow.put(w.path, {"count": count + 1, "window_ends_at": w.ends_at, "expires_at": w.ends_at})
        uow.put(
            code_path,
            {
                "code_hash": keys.code_hash(e164, code),
                "send_id": send_id,
                "created_at": now,
                "expires_at": now + CODE_TTL,
                "attempts": 0,
                "used_at": None,
                "status": "active",
                "invited_by": partner,
            },
        )
        uow.create(f"{OTP_SENDS}/{send_id}", {"phone_key": phone_key, "status": "reserved", "reserved_at": now, "expires_at": now + SEND_RECORD_LIFETIME})
        after = limits.send_refusal(now)
        return after.retry_after if after is not None else 0

    resend_after = store.run(reserve)
    # Committed: the quota is taken and the code stored. Only now the side effect, exactly once.
    try:
        receipt = gateway.send(e164, SMS_TEXT.format(code=code), message_id=send_id)
    except SmsUnavailable as exc:
        _record_send(store, send_id=send_id, phone_key=phone_key, now=now, status="failed" if exc.definite else "unknown", reason=exc.message)
        raise
    _record_send(store, send_id=send_id, phone_key=phone_key, now=now, status="sent", provider_id=receipt.provider_id)
    return CodeSent(expires_in=int(CODE_TTL.total_seconds()), resend_after=resend_after, invited=partner is not None)


def _record_send(store: Store, *, send_id: str, phone_key: str, now: datetime, status: str, provider_id: str | None = None, reason: str | None = None) -> None:
    """The gateway's answer, in its own transaction; a send that certainly failed gives its slot back
    and its code can never be used."""
    rate_path, code_path, send_path = f"{OTP_RATE}/{phone_key}", f"{OTP_CODES}/{phone_key}", f"{OTP_SENDS}/{send_id}"

    def unit(uow: UnitOfWork) -> None:
        if status == "failed":
            limits = PhoneLimits.load(uow.get(rate_path), now)
            if limits.fail(send_id):
                uow.put(rate_path, limits.to_doc(now))
            stored = uow.get(code_path)
            if stored is not None and stored.get("send_id") == send_id and stored.get("status") == "active":
                uow.put(code_path, {**stored, "status": "not_sent"})
        record = uow.get(send_path) or {"phone_key": phone_key, "reserved_at": now, "expires_at": now + SEND_RECORD_LIFETIME}
        uow.put(send_path, {**record, "status": status, "provider_id": provider_id, "reason": reason, "recorded_at": now})

    try:
        store.run(unit)
    except Retryable:
        # the SMS went (or did not) whatever we manage to write: never turn that into another answer
        log.warning("otp send outcome not recorded", extra={"json_fields": {"send_id": send_id, "status": status}})


# --- verifying a code ----------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    customer_id: str
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    registered: bool = False  # the account was opened by this login
    welcome_bonus: int = 0


@dataclass(frozen=True)
class _Verdict:
    result: str  # ok | wrong | expired | exhausted | locked
    attempts_left: int = 0
    invited_by: str | None = None
    lockout: RateLimited | None = None


def verify_code(store: Store, *, config: ProgramConfig, keys: IdentityKeys, phone: str, code: str, now: datetime) -> Session:
    """Check a code and log the phone's customer in, registering them on their first login.

    A wrong code is :class:`InvalidCode` (its attempts and the phone's
    failures are counted); a used, replaced, expired or unknown code is
    :class:`CodeExpired`; a code guessed :data:`MAX_ATTEMPTS` times is
    :class:`CodeAttemptsExceeded`; a locked phone is :class:`RateLimited`.
    """
    require_utc(now)
    e164 = normalize_phone(phone, keys.regions)
    phone_key = keys.phone_key(e164)
    rate_path, code_path = f"{OTP_RATE}/{phone_key}", f"{OTP_CODES}/{phone_key}"
    presented = keys.code_hash(e164, code)

    def check(uow: UnitOfWork) -> _Verdict:
        limits = PhoneLimits.load(uow.get(rate_path), now)
        locked = limits.lockout(now)
        if locked is not None:
            return _Verdict("locked", lockout=locked)
        stored = uow.get(code_path)
        if stored is None or stored.get("status") != "active" or stored.get("used_at") is not None or now > stored["expires_at"]:
            return _Verdict("expired")
        attempts = int(stored.get("attempts", 0))
        if attempts >= MAX_ATTEMPTS:
            return _Verdict("exhausted")
        if hmac.compare_digest(presented.encode(), str(stored["code_hash"]).encode()):
            uow.put(code_path, {**stored, "used_at": now, "status": "used"})
            if limits.failures:
                limits.failures = []  # a successful login ends the run of failures
                uow.put(rate_path, limits.to_doc(now))
            return _Verdict("ok", invited_by=stored.get("invited_by"))
        attempts += 1
        uow.put(code_path, {**stored, "attempts": attempts})
        limits.failures.append(now)
        uow.put(rate_path, limits.to_doc(now))
        return _Verdict("wrong", attempts_left=MAX_ATTEMPTS - attempts)

    verdict = store.run(check)  # wrong guesses are committed before they are refused
    if verdict.result == "locked":
        assert verdict.lockout is not None
        raise verdict.lockout
    if verdict.result == "expired":
        raise CodeExpired("the code is used, replaced, expired or was never sent")
    if verdict.result == "exhausted":
        raise CodeAttemptsExceeded(f"the code was guessed {MAX_ATTEMPTS} times")
    if verdict.result == "wrong":
        left = verdict.attempts_left
        message_ru = f"Неверный код. Осталось попыток: {left}." if left else "Неверный код. Попытки закончились, запросите новый код."
        raise InvalidCode("wrong code", message_ru=message_ru, attempts_left=left)
    return login_phone(store, config=config, keys=keys, e164=e164, invited_by=verdict.invited_by, now=now)


def login_phone(store: Store, *, config: ProgramConfig, keys: IdentityKeys, e164: str, now: datetime, invited_by: str | None = None) -> Session:
    """A verified phone's session; its customer is registered once, whatever the concurrency.

    Each step is idempotent, so a crash between them is repaired by the next
    login: the identity document is created once (a lost race re-reads the
    winner's), registration opens an account and gives the welcome bonus once.
    """
    require_utc(now)
    path = identity_path("phone", e164)
    derived = keys.customer_id_for(e164)

    def claim(uow: UnitOfWork) -> str:
        existing = uow.get(path)
        if existing is not None:
            return str(existing["customer_id"])
        uow.create(path, {"kind": "phone", "value": e164, "customer_id": derived, "created_at": now})
        return derived

    customer_id = store.run(claim)
    partner = invited_by if invited_by and invited_by != customer_id else None
    try:
        registration = lifecycle.register_customer(store, config=config, customer_id=customer_id, now=now, invited_by=partner)
    except NotFound:
        if partner is None:
            raise
        # the partner's account went away since the code was requested: register uninvited
        registration = lifecycle.register_customer(store, config=config, customer_id=customer_id, now=now)
    session = start_session(store, keys=keys, customer_id=customer_id, now=now, phone=e164)
    return replace(session, registered=bool(registration["registered"]), welcome_bonus=int(registration["welcome"]))


# --- sessions ------------------------------------------------------------------------


def _refresh_path(jti: str) -> str:
    return f"{REFRESH_TOKENS}/{jti}"


def start_session(store: Store, *, keys: IdentityKeys, customer_id: str, now: datetime, phone: str | None = None, family: str | None = None) -> Session:
    """Issue an access token and a recorded refresh token (a new family unless one is given).

    With ``phone`` the customer document learns its verified phone (written
    only when it changes, in the same transaction).
    """
    require_utc(now)
    jti, family = secrets.token_hex(16), family or secrets.token_hex(16)

    def unit(uow: UnitOfWork) -> None:
        if phone is not None:
            account = uow.get(_account_path(customer_id))
            if account is not None and account.get("phone") != phone:
                uow.put(_account_path(customer_id), {**account, "phone": phone, "phone_verified_at": now})
        uow.create(_refresh_path(jti), _refresh_record(keys, customer_id, family, now))

    store.run(unit)
    return _session(keys, customer_id, jti, family, now)


def _refresh_record(keys: IdentityKeys, customer_id: str, family: str, now: datetime) -> dict[str, Any]:
    return {"customer_id": customer_id, "family": family, "issued_at": now, "expires_at": now + timedelta(seconds=keys.refresh_ttl_seconds), "used_at": None, "replaced_by": None}


def _session(keys: IdentityKeys, customer_id: str, jti: str, family: str, now: datetime) -> Session:
    return Session(
        customer_id=customer_id,
        access_token=tokens.issue(keys.token_secret, subject=customer_id, now=now, ttl_seconds=keys.access_ttl_seconds),
        refresh_token=tokens.issue(keys.token_secret, subject=customer_id, now=now, ttl_seconds=keys.refresh_ttl_seconds, kind="refresh", jti=jti, fam=family),
        expires_in=keys.access_ttl_seconds,
        refresh_expires_in=keys.refresh_ttl_seconds,
    )


def refresh_session(store: Store, *, keys: IdentityKeys, refresh_token: str, now: datetime) -> Session:
    """A new token pair for a refresh token, which is used up. A used token presented again
    revokes its family (every token rotated from the same login) and is refused."""
    require_utc(now)
    claims = tokens.verify(keys.token_secret, refresh_token, now=now, kind="refresh")
    customer_id, jti, family = str(claims["sub"]), claims.get("jti"), claims.get("fam")
    if not isinstance(jti, str) or not isinstance(family, str) or not jti.isalnum() or not family.isalnum():
        raise SessionInvalid("the refresh token has no id")
    new_jti = secrets.token_hex(16)
    family_path = f"{REFRESH_FAMILIES}/{family}"

    def rotate(uow: UnitOfWork) -> str:
        record = uow.get(_refresh_path(jti))
        if record is None or record.get("customer_id") != customer_id or record.get("family") != family:
            return "unknown"
        if uow.get(family_path) is not None:
            return "revoked"
        if record.get("used_at") is not None:
            uow.put(family_path, {"customer_id": customer_id, "revoked_at": now, "reason": "reuse", "jti": jti, "expires_at": now + timedelta(seconds=keys.refresh_ttl_seconds)})
            return "reused"
        uow.put(_refresh_path(jti), {**record, "used_at": now, "replaced_by": new_jti})
        uow.create(_refresh_path(new_jti), _refresh_record(keys, customer_id, family, now))
        return "ok"

    outcome = store.run(rotate)
    if outcome == "reused":
        log.warning("refresh token reused: family revoked", extra={"json_fields": {"customer_id": customer_id, "family": family}})
    if outcome != "ok":
        raise SessionInvalid(f"the refresh token is {outcome}", reason=outcome)
    return _session(keys, customer_id, new_jti, family, now)


# --- Telegram ------------------------------------------------------------------------


@dataclass(frozen=True)
class TelegramUser:
    id: int
    username: str | None
    auth_date: datetime


def telegram_check_string(fields: dict[str, Any]) -> str:
    """Every received field but ``hash``, sorted by key, as ``key=value`` lines."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def telegram_hash(fields: dict[str, Any], bot_token: str) -> str:
    secret = hashlib.sha256(bot_token.encode()).digest()
    return hmac.new(secret, telegram_check_string(fields).encode(), hashlib.sha256).hexdigest()


def verify_telegram(fields: dict[str, Any], *, bot_token: str, now: datetime) -> TelegramUser:
    """Login Widget data signed by our bot, at most :data:`TELEGRAM_MAX_AGE` old; else :class:`TelegramLoginInvalid`.

    ``fields`` are the received fields as strings or integers (what the widget sent).
    """
    require_utc(now)
    if not bot_token:
        raise TelegramLoginInvalid("Telegram login is not configured (TELEGRAM_BOT_TOKEN)")
    received = str(fields.get("hash", ""))
    if not hmac.compare_digest(telegram_hash(fields, bot_token).encode(), received.lower().encode()):
        raise TelegramLoginInvalid("the Telegram login data failed verification")
    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), timezone.utc)
        user_id = int(fields["id"])
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise TelegramLoginInvalid("the Telegram login data has no valid id or auth_date") from None
    if now - auth_date > TELEGRAM_MAX_AGE:
        raise TelegramLoginInvalid("the Telegram login data is too old", message_ru="Данные входа через Telegram устарели. Войдите ещё раз.")
    if auth_date - now > TELEGRAM_MAX_SKEW:
        raise TelegramLoginInvalid("the Telegram login data is from the future")
    username = fields.get("username")
    return TelegramUser(id=user_id, username=str(username) if username is not None else None, auth_date=auth_date)


@dataclass(frozen=True)
class TelegramOutcome:
    customer_id: str
    telegram_id: int
    linked: bool  # this call linked the Telegram account
    session: Session | None  # a login's tokens (None when linking to the caller's account)


def telegram_login(store: Store, *, keys: IdentityKeys, fields: dict[str, Any], now: datetime, customer_id: str | None = None) -> TelegramOutcome:
    """Link a verified Telegram account to the logged-in ``customer_id``, or log its linked customer in.

    An unlinked Telegram account without a customer is :class:`NotLinked`:
    the customer logs in by phone first and links Telegram from there. An
    account linked to another customer is :class:`LinkedElsewhere`.
    """
    user = verify_telegram(fields, bot_token=keys.telegram_bot_token, now=now)
    path = identity_path("telegram", user.id)
    if customer_id is None:
        linked = store.get(path)
        if linked is None:
            raise NotLinked("this Telegram account is not linked to a customer", telegram_id=user.id)
        owner = str(linked["customer_id"])
        return TelegramOutcome(owner, user.id, False, start_session(store, keys=keys, customer_id=owner, now=now))

    def link(uow: UnitOfWork) -> bool:
        existing = uow.get(path)
        if existing is not None:
            if existing["customer_id"] != customer_id:
                raise LinkedElsewhere("this Telegram account is linked to another customer", telegram_id=user.id)
            return False
        if uow.get(_account_path(customer_id)) is None:
            raise NotFound("unknown customer", customer_id=customer_id)
        uow.create(path, {"kind": "telegram", "value": user.id, "customer_id": customer_id, "username": user.username, "created_at": now})
        return True

    return TelegramOutcome(customer_id, user.id, store.run(link), None)
