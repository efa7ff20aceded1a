"""The console's preview of the program's messages: every trigger, each channel's text with the sample values."""

from __future__ import annotations

from console.app import SECTIONS
from shared.domain.messages import VARIABLES, Trigger
from shared.presets import load_preset
from shared.services.admin.messages import SAMPLE, TRIGGERS_RU, previews


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
