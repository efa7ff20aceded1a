"""The partner dashboard over HTTP tells where each reward stands: pending until a date, payable, held, paid, clawed back."""

from __future__ import annotations

import os
from datetime import timedelta

from shared.domain.messages import Trigger
from shared.platform.sealing import payout_sealer
from shared.platform.settings import reload
from shared.services import orders, payouts
from tests.conftest import customer_token
from tests.functions.shop import config, customer, now
from tests.functions.test_account import call, client, ok, store  # noqa: F401  (fixtures)
from tests.integration.services.payout_story import referee_order
from tests.integration.services.test_triggers import messages


def _rewards(client_, partner: str) -> list[dict]:
    return ok(call(client_, "GET", "/partner", token=customer_token(partner)))["rewards"]


def test_each_reward_shows_its_state(client, store):  # noqa: F811
    os.environ["KOPILKA_SHOP_URL"] = "https://biomiq.example/shop?utm_source=partner"
    reload()
    at = now()
    cfg = config(at)
    hold = timedelta(days=cfg.referral_hold_days)
    customer(store, "maria", at=at)
    old = at - hold - timedelta(days=2)
    referee_order(store, cfg, partner="maria", referee="anna", order_id="A1", at=old)  # past its hold: payable
    referee_order(store, cfg, partner="maria", referee="boris", order_id="B1", at=at)  # in its hold

    rewards = _rewards(client, "maria")
    assert [(r["state"], r["amount"], r["remaining"]) for r in rewards] == [("pending", 500, 500), ("payable", 500, 500)]
    assert rewards[0]["pending_until"].startswith((at + hold).date().isoformat()) and rewards[1]["pending_until"] is None

    payouts.request_payout(store, config=cfg, customer_id="maria", request_id="payout-0001", amount=500, method="phone", details="+7 916 000-00-11", now=at, sealer=payout_sealer())
    assert [r["state"] for r in _rewards(client, "maria")] == ["pending", "held"]
    payouts.decide_request(store, request_id="payout-0001", decision="approve", actor="manager@shop", now=at, config=cfg)
    paid = _rewards(client, "maria")
    assert [(r["state"], r["paid"], r["remaining"]) for r in paid] == [("pending", 0, 500), ("paid", 500, 0)]

    # boris returns his order while the reward is still held: it is taken back
    orders.mark_returned(store, config=cfg, order_id="B1", return_id="R1", returns=None, now=at + timedelta(days=1))
    back = _rewards(client, "maria")
    assert [(r["state"], r["clawed_back"]) for r in back] == [("clawed_back", 500), ("paid", 0)]

    # the partner was told of each reward, with the link to this dashboard
    told = messages(store, Trigger.REFERRAL_REWARD, "maria")
    assert len([m for m in told if m.channel.value == "sms"]) == 2
    assert all(m.body.endswith("Кабинет партнёра: https://biomiq.example/shop?utm_source=partner#kopilka-partner") for m in told if m.channel.value == "sms")
