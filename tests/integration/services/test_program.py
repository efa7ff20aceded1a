"""The program as data: versioned, dated, audited; a bad config is refused and the old one stays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.api.admin import PublicationEntry
from shared.domain.errors import NotFound, ValidationFailed
from shared.presets import preset_data
from shared.services import program


def test_publish_versions_and_effective_dates(store, now):
    first = program.publish(store, raw=preset_data("biomiq"), author="marketer", reason="launch", effective_from=now, now=now)
    changed = preset_data("biomiq")
    changed["hold_days"] = 7
    second = program.publish(store, raw=changed, author="marketer", reason="shorter hold", effective_from=now + timedelta(days=10), now=now)
    assert (first.version, second.version) == (1, 2)
    assert program.in_force(store, "biomiq", now).config.hold_days == 14
    assert program.in_force(store, "biomiq", now + timedelta(days=9, hours=23)).version == 1
    assert program.in_force(store, "biomiq", now + timedelta(days=10)).config.hold_days == 7
    log = program.publications(store, "biomiq")
    assert [(e.version, e.actor, e.reason) for e in log] == [(2, "marketer", "shorter hold"), (1, "marketer", "launch")]
    assert log[0].changed == ("hold_days",)
    assert PublicationEntry.of(log[0]).model_dump() == store.get("programs/biomiq/audit/v000002")  # the back office lists the stored records
    assert [v.version for v in program.scheduled(store, "biomiq", now)] == [2]


def test_a_bad_config_is_refused_naming_the_field_and_the_old_one_stays(store, now):
    program.publish(store, raw=preset_data("biomiq"), author="marketer", reason="launch", effective_from=now, now=now)
    broken = preset_data("biomiq")
    broken["levels"][1]["accrual_percent"] = -5
    with pytest.raises(ValidationFailed) as refused:
        program.publish(store, raw=broken, author="marketer", reason="oops", effective_from=now, now=now)
    assert refused.value.details["errors"][0]["field"] == "levels.1.accrual_percent"
    unknown_group = {**preset_data("biomiq"), "default_group": "vip"}
    with pytest.raises(ValidationFailed) as refused:
        program.publish(store, raw=unknown_group, author="marketer", reason="oops", effective_from=now, now=now)
    assert refused.value.details["errors"][0]["field"] == "default_group"
    assert program.in_force(store, "biomiq", now).version == 1
    assert len(program.publications(store, "biomiq")) == 1


def test_no_config_in_force_before_the_first_effective_date(store, now):
    program.publish(store, raw=preset_data("veloprobeg"), author="marketer", reason="launch", effective_from=now + timedelta(days=1), now=now)
    with pytest.raises(NotFound):
        program.in_force(store, "veloprobeg", now)
    with pytest.raises(ValidationFailed):
        program.publish(store, raw=preset_data("veloprobeg"), author="marketer", reason="backdated", effective_from=now - timedelta(days=1), now=now)


def _audited(store) -> list[str]:
    return [doc["action"] for _, doc in store.ordered("audit", order_by="key", limit=100)]


def test_a_config_posted_twice_with_the_same_idempotency_key_publishes_one_version(store, now):
    from shared.domain.errors import IdempotencyConflict
    from shared.edge.admin_auth import ROLES, Admin
    from shared.services.admin import program as admin_program

    owner = Admin("owner@shop.example", ROLES)
    program.publish(store, raw=preset_data("biomiq"), author="test", reason="launch", effective_from=now, now=now)
    shorter = {**preset_data("biomiq"), "name": "Biomiq — клуб"}  # names only: published at once (money changes wait for approval)
    first = admin_program.replace_config(store, owner, program_name="biomiq", raw=shorter, reason="shorter hold", effective_from=None, key="hold-7", now=now + timedelta(minutes=1))
    # a double click, and a retry after a lost reply a while later
    again = admin_program.replace_config(store, owner, program_name="biomiq", raw=shorter, reason="shorter hold", effective_from=None, key="hold-7", now=now + timedelta(minutes=2))
    later = admin_program.replace_config(store, owner, program_name="biomiq", raw=shorter, reason="shorter hold", effective_from=None, key="hold-7", now=now + timedelta(days=2))
    assert first == again == later and first.version == 2
    assert [v.version for v in program.head(store, "biomiq").versions] == [1, 2]
    assert [e.version for e in program.publications(store, "biomiq")] == [2, 1]
    assert _audited(store) == ["config.replace"]
    # the same key for another config (or another reason or date) is a conflict and publishes nothing
    asked = {"program_name": "biomiq", "raw": shorter, "reason": "shorter hold", "effective_from": None, "key": "hold-7", "now": now + timedelta(minutes=3)}
    for changed in ({"raw": {**shorter, "name": "Biomiq"}}, {"reason": "другая причина"}, {"effective_from": now + timedelta(days=5)}):
        with pytest.raises(IdempotencyConflict):
            admin_program.replace_config(store, owner, **{**asked, **changed})
    assert [v.version for v in program.head(store, "biomiq").versions] == [1, 2]
    # another key publishes another version
    third = admin_program.replace_config(store, owner, program_name="biomiq", raw=shorter, reason="shorter hold", effective_from=None, key="hold-7-again", now=now + timedelta(minutes=4))
    assert third.version == 3
