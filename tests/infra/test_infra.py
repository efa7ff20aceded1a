"""Offline checks of infra/ (no provider download, no cloud): python-hcl2 parses
every .tf and the tests hold the Terraform against the code: functions and their
folders, scheduler targets and routes, Firestore queries and their indexes, the
environment each function needs, secrets and who reads them. `terraform fmt
-check` runs inside test_every_tf_parses when a terraform binary is present.

The functions and the scheduler jobs are one for_each resource each over a locals
map (local.functions, local.scheduler_jobs): the per-function checks read the map
and pin the resource's template that turns an entry into the function."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import hcl2
import pytest
from hcl2 import SerializationOptions

from shared.adapters.firestore_queries import QUERIES
from shared.domain.clock import MSK
from shared.domain.errors import Unauthorized

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "main.py").is_file())


@cache
def tf() -> dict[str, Any]:
    """Every .tf merged: {"resource": {type: {name: body}}, "locals": {...}, "variable": {...}, "moved": [...], ...}."""
    merged: dict[str, Any] = {"resource": {}, "locals": {}, "variable": {}, "output": {}, "moved": []}
    for path in sorted(INFRA.glob("*.tf")):
        doc = hcl2.loads(path.read_text(), serialization_options=SerializationOptions(strip_string_quotes=True))
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    assert name not in merged["resource"].setdefault(rtype, {}), f"{rtype}.{name} twice"
                    merged["resource"][rtype][name] = body
        for block in doc.get("locals", []):
            for k, v in block.items():
                if not k.startswith("__"):  # __is_block__, __comments__
                    assert k not in merged["locals"], f"local.{k} twice"
                    merged["locals"][k] = v
        for kind in ("variable", "output"):
            for block in doc.get(kind, []):
                merged[kind].update(block)
        merged["moved"] += doc.get("moved", [])
    return merged


def resources(rtype: str) -> dict[str, Any]:
    return tf()["resource"].get(rtype, {})


def functions() -> dict[str, dict[str, Any]]:
    """local.functions: per function its sizing, ingress, `public`, extra `env` and `secrets`."""
    return {name: {k: v for k, v in fn.items() if not k.startswith("__")} for name, fn in tf()["locals"]["functions"].items()}


def function_resource() -> dict[str, Any]:
    """The one google_cloudfunctions2_function, instantiated per entry of local.functions
    (beside it only the outbox's Eventarc target, test_the_outbox_trigger_...)."""
    fns = resources("google_cloudfunctions2_function")
    assert set(fns) == {"function", "dispatch_outbox"}, f"one for_each resource, not a block per function: {sorted(fns)}"
    assert fns["function"]["for_each"] == "${local.functions}"
    return fns["function"]


# service_config attributes taken from the function's entry in local.functions as they are.
SIZING = ("min_instance_count", "max_instance_count", "max_instance_request_concurrency", "available_cpu", "available_memory", "timeout_seconds", "ingress_settings")
# The environment: the common variables, THREADS = the concurrency, then the function's own.
ENV_MERGE = "${merge(local.common_env, {THREADS = tostring(each.value.max_instance_request_concurrency)}, each.value.env)}"
SECRET_BLOCK = {
    "key": "${secret_environment_variables.value.key}",
    "project_id": "${var.project}",
    "secret": "${google_secret_manager_secret.secret[secret_environment_variables.value.secret].secret_id}",
    "version": "latest",
}
NAME = '${local.prefix}-${replace(each.key, "_", "-")}'  # the resource name from the map key (functions, scheduler jobs)


def one(block: Any) -> dict[str, Any]:
    assert isinstance(block, list) and len(block) == 1, block
    return block[0]


def routes(function: str) -> set[tuple[str, str]]:
    """(METHOD, path) of every @router.<method>("...") in the function's main.py."""
    tree = ast.parse((ROOT / "functions" / function / "main.py").read_text())
    out = set()
    for node in ast.walk(tree):
        for dec in getattr(node, "decorator_list", []):
            if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and ast.unparse(dec.func.value) == "router":
                out.add((dec.func.attr.upper(), dec.args[0].value))
    return out


# -- parsing and formatting ------------------------------------------------------------------


def test_every_tf_parses_and_is_formatted() -> None:
    files = sorted(INFRA.glob("*.tf"))
    assert {p.name for p in files} >= {"versions.tf", "providers.tf", "variables.tf", "functions.tf", "service_accounts.tf", "scheduler.tf", "firestore.tf", "secrets.tf", "storage.tf", "outputs.tf"}
    for path in files:
        hcl2.loads(path.read_text())  # raises on a syntax error
    for tfvars in sorted((INFRA / "envs").glob("*.tfvars")):
        values = hcl2.loads(tfvars.read_text(), serialization_options=SerializationOptions(strip_string_quotes=True))
        assert values["env"] == tfvars.stem
        required = {name for name, body in tf()["variable"].items() if "default" not in body} - {"packages"}
        assert required <= values.keys(), f"{tfvars.name} misses {required - values.keys()}"
    assert {p.stem for p in (INFRA / "envs").glob("*.tfvars")} == {"dev", "prod"}

    terraform = shutil.which("terraform")
    if terraform is None:
        print("terraform fmt -check skipped: no terraform binary on the PATH (the other checks ran)")
        return
    result = subprocess.run([terraform, "fmt", "-check", "-diff", "-recursive", str(INFRA)], capture_output=True, text=True)
    assert result.returncode == 0, "terraform fmt -check -recursive infra:\n" + result.stdout + result.stderr


# -- functions ---------------------------------------------------------------------------------


def test_each_function_folder_has_its_function_and_back() -> None:
    fns = functions()
    assert sorted(fns) == FUNCTIONS
    assert sorted(tf()["locals"]["function_names"]) == FUNCTIONS
    body = function_resource()
    # Every instance: entry point, name, source and runtime account all from its key.
    build = one(body["build_config"])
    assert build["runtime"] == "python311"
    assert build["entry_point"] == "${each.key}"
    assert body["name"] == NAME
    assert '${local.prefix}-${replace(name, "_", "-")}"' in tf()["locals"]["function_urls"]  # the same convention
    assert one(one(build["source"])["storage_source"])["object"] == "${google_storage_bucket_object.package[each.key].name}"
    service = one(body["service_config"])
    assert service["service_account_email"] == "${google_service_account.function[each.key].email}"
    for attr in SIZING:
        assert service[attr] == f"${{each.value.{attr}}}", attr
    # THREADS is the concurrency, and no function's own env overrides it or a common variable.
    assert service["environment_variables"] == ENV_MERGE
    for name, fn in fns.items():
        defs = {n.name for n in ast.parse((ROOT / "functions" / name / "main.py").read_text()).body if isinstance(n, ast.FunctionDef)}
        assert name in defs, f"functions/{name}/main.py defines no {name}()"
        assert set(fn) == set(SIZING) | {"public", "env", "secrets"}, name
        for attr in ("min_instance_count", "max_instance_count", "max_instance_request_concurrency", "timeout_seconds"):
            assert isinstance(fn[attr], int), (name, attr)
        assert not set(fn["env"]) & (set(tf()["locals"]["common_env"]) | {"THREADS"}), name
        if fn["max_instance_request_concurrency"] > 1:
            assert float(fn["available_cpu"]) >= 1, f"{name}: concurrency above 1 needs a whole vCPU"


def test_sizing_follows_the_reliability_notes() -> None:
    sc = functions()
    assert sc["cart_quote"]["min_instance_count"] >= 1 and sc["sms_otp"]["min_instance_count"] >= 1
    assert sc["expiry_sweep"]["max_instance_count"] == 1 and sc["expiry_sweep"]["max_instance_request_concurrency"] == 1
    storefront = max(sc[n]["max_instance_request_concurrency"] for n in ("cart_quote", "checkout", "account", "sms_otp"))
    assert min(sc[n]["max_instance_request_concurrency"] for n in ("order_paid", "delivery_status")) > storefront
    # Browser- and webhook-facing functions serve requests concurrently (on a whole vCPU, checked above).
    public = [n for n, fn in sc.items() if fn["public"]]
    assert "cart_quote" in public and all(sc[n]["max_instance_request_concurrency"] > 1 for n in public)


def test_service_accounts_and_invokers() -> None:
    assert resources("google_service_account")["function"]["for_each"] == "${toset(local.function_names)}"
    assert resources("google_project_iam_member")["datastore_user"]["role"] == "roles/datastore.user"
    # no other project-wide grant: the outbox trigger's receiver role is checked in test_the_outbox_trigger_...
    assert set(resources("google_project_iam_member")) == {"datastore_user", "outbox_trigger_receiver"}
    assert all(isinstance(fn["public"], bool) for fn in functions().values())
    assert tf()["locals"]["public_functions"] == "${[for name, function in local.functions : name if function.public]}"
    public = {name for name, fn in functions().items() if fn["public"]}
    assert public <= set(FUNCTIONS) and not public & {"expiry_sweep", "referral_reward"}
    iam = resources("google_cloud_run_service_iam_member")
    assert iam["public"]["member"] == "allUsers" and iam["public"]["for_each"] == "${toset(local.public_functions)}"
    assert iam["scheduler"]["role"] == "roles/run.invoker" and "scheduler" in iam["scheduler"]["member"]
    for binding, key in (("public", "each.key"), ("scheduler", "each.key"), ("operator", "each.value.function")):
        assert iam[binding]["service"] == f"${{google_cloudfunctions2_function.function[{key}].name}}", binding


# -- scheduler ---------------------------------------------------------------------------------


def test_scheduler_jobs_target_existing_functions_and_routes() -> None:
    jobs = tf()["locals"]["scheduler_jobs"]
    assert jobs, "no scheduler jobs"
    assert set(resources("google_cloud_scheduler_job")) == {"job"}, "one for_each resource, not a block per job"
    body = resources("google_cloud_scheduler_job")["job"]
    assert body["for_each"] == "${local.scheduler_jobs}" and body["name"] == NAME
    assert body["description"] == "${each.value.description}" and body["schedule"] == "${each.value.schedule}"
    assert body["attempt_deadline"] == "${local.functions[each.value.function].timeout_seconds}s"
    zone = ZoneInfo(body["time_zone"])  # the jobs keep the shops' calendar: shared.domain.clock.MSK all year
    for month in (1, 7):
        moment = datetime(2026, month, 1, tzinfo=timezone.utc)
        assert moment.astimezone(zone).utcoffset() == MSK.utcoffset(moment), body["time_zone"]
    target = one(body["http_target"])
    assert target["http_method"] == "POST"
    assert "scheduler" in one(target["oidc_token"])["service_account_email"]
    assert target["uri"] == "${local.scheduled_uri[each.key]}"
    # each job's URI is its function's URL and its route; a function's audiences are the URIs of the jobs calling it
    locals_ = tf()["locals"]
    assert locals_["scheduled_uri"] == '${{for job, spec in local.scheduler_jobs : job => "${local.function_urls[spec.function]}${spec.route}"}}'
    assert locals_["scheduled_audience"] == (
        '${{for name in local.scheduled_functions : name => join(",", sort([for job, spec in local.scheduler_jobs : local.scheduled_uri[job] if spec.function == name]))}}'
    )
    targets = set()
    for job, spec in jobs.items():
        assert set(spec) == {"function", "route", "description", "schedule"}, job
        function = spec["function"]
        assert function in FUNCTIONS
        assert 15 <= functions()[function]["timeout_seconds"] <= 1800, f"{job}: Scheduler's HTTP attempt deadline is 15 s to 30 min"
        assert re.fullmatch(r"/[a-z_/]+", spec["route"]), spec["route"]
        assert ("POST", spec["route"]) in routes(function), f"{job}: {function} has no POST {spec['route']}"
        env = function_env(function)[0]
        assert env["KOPILKA_SWEEP_AUDIENCE"] == f'${{local.scheduled_audience["{function}"]}}'
        assert env["KOPILKA_SCHEDULER_EMAILS"] == "${google_service_account.scheduler.email}"
        targets.add(function)
    assert targets == set(tf()["locals"]["scheduled_functions"]), "the scheduler SA may invoke exactly the scheduled functions"
    assert {"expiry_sweep", "delivery_status"} <= targets
    calls = {(spec["function"], spec["route"]): spec["schedule"] for spec in jobs.values()}
    assert calls[("expiry_sweep", "/run")] == "*/15 * * * *" and calls[("delivery_status", "/poll")] == "0 * * * *"
    assert calls[("expiry_sweep", "/dispatch")] == "* * * * *", "the dispatcher runs every minute"
    assert len(calls) == len(jobs), "two jobs call the same route"


def scheduled_audiences() -> dict[str, list[str]]:
    """What local.scheduled_audience evaluates to, per function: the sorted URIs of the jobs calling it."""
    out: dict[str, list[str]] = {}
    for spec in tf()["locals"]["scheduler_jobs"].values():
        out.setdefault(spec["function"], []).append(f"https://REGION-PROJECT.cloudfunctions.net/NAME{spec['route']}")
    return {function: sorted(uris) for function, uris in out.items()}


def test_a_function_called_by_two_jobs_accepts_both_audiences(monkeypatch: Any) -> None:
    """expiry_sweep's KOPILKA_SWEEP_AUDIENCE lists /dispatch beside /run, and the OIDC check accepts each (and only those)."""
    from shared.edge import scheduler_auth
    from shared.platform import settings as settings_module

    audiences = scheduled_audiences()
    assert [uri.rsplit("/", 1)[1] for uri in audiences["expiry_sweep"]] == ["dispatch", "run"]
    monkeypatch.setenv("KOPILKA_SWEEP_AUDIENCE", ",".join(audiences["expiry_sweep"]))
    monkeypatch.setenv("KOPILKA_SCHEDULER_EMAILS", "scheduler@example.iam.gserviceaccount.com")
    settings_module.settings.cache_clear()
    seen: list[list[str]] = []

    def verify(token: str, accepted: list[str]) -> dict[str, Any]:
        seen.append(accepted)
        if token not in accepted:
            raise ValueError("wrong audience")
        return {"email": "scheduler@example.iam.gserviceaccount.com", "email_verified": True}

    class Request:
        def __init__(self, token: str) -> None:
            self.headers = {"Authorization": f"Bearer {token}"}

    scheduler_auth.set_verifier(verify)
    try:
        for uri in audiences["expiry_sweep"]:
            assert scheduler_auth.require_scheduler(Request(uri)) == "scheduler@example.iam.gserviceaccount.com"
        with pytest.raises(Unauthorized):  # an audience no job calls
            scheduler_auth.require_scheduler(Request("https://REGION-PROJECT.cloudfunctions.net/NAME/other"))
    finally:
        scheduler_auth.set_verifier(None)
        settings_module.settings.cache_clear()
    assert seen and all(accepted == audiences["expiry_sweep"] for accepted in seen)


# -- the outbox's Eventarc trigger ---------------------------------------------------------------


def test_the_outbox_trigger_calls_dispatch_outbox_on_each_new_outbox_document() -> None:
    fn = resources("google_cloudfunctions2_function")["dispatch_outbox"]
    spec = tf()["locals"]["dispatch_outbox"]
    assert spec["entry_point"] == "dispatch_outbox" and spec["package"] == "expiry_sweep"
    build = one(fn["build_config"])
    assert build["entry_point"] == "${local.dispatch_outbox.entry_point}" and build["runtime"] == "python311"
    assert one(one(build["source"])["storage_source"])["object"] == "${google_storage_bucket_object.package[local.dispatch_outbox.package].name}"
    # the entry exists in the packaged main.py, as a CloudEvent function
    tree = ast.parse((ROOT / "functions" / "expiry_sweep" / "main.py").read_text())
    entry = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "dispatch_outbox")
    assert any(ast.unparse(d) == "functions_framework.cloud_event" for d in entry.decorator_list)
    from scripts import package

    assert "main.py" in {name for name, _ in package.entries("expiry_sweep")}
    trigger = one(fn["event_trigger"])
    assert trigger["event_type"] == "google.cloud.firestore.document.v1.created"
    assert trigger["trigger_region"] == "${var.firestore_location}"
    assert trigger["service_account_email"] == "${google_service_account.outbox_trigger.email}"
    assert trigger["retry_policy"] == "RETRY_POLICY_DO_NOT_RETRY"  # the minute's dispatch job sends what a lost event leaves
    filters = {f["attribute"]: f for f in trigger["event_filters"]}
    assert filters["database"]["value"] == "${google_firestore_database.main.name}" and "operator" not in filters["database"]
    assert filters["document"]["value"] == "outbox/{key}" and filters["document"]["operator"] == "match-path-pattern"
    assert set(filters) == {"database", "document"}
    service = one(fn["service_config"])
    assert service["service_account_email"] == "${google_service_account.function[local.dispatch_outbox.package].email}"
    assert service["ingress_settings"] == "ALLOW_INTERNAL_ONLY"
    assert service["max_instance_request_concurrency"] == "${local.dispatch_outbox.max_instance_request_concurrency}"
    assert spec["max_instance_count"] <= 2 and spec["timeout_seconds"] <= 540


