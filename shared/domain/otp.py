"""The rules of login codes: the limit policy, the per-phone and per-address limits, the daily
SMS budget's day, and the Russian waits of a refusal. Pure: every time is passed in as ``now``.

**Per phone** (a sliding log of the last 24 h, :class:`PhoneLimits`):
:data:`SENDS_PER_WINDOW` SMS per :data:`SEND_WINDOW`, :data:`SENDS_PER_DAY` per
24 h. Wrong codes never lock a phone: they slow down the network they came
from (:meth:`PhoneLimits.verify_delay`). After :data:`FREE_FAILURES` wrong
codes from one network in 24 h, each further guess from that network waits
:data:`DELAY_BASE`, doubling with every wrong code, at most :data:`DELAY_CAP`;
the wait is refused unchecked and not counted. Guesses from other networks are
not slowed, so the owner who has the code logs in at once from their own
network and within :data:`DELAY_CAP` from the guesser's. Guessing stays bounded
by :data:`MAX_ATTEMPTS` per code and the sends per phone.

**Per caller address** (fixed windows, :func:`ip_windows`): the address (an
IPv6 /64) and its network (IPv4 /24, IPv6 /48), see :data:`IP_LIMITS`; and,
when the shop has a daily budget, each network's own share of it per Moscow
day (:func:`network_share`), so draining the budget takes many networks.

A refusal is :class:`RateLimited` with ``retry_after`` seconds and a Russian
message such as "Повторная отправка кода возможна через N минут".
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import ClassVar

from msgspec import Struct
from msgspec.structs import replace

from shared.domain.clock import MSK
from shared.domain.errors import TooManyRequests

# --- policy (constants: changing them is a code review, not a config edit) -----------

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5  # wrong guesses per code
SEND_WINDOW = timedelta(minutes=15)
SENDS_PER_WINDOW = 3
DAY = timedelta(hours=24)
SENDS_PER_DAY = 10  # per phone, rolling 24 h
FREE_FAILURES = 5  # wrong codes from one network per phone in a rolling 24 h before guesses wait
DELAY_BASE = timedelta(seconds=30)  # the first wait; it doubles with each further wrong code
DELAY_CAP = timedelta(minutes=15)  # the longest wait: the owner with the code never waits longer
SEND_RECORD_LIFETIME = timedelta(days=30)
BUDGET_SHARDS = 16  # the day's SMS count is spread over this many documents: no hot document
BUDGET_SHARD_LIFETIME = timedelta(days=2)  # a shard is kept this long after its day ends
NETWORK_SHARE_PERCENT = 2  # of the daily budget, per network (IPv4 /24, IPv6 /48) per Moscow day
NETWORK_SHARE_MIN = 20  # however small the budget, a network gets this many codes a day

SMS_TEXT = "{code} — код для входа. Никому его не сообщайте."


class Scope(str, Enum):
    """What an address limit counts: the address itself (IPv6: its /64), or its network."""

    IP = "ip"
    NET = "net"


class IpLimit(Struct, frozen=True):
    scope: Scope
    label: str  # the window's name in the document id
    window: timedelta
    limit: int  # SMS sent per window


IP_LIMITS: tuple[IpLimit, ...] = (
    IpLimit(Scope.IP, "h", timedelta(hours=1), 10),
    IpLimit(Scope.IP, "d", DAY, 50),
    IpLimit(Scope.NET, "d", DAY, 200),
)


# --- waits in Russian ----------------------------------------------------------------


def plural_ru(n: int, one: str, few: str, many: str) -> str:
    """The Russian plural form for ``n``: 1 минуту, 3 минуты, 5 минут, 21 минуту."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def wait_ru(seconds: int) -> str:
    """A wait in Russian, rounded up: "1 минуту", "3 минуты", "15 минут"; long waits in hours."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes <= 90:
        return f"{minutes} {plural_ru(minutes, 'минуту', 'минуты', 'минут')}"
    hours = math.ceil(minutes / 60)
    return f"{hours} {plural_ru(hours, 'час', 'часа', 'часов')}"


# --- refusals ------------------------------------------------------------------------


class RateReason(str, Enum):
    """Why a code was refused (``details.reason`` of the 429)."""

    PHONE_WINDOW = "phone_window"
    PHONE_DAILY = "phone_daily"
    VERIFY_DELAY = "verify_delay"
    IP = "ip"
    DAILY_BUDGET = "daily_budget"
    NETWORK_SHARE = "network_share"


class RateLimited(TooManyRequests):
    """Too many codes or wrong guesses: try again in ``retry_after`` seconds (an HTTP 429)."""

    code = "rate_limited"

    MESSAGES: ClassVar[dict[RateReason, str]] = {
        RateReason.PHONE_WINDOW: "Повторная отправка кода возможна через {wait}.",
        RateReason.PHONE_DAILY: "Повторная отправка кода возможна через {wait}.",
        RateReason.VERIFY_DELAY: "Слишком много неверных кодов. Повторите ввод кода через {wait}.",
        RateReason.IP: "Слишком много запросов кода с вашего адреса. Повторите через {wait}.",
        RateReason.DAILY_BUDGET: "Вход по SMS временно недоступен. Повторите через {wait} или войдите через Telegram.",
        RateReason.NETWORK_SHARE: "Слишком много запросов кода из вашей сети. Повторите через {wait} или войдите через Telegram.",
    }

    def __init__(self, message: str, *, retry_after: int, reason: RateReason | str) -> None:
        retry_after = max(1, int(retry_after))
        why = RateReason(reason)
        super().__init__(message, message_ru=self.MESSAGES[why].format(wait=wait_ru(retry_after)), retry_after=retry_after, reason=why.value)
        self.retry_after = retry_after
        self.reason = why
        self.retry_after_seconds = retry_after  # the attribute shared.edge.http reads for Retry-After


def seconds_until(moment: datetime, now: datetime, *, at_most: timedelta | None = None) -> int:
    """Whole seconds from ``now`` to ``moment``, at least 1; capped at the rule's own period, since a
    concurrent request may have recorded an instant a little later than this request's clock."""
    seconds = max(1, math.ceil((moment - now).total_seconds()))
    return seconds if at_most is None else min(seconds, int(at_most.total_seconds()))


