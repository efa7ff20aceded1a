"""The program editor's form, generated from :class:`ProgramConfig`'s fields.

The form is a flat mapping of field names to the text typed (``levels.0.accrual_percent``:
the path of the field, a list's rows by position), so what the user typed is kept as typed
whatever the refusal. :func:`values_of` turns a config into that text, :func:`raw_of` turns
the text back into the raw config the publishing service validates, and :func:`nodes` lays
out the form (sections, lists with their rows, inputs) for the templates. A refusal's field
paths are mapped onto the form's names by :func:`errors_at`.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from console import program_labels as words
from shared.domain.catalog import kopecks
from shared.domain.clock import MSK
from shared.domain.config import ProgramConfig
from shared.domain.message_config import TEMPLATE_FIELDS, TemplateProblem, template_problem
from shared.domain.messages import Trigger

LISTS_LIMIT = 50  # rows of one list the form takes


# --- the schema -------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What a field holds, as the form sees it."""

    kind: str  # "model", "rows", "words", "pairs", "bool", "choice", "int", "decimal", "text", "datetime"
    model: type[BaseModel] | None = None
    options: tuple[str, ...] = ()
    optional: bool = False


def _strip(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``Annotated`` and ``| None``; whether ``None`` is allowed."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            annotation = args[0]
        else:
            return annotation, optional


def shape(info: FieldInfo) -> Shape:
    annotation, optional = _strip(info.annotation)
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return Shape("model", model=annotation, optional=optional)
    if origin is tuple:
        item, _ = _strip(typing.get_args(annotation)[0])
        if isinstance(item, type) and issubclass(item, BaseModel):
            return Shape("rows", model=item)
        return Shape("words")
    if origin is dict:
        return Shape("pairs")
    if origin is typing.Literal:
        return Shape("choice", options=tuple(str(v) for v in typing.get_args(annotation)), optional=optional)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return Shape("choice", options=tuple(str(m.value) for m in annotation), optional=optional)
    if annotation is bool:
        return Shape("bool", options=("true", "false"), optional=optional)
    if annotation is int:
        return Shape("int", optional=optional)
    if annotation is Decimal:
        return Shape("decimal", optional=optional)
    if annotation is datetime:
        return Shape("datetime", optional=optional)
    return Shape("text", optional=optional)


def shapes(model: type[BaseModel] = ProgramConfig, prefix: str = "") -> dict[str, Shape]:
    """Every field's shape by its path (``levels.*.name`` for a list's rows)."""
    found: dict[str, Shape] = {}
    for name, info in model.model_fields.items():
        path, kind = prefix + name, shape(info)
        found[path] = kind
        if kind.kind == "model" and kind.model is not None:
            found.update(shapes(kind.model, path + "."))
        elif kind.kind == "rows" and kind.model is not None:
            found.update(shapes(kind.model, path + ".*."))
    return found


SHAPES = shapes()


def schema_paths() -> list[str]:
    """Every field's path of :class:`ProgramConfig`, in the model's order."""
    return list(SHAPES)


# --- a config as the form's text, and back --------------------------------------------------------


def _money_text(value: int) -> str:
    whole, part = divmod(value, 100)
    return f"{whole},{part:02d}" if part else str(whole)


def _money_shown(value: int) -> str:
    """Kopecks as people read roubles: ``3000000`` -> ``30 000 ₽``."""
    whole, part = divmod(value, 100)
    return f"{whole:,}".replace(",", "\u00a0") + (f",{part:02d}" if part else "") + "\u00a0₽"


def _moscow_text(value: str | datetime | None) -> str:
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(MSK).strftime("%Y-%m-%dT%H:%M")


def moscow_moment(text: str) -> datetime | None:
    """``2026-12-03T10:00`` as a Moscow time, in UTC (``None``: not such a value)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=MSK)
    return moment.astimezone(UTC)


def _text(path: str, kind: Shape, value: Any) -> str:
    if value is None:
        return ""
    if kind.kind == "bool":
        return "true" if value else "false"
    if kind.kind == "words":
        return ", ".join(str(v) for v in value)
    if kind.kind == "pairs":
        return "\n".join(f"{k} = {v}" for k, v in value.items())
    if kind.kind == "datetime":
        return _moscow_text(value)
    if words.schema_path(path) in words.MONEY:
        return _money_text(int(value))
    return str(value)


def values_of(config: ProgramConfig | dict[str, Any], model: type[BaseModel] = ProgramConfig, prefix: str = "") -> dict[str, str]:
    """The form's text of a config (every field, defaults included)."""
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else config
    found: dict[str, str] = {}
    for name, info in model.model_fields.items():
        path, kind, value = prefix + name, shape(info), data.get(name)
        if kind.kind == "model" and kind.model is not None:
            found.update(values_of(value or {}, kind.model, path + "."))
        elif kind.kind == "rows" and kind.model is not None:
            for i, row in enumerate(value or []):
                found[f"{path}.{i}.__row"] = "1"
                found.update(values_of(row, kind.model, f"{path}.{i}."))
        else:
            found[path] = _text(path, kind, value)
    return found


def rows(values: dict[str, str], path: str) -> list[int]:
    """The row numbers of the list at ``path`` present in the form."""
    head = path + "."
    found = {int(key[len(head):].split(".", 1)[0]) for key in values if key.startswith(head) and key[len(head):].split(".", 1)[0].isdigit()}
    return sorted(n for n in found if n < LISTS_LIMIT)


class Unreadable(Exception):
    """Form text that cannot become a raw value (a pair without «=», a bad date): {field: message}."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("unreadable form fields")
        self.fields = fields


def _value(path: str, kind: Shape, text: str, bad: dict[str, str]) -> Any:
    text = text.strip()
    if kind.kind == "words":
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    if kind.kind == "pairs":
        pairs: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip() or not value.strip():
                bad[path] = f"Строка {number}: нужно «ключ = значение»."
                return {}
            pairs[key.strip()] = value.strip().replace(",", ".")
        return pairs
    if not text:
        return None
    if kind.kind == "bool":
        return text == "true"
    if kind.kind == "datetime":
        moment = moscow_moment(text)
        if moment is None:
            bad[path] = "Введите дату и время."
        return moment.isoformat() if moment else None
    if words.schema_path(path) in words.MONEY:
        amount = kopecks(text)
        if amount is None:
            bad[path] = "Введите сумму в рублях, например 30000 или 1990,50."
        return amount
    if kind.kind == "decimal":
        return text.replace(",", ".").replace(" ", "")
    if kind.kind == "int":
        return text.replace(" ", "").replace("\u00a0", "")
    return text


def _raw(values: dict[str, str], model: type[BaseModel], prefix: str, bad: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        path, kind = prefix + name, shape(info)
        if kind.kind == "model" and kind.model is not None:
            data[name] = _raw(values, kind.model, path + ".", bad)
        elif kind.kind == "rows" and kind.model is not None:
            data[name] = [_raw(values, kind.model, f"{path}.{n}.", bad) for n in rows(values, path)]
        elif path in values:
            value = _value(path, kind, values[path], bad)
            if value is not None or kind.optional:  # else left out: its default, or "missing"
                data[name] = value
    return data


def raw_of(values: dict[str, str]) -> dict[str, Any]:
    """The raw config the form's text describes (:class:`Unreadable` when some text is not a value).

    An empty optional field is ``None``; an empty field with a default is left out (its default
    applies); an empty required field is left out (the validation names it)."""
    bad: dict[str, str] = {}
    data = _raw(values, ProgramConfig, "", bad)
    if bad:
        raise Unreadable(bad)
    return data


def add_row(values: dict[str, str], path: str) -> dict[str, str]:
    taken = rows(values, path)
    number = (taken[-1] + 1) if taken else 0
    if number >= LISTS_LIMIT:
        return values
    return {**values, f"{path}.{number}.__row": "1"}


def remove_row(values: dict[str, str], path: str, number: int) -> dict[str, str]:
    """The form without row ``number`` of the list at ``path``, the rows after it moved up."""
    head = path + "."
    kept: dict[str, str] = {}
    for key, value in values.items():
        rest = key[len(head):] if key.startswith(head) else ""
        index, _, tail = rest.partition(".")
        if not index.isdigit() or not tail:
            kept[key] = value
        elif int(index) != number:
            kept[f"{head}{int(index) - (int(index) > number)}.{tail}"] = value
    return kept


# --- refusals at their fields -----------------------------------------------------------------

RU = {
    "missing": "Заполните поле.",
    "string_too_short": "Заполните поле.",
    "string_too_long": "Слишком длинное значение.",
    "too_short": "Нужна хотя бы одна строка.",
    "too_long": "Слишком много строк.",
    "int_parsing": "Введите целое число.",
    "int_from_float": "Введите целое число.",
    "int_type": "Введите целое число.",
    "decimal_parsing": "Введите число.",
    "decimal_type": "Введите число.",
    "decimal_max_places": "Слишком много знаков после запятой.",
    "decimal_max_digits": "Слишком много цифр.",
    "bool_parsing": "Выберите «Да» или «Нет».",
    "datetime_parsing": "Введите дату и время.",
    "datetime_from_date_parsing": "Введите дату и время.",
    "literal_error": "Выберите одно из значений.",
    "enum": "Выберите одно из значений.",
    "string_pattern_mismatch": "Допустимы латинские буквы, цифры, «_», «-» и «.».",
    "extra_forbidden": "Такого поля нет.",
    "program": "Код программы менять нельзя.",
}
BOUNDS = {"greater_than_equal": "не меньше", "greater_than": "больше", "less_than_equal": "не больше", "less_than": "меньше"}


def message_ru(error: dict[str, Any], path: str = "") -> str:
    """One refusal of :func:`shared.domain.config.parse_config` in Russian."""
    kind = str(error.get("type", "value_error"))
    if kind in BOUNDS:
        limit = str(error.get("limit", ""))
        if words.schema_path(path) in words.MONEY and limit.isdigit():
            limit = _money_shown(int(limit))
        return f"Допустимо {BOUNDS[kind]} {limit}." if limit else "Значение вне допустимых границ."
    if kind in RU:
        return RU[kind]
    text = str(error.get("error", ""))
    for beginning, russian in words.VALUE_ERRORS.items():
        if beginning in text:
            return russian
    return "Неверное значение."


def _by_code(parts: list[str], values: dict[str, str]) -> list[str]:
    """``earning_rules.birthday.groups`` -> ``earning_rules.0.groups`` (a row named by its code)."""
    out: list[str] = []
    for part in parts:
        prefix = ".".join(out)
        if out and not part.isdigit() and words.schema_path(prefix) in words.ROW_TITLES:
            match = next((n for n in rows(values, prefix) if values.get(f"{prefix}.{n}.code") == part), None)
            if match is not None:
                part = str(match)
        out.append(part)
    return out


def field_name(path: str, values: dict[str, str], names: set[str]) -> str:
    """The form's field (or section, or list) a refusal's path points at: its longest known prefix."""
    parts = _by_code([p for p in path.split(".") if p], values)
    while parts:
        name = ".".join(parts)
        if name in names:
            return name
        parts.pop()
    return "__all__"


def errors_at(refusals: list[dict[str, Any]], values: dict[str, str]) -> dict[str, str]:
    """{form field, section or list: its first Russian message} of a refusal's field paths."""
    names = {n.name for n in walk(nodes(values))}
    found: dict[str, str] = {}
    for error in refusals:
        path = str(error.get("field", ""))
        name = field_name("" if path == "(root)" else path, values, names)
        problem = _template_problem(name, values)
        found.setdefault(name, problem.message_ru if problem else message_ru(error, name))
    return found


def _is_template(name: str) -> bool:
    """Whether ``name`` is a message template's field (``messages.<trigger>.templates.<field>``)."""
    parts = name.split(".")
    return len(parts) == 4 and parts[0] == "messages" and parts[2] == "templates" and parts[3] in TEMPLATE_FIELDS and parts[1] in {t.value for t in Trigger}


def _template_problem(name: str, values: dict[str, str]) -> TemplateProblem | None:
    """A refused message template's problem told from its text, else ``None``."""
    if not _is_template(name):
        return None
    _, trigger, _, field_ = name.split(".")
    return template_problem(Trigger(trigger), field_, values.get(name, ""))


# --- the layout -------------------------------------------------------------------------------------


@dataclass
class Node:
    """A piece of the form: a section (``model``), a list (``rows``) with its rows, or an input."""

    kind: str
    name: str
    label: str
    hint: str | None = None
    value: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    required: bool = False
    children: list[Node] = field(default_factory=list)
    input_type: str = "text"
    readonly: bool = False


READONLY = frozenset({"program", "currency", "rounding", "referral.max_depth"})


def _input(path: str, info: FieldInfo, kind: Shape, values: dict[str, str]) -> Node:
    node = Node(kind="input", name=path, label=words.label(path), hint=words.hint(path), value=values.get(path, ""), required=info.is_required())
    node.readonly = words.schema_path(path) in READONLY
    if kind.kind in ("bool", "choice"):
        node.kind = "select"
        node.options = ([("", "—")] if kind.optional else []) + [(o, words.choice(path, o)) for o in kind.options]
    elif kind.kind in ("pairs",) or _is_template(path):
        node.kind = "textarea"
    elif kind.kind == "datetime":
        node.input_type = "datetime-local"
    elif kind.kind in ("int", "decimal"):
        node.input_type = "number-text"
    return node


def nodes(values: dict[str, str], model: type[BaseModel] = ProgramConfig, prefix: str = "") -> list[Node]:
    """The form's layout over ``values``: one node per field, sections and lists with their children."""
    out = []
    for name, info in model.model_fields.items():
        path, kind = prefix + name, shape(info)
        if kind.kind == "model" and kind.model is not None:
            out.append(Node(kind="model", name=path, label=words.label(path), hint=words.hint(path), children=nodes(values, kind.model, path + ".")))
        elif kind.kind == "rows" and kind.model is not None:
            title = words.ROW_TITLES.get(words.schema_path(path), "{n}")
            rows_ = [Node(kind="row", name=f"{path}.{n}", label=title.format(n=i + 1), children=nodes(values, kind.model, f"{path}.{n}.")) for i, n in enumerate(rows(values, path))]
            out.append(Node(kind="rows", name=path, label=words.label(path), hint=words.hint(path), children=rows_))
        else:
            out.append(_input(path, info, kind, values))
    return out


def layout(values: dict[str, str]) -> list[Node]:
    """The form's sections: the top-level fields first, as «Основное», then one section per part."""
    top = nodes(values)
    plain = [n for n in top if n.kind not in ("model", "rows")]
    return [Node(kind="model", name="__main", label="Основное", children=plain), *(n for n in top if n.kind in ("model", "rows"))]


def walk(items: list[Node]) -> list[Node]:
    found = []
    for node in items:
        found.append(node)
        found += walk(node.children)
    return found


# --- a diff as people read it -------------------------------------------------------------------------


def readable(name: str, values: dict[str, str]) -> str:
    """A form field's name with its rows named by code where they have one: ``levels.1.name`` -> ``levels.level2.name``."""
    parts = name.split(".")
    out: list[str] = []
    for i, part in enumerate(parts):
        prefix = ".".join(parts[:i])
        if part.isdigit() and schema_of(prefix) in words.ROW_TITLES:
            part = values.get(f"{prefix}.{part}.code") or words.ROW_TITLES[schema_of(prefix)].format(n=int(part) + 1)
        out.append(part)
    return ".".join(out)


def schema_of(path: str) -> str:
    """A change's path (rows named by code or position) as the schema's: ``levels.level2.name`` -> ``levels.*.name``."""
    out: list[str] = []
    for part in path.split("."):
        out.append("*" if ".".join(out) in words.ROW_TITLES else part)
    return ".".join(out)


def _label_of(path: str, fallback: str) -> str:
    found = words.LABELS.get(schema_of(path))
    return found[0] if found else fallback


def shown(path: str, value: Any) -> str:
    """A value of a change as the form writes it (roubles, «Да», Moscow time, a list's items)."""
    schema = schema_of(path)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return words.choice(schema, "true" if value else "false")
    if isinstance(value, list):
        return "; ".join(shown(path + ".0", v) for v in value) if value else "—"
    if isinstance(value, dict):
        return ", ".join(f"{_label_of(path + '.' + str(k), str(k))}: {shown(path + '.' + str(k), v)}" for k, v in value.items()) or "—"
    if schema in words.MONEY and isinstance(value, int):
        return _money_shown(value)
    if isinstance(value, str) and value and SHAPES.get(schema, Shape("text")).kind == "datetime":
        return datetime.fromisoformat(value).astimezone(MSK).strftime("%d.%m.%Y %H:%M") + " МСК"
    if isinstance(value, str) and (words.CHOICES_AT.get((schema, value)) or value in words.CHOICES):
        return words.choice(schema, value)
    return str(value)


def change_label(path: str) -> str:
    """``levels.level2.accrual_percent`` -> «Уровни › level2 › Начисление, %»."""
    parts = path.split(".")
    return " › ".join(_label_of(".".join(parts[: i + 1]), part) for i, part in enumerate(parts))
