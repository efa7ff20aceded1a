"""The mass accrual form's segment by conditions: the fields a marketer fills (levels and groups
ticked, a birthday window, the last purchase before a Moscow date, the paid total from/to in
roubles) read into a :class:`~shared.domain.segments.Segment` (kopecks inside), and a segment
told back in Russian for the job's page and the list of jobs."""

from __future__ import annotations

from datetime import UTC, date, datetime

from console.app import FormInvalid, moscow, rubles
from console.pages.promo import parse_rubles
from shared.domain.clock import MSK
from shared.domain.config import ProgramConfig
from shared.domain.segments import Segment

#: The form's fields of a segment by conditions (a level or group ticked is ``seg_level_<code>`` / ``seg_group_<code>``).
BIRTHDAY_BEFORE, BIRTHDAY_AFTER = "seg_birthday_before", "seg_birthday_after"
LAST_PURCHASE, PAID_FROM, PAID_TO = "seg_last_purchase_before", "seg_paid_from", "seg_paid_to"
#: Where the service's refusals of a segment land on the form.
FIELDS = {"audience": "segment", "audience.levels": "seg_levels", "audience.groups": "seg_groups"}


def ticked(fields: dict[str, str], prefix: str, codes: list[str]) -> tuple[str, ...]:
    return tuple(code for code in codes if fields.get(f"{prefix}{code}"))


def _days(fields: dict[str, str], name: str, bad: dict[str, str]) -> int | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 31:
        bad[name] = "Целое число дней от 0 до 31."
        return None
    return int(text)


def _rubles(fields: dict[str, str], name: str, bad: dict[str, str]) -> int | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_rubles(text)
    except ValueError:
        bad[name] = "Введите сумму в рублях, например 5000 или 1990,50."
        return None


def _moscow_day(fields: dict[str, str], name: str, bad: dict[str, str]) -> datetime | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        bad[name] = "Введите дату, например 2026-12-01."
        return None
    return datetime(day.year, day.month, day.day, tzinfo=MSK).astimezone(UTC)  # the start of that day in Moscow


def audience_from(fields: dict[str, str], config: ProgramConfig) -> Segment:
    """The segment the form's conditions describe; a refused field is :class:`FormInvalid` in Russian."""
    bad: dict[str, str] = {}
    levels = ticked(fields, "seg_level_", [lv.code for lv in config.levels])
    groups = ticked(fields, "seg_group_", [g.code for g in config.groups])
    before, after = _days(fields, BIRTHDAY_BEFORE, bad), _days(fields, BIRTHDAY_AFTER, bad)
    last = _moscow_day(fields, LAST_PURCHASE, bad)
    paid_from, paid_to = _rubles(fields, PAID_FROM, bad), _rubles(fields, PAID_TO, bad)
    if paid_from is not None and paid_to is not None and paid_from > paid_to:
        bad[PAID_TO] = "Сумма «до» не может быть меньше суммы «от»."
    if bad:
        raise FormInvalid(bad)
    segment = Segment(
        levels=levels, groups=groups, birthday_days_before=before, birthday_days_after=after, last_purchase_before=last, paid_total_min=paid_from, paid_total_max=paid_to
    )
    if segment.everyone:
        raise FormInvalid({"segment": "Задайте хотя бы одно условие сегмента."})
    return segment


def _names(codes: tuple[str, ...], names: dict[str, str]) -> str:
    return ", ".join(f"«{names.get(code, code)}»" for code in codes)


def describe(segment: Segment, *, level_names: dict[str, str], group_names: dict[str, str]) -> str:
    """The segment's conditions as a sentence: ``уровни «Серебро»; группы «Опт»; сумма покупок от 5 000,00 ₽``."""
    parts: list[str] = []
    if segment.levels:
        parts.append(("уровень " if len(segment.levels) == 1 else "уровни ") + _names(segment.levels, level_names))
    if segment.groups:
        parts.append(("группа " if len(segment.groups) == 1 else "группы ") + _names(segment.groups, group_names))
    window = segment.birthday_window
    if window == (0, 0):
        parts.append("день рождения сегодня")
    elif window is not None:
        parts.append(f"день рождения: за {window[0]} дн. до — {window[1]} дн. после")
    if segment.first_order:
        parts.append("без оплаченных заказов")
    if segment.last_purchase_before is not None:
        parts.append(f"последняя покупка до {moscow(segment.last_purchase_before, with_time=False)}")
    if segment.paid_total_min is not None:
        parts.append(f"сумма покупок от {rubles(segment.paid_total_min)}")
    if segment.paid_total_max is not None:
        parts.append(f"сумма покупок до {rubles(segment.paid_total_max)}")
    if segment.registered_from is not None:
        parts.append(f"зарегистрированы с {moscow(segment.registered_from, with_time=False)}")
    if segment.registered_to is not None:
        parts.append(f"зарегистрированы до {moscow(segment.registered_to, with_time=False)}")
    return "; ".join(parts) or "все клиенты"
