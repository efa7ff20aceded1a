"""Who a mass accrual is for, before it runs: a level's customers and today's birthdays (resolved to
ids), a preview that counts customers and bonuses without writing, and a customer list read from
a CSV file of phones or customer ids.

A level segment is every customer whose level applies now
(:func:`shared.domain.levels.effective_level`: an override first, then the
earned level), found by reading the customers in id order; a birthday segment
is every customer whose birthday is today in Moscow (Feb 29 on Feb 28 of other
years), found by the birthday index. Either is resolved to a list of at most
:data:`MAX_JOB_CUSTOMERS` ids when the job is defined.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from shared.api.admin.customers import JobResponse
from shared.api.admin.mass_accruals import CustomerListResponse, JobListResponse, ListRowError, MassAccrualPreview
from shared.domain.config import ProgramConfig
from shared.domain.customer import CustomerRecord, bonuses_excluded
from shared.domain.errors import DomainError, ValidationFailed
from shared.domain.identity import IdentityKind
from shared.domain.ledger import require_utc
from shared.domain.levels import effective_level
from shared.domain.maker_checker import MakerWindow, effect
from shared.edge.admin_auth import Admin
from shared.services.admin.common import well_formed_id
from shared.services.ports import Store
from shared.services.sweeps import birthdays_today, msk_date

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


def level_members(store: Store, config: ProgramConfig, level: str) -> list[str]:
    """The ids of the customers whose level is ``level`` now, in id order (at most :data:`MAX_JOB_CUSTOMERS`)."""
    if level not in {lv.code for lv in config.levels}:
        raise ValidationFailed(f"unknown level {level!r}", field="level", message_ru="Такого уровня в программе нет.")
    found: list[str] = []
    after: str | None = None
    while True:
        page = _records_page(store, after)
        found += [r.customer_id for r in page if effective_level(config, r.account).code == level]
        if len(found) > MAX_JOB_CUSTOMERS:
            raise SegmentTooLarge("the level has too many customers for one job", field="level")
        if len(page) < SCAN_PAGE:
            return found
        after = page[-1].customer_id


def birthday_members(store: Store, now: datetime) -> list[str]:
    """The ids of the customers whose birthday is today (Moscow), in id order."""
    found: set[str] = set()
    for month_day in birthdays_today(now):
        after: str | None = None
        while True:
            ids = _birthday_page(store, month_day, after)
            found.update(ids)
            if len(found) > MAX_JOB_CUSTOMERS:
                raise SegmentTooLarge("too many birthdays today for one job", field="birthday_today")
            if len(ids) < SCAN_PAGE:
                break
            after = ids[-1]
    return sorted(found)


def resolve(store: Store, config: ProgramConfig, *, level: str | None, birthday_today: bool, now: datetime) -> tuple[list[str], str | None]:
    """A level or birthday segment as its customer ids, and the Moscow date of a birthday segment."""
    if level is not None:
        ids = level_members(store, config, level)
        field, day = "level", None
    else:
        ids = birthday_members(store, now)
        field, day = "birthday_today", msk_date(now)
    if not ids:
        raise SegmentEmpty("the segment has no customers", field=field)
    return ids, day


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
) -> MassAccrualPreview:
    """How many customers a mass accrual would walk, how many bonuses at most, how many would be
    skipped and why, and whether it would wait for approval; nothing is written."""
    admin.require("mass_accrual.run")
    require_utc(now)
    if sum((customer_ids is not None, group is not None, level is not None, birthday_today)) != 1:
        raise ValidationFailed("give one of customer_ids, group, level or birthday_today", field="customer_ids")
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
        segment = "level" if level is not None else "birthday"
        ids, _ = resolve(store, config, level=level, birthday_today=birthday_today, now=now)
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