def test_the_outbox_trigger_account_holds_exactly_its_three_grants() -> None:
    account = resources("google_service_account")["outbox_trigger"]
    assert "for_each" not in account and account["account_id"] == "kp-${var.env}-outbox-trigger"
    member = "serviceAccount:${google_service_account.outbox_trigger.email}"
    project = {name: body for name, body in resources("google_project_iam_member").items() if body["member"] == member}
    assert {name: body["role"] for name, body in project.items()} == {"outbox_trigger_receiver": "roles/eventarc.eventReceiver"}
    run = {name: body for name, body in resources("google_cloud_run_service_iam_member").items() if body["member"] == member}
    assert set(run) == {"outbox_trigger"} and "for_each" not in run["outbox_trigger"]
    assert run["outbox_trigger"]["role"] == "roles/run.invoker"
    assert run["outbox_trigger"]["service"] == "${google_cloudfunctions2_function.dispatch_outbox.name}"
    # Firestore: the function runs as expiry_sweep's account, which has roles/datastore.user; the trigger's account none
    assert resources("google_project_iam_member")["datastore_user"]["for_each"] == "${toset(local.function_names)}"
    assert "expiry_sweep" in tf()["locals"]["function_names"]
    # the account appears nowhere else: no secret, no other service
    text = "\n".join(p.read_text() for p in INFRA.glob("*.tf"))
    assert text.count("google_service_account.outbox_trigger.email") == 3  # its two grants and the trigger, nothing more


