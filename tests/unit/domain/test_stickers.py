"""Sticker codes: the alphabet, the check character and the wrong-code guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.config import Stickers
from shared.domain.stickers import ALPHABET, CODE_LENGTH, after_failure, after_success, check_character, formatted, new_code, normalize, refused_now

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def test_codes_use_no_look_alikes_and_pass_their_check():
    assert not set("0O1IL") & set(ALPHABET)
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert normalize(code) == code
        assert normalize(formatted(code).lower()) == code


def test_every_single_typo_and_neighbour_swap_is_refused():
    code = new_code()
    for i in range(CODE_LENGTH):
        for ch in ALPHABET:
            if ch != code[i]:
                assert normalize(code[:i] + ch + code[i + 1 :]) is None
    for i in range(CODE_LENGTH - 1):
        if code[i] != code[i + 1]:
            assert normalize(code[:i] + code[i + 1] + code[i] + code[i + 2 :]) is None


def test_malformed_input_is_refused():
    body = "23456789ABC"
    assert normalize(body + check_character(body)) == body + check_character(body)
    assert normalize(body) is None
    assert normalize("O" + body[1:] + check_character("O"[:0] + body)) is None
    assert normalize("") is None


def test_wrong_codes_wait_longer_then_block():
    settings = Stickers(max_failures=4, block_minutes=30, first_delay_seconds=2, max_delay_seconds=5)
    a = after_failure(None, "customer:c", NOW, settings)
    assert a.failures == 1 and a.next_at == NOW + timedelta(seconds=2)
    assert refused_now(a, NOW + timedelta(seconds=1)) is not None and refused_now(a, NOW + timedelta(seconds=1)).code == "retry_after"
    assert refused_now(a, NOW + timedelta(seconds=2)) is None
    a = after_failure(a, "customer:c", NOW + timedelta(seconds=2), settings)
    assert a.next_at == NOW + timedelta(seconds=6)
    a = after_failure(a, "customer:c", NOW + timedelta(seconds=6), settings)
    assert a.next_at == NOW + timedelta(seconds=11)  # capped at 5 s
    a = after_failure(a, "customer:c", NOW + timedelta(seconds=11), settings)
    assert a.blocked_until == NOW + timedelta(seconds=11, minutes=30)
    assert refused_now(a, NOW + timedelta(minutes=20)).code == "sticker_blocked"
    assert refused_now(a, a.blocked_until) is None
    after = after_failure(a, "customer:c", a.blocked_until, settings)
    assert after.failures == 1 and after.blocked_until is None


def test_a_right_code_lifts_the_wait_only():
    settings = Stickers()
    a = after_failure(None, "ip:x", NOW, settings)
    lifted = after_success(a, NOW)
    assert lifted is not None and lifted.next_at is None and lifted.failures == 1
    assert after_success(lifted, NOW) is None
