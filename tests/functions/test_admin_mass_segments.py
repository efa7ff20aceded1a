"""The admin function's mass-accrual reads before a run: the preview, a customer list file, the latest jobs."""

from __future__ import annotations

from shared.domain.identity import Identity, IdentityKind
from tests.functions.test_admin import call, client, env, error, now, ok, register, staff  # noqa: F401  (fixtures)


def test_a_preview_counts_without_writing_and_a_level_job_runs_on_its_list(client, env, staff):  # noqa: F811
    register(env, "anna", "boris", "vera")
    marketer = staff["marketer"]
    shown = ok(call(client, "POST", "/mass_accruals/preview", {"amount": 10, "level": "level1"}, token=marketer))
    assert (shown["segment"], shown["customers"], shown["bonuses"], shown["creditable"], shown["needs_approval"]) == ("level", 3, 30, 3, False)
    assert ok(call(client, "POST", "/mass_accruals/search", {}, token=marketer))["jobs"] == []
    error(call(client, "POST", "/mass_accruals/preview", {"amount": 10, "level": "level1", "group": "b2c"}, token=marketer), 400)
    error(call(client, "POST", "/mass_accruals/preview", {"amount": 10, "group": "b2c"}, token=staff["manager"]), 403, "forbidden")

    job = ok(call(client, "POST", "/mass_accruals", {"job_id": "lvl", "amount": 10, "reason": "акция", "level": "level1", "max_batch": 2}, token=marketer))
    assert (job["status"], job["credited"], job["definition"]["level"], job["definition"]["customers"]) == ("running", 2, "level1", 3)
    done = ok(call(client, "POST", "/mass_accruals/lvl/run", {}, token=marketer))
    assert (done["status"], done["credited"], done["bonuses"]) == ("complete", 3, 30)
    assert [j["job_id"] for j in ok(call(client, "POST", "/mass_accruals/search", {"limit": 5}, token=marketer))["jobs"]] == ["lvl"]


def test_a_customer_list_file_answers_the_ids_and_a_reason_per_bad_line(client, env, staff):  # noqa: F811
    register(env, "anna")
    env.run(lambda uow: uow.identities.create(Identity(kind=IdentityKind.PHONE, value="+79001234567", customer_id="anna", created_at=now())))
    body = "phone;name\n+7 900 123-45-67;Анна\n12345;Кто-то\n".encode()
    response = client.post("/mass_accruals/customer_list", data=body, headers={"Authorization": f"Bearer {staff['marketer']}", "Content-Type": "text/csv"})
    listed = ok(response)
    assert listed["customer_ids"] == ["anna"] and listed["error_count"] == 1
    assert listed["errors"][0]["row"] == 3 and listed["errors"][0]["message_ru"] == "Строка 3: «12345» — не номер телефона и не идентификатор клиента."