# -- Firestore ---------------------------------------------------------------------------------

STORE_METHODS = {"ordered": "order_by", "due": "field", "matching": "field", "count": "field"}


def query_sites() -> set[tuple[str, str, str]]:
    """(module, function, method) of every store.ordered/due/matching/count call in shared/ (the store adapters excepted; repositories included)."""
    found = set()
    for path in sorted((ROOT / "shared").rglob("*.py")):
        if path.parent.name == "adapters" or path.name == "ports.py":
            continue
        tree = ast.parse(path.read_text())
        members = [node for cls in tree.body if isinstance(cls, ast.ClassDef) for node in cls.body]
        # module functions and methods, each with what it nests (a query in a closure is its function's)
        for fn in (node for node in [*tree.body, *members] if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in STORE_METHODS:
                    if STORE_METHODS[node.func.attr] in {k.arg for k in node.keywords}:
                        found.add((path.relative_to(ROOT).as_posix(), fn.name, node.func.attr))
    return found


def test_declared_queries_match_the_code() -> None:
    declared = {(q.site, q.function, q.method) for q in QUERIES}
    found = query_sites()
    assert found - declared == set(), "queries missing from shared/adapters/firestore_queries.py"
    assert declared - found == set(), "declared queries no longer in the code"


def test_every_query_has_its_index() -> None:
    indexes = [
        (body["collection"], tuple((f["field_path"], f.get("order", "ASCENDING")) for f in body["fields"] if f["field_path"] != "__name__"))
        for body in resources("google_firestore_index").values()
    ]
    ttl_fields = {(c, "expires_at") for c in tf()["locals"]["ttl_collections"]}
    for q in QUERIES:
        if len(q.fields) > 1:
            assert (q.collection, q.fields) in indexes, f"{q.site}:{q.function} needs a composite index {q.collection} {q.fields}"
        else:  # served by the automatic single-field index: nothing may exempt that field
            assert (q.collection, q.fields[0][0]) not in ttl_fields, q
            for body in resources("google_firestore_field").values():
                assert (body["collection"], body["field"]) != (q.collection, q.fields[0][0]), f"{q} field index overridden"


def test_ttl_policies_cover_the_short_lived_collections() -> None:
    ttl = resources("google_firestore_field")["ttl"]
    assert ttl["field"] == "expires_at" and ttl["ttl_config"] == [{"__is_block__": True}]
    collections = set(tf()["locals"]["ttl_collections"])
    assert collections == {"otp_codes", "otp_rate", "ip_rate", "otp_sends", "sms_budget", "refresh_tokens", "refresh_families", "oidc_nonces"}
    names = (ROOT / "shared/adapters/layout.py").read_text()
    for name in collections:  # the code names these collections and writes expires_at into them
        assert re.search(rf'^[A-Z_]+ = "{name}"(\s+#.*)?$', names, re.M), name
    assert (ROOT / "shared/adapters/repositories/identity.py").read_text().count('"expires_at"') >= 5


# -- environment and secrets -------------------------------------------------------------------

# Settings the code reads whose default is fine in production (so they may stay unset).
OPTIONAL = {
    "KOPILKA_PROGRAM", "KOPILKA_TOKEN_TTL_SECONDS", "KOPILKA_REFRESH_TOKEN_TTL_SECONDS", "KOPILKA_ADMIN_TOKEN_TTL_SECONDS",
    "KOPILKA_TRUSTED_PROXY_HOPS", "KOPILKA_HTTP_TIMEOUT_SECONDS", "KOPILKA_PHONE_REGIONS",
    "YOOKASSA_BASE_URL", "CDEK_BASE_URL", "BOXBERRY_BASE_URL", "RUSSIANPOST_URL", "SMSRU_BASE_URL", "SMARTCAPTCHA_URL",
    "YOOKASSA_NETWORKS",  # empty: YooKassa's published sender networks
    "SMS_SENDER",  # empty: the gateway's default sender
    "SMSRU_TEST",  # off
    "TELEGRAM_OIDC_URL",  # Telegram's issuer
    "KOPILKA_SMS_DAILY_BUDGET",  # 2000 codes a day
    "KOPILKA_ORDER_TOKEN_MINUTES",  # 60: a Tilda order token covers a slow payment page
    "KOPILKA_LOG_LEVEL",  # INFO
    "KOPILKA_VERSION",  # the VERSION file scripts/package.py writes into each zip
    "SMTP_STARTTLS",  # on
    "TELEGRAM_API_URL",  # Telegram's Bot API
}
# Read outside shared/platform/settings.py: functions-framework's worker threads, the Google clients / shared.platform.logs.
PLATFORM = {"THREADS", "GOOGLE_CLOUD_PROJECT"}
# The static scan below over-approximates (a module imported for one helper brings all its settings).
NOT_NEEDED = {
    # shared.edge.entry is imported for the store and the program; these verify no customer token
    **{fn: {"KOPILKA_TOKEN_SECRET"} for fn in ("order_paid", "delivery_status", "expiry_sweep", "referral_reward")},
    # admin imports shared.services.identity only for normalize_phone (customer search by phone)
    # and verifies no customer token (shared.edge.entry comes for the store; it holds the secret's fingerprint only)
    "admin": {"SMSRU_API_ID", "TELEGRAM_BOT_TOKEN", "KOPILKA_OTP_SECRET", "KOPILKA_TOKEN_SECRET", "TELEGRAM_OIDC_SECRET", "TELEGRAM_OIDC_URL"},
}
# referral_reward has no scheduler job: the back office calls it with the sweep secret, so OIDC stays off.
NOT_NEEDED["referral_reward"] |= {"KOPILKA_SWEEP_AUDIENCE", "KOPILKA_SCHEDULER_EMAILS"}


@cache
def settings_env() -> dict[str, str]:
    """Settings field -> the environment variable it is read from (``ENV_NAMES`` when the
    module declares it, else the keyword arguments of the ``Settings(...)`` call)."""
    import shared.platform.settings as module

    if hasattr(module, "ENV_NAMES"):
        return dict(module.ENV_NAMES)
    tree = ast.parse((ROOT / "shared/platform/settings.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Settings")
    out = {}
    for kw in call.keywords:
        names = [n for n in env_reads(kw.value)]
        if names:
            out[kw.arg] = names[0]
    return out


def env_reads(tree: ast.AST) -> list[str]:
    """Variable names passed to env(...), _csv(...), os.environ.get(...), os.getenv(...) in ``tree``."""
    return [
        c.args[0].value
        for c in ast.walk(tree)
        if isinstance(c, ast.Call) and c.args and isinstance(c.args[0], ast.Constant) and isinstance(c.args[0].value, str)
        and re.fullmatch(r"[A-Z][A-Z0-9_]+", c.args[0].value) and ast.unparse(c.func).split(".")[-1] in {"env", "_csv", "get", "getenv"}
    ]


def all_env_read() -> set[str]:
    """Every variable shared/platform/settings.py reads."""
    return set(settings_env().values()) | set(env_reads(ast.parse((ROOT / "shared/platform/settings.py").read_text())))


def closure(function: str) -> set[Path]:
    seen: set[Path] = set()
    todo = [ROOT / "functions" / function / "main.py"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] == "shared":
                    for candidate in (ROOT / (name.replace(".", "/") + ".py"), ROOT / name.replace(".", "/") / "__init__.py"):
                        if candidate.is_file():
                            todo.append(candidate)
    return seen


COMPOSITION_ROOT = ROOT / "shared/platform/bootstrap.py"


@cache
def root_needs() -> dict[str, set[str]]:
    """Each public function of the composition root -> env vars behind the Settings attributes read by
    the clients it hands out (its own body, the builder of each client registry it names, the
    root's functions it calls)."""
    fields = settings_env()
    tree = ast.parse(COMPOSITION_ROOT.read_text())
    defs = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    builders = {}  # client registry -> the function that builds its clients
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "_Clients":
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            builders[ast.unparse(target)] = ast.unparse(node.value.args[0])

    def reads(name: str, seen: set[str]) -> set[str]:
        out = set()
        for node in ast.walk(defs[name]):
            if isinstance(node, ast.Attribute) and node.attr in fields:
                out.add(fields[node.attr])
            elif isinstance(node, ast.Name):
                called = builders.get(node.id, node.id)
                if called in defs and called not in seen:
                    seen.add(called)
                    out |= reads(called, seen)
        return out

    return {name: reads(name, {name}) for name in defs if not name.startswith("_")}


def needed_env(function: str) -> set[str]:
    """Env vars behind every Settings attribute read in the function's import closure; of the
    composition root, only what the clients it asks the root for are built from."""
    fields = settings_env()
    used = set()
    for path in closure(function):
        if path.name == "settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in fields and path != COMPOSITION_ROOT:
                used.add(fields[node.attr])
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "bootstrap":
                used |= root_needs().get(node.attr, set())
    return used


def test_the_composition_root_scan_sees_what_each_client_is_built_from() -> None:
    needs = root_needs()
    assert {"SMSRU_API_ID"} <= needs["sms"] and "YOOKASSA_SHOP_ID" not in needs["sms"]
    assert {"YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY"} <= needs["yookassa"] and "SMSRU_API_ID" not in needs["yookassa"]
    assert {"CDEK_CLIENT_ID", "BOXBERRY_TOKEN", "RUSSIANPOST_LOGIN"} <= needs["carrier"] == needs["track"]
    assert needs["firestore_store"] == {"KOPILKA_ENV"}  # KOPILKA_STORE=memory is refused outside local runs
    assert {"SMSRU_API_ID", "YOOKASSA_SHOP_ID", "CDEK_CLIENT_ID"} <= needs["set_transport"]


def function_env(function: str) -> tuple[dict[str, str], dict[str, str]]:
    """The function's environment variables (name -> HCL value) and secrets (variable -> key in
    local.secret_readers), as the resource's template builds them from local.functions."""
    service = one(function_resource()["service_config"])
    assert service["environment_variables"] == ENV_MERGE
    assert "secret_environment_variables" not in service  # only the dynamic block below mounts secrets
    dynamic = one(service["dynamic"])["secret_environment_variables"]
    assert dynamic["for_each"] == "${each.value.secrets}"
    assert {k: v for k, v in one(dynamic["content"]).items() if k != "__is_block__"} == SECRET_BLOCK
    fn = functions()[function]
    env = {**tf()["locals"]["common_env"], "THREADS": str(fn["max_instance_request_concurrency"]), **fn["env"]}
    keys = [block["key"] for block in fn["secrets"]]
    assert len(keys) == len(set(keys)), f"{function} mounts a variable twice"
    assert all(set(block) == {"key", "secret"} for block in fn["secrets"]), function
    return env, {block["key"]: block["secret"] for block in fn["secrets"]}


def test_every_setting_is_set_where_needed() -> None:
    known = all_env_read()
    assert len(known) > 30
    set_anywhere = set()
    for function in FUNCTIONS:
        env, secrets = function_env(function)
        present = set(env) | set(secrets)
        assert not set(env) & set(secrets), function
        assert present - known - PLATFORM == set(), f"{function} sets variables the code never reads"
        missing = needed_env(function) - OPTIONAL - NOT_NEEDED.get(function, set()) - present
        assert not missing, f"{function} needs {sorted(missing)}"
        set_anywhere |= present
    assert known - OPTIONAL <= set_anywhere, f"read by the code, set nowhere: {known - OPTIONAL - set_anywhere}"
    import shared.platform.settings as module

    for function in FUNCTIONS:  # what the settings module calls secrets never travels as a plain value
        env, secrets = function_env(function)
        assert not set(env) & set(getattr(module, "SECRETS", ())), function
    assert set(getattr(module, "SECRETS", ())) <= set_anywhere
    for function in ("order_paid", "delivery_status", "expiry_sweep", "referral_reward"):  # NOT_NEEDED's premise
        source = (ROOT / "functions" / function / "main.py").read_text()
        assert "customer_id(" not in source and "tokens." not in source, function


def test_each_secret_is_read_by_exactly_the_functions_that_mount_it() -> None:
    readers = {secret: set(fns) for secret, fns in tf()["locals"]["secret_readers"].items()}
    mounted: dict[str, set[str]] = {}
    for function in FUNCTIONS:
        for secret in function_env(function)[1].values():
            mounted.setdefault(secret, set()).add(function)
    assert mounted == readers
    secret = resources("google_secret_manager_secret")["secret"]
    assert secret["for_each"] == "${local.secret_readers}" and one(secret["replication"])["auto"]
    reader = resources("google_secret_manager_secret_iam_member")["reader"]
    assert reader["role"] == "roles/secretmanager.secretAccessor" and reader["for_each"] == "${local.secret_access}"
    assert not resources("google_secret_manager_secret_version"), "secret values stay out of the Terraform state"


def test_the_admin_function_does_not_mount_the_customer_token_secret() -> None:
    """The back office verifies no customer token: it holds only the customer secret's fingerprint,
    to refuse an admin secret equal to it (shared.services.admins.token_secret)."""
    env, secrets = function_env("admin")
    assert "KOPILKA_TOKEN_SECRET" not in secrets and "admin" not in tf()["locals"]["secret_readers"]["token_secret"]
    assert env["KOPILKA_TOKEN_SECRET_FINGERPRINT"] == "${var.token_secret_fingerprint}"
    variable = tf()["variable"]["token_secret_fingerprint"]
    assert variable["type"] == "string" and variable["default"] == ""
    assert "sha256" in json.dumps(variable["validation"]).lower() or "[0-9a-f]{64}" in json.dumps(variable["validation"])
    source = (ROOT / "functions" / "admin" / "main.py").read_text()
    assert "entry.customer_id(" not in source and "entry.customer_token(" not in source and "tokens." not in source


def test_outputs_give_the_storefront_and_webhook_urls() -> None:
    outputs = tf()["output"]
    assert set(outputs) >= {"function_urls", "storefront", "webhooks", "admin_url"}  # README "Deploy" names these
    uri = "google_cloudfunctions2_function.function[name].service_config[0].uri"
    # every instance of the function resource, keyed by function (= FUNCTIONS, checked above)
    assert outputs["function_urls"]["value"] == "${{for name, function in google_cloudfunctions2_function.function : name => function.service_config[0].uri}}"
    storefront = re.fullmatch(r"\$\{\{for name in \[([^\]]*)\] : name => " + re.escape(uri) + r"\}\}", outputs["storefront"]["value"])
    assert storefront, outputs["storefront"]["value"]
    assert sorted(re.findall(r'"([a-z_]+)"', storefront.group(1))) == sorted(["cart_quote", "checkout", "sms_otp", "account"])
    assert set(outputs["webhooks"]["value"]) == {"yookassa", "yoomoney", "cdek", "tilda"}
    named = re.findall(r'google_cloudfunctions2_function\.function\["([a-z_]+)"\]', str(outputs))
    assert named and set(named) <= set(FUNCTIONS), named
    assert outputs["admin_url"]["value"] == '${google_cloudfunctions2_function.function["admin"].service_config[0].uri}'
    assert ("POST", "/yookassa") in routes("order_paid") and ("POST", "/cdek/{token}") in routes("delivery_status") and ("POST", "/tilda/{token}") in routes("checkout")


# -- state moves -------------------------------------------------------------------------------

# The addresses of the one-block-per-instance layout and where moved.tf moves them.
FORMER_ADDRESSES = {
    **{
        f"google_cloudfunctions2_function.{name}": f'google_cloudfunctions2_function.function["{name}"]'
        for name in ("account", "admin", "cart_quote", "checkout", "delivery_status", "expiry_sweep", "order_paid", "referral_reward", "sms_otp")
    },
    "google_cloud_scheduler_job.expiry_sweep": 'google_cloud_scheduler_job.job["expiry_sweep"]',
    "google_cloud_scheduler_job.delivery_poll": 'google_cloud_scheduler_job.job["delivery_poll"]',
}


def test_every_former_address_has_a_moved_block_to_its_key() -> None:
    moved: dict[str, str] = {}
    for block in tf()["moved"]:
        source, target = (re.fullmatch(r"\$\{(.+)\}", block[k]).group(1) for k in ("from", "to"))
        assert source not in moved, f"{source} moved twice"
        moved[source] = target
    missing = {old: new for old, new in FORMER_ADDRESSES.items() if moved.get(old) != new}
    assert not missing, f"moved blocks missing or wrong: {missing}"
    keys = {"google_cloudfunctions2_function.function": functions(), "google_cloud_scheduler_job.job": tf()["locals"]["scheduler_jobs"]}
    for source, target in moved.items():
        rtype, name = source.split(".")
        assert name not in resources(rtype), f"{source} still declared"
        resource, key = re.fullmatch(r'([a-z0-9_]+\.[a-z_]+)\["([a-z_]+)"\]', target).groups()
        assert key in keys[resource], f"{target}: no such instance"
