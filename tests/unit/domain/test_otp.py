"""The pure rules of login codes: the per-phone log, the address windows and the daily budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain import otp

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_the_phone_log_keeps_only_the_last_day_oldest_first():
    limits = otp.PhoneLimits(
        sends=(otp.SendMark(NOW - timedelta(minutes=1), "b"), otp.SendMark(NOW - timedelta(hours=24), "gone"), otp.SendMark(NOW - timedelta(hours=2), "a")),
        failures=(otp.FailureMark(NOW - timedelta(minutes=5), "n"), otp.FailureMark(NOW - timedelta(hours=25), "n")),
    )
    recent = limits.recent(NOW)
    assert [s.id for s in recent.sends] == ["a", "b"]
    assert recent.failures == (otp.FailureMark(NOW - timedelta(minutes=5), "n"),)


def test_a_failed_send_frees_its_window_slot_once():
    limits = otp.PhoneLimits().with_send(NOW, "s1").with_send(NOW, "s2").with_send(NOW, "s3")
    assert limits.send_refusal(NOW) is not None
    freed = limits.with_failed_send("s2")
    assert freed is not None and [s.failed for s in freed.sends] == [False, True, False]
    assert freed.send_refusal(NOW) is None
    assert freed.with_failed_send("s2") is None and limits.with_failed_send("unknown") is None
    assert [s.failed for s in limits.sends] == [False, False, False]  # the original is unchanged


def test_wrong_codes_slow_down_only_their_network_doubling_up_to_the_cap():
    limits = otp.PhoneLimits()
    for _ in range(otp.FREE_FAILURES):
        limits = limits.with_failure(NOW, "attacker")
    assert limits.verify_delay("owner", NOW) is None  # another network is never slowed
    first = limits.verify_delay("attacker", NOW)
    assert first is not None and first.reason is otp.RateReason.VERIFY_DELAY and first.retry_after == 30
    assert limits.verify_delay("attacker", NOW + timedelta(seconds=30)) is None
    for _ in range(20):
        limits = limits.with_failure(NOW, "attacker")
    capped = limits.verify_delay("attacker", NOW)
    assert capped is not None and capped.retry_after == int(otp.DELAY_CAP.total_seconds())
    assert limits.without_failures().verify_delay("attacker", NOW) is None


def test_address_windows_are_fixed_and_keyed_by_bucket():
    windows = otp.ip_windows("198.51.100.7", NOW + timedelta(minutes=30), bucket=lambda scope: scope.replace(":", "="))
    hour = int(NOW.timestamp()) // 3600
    day = int(NOW.timestamp()) // 86400
    assert [w.window_id for w in windows] == [f"ip=198.51.100.7_h{hour}", f"ip=198.51.100.7_d{day}", f"net=198.51.100.0/24_d{day}"]
    assert windows[0].ends_at == NOW + timedelta(hours=1) and [w.limit for w in windows] == [10, 50, 200]
    refused = otp.ip_refusal([(windows[0], 10), (windows[1], 3)], NOW + timedelta(minutes=30))
    assert refused is not None and refused.retry_after == 30 * 60 and refused.details["reason"] == "ip"
    assert otp.ip_refusal([(windows[0], 9)], NOW) is None


def test_the_budget_day_is_moscow_and_a_spent_budget_waits_until_its_midnight():
    evening = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)  # 23:30 in Moscow
    assert otp.budget_day(evening) == ("2026-03-01", datetime(2026, 3, 1, 21, 0, tzinfo=UTC))
    assert otp.budget_day(evening + timedelta(minutes=31))[0] == "2026-03-02"
    assert otp.budget_refusal(2, 3, evening) is None and otp.budget_refusal(5, 0, evening) is None
    spent = otp.budget_refusal(3, 3, evening)
    assert spent is not None and spent.retry_after == 30 * 60 and spent.reason is otp.RateReason.DAILY_BUDGET


def test_a_code_is_usable_until_its_end_and_then_never():
    code = otp.OtpCode(code_hash="h", send_id="s", created_at=NOW, expires_at=NOW + otp.CODE_TTL)
    assert code.usable(NOW + otp.CODE_TTL) and not code.usable(NOW + otp.CODE_TTL + timedelta(seconds=1))
    assert not code.used(NOW).usable(NOW) and not code.not_sent().usable(NOW)
    worn = code
    for _ in range(otp.MAX_ATTEMPTS):
        worn = worn.guessed_wrong()
    assert worn.exhausted and not code.exhausted
