"""Ready-made program configs, one per seed shop.

Each preset is a JSON document beside this module holding a whole
:class:`~shared.domain.config.ProgramConfig`: the shop's program runs by
configuration alone. ``README.md`` here says which seed each one comes from
and which rules it exercises.

    >>> load_preset("veloprobeg").level("gold").accrual_percent
    Decimal('2.5')
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from shared.domain.config import ProgramConfig, parse_config
from shared.domain.errors import NotFound

PRESETS: dict[str, str] = {
    "biomiq": "biomiq.json",
    "maxma_cosmetics": "maxma_cosmetics.json",
    "maxma_b2b": "maxma_b2b.json",
    "veloprobeg": "veloprobeg.json",
    "sportferma": "sportferma.json",
    "stroyservis": "stroyservis.json",
    "luchshiy_malyar": "luchshiy_malyar.json",
}


def preset_names() -> list[str]:
    """The names :func:`load_preset` accepts, in seed order."""
    return list(PRESETS)


def preset_data(name: str) -> dict[str, Any]:
    """The raw JSON document of a preset (a fresh copy, e.g. for publishing or editing)."""
    try:
        filename = PRESETS[name]
    except KeyError:
        raise NotFound(
            f"unknown preset {name!r}; known: {', '.join(PRESETS)}",
            message_ru=f"Шаблон программы «{name}» не найден.",
            preset=name,
        ) from None
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    return json.loads(text)


def load_preset(name: str) -> ProgramConfig:
    """A validated preset config; raises ``NotFound`` for an unknown name, ``ValidationFailed`` for a broken file."""
    return parse_config(preset_data(name))
