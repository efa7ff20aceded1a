"""Who a mass accrual is for, before it runs: a segment of customers (resolved to ids), a preview
that counts customers and bonuses without writing, and a customer list read from a CSV file of
phones or customer ids.

A segment is a :class:`shared.domain.segments.Segment` — levels, groups, a birthday window, the
last purchase before a date, a paid total from/to, registration dates — tested by
:func:`shared.domain.segments.matches` on each customer's facts
(:func:`shared.domain.customer.facts_of`: the level in effect, an override first) on the Moscow
day. The customers are read in id order, a page at a time; a segment with a birthday window
reads only the customers whose birthday falls in it (the birthday index; Feb 29 counts on
Feb 28 of other years). The older inputs are segments too: a ``level`` is ``Segment(levels=
(level,))``, ``birthday_today`` the birthday window 0/0. Any is resolved to a list of at most
:data:`MAX_JOB_CUSTOMERS` ids when the job is defined.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta

from shared.api.admin.customers import JobResponse
from shared.api.admin.mass_accruals import CustomerListResponse, JobListResponse, ListRowError, MassAccrualPreview
from shared.domain.clock import MSK
from shared.domain.config import ProgramConfig
from shared.domain.customer import CustomerRecord, bonuses_excluded, facts_of
from shared.domain.errors import DomainError, ValidationFailed
from shared.domain.identity import IdentityKind
from shared.domain.ledger import require_utc
from shared.domain.maker_checker import MakerWindow, effect
from shared.domain.segments import Segment, matches
from shared.edge.admin_auth import Admin
from shared.services.admin.common import well_formed_id
from shared.services.ports import Store
from shared.services.sweeps import msk_date

MAX_JOB_CUSTOMERS = 5000
SCAN_PAGE = 500  # customer records read per query when a level's customers are found
READ_CHUNK = 200  # records read at once when a list is checked
MAX_ERRORS_LISTED = 200
MAX_LIST_ROWS = 20_000  # lines of an uploaded list read at most


class SegmentTooLarge(ValidationFailed):
    code = "segment_too_large"
    message_ru = f"В сегменте больше {MAX_JOB_CUSTOMERS} клиентов: разделите начисление на несколько списков."


class SegmentEmpty(ValidationFailed):
    code = "segment_empty"
    message_ru = "В этом сегменте сейчас нет ни одного клиента."


def _records_page(store: Store, after: str | None) -> list[CustomerRecord]:
    return store.read(lambda uow: uow.accounts.in_id_order(limit=SCAN_PAGE, after=after))


def _birthday_page(store: Store, month_day: str, after: str | None) -> list[str]:
    return store.read(lambda uow: uow.accounts.with_birthday(month_day, limit=SCAN_PAGE, after=after))


def _group_page(store: Store, group: str, limit: int, after: str | None) -> list[str]:
    return store.read(lambda uow: uow.accounts.in_group(group, limit=limit, after=after))


def _get_many(store: Store, ids: list[str]) -> dict[str, CustomerRecord | None]:
    return store.read(lambda uow: uow.accounts.get_many(ids))


BIRTHDAY_TODAY = Segment(birthday_days_before=0, birthday_days_after=0)


def check_audience(config: ProgramConfig, segment: Segment, *, field: str = "audience") -> None:
    """Refuse a segment naming a level or a group the program has not, or a group excluded from bonuses."""
    levels = {lv.code for lv in config.levels}
    if set(segment.levels) - levels:
        where = "level" if field == "level" else f"{field}.levels"
        raise ValidationFailed(f"unknown levels {sorted(set(segment.levels) - levels)}", field=where, message_ru="Такого уровня в программе нет.")
    groups = {g.code for g in config.groups}
    if set(segment.groups) - groups:
        raise ValidationFailed(f"unknown groups {sorted(set(segment.groups) - groups)}", field=f"{field}.groups", message_ru="Такой группы в программе нет.")
    excluded = sorted(g for g in segment.groups if config.group(g).bonuses_excluded)
    if excluded:
        raise ValidationFailed(
            f"groups {excluded} are excluded from bonuses", field=f"{field}.groups",
            message_ru="Группа без бонусов не участвует в бонусной программе: начислять ей бонусы нельзя.",
        )


def _birthday_days(window: tuple[int, int], now: datetime) -> list[str]:
    """The ``MM-DD`` birthdays a window (days before, days after) holds on the Moscow day of ``now``."""
    today = now.astimezone(MSK).date()
    days: list[str] = []
    for offset in range(-window[1], window[0] + 1):
        day = today + timedelta(days=offset)
        days.append(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            days.append("02-29")
    return list(dict.fromkeys(days))


def _candidates(store: Store, segment: Segment, now: datetime) -> Iterator[list[CustomerRecord]]:
    """Pages of the records a segment may hold: by the birthday index when it has a window, else every record in id order."""
    window = segment.birthday_window
    if window is not None:
        for month_day in _birthday_days(window, now):
            after: str | None = None
            while True:
                ids = _birthday_page(store, month_day, after)
                yield [r for r in _records(store, ids).values() if r is not None]
                if len(ids) < SCAN_PAGE:
                    break
                after = ids[-1]
        return
    after = None
    while True:
        page = _records_page(store, after)
        yield page
        if len(page) < SCAN_PAGE:
            return
        after = page[-1].customer_id


def members(store: Store, config: ProgramConfig, segment: Segment, now: datetime, *, field: str = "audience") -> list[str]:
    """The ids of the customers in the segment at ``now`` (the Moscow day), in id order
    (at most :data:`MAX_JOB_CUSTOMERS`: more is :class:`SegmentTooLarge` at ``field``)."""
    check_audience(config, segment, field=field)
    day = now.astimezone(MSK)
    found: set[str] = set()
    for page in _candidates(store, segment, now):
        found.update(r.customer_id for r in page if matches(segment, facts_of(config, r), day))
        if len(found) > MAX_JOB_CUSTOMERS:
            raise SegmentTooLarge("the segment has too many customers for one job", field=field)
    return sorted(found)


def level_members(store: Store, config: ProgramConfig, level: str, now: datetime) -> list[str]:
    """The ids of the customers whose level is ``level`` now, in id order (at most :data:`MAX_JOB_CUSTOMERS`)."""
    return members(store, config, Segment(levels=(level,)), now, field="level")


def birthday_members(store: Store, config: ProgramConfig, now: datetime) -> list[str]:
    """The ids of the customers whose birthday is today (Moscow), in id order."""
    return members(store, config, BIRTHDAY_TODAY, now, field="birthday_today")


def audience_of(*, level: str | None, birthday_today: bool, audience: Segment | None) -> tuple[Segment, str]:
    """The segment a job's input names, and the field its refusals land at."""
    if audience is not None:
        return audience, "audience"
    if level is not None:
        return Segment(levels=(level,)), "level"
    if birthday_today:
        return BIRTHDAY_TODAY, "birthday_today"
    raise ValidationFailed("give a level, birthday_today or an audience", field="audience")