# --- the per-phone limits ------------------------------------------------------------


class SendMark(Struct, frozen=True):
    """One SMS reserved for a phone; ``failed`` when it certainly was not sent."""

    at: datetime
    id: str
    failed: bool = False


class FailureMark(Struct, frozen=True):
    """One wrong code for a phone and the network (its keyed bucket) it came from."""

    at: datetime
    net: str = ""  # "": recorded before networks were kept


class PhoneLimits(Struct, frozen=True):
    """A phone's sends and failed verifications (oldest first), as stored."""

    sends: tuple[SendMark, ...] = ()
    failures: tuple[FailureMark, ...] = ()

    def recent(self, now: datetime) -> PhoneLimits:
        """Only what the last 24 h hold, oldest first: what the rules count and what is kept."""
        horizon = now - DAY
        sends = tuple(sorted((s for s in self.sends if s.at > horizon), key=lambda s: s.at))
        failures = tuple(sorted((f for f in self.failures if f.at > horizon), key=lambda f: f.at))
        return PhoneLimits(sends=sends, failures=failures)

    def verify_delay(self, net: str, now: datetime) -> RateLimited | None:
        """The wait before the next guess from network ``net`` may be checked, or ``None``."""
        mine = [f.at for f in self.failures if f.net == net]
        beyond = len(mine) - FREE_FAILURES
        if beyond < 0:
            return None
        delay = min(DELAY_CAP, DELAY_BASE * 2 ** min(beyond, 32))
        if mine[-1] + delay <= now:
            return None
        wait = seconds_until(mine[-1] + delay, now, at_most=DELAY_CAP)
        return RateLimited(f"{len(mine)} wrong codes from this network: wait", retry_after=wait, reason=RateReason.VERIFY_DELAY)

    def send_refusal(self, now: datetime) -> RateLimited | None:
        """Why another SMS may not be sent now (the longest wait wins), or ``None``."""
        waits: list[tuple[int, RateReason]] = []
        window = [s for s in self.sends if s.at > now - SEND_WINDOW and not s.failed]
        if len(window) >= SENDS_PER_WINDOW:
            waits.append((seconds_until(window[-SENDS_PER_WINDOW].at + SEND_WINDOW, now, at_most=SEND_WINDOW), RateReason.PHONE_WINDOW))
        if len(self.sends) >= SENDS_PER_DAY:
            waits.append((seconds_until(self.sends[-SENDS_PER_DAY].at + DAY, now, at_most=DAY), RateReason.PHONE_DAILY))
        if not waits:
            return None
        wait, reason = max(waits, key=lambda w: (w[0], w[1].value))
        limit = f"{SENDS_PER_WINDOW} per {int(SEND_WINDOW.total_seconds()) // 60} minutes" if reason is RateReason.PHONE_WINDOW else f"{SENDS_PER_DAY} per 24 h"
        return RateLimited(f"at most {limit} codes per phone", retry_after=wait, reason=reason)

    def with_send(self, at: datetime, send_id: str) -> PhoneLimits:
        return replace(self, sends=(*self.sends, SendMark(at=at, id=send_id)))

    def with_failure(self, at: datetime, net: str = "") -> PhoneLimits:
        return replace(self, failures=(*self.failures, FailureMark(at=at, net=net)))

    def without_failures(self) -> PhoneLimits:
        """A successful login ends the run of failures."""
        return replace(self, failures=())

    def with_failed_send(self, send_id: str) -> PhoneLimits | None:
        """A send that certainly did not happen gives its window slot back (it still counts for the
        day); ``None`` when there is no such pending send."""
        for n, send in enumerate(self.sends):
            if send.id == send_id and not send.failed:
                return replace(self, sends=(*self.sends[:n], replace(send, failed=True), *self.sends[n + 1 :]))
        return None


