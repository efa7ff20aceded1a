"""The identity repositories on both stores: round trips, absent documents, and the stored
documents in exactly the shape the data model has (read back raw through the unit of work)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters import layout
from shared.domain.identity import (
    CustomerContact,
    FamilyRevocation,
    Identity,
    IdentityKind,
    RefreshToken,
    RevocationReason,
)
from shared.domain.otp import (
    BudgetShard,
    CodeStatus,
    FailureMark,
    IpCounter,
    OtpCode,
    PhoneLimits,
    SendMark,
    SendRecord,
    SendStatus,
)

KEY = "a" * 40


def raw(store, path: str):
    return store.run(lambda uow: uow.get(path))


# --- identities -------------------------------------------------------------------------------


def test_a_phone_identity_round_trips_in_its_stored_shape(store, now):
    identity = Identity.phone("+79001234567", "c_1", now)
    store.run(lambda uow: uow.identities.create(identity))
    assert store.read(lambda uow: uow.identities.get(IdentityKind.PHONE, "+79001234567")) == identity
    assert store.run(lambda uow: uow.identities.get(IdentityKind.PHONE, "+79001234567")) == identity
    assert raw(store, "identities/phone:+79001234567") == {"kind": "phone", "value": "+79001234567", "customer_id": "c_1", "created_at": now}


def test_a_telegram_identity_keeps_its_integer_id_and_username(store, now):
    for user_id, username in ((4242, "anna_k"), (4343, None)):
        identity = Identity.telegram(user_id, "c_1", now, username)
        store.run(lambda uow, identity=identity: uow.identities.create(identity))
        assert store.read(lambda uow, user_id=user_id: uow.identities.get(IdentityKind.TELEGRAM, user_id)) == identity
        assert raw(store, f"identities/telegram:{user_id}") == {"kind": "telegram", "value": user_id, "customer_id": "c_1", "username": username, "created_at": now}


def test_an_absent_or_imported_identity(store):
    assert store.read(lambda uow: uow.identities.get(IdentityKind.PHONE, "+79000000000")) is None
    store.run(lambda uow: uow.create(layout.identity("phone", "+79001234567"), {"customer_id": "migrated-42"}))
    imported = store.read(lambda uow: uow.identities.get(IdentityKind.PHONE, "+79001234567"))
    assert imported == Identity(kind=IdentityKind.PHONE, value="+79001234567", customer_id="migrated-42")


def test_an_identity_is_created_once(store, now):
    from shared.domain.errors import Retryable

    store.run(lambda uow: uow.identities.create(Identity.phone("+79001234567", "c_1", now)))
    with pytest.raises(Retryable):
        store.run(lambda uow: uow.identities.create(Identity.phone("+79001234567", "c_2", now)))
    assert store.read(lambda uow: uow.identities.get(IdentityKind.PHONE, "+79001234567")).customer_id == "c_1"


def test_the_customer_contact_is_written_into_the_account_and_keeps_its_other_fields(store, now):
    assert store.read(lambda uow: uow.customer_contacts.get("anna")) is None
    assert store.read(lambda uow: uow.customer_contacts.exists("anna")) is False
    store.run(lambda uow: uow.put(layout.account("anna"), {"lots": [], "invited_by": None}))
    assert store.read(lambda uow: uow.customer_contacts.get("anna")) == CustomerContact(phone=None)
    store.run(lambda uow: uow.customer_contacts.put("anna", CustomerContact(phone="+79001234567", phone_verified_at=now)))
    assert store.read(lambda uow: uow.customer_contacts.get("anna")) == CustomerContact(phone="+79001234567", phone_verified_at=now)
    assert raw(store, "customers/anna") == {"lots": [], "invited_by": None, "phone": "+79001234567", "phone_verified_at": now}
    with pytest.raises(LookupError):
        store.run(lambda uow: uow.customer_contacts.put("nobody", CustomerContact(phone="+79001234567", phone_verified_at=now)))
    assert raw(store, "customers/nobody") is None


def test_a_telegram_identity_is_unlinked_and_linked_again_in_place(store, now):
    linked = Identity.telegram(4242, "anna", now, "anna_k")
    store.run(lambda uow: uow.identities.create(linked))
    unlinked = linked.unlinked(now + timedelta(minutes=1))
    store.run(lambda uow: uow.identities.put(unlinked))
    assert store.read(lambda uow: uow.identities.get(IdentityKind.TELEGRAM, 4242)) == unlinked and not unlinked.active
    assert raw(store, "identities/telegram:4242") == {"kind": "telegram", "value": 4242, "customer_id": "anna", "username": "anna_k", "created_at": now, "unlinked_at": now + timedelta(minutes=1)}
    again = Identity.telegram(4242, "boris", now + timedelta(minutes=2), None)
    store.run(lambda uow: uow.identities.put(again))
    assert store.read(lambda uow: uow.identities.get(IdentityKind.TELEGRAM, 4242)) == again and again.active
    with pytest.raises(ValueError):  # a phone's identity never moves
        store.run(lambda uow: uow.identities.put(Identity.phone("+79001234567", "c_1", now)))


def test_a_customers_telegram_identities_are_found_by_a_query(store, now):
    store.run(lambda uow: uow.identities.create(Identity.phone("+79001234567", "anna", now)))
    for user_id, customer_id in ((4242, "anna"), (4343, "anna"), (5151, "boris")):
        store.run(lambda uow, user_id=user_id, customer_id=customer_id: uow.identities.create(Identity.telegram(user_id, customer_id, now, None)))
    assert sorted(store.read(lambda uow: uow.identities.telegram_ids_of("anna"))) == [4242, 4343]
    assert store.read(lambda uow: uow.identities.telegram_ids_of("nobody")) == []


def test_the_accounts_telegram_and_session_epoch_are_recorded_keeping_its_other_fields(store, now):
    store.run(lambda uow: uow.put(layout.account("anna"), {"lots": [], "invited_by": None, "session_epoch": 2}))
    store.run(lambda uow: uow.customer_contacts.record_telegram("anna", 4242, contact=CustomerContact(phone="+79001234567", phone_verified_at=now)))
    assert store.read(lambda uow: uow.customer_contacts.get("anna")) == CustomerContact(phone="+79001234567", phone_verified_at=now, telegram_id=4242)
    store.run(lambda uow: uow.customer_contacts.record_telegram("anna", None, end_sessions=True))
    assert raw(store, "customers/anna") == {"lots": [], "invited_by": None, "session_epoch": 3, "phone": "+79001234567", "phone_verified_at": now, "telegram_id": None}
    with pytest.raises(LookupError):
        store.run(lambda uow: uow.customer_contacts.record_telegram("nobody", 4242))


def test_a_used_oidc_nonce_round_trips_and_is_created_once(store, now):
    from shared.domain.errors import Retryable
    from shared.domain.identity import UsedNonce

    used = UsedNonce(telegram_id=4242, used_at=now, expires_at=now + timedelta(hours=2))
    assert store.read(lambda uow: uow.oidc_nonces.get(KEY)) is None
    store.run(lambda uow: uow.oidc_nonces.create(KEY, used))
    assert store.read(lambda uow: uow.oidc_nonces.get(KEY)) == used
    assert raw(store, f"oidc_nonces/{KEY}") == {"telegram_id": 4242, "used_at": now, "expires_at": now + timedelta(hours=2)}
    with pytest.raises(Retryable):
        store.run(lambda uow: uow.oidc_nonces.create(KEY, used))


# --- codes, limits, sends ---------------------------------------------------------------------


def test_an_otp_code_round_trips_in_its_stored_shape(store, now):
    assert store.read(lambda uow: uow.otp_codes.get(KEY)) is None
    code = OtpCode(code_hash="h" * 64, send_id="s1", created_at=now, expires_at=now + timedelta(minutes=10), invited_by="maria")
    store.run(lambda uow: uow.otp_codes.put(KEY, code))
    assert store.read(lambda uow: uow.otp_codes.get(KEY)) == code
    expected = {
        "code_hash": "h" * 64,
        "send_id": "s1",
        "created_at": now,
        "expires_at": now + timedelta(minutes=10),
        "attempts": 0,
        "used_at": None,
        "status": "active",
        "invited_by": "maria",
    }
    assert raw(store, f"otp_codes/{KEY}") == expected
    used = code.guessed_wrong().used(now + timedelta(minutes=1))
    store.run(lambda uow: uow.otp_codes.put(KEY, used))
    assert store.read(lambda uow: uow.otp_codes.get(KEY)) == used
    assert raw(store, f"otp_codes/{KEY}") == {**expected, "attempts": 1, "used_at": now + timedelta(minutes=1), "status": "used"}
    store.run(lambda uow: uow.otp_codes.put(KEY, code.not_sent()))
    assert store.read(lambda uow: uow.otp_codes.get(KEY)).status is CodeStatus.NOT_SENT


def test_phone_limits_round_trip_with_the_failed_flag_only_on_failed_sends(store, now):
    assert store.read(lambda uow: uow.phone_limits.get(KEY)) is None
    limits = PhoneLimits(sends=(SendMark(now - timedelta(minutes=2), "s1", failed=True), SendMark(now, "s2")), failures=(FailureMark(now - timedelta(minutes=1), "net-key"),))
    store.run(lambda uow: uow.phone_limits.put(KEY, limits, now=now))
    assert store.read(lambda uow: uow.phone_limits.get(KEY)) == limits
    assert raw(store, f"otp_rate/{KEY}") == {
        "sends": [{"at": now - timedelta(minutes=2), "id": "s1", "failed": True}, {"at": now, "id": "s2"}],
        "failures": [{"at": now - timedelta(minutes=1), "net": "net-key"}],
        "updated_at": now,
        "expires_at": now + timedelta(hours=24),
    }


def test_wrong_codes_stored_before_networks_were_kept_still_count(store, now):
    store.run(lambda uow: uow.put(f"otp_rate/{KEY}", {"sends": [], "failures": [now], "updated_at": now, "expires_at": now + timedelta(hours=24)}))
    assert store.read(lambda uow: uow.phone_limits.get(KEY)) == PhoneLimits(failures=(FailureMark(now, ""),))


def test_a_send_record_is_reserved_then_gets_its_outcome(store, now):
    assert store.read(lambda uow: uow.otp_sends.get("s1")) is None
    reserved = SendRecord.reserved(KEY, now)
    store.run(lambda uow: uow.otp_sends.create("s1", reserved))
    assert store.read(lambda uow: uow.otp_sends.get("s1")) == reserved
    assert raw(store, "otp_sends/s1") == {"phone_key": KEY, "status": "reserved", "reserved_at": now, "expires_at": now + timedelta(days=30)}
    sent = reserved.outcome(SendStatus.SENT, now=now + timedelta(seconds=1), provider_id="p-1")
    store.run(lambda uow: uow.otp_sends.put("s1", sent))
    assert store.read(lambda uow: uow.otp_sends.get("s1")) == sent
    assert raw(store, "otp_sends/s1") == {
        "phone_key": KEY,
        "status": "sent",
        "reserved_at": now,
        "expires_at": now + timedelta(days=30),
        "provider_id": "p-1",
        "reason": None,
        "recorded_at": now + timedelta(seconds=1),
    }


def test_budget_shards_sum_to_the_day(store, now):
    assert store.read(lambda uow: uow.sms_budget.get("2026-03-01", 3)) is None
    assert store.read(lambda uow: uow.sms_budget.sent_on("2026-03-01")) == 0
    ends = now + timedelta(days=2)
    shards = [BudgetShard("2026-03-01", 3, 2, ends), BudgetShard("2026-03-01", 15, 5, ends), BudgetShard("2026-03-02", 3, 7, ends)]
    store.run(lambda uow: [uow.sms_budget.put(shard) for shard in shards])
    assert store.read(lambda uow: uow.sms_budget.get("2026-03-01", 3)) == shards[0]
    assert store.read(lambda uow: uow.sms_budget.sent_on("2026-03-01")) == 7
    assert raw(store, "sms_budget/2026-03-01-03") == {"day": "2026-03-01", "count": 2, "expires_at": ends}
    assert raw(store, "sms_budget/2026-03-01-15") == {"day": "2026-03-01", "count": 5, "expires_at": ends}


def test_an_ip_counter_round_trips_and_expires_with_its_window(store, now):
    assert store.read(lambda uow: uow.ip_rates.get("b_h1")) is None
    counter = IpCounter(count=3, window_ends_at=now + timedelta(hours=1))
    store.run(lambda uow: uow.ip_rates.put("b_h1", counter))
    assert store.read(lambda uow: uow.ip_rates.get("b_h1")) == counter
    assert raw(store, "ip_rate/b_h1") == {"count": 3, "window_ends_at": now + timedelta(hours=1), "expires_at": now + timedelta(hours=1)}


# --- sessions ---------------------------------------------------------------------------------


def test_a_refresh_token_is_issued_and_rotated(store, now):
    assert store.read(lambda uow: uow.refresh_tokens.get("j1")) is None
    token = RefreshToken.issue("c_1", "f1", now, timedelta(days=30))
    store.run(lambda uow: uow.refresh_tokens.create("j1", token))
    assert store.read(lambda uow: uow.refresh_tokens.get("j1")) == token
    shape = {"customer_id": "c_1", "family": "f1", "issued_at": now, "expires_at": now + timedelta(days=30), "used_at": None, "replaced_by": None}
    assert raw(store, "refresh_tokens/j1") == shape
    rotated = token.rotated(now + timedelta(minutes=5), "j2")
    store.run(lambda uow: uow.refresh_tokens.put("j1", rotated))
    assert store.read(lambda uow: uow.refresh_tokens.get("j1")) == rotated
    assert raw(store, "refresh_tokens/j1") == {**shape, "used_at": now + timedelta(minutes=5), "replaced_by": "j2"}


def test_a_family_revocation_round_trips_in_its_stored_shape(store, now):
    assert store.read(lambda uow: uow.refresh_families.get("f1")) is None
    revocation = FamilyRevocation(customer_id="c_1", revoked_at=now, reason=RevocationReason.REUSE, jti="j1", expires_at=now + timedelta(days=30))
    store.run(lambda uow: uow.refresh_families.put("f1", revocation))
    assert store.read(lambda uow: uow.refresh_families.get("f1")) == revocation
    assert raw(store, "refresh_families/f1") == {"customer_id": "c_1", "revoked_at": now, "reason": "reuse", "jti": "j1", "expires_at": now + timedelta(days=30)}
