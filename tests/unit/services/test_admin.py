"""Back-office rules without I/O: the person-made ledger operations, passwords, the role table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from msgspec.structs import replace

from shared.domain.errors import Forbidden, ValidationFailed
from shared.domain.ledger import Account, ChangeGroup, LevelOverrideChange, OpenAccount, OverrideLevel, apply_posting, fold
from shared.edge import admin_auth
from shared.services import admins


def _opened(now) -> Account:
    account = Account(customer_id="anna")
    posting = OpenAccount(group="b2c", level="level1").posting(account, key="open:anna", now=now)
    assert posting.seq == 1
    return apply_posting(account, posting)


def test_a_level_override_and_a_group_change_are_postings_the_fold_reproduces(now):
    account = _opened(now)
    postings = []
    for seq, make in enumerate(
        [
            lambda a: OverrideLevel(level="level3", actor="olga@shop.example", reason="VIP").posting(a, key="lv:1", now=now),
            lambda a: ChangeGroup(group="b2b", actor="olga@shop.example", reason="опт").posting(a, key="gr:1", now=now),
            lambda a: OverrideLevel(level=None, actor="ivan@shop.example", reason="конец акции").posting(a, key="lv:2", now=now + timedelta(days=1)),
        ],
        start=2,
    ):
        posting = make(account)
        assert posting.seq == seq
        postings.append(posting)
        account = apply_posting(account, posting)
    assert (account.level, account.level_override, account.group) == ("level1", None, "b2b")
    assert [p.actor for p in postings] == ["olga@shop.example", "olga@shop.example", "ivan@shop.example"]
    assert postings[0].movements == (LevelOverrideChange(previous=None, to="level3"),)
    assert [m.to_dict() for m in postings[0].movements] == [{"op": "level_override", "from": None, "to": "level3"}]
    assert postings[0].delta == postings[1].delta == 0
    first = replace(OpenAccount(group="b2c", level="level1").posting(Account(customer_id="anna"), key="open:anna", now=now), seq=1)
    assert fold("anna", [first, *postings]).to_dict() == account.to_dict()


def test_an_unchanged_level_or_group_moves_nothing_and_a_reason_is_required(now):
    account = _opened(now)
    assert ChangeGroup(group="b2c", actor="olga@shop.example", reason="x").posting(account, key="g", now=now).movements == ()
    assert OverrideLevel(level=None, actor="olga@shop.example", reason="x").posting(account, key="l", now=now).movements == ()
    with pytest.raises(ValidationFailed):
        OverrideLevel(level="level2", actor="olga@shop.example", reason="  ").posting(account, key="l", now=now)
    with pytest.raises(ValidationFailed):
        ChangeGroup(group="b2b", actor="", reason="x").posting(account, key="g", now=now)


def test_the_role_table():
    assert set(admin_auth.ROLES) == {"admin", "marketer", "manager", "accountant"}
    assert all(set(roles) <= set(admin_auth.ROLES) and roles for roles in admin_auth.PERMISSIONS.values())
    accountant = admin_auth.Admin("a@shop.example", ("accountant",))
    assert [a for a in admin_auth.PERMISSIONS if accountant.can(a)] == ["payout.read", "customer.read", "ledger.read", "report.liability", "campaign.read", "audit.read", "catalog.read"]
    manager = admin_auth.Admin("m@shop.example", ("manager",))
    with pytest.raises(Forbidden):
        manager.require("config.replace")
    assert manager.require("payout.approve") is manager


def test_create_admin_refuses_bad_input(memory_store, now):
    with pytest.raises(ValidationFailed):
        admins.create_admin(memory_store, email="olga", password="long enough password", roles=["admin"], now=now)
    with pytest.raises(ValidationFailed):
        admins.create_admin(memory_store, email="olga@shop.example", password="short", roles=["admin"], now=now)
    with pytest.raises(ValidationFailed):
        admins.create_admin(memory_store, email="olga@shop.example", password="long enough password", roles=["root"], now=now)
    with pytest.raises(ValidationFailed):
        admins.create_admin(memory_store, email="olga@shop.example", password="long enough password", roles=[], now=now)
    record = admins.create_admin(memory_store, email="Olga@Shop.Example", password="long enough password", roles=["admin", "admin"], now=now)
    assert record.roles == ("admin",) and not hasattr(record, "password") and record.epoch == 0