def resolve(
    store: Store, config: ProgramConfig, *, level: str | None, birthday_today: bool, now: datetime, audience: Segment | None = None
) -> tuple[list[str], str | None]:
    """A segment (an audience, a level or today's birthdays) as its customer ids, and the Moscow date of a birthday segment."""
    segment, field = audience_of(level=level, birthday_today=birthday_today, audience=audience)
    ids = members(store, config, segment, now, field=field)
    if not ids:
        raise SegmentEmpty("the segment has no customers", field=field)
    return ids, msk_date(now) if birthday_today and audience is None else None


def _group_ids(store: Store, group: str) -> list[str] | None:
    """A group's ids, or ``None`` when it has more than :data:`MAX_JOB_CUSTOMERS` (only counted then)."""
    ids: list[str] = []
    after: str | None = None
    while True:
        page = _group_page(store, group, SCAN_PAGE, after)
        ids += page
        if len(ids) > MAX_JOB_CUSTOMERS:
            return None
        if len(page) < SCAN_PAGE:
            return ids
        after = page[-1]


def _group_count(store: Store, group: str) -> int:
    count, after = 0, None
    while True:
        page = _group_page(store, group, 1000, after)
        count += len(page)
        if len(page) < 1000:
            return count
        after = page[-1]


def _records(store: Store, ids: list[str]) -> dict[str, CustomerRecord | None]:
    found: dict[str, CustomerRecord | None] = {}
    for start in range(0, len(ids), READ_CHUNK):
        found.update(_get_many(store, [i for i in ids[start : start + READ_CHUNK] if well_formed_id(i)]))
    return found


