"""The console's preview of the program's messages: every trigger, each channel's text with the sample values,
the version in force's or a draft's, a refused template told at its field."""

from __future__ import annotations

import pytest

from console import program_form as form
from console.app import SECTIONS
from shared.domain.config import parse_config
from shared.domain.errors import Forbidden, ValidationFailed
from shared.domain.messages import VARIABLES, Channel, Trigger
from shared.edge.admin_auth import Admin
from shared.presets import load_preset, preset_data
from shared.services.admin.messages import SAMPLE, TRIGGERS_RU, draft_previews, previews


def test_every_trigger_is_previewed_with_every_variable_filled_in():
    config = load_preset("biomiq")
    shown = {p.trigger: p for p in previews(config)}
    assert set(shown) == set(Trigger) and set(TRIGGERS_RU) == {t.value for t in Trigger}
    assert set().union(*VARIABLES.values()) <= {*SAMPLE, "program"}
    new_referral = shown[Trigger.REFERRAL_NEW]
    assert new_referral.enabled and new_referral.variables == ("dashboard", "month", "program", "referees")
    for channel in new_referral.channels:
        assert "{" not in channel.body and config.name in channel.body and SAMPLE["dashboard"] in channel.body
    email = next(c for c in new_referral.channels if c.channel.value == "email")
    assert email.subject == "Новый покупатель по вашей ссылке"
    assert not shown[Trigger.BONUS_CREDITED].enabled


def test_the_section_opens_for_whoever_reads_the_program():
    assert ("/messages", "Сообщения", "config.read") in SECTIONS


MARKETER = Admin("marketer@shop.example", ("marketer",))


def _edited(**templates: str) -> dict:
    data = preset_data("biomiq")
    data["messages"] = {"referral_new": {"templates": {**load_preset("biomiq").messages.referral_new.templates.model_dump(), **templates}}}
    return data


def test_a_config_with_an_edited_template_is_previewed_with_its_new_text_and_the_sample_values():
    data = _edited(sms="{program}: друзей уже {referees}, ждём вас в кабинете {dashboard}")
    config = parse_config(data)
    for shown in (previews(config), draft_previews(MARKETER, raw=data)):
        new_referral = next(p for p in shown if p.trigger is Trigger.REFERRAL_NEW)
        sms = next(c for c in new_referral.channels if c.channel is Channel.SMS)
        assert sms.body == f"{config.name}: друзей уже {SAMPLE['referees']}, ждём вас в кабинете {SAMPLE['dashboard']}"
        assert not sms.refused and not new_referral.refused
        telegram = next(c for c in new_referral.channels if c.channel is Channel.TELEGRAM)
        assert "по вашей ссылке пришёл новый покупатель" in telegram.body


def test_a_draft_template_with_an_unknown_variable_is_told_at_its_field_with_the_code_publishing_answers():
    data = _edited(sms="Пришёл {name}, всего друзей {referees}")
    with pytest.raises(ValidationFailed) as refused:
        parse_config(data)
    published = refused.value.details["errors"][0]
    shown = draft_previews(MARKETER, raw=data)
    new_referral = next(p for p in shown if p.trigger is Trigger.REFERRAL_NEW)
    sms = next(c for c in new_referral.channels if c.channel is Channel.SMS)
    assert sms.body == "" and len(sms.refused) == 1
    told = sms.refused[0]
    assert (told.code, told.field, told.type, told.error) == (refused.value.code, published["field"], published["type"], published["error"])
    assert told.message_ru == "Переменной {name} у этого сообщения нет. Можно: {dashboard}, {month}, {program}, {referees}."
    email = next(c for c in new_referral.channels if c.channel is Channel.EMAIL)
    assert not email.refused and SAMPLE["dashboard"] in email.body  # the other channels still read as their customers would
    assert [r.field for r in new_referral.refused] == ["messages.referral_new.templates.sms"]
    values = form.values_of(load_preset("biomiq"))
    values["messages.referral_new.templates.sms"] = "Пришёл {name}, всего друзей {referees}"
    assert form.errors_at([published], values) == {"messages.referral_new.templates.sms": told.message_ru}  # publishing tells the same at the field


def test_a_refused_template_of_a_channel_that_is_off_is_still_told_and_the_rest_of_the_draft_may_be_unfinished():
    data = preset_data("biomiq")
    data["levels"] = []  # unfinished elsewhere: the messages are read all the same
    data["messages"] = {"birthday": {"enabled": False, "channels": ["sms"], "templates": {"sms": "С днём рождения! {bonus}", "telegram": "{bonus} {{ и }"}}}
    birthday = next(p for p in draft_previews(MARKETER, raw=data) if p.trigger is Trigger.BIRTHDAY)
    assert not birthday.enabled and [c.channel for c in birthday.channels] == [Channel.SMS, Channel.TELEGRAM]
    assert birthday.channels[0].body == f"С днём рождения! {SAMPLE['bonus']}"
    assert birthday.refused[0].field == "messages.birthday.templates.telegram" and "удвойте" in birthday.refused[0].message_ru
    data["name"] = ""
    with pytest.raises(ValidationFailed) as refused:
        draft_previews(MARKETER, raw=data)
    assert refused.value.details["errors"][0]["field"] == "name"


def test_previewing_a_draft_needs_the_right_to_read_the_program():
    with pytest.raises(Forbidden):
        draft_previews(Admin("nobody@shop.example", ()), raw=preset_data("biomiq"))
