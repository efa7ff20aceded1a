"""Messages as data: safe templates, the variables each trigger offers, quiet hours and backoff."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.domain.config import parse_config
from shared.domain.errors import ValidationFailed
from shared.domain.messages import TemplateError, Trigger, backoff, placeholders, quiet_until, render
from shared.presets import preset_data

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def test_the_default_templates_are_russian_and_use_only_their_triggers_variables():
    config = parse_config(preset_data("biomiq"))
    assert config.messages.problems() == []
    for trigger in Trigger:
        text = config.messages.of(trigger).templates.sms
        assert any("а" <= ch.lower() <= "я" for ch in text), trigger
    assert config.messages.expiry_soon.days_before == 7
    assert config.messages.referral_new.enabled and not config.messages.winback.enabled


def test_a_template_with_an_unknown_variable_is_refused_at_validation_naming_its_field():
    data = preset_data("biomiq")
    data["messages"] = {"referral_new": {"templates": {"sms": "Пришёл {name} с телефоном {phone}"}}}
    with pytest.raises(ValidationFailed) as refused:
        parse_config(data)
    errors = refused.value.details["errors"]
    assert errors[0]["field"] == "messages.referral_new.templates.sms"
    assert "{name}" in errors[0]["error"] and "{phone}" in errors[0]["error"]


@pytest.mark.parametrize("template", ["{amount.__class__}", "{amount[0]}", "{amount!r}", "{amount:>10}", "{", "}"])
def test_a_template_may_hold_only_bare_names(template):
    with pytest.raises(TemplateError):
        placeholders(template)
    data = preset_data("biomiq")
    data["messages"] = {"bonus_credited": {"templates": {"email_body": template}}}
    with pytest.raises(ValidationFailed) as refused:
        parse_config(data)
    assert refused.value.details["errors"][0]["field"] == "messages.bonus_credited.templates.email_body"


def test_render_replaces_names_and_keeps_doubled_braces():
    assert render("{{x}} {amount} бонусов", {"amount": "150"}) == "{x} 150 бонусов"
    with pytest.raises(KeyError):
        render("{amount}", {})


def test_quiet_hours_hold_a_message_until_nine_local():
    moscow_23 = datetime(2026, 3, 1, 20, 0, tzinfo=timezone.utc)  # 23:00 in Moscow (UTC+3)
    assert quiet_until(moscow_23, "Europe/Moscow") == datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc)
    moscow_03 = datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)  # 03:00 in Moscow
    assert quiet_until(moscow_03, None) == datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc)
    assert quiet_until(NOW, "Europe/Moscow") is None  # 12:00 in Moscow
    assert quiet_until(NOW, "Asia/Vladivostok") is None  # 19:00 there
    vladivostok_22 = NOW + timedelta(hours=3)
    assert quiet_until(vladivostok_22, "Asia/Vladivostok") == datetime(2026, 3, 1, 23, 0, tzinfo=timezone.utc)  # 09:00 there


def test_backoff_doubles():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