def preview(
    store: Store,
    admin: Admin,
    *,
    config: ProgramConfig,
    amount: int,
    now: datetime,
    customer_ids: list[str] | None = None,
    group: str | None = None,
    level: str | None = None,
    birthday_today: bool = False,
    audience: Segment | None = None,
) -> MassAccrualPreview:
    """How many customers a mass accrual would walk, how many bonuses at most, how many would be
    skipped and why, and whether it would wait for approval; nothing is written."""
    admin.require("mass_accrual.run")
    require_utc(now)
    if sum((customer_ids is not None, group is not None, level is not None, birthday_today, audience is not None)) != 1:
        raise ValidationFailed("give one of customer_ids, group, level, birthday_today or audience", field="customer_ids")
    ids: list[str] | None
    if customer_ids is not None:
        segment, ids = "list", list(dict.fromkeys(customer_ids))
        count = len(ids)
    elif group is not None:
        if group not in {g.code for g in config.groups}:
            raise ValidationFailed(f"unknown customer group {group!r}", field="group", message_ru="Такой группы в программе нет.")
        if config.group(group).bonuses_excluded:
            raise ValidationFailed("the group is excluded from bonuses", field="group", message_ru="Эта группа покупателей не участвует в бонусной программе: начислять ей бонусы нельзя.")
        segment, ids = "group", _group_ids(store, group)
        count = len(ids) if ids is not None else _group_count(store, group)
    else:
        segment = "segment" if audience is not None else "level" if level is not None else "birthday"
        ids, _ = resolve(store, config, level=level, birthday_today=birthday_today, audience=audience, now=now)
        count = len(ids)
    window = store.read(lambda uow: uow.maker_windows.get(admin.email)) or MakerWindow(admin.email)
    listed = tuple(ids) if ids is not None and segment != "group" else None
    seen = effect(config.approvals, window, each=amount, customers=listed, count=count, now=now, mass_accrual=True)
    shown = MassAccrualPreview(segment=segment, customers=count, bonuses=seen.total, creditable=None, needs_approval=seen.needs_approval, threshold=seen.threshold or None)
    if ids is None:
        return shown
    unknown = blocked = excluded = 0
    for record in _records(store, ids).values():
        if record is None:
            unknown += 1
        elif record.blocking.is_blocked:
            blocked += 1
        elif bonuses_excluded(config, record.account):
            excluded += 1
    unknown += len(ids) - len([i for i in ids if well_formed_id(i)])
    return shown.model_copy(
        update={"creditable": count - unknown - blocked - excluded, "skipped_unknown": unknown, "skipped_blocked": blocked, "skipped_excluded": excluded}
    )


# --- a customer list from a file ---------------------------------------------------------------

_HEADERS = {"phone", "телефон", "customer_id", "id", "клиент", "номер", "phones", "customer"}


def _cells(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1251", errors="replace")  # Excel's Russian export
    sample = text[:4096]
    delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))[:MAX_LIST_ROWS]


def _phone_key(value: str) -> str | None:
    """The E.164 form of a value that reads as a Russian mobile number, else ``None``."""
    from shared.services.identity.phones import normalize_phone  # phonenumbers loads only for a list

    if not any(ch.isdigit() for ch in value) or any(ch.isalpha() for ch in value):
        return None
    try:
        return normalize_phone(value)
    except DomainError:
        return None


def read_customer_list(store: Store, admin: Admin, *, data: bytes) -> CustomerListResponse:
    """The customers a file names, one per line (the first column): a customer id, or a phone its
    owner logged in with. A header line is skipped; every other line that names no customer is
    reported with its line number and a Russian reason; a customer named twice counts once.
    The ids and phones are looked up a few hundred at a time."""
    admin.require("mass_accrual.run")
    lines: list[tuple[int, str]] = []
    for number, cells in enumerate(_cells(data), start=1):
        value = next((c.strip() for c in cells if c.strip()), "")
        if value and not (number == 1 and value.lower() in _HEADERS):
            lines.append((number, value))
    candidates = [v for _, v in lines if len(v) <= 128 and well_formed_id(v)]
    known = {i for i, record in _records(store, list(dict.fromkeys(candidates))).items() if record is not None}
    phones = {v: _phone_key(v) for _, v in lines if v not in known}
    owners: dict[str, str | None] = {}
    wanted = sorted({p for p in phones.values() if p is not None})
    for start in range(0, len(wanted), READ_CHUNK):
        owners.update(_phone_owners(store, wanted[start : start + READ_CHUNK]))
    ids: list[str] = []
    seen: dict[str, int] = {}
    errors: list[ListRowError] = []
    for number, value in lines:
        phone = phones.get(value)
        customer_id = value if value in known else (owners.get(phone) if phone else None)
        if customer_id is None:
            code, why = ("unknown_phone", f"клиента с телефоном {phone} нет.") if phone else ("not_a_customer", f"«{value[:40]}» — не номер телефона и не идентификатор клиента.")
            errors.append(ListRowError(row=number, value=value[:80], code=code, message_ru=f"Строка {number}: {why}"))
        elif customer_id in seen:
            errors.append(ListRowError(row=number, value=value[:80], code="duplicate", message_ru=f"Строка {number}: этот клиент уже есть в строке {seen[customer_id]}."))
        else:
            seen[customer_id] = number
            ids.append(customer_id)
    if len(ids) > MAX_JOB_CUSTOMERS:
        raise SegmentTooLarge("the list names too many customers for one job", field="file")
    return CustomerListResponse(customer_ids=ids, rows=len(lines), errors=errors[:MAX_ERRORS_LISTED], error_count=len(errors))


def _phone_owners(store: Store, phones: list[str]) -> dict[str, str | None]:
    return store.read(lambda uow: uow.identities.customers_of(IdentityKind.PHONE, phones))


def recent_jobs(store: Store, admin: Admin, *, limit: int = 20) -> JobListResponse:
    """The latest mass accruals, newest first."""
    admin.require("mass_accrual.read")
    return JobListResponse(jobs=[JobResponse.of(job) for job in store.read(lambda uow: uow.jobs.recent(limit=limit))])