# --- the per-address limits ----------------------------------------------------------


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


class IpWindow(Struct, frozen=True):
    """One fixed window of one address limit: its counter's id, its limit and its end."""

    window_id: str
    limit: int
    ends_at: datetime
    reason: RateReason = RateReason.IP
    rule: str = ""  # which limit: "ip:h", "ip:d", "net:d", "net:share"


def network_share(daily_budget: int) -> int:
    """The codes one network may take of a day's budget (0: no budget, no share)."""
    if daily_budget <= 0:
        return 0
    return min(daily_budget, max(NETWORK_SHARE_MIN, daily_budget * NETWORK_SHARE_PERCENT // 100))


class IpCounter(Struct, frozen=True):
    """SMS sent from one bucket in one window."""

    count: int
    window_ends_at: datetime

    @property
    def expires_at(self) -> datetime:
        return self.window_ends_at


def ip_windows(ip: str | None, now: datetime, *, bucket: Callable[[str], str], daily_budget: int = 0) -> list[IpWindow]:
    """The windows of :data:`IP_LIMITS` that ``now`` falls in for ``ip``, and the network's share of
    the Moscow day's budget when there is one; ``bucket`` turns ``"{scope}:{address or network}"``
    into the key the counters are stored under."""
    scopes = ip_scopes(ip)
    windows = []
    for rule in IP_LIMITS:
        seconds = int(rule.window.total_seconds())
        index = int(now.timestamp()) // seconds
        key = bucket(f"{rule.scope.value}:{scopes[rule.scope.value]}")
        windows.append(IpWindow(f"{key}_{rule.label}{index}", rule.limit, datetime.fromtimestamp((index + 1) * seconds, UTC), rule=f"{rule.scope.value}:{rule.label}"))
    share = network_share(daily_budget)
    if share:
        day, day_ends = budget_day(now)
        key = bucket("net:" + scopes["net"])
        windows.append(IpWindow(f"{key}_b{day}", share, day_ends, RateReason.NETWORK_SHARE, rule="net:share"))
    return windows


def ip_refusal(counters: list[tuple[IpWindow, int]], now: datetime) -> RateLimited | None:
    """The refusal when any window is full (the longest wait), else ``None``."""
    full = [w for w, count in counters if count >= w.limit]
    if not full:
        return None
    longest = max(full, key=lambda w: (seconds_until(w.ends_at, now), w.reason is RateReason.NETWORK_SHARE))
    why = "this network's share of the daily SMS budget is spent" if longest.reason is RateReason.NETWORK_SHARE else "too many codes requested from this address"
    return RateLimited(why, retry_after=seconds_until(longest.ends_at, now), reason=longest.reason)


# --- the shop's daily SMS budget ------------------------------------------------------


def budget_day(now: datetime) -> tuple[str, datetime]:
    """The Moscow day of ``now`` and the moment (UTC) it ends."""
    local = now.astimezone(MSK)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return local.date().isoformat(), midnight.astimezone(UTC)


class BudgetShard(Struct, frozen=True):
    """One of a Moscow day's :data:`BUDGET_SHARDS` counters of codes sent."""

    day: str  # YYYY-MM-DD, Moscow
    index: int  # 0 .. BUDGET_SHARDS - 1
    count: int
    expires_at: datetime


def budget_refusal(sent: int, budget: int, now: datetime) -> RateLimited | None:
    """The refusal when the day's ``budget`` (0: none) is spent by ``sent`` codes, else ``None``."""
    if budget <= 0 or sent < budget:
        return None
    _, day_ends = budget_day(now)
    return RateLimited("the shop's daily SMS budget is spent", retry_after=seconds_until(day_ends, now), reason=RateReason.DAILY_BUDGET)


# --- codes and sends ------------------------------------------------------------------


class CodeStatus(str, Enum):
    ACTIVE = "active"  # sent (or maybe sent) and not yet used
    USED = "used"  # a login was made with it
    NOT_SENT = "not_sent"  # the gateway certainly did not send it: never usable


class OtpCode(Struct, frozen=True):
    """A phone's current code, kept only as a keyed hash; a new code replaces it."""

    code_hash: str
    send_id: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None
    status: CodeStatus = CodeStatus.ACTIVE
    invited_by: str | None = None  # the partner whose invitation came with the request

    def usable(self, now: datetime) -> bool:
        """Active, unused and within its lifetime (the end included)."""
        return self.status is CodeStatus.ACTIVE and self.used_at is None and now <= self.expires_at

    @property
    def exhausted(self) -> bool:
        return self.attempts >= MAX_ATTEMPTS

    def used(self, now: datetime) -> OtpCode:
        return replace(self, used_at=now, status=CodeStatus.USED)

    def guessed_wrong(self) -> OtpCode:
        return replace(self, attempts=self.attempts + 1)

    def not_sent(self) -> OtpCode:
        return replace(self, status=CodeStatus.NOT_SENT)


class SendStatus(str, Enum):
    RESERVED = "reserved"  # counted; the gateway not asked yet
    SENT = "sent"
    FAILED = "failed"  # certainly not sent
    UNKNOWN = "unknown"  # the gateway may have sent it


class SendRecord(Struct, frozen=True):
    """One SMS of a code: reserved in the code's transaction, its outcome recorded after the send."""

    phone_key: str
    status: SendStatus
    reserved_at: datetime
    expires_at: datetime
    provider_id: str | None = None
    reason: str | None = None
    recorded_at: datetime | None = None  # when the outcome was recorded (None: only reserved)

    @classmethod
    def reserved(cls, phone_key: str, now: datetime) -> SendRecord:
        return cls(phone_key=phone_key, status=SendStatus.RESERVED, reserved_at=now, expires_at=now + SEND_RECORD_LIFETIME)

    def outcome(self, status: SendStatus, *, now: datetime, provider_id: str | None = None, reason: str | None = None) -> SendRecord:
        return replace(self, status=status, provider_id=provider_id, reason=reason, recorded_at=now)
