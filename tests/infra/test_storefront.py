"""Offline checks of the storefront kit's hosting (infra/storefront.tf) and the tag that loads it.

The kit is public, long-cached and integrity-pinned: the bucket and its one
public binding, the object's headers, the variable `make package` fills from
storefront/dist/manifest.json, and the `storefront_snippet` output (rendered
by `terraform console` when a terraform binary is present), plus the shop's
origins reaching the storefront functions' CORS."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from tests.infra.test_infra import function_env, functions, one, resources, tf

CACHE_CONTROL = "public, max-age=31536000, immutable"
STORAGE_GRANTS = (
    "google_storage_bucket_iam_member",
    "google_storage_bucket_iam_binding",
    "google_storage_bucket_iam_policy",
    "google_storage_bucket_access_control",
    "google_storage_default_object_access_control",
    "google_storage_object_access_control",
)
# The data attributes through which the tag hands the kit each storefront function's URL.
ATTRIBUTES = [["cart_quote", "data-cart-quote"], ["sms_otp", "data-sms-otp"], ["account", "data-account"], ["checkout", "data-checkout"]]
TEMPLATE = '<script async src=\\"%s/%s\\" integrity=\\"%s\\" crossorigin=\\"anonymous\\" %s></script>'
SNIPPET = (
    "${var.kit == null ? null : format("
    + json.dumps(TEMPLATE.replace('\\"', '"'))
    + ", local.kit_base_url, google_storage_bucket_object.kit[0].name, var.kit.integrity, "
    + 'join(" ", concat([for pair in local.kit_attributes : "${pair[1]}=\\"${trimsuffix(google_cloudfunctions2_function.function[pair[0]].service_config[0].uri, "/")}\\""], '
    + 'var.telegram_client_id == "" ? [] : ["data-telegram-client-id=\\"${var.telegram_client_id}\\""])))}'
)


def test_the_kit_bucket_is_public_for_reading_objects_only() -> None:
    bucket = resources("google_storage_bucket")["kit"]
    assert bucket["name"] == "${var.project}-${local.prefix}-kit"
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "inherited"
    assert "website" not in bucket, "no index pages: the kit is fetched by its name"
    cors = one(bucket["cors"])
    assert cors["origin"] == ["*"] and cors["method"] == ["GET", "HEAD"]  # Subresource Integrity fetches with CORS
    assert one(bucket["versioning"])["enabled"] is True
    public = [
        (rtype, name, body)
        for rtype in STORAGE_GRANTS
        for name, body in resources(rtype).items()
        if "allUsers" in json.dumps(body) or "allAuthenticatedUsers" in json.dumps(body)
    ]
    assert public == [("google_storage_bucket_iam_member", "kit_public", resources("google_storage_bucket_iam_member")["kit_public"])]
    binding = resources("google_storage_bucket_iam_member")["kit_public"]
    # storage.objects.get only: roles/storage.objectViewer would also let anyone list the bucket
    assert binding == {"bucket": "${google_storage_bucket.kit.name}", "role": "roles/storage.legacyObjectReader", "member": "allUsers", "__is_block__": True}
    assert resources("google_storage_bucket")["source"]["public_access_prevention"] == "enforced"  # the sources stay private


def test_the_kit_object_is_content_named_immutable_javascript_stored_gzipped() -> None:
    kit = resources("google_storage_bucket_object")["kit"]
    assert kit["count"] == "${var.kit == null ? 0 : 1}"
    assert kit["name"] == "${var.kit.file}" and kit["bucket"] == "${google_storage_bucket.kit.name}"
    assert kit["source"] == "${path.module}/../dist/${var.kit.file}.gz"  # scripts/package.py writes it there
    assert kit["content_type"] == "text/javascript; charset=utf-8"
    assert kit["content_encoding"] == "gzip"
    assert kit["cache_control"] == CACHE_CONTROL
    assert one(kit["lifecycle"])["create_before_destroy"] is True
    variable = tf()["variable"]["kit"]
    assert variable["default"] is None
    assert set(re.findall(r"(\w+)\s*=", variable["type"])) == {"file", "integrity", "gzip_bytes"}  # storefront/dist/manifest.json
    assert "sha384-" in json.dumps(variable["validation"]) and "kopilka-kit" in json.dumps(variable["validation"])


def test_the_snippet_names_the_kit_its_integrity_and_the_storefront_functions() -> None:
    outputs = tf()["output"]
    assert outputs["storefront_snippet"]["value"] == SNIPPET
    assert outputs["kit_url"]["value"] == '${var.kit == null ? null : "${local.kit_base_url}/${google_storage_bucket_object.kit[0].name}"}'
    assert tf()["locals"]["kit_attributes"] == ATTRIBUTES
    assert tf()["locals"]["kit_base_url"] == "https://storage.googleapis.com/${google_storage_bucket.kit.name}"
    for name, _ in ATTRIBUTES:
        assert functions()[name]["public"], f"{name}: the shop's browsers call it"


def render_snippet(tmp_path: Path, kit: dict[str, object] | None, telegram_client_id: str = "") -> object:
    """The storefront_snippet expression evaluated by terraform console, with stand-ins for the deployed URLs."""
    expression = tf()["output"]["storefront_snippet"]["value"][2:-1]
    expression = expression.replace("google_storage_bucket_object.kit[0].name", "var.kit.file")
    expression = expression.replace("google_cloudfunctions2_function.function[pair[0]].service_config[0].uri", "local.uris[pair[0]]")
    uris = {name: f"https://kopilka-dev-{name.replace('_', '-')}-abc.a.run.app" + ("/" if name == "sms_otp" else "") for name, _ in ATTRIBUTES}
    (tmp_path / "main.tf").write_text(
        f'variable "kit" {{\n  default = {json.dumps(kit) if kit else "null"}\n}}\n'
        f'variable "telegram_client_id" {{\n  default = {json.dumps(telegram_client_id)}\n}}\n'
        f"locals {{\n  kit_base_url = \"https://storage.googleapis.com/kopilka-dev-kopilka-dev-kit\"\n  kit_attributes = {json.dumps(tf()['locals']['kit_attributes'])}\n"
        f"  uris = {json.dumps(uris)}\n  snippet = {expression}\n}}\n"
    )
    result = subprocess.run([shutil.which("terraform") or "terraform", "console"], input="jsonencode(local.snippet)\n", cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(json.loads(result.stdout.strip()))


def test_terraform_renders_the_exact_tag(tmp_path: Path) -> None:
    if shutil.which("terraform") is None:
        print("terraform console skipped: no terraform binary on the PATH (the expression was checked above)")
        return
    kit = {"file": "kopilka-kit.68a7c886dc.js", "integrity": "sha384-" + "A" * 64, "gzip_bytes": 12789}
    assert render_snippet(tmp_path, kit) == (
        '<script async src="https://storage.googleapis.com/kopilka-dev-kopilka-dev-kit/kopilka-kit.68a7c886dc.js"'
        f' integrity="{kit["integrity"]}" crossorigin="anonymous"'
        ' data-cart-quote="https://kopilka-dev-cart-quote-abc.a.run.app" data-sms-otp="https://kopilka-dev-sms-otp-abc.a.run.app"'
        ' data-account="https://kopilka-dev-account-abc.a.run.app" data-checkout="https://kopilka-dev-checkout-abc.a.run.app"></script>'
    )
    assert render_snippet(tmp_path, None) is None  # no kit built: no tag


def test_terraform_and_the_kit_render_the_same_tag_with_the_telegram_login(tmp_path: Path) -> None:
    if shutil.which("terraform") is None:
        print("terraform console skipped: no terraform binary on the PATH (the expression was checked above)")
        return
    from scripts import kit as kit_script

    built = {"file": "kopilka-kit.68a7c886dc.js", "integrity": "sha384-" + "A" * 64, "gzip_bytes": 12789}
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "manifest.json").write_text(json.dumps(built))
    uris = {name: f"https://kopilka-dev-{name.replace('_', '-')}-abc.a.run.app" + ("/" if name == "sms_otp" else "") for name, _ in ATTRIBUTES}
    base = "https://storage.googleapis.com/kopilka-dev-kopilka-dev-kit"
    rendered = render_snippet(tmp_path, built, telegram_client_id="7012345678")
    assert rendered == kit_script.snippet(uris, base, dist=dist, telegram=kit_script.TelegramLogin(client_id="7012345678"))
    assert isinstance(rendered, str) and rendered.endswith(' data-telegram-client-id="7012345678"></script>')
    assert render_snippet(tmp_path, built) == kit_script.snippet(uris, base, dist=dist)
    assert one(tf()["variable"]["telegram_client_id"]["validation"])["condition"]


def test_the_shop_url_origin_reaches_every_storefront_function_cors() -> None:
    locals_ = tf()["locals"]
    assert locals_["shop_origin"] == '${lower(regex("^https://[^/]+", var.shop_url))}'
    assert locals_["shop_origins"] == '${join(",", distinct(concat(var.shop_origins, [local.shop_origin])))}'
    for name in ("cart_quote", "checkout", "sms_otp", "account", "order_paid", "delivery_status", "expiry_sweep", "referral_reward"):
        assert function_env(name)[0]["KOPILKA_ALLOWED_ORIGINS"] == "${local.shop_origins}", name
    assert function_env("admin")[0]["KOPILKA_ALLOWED_ORIGINS"] == "${local.admin_origins}"
    for variable in ("shop_url", "shop_origins"):
        assert one(tf()["variable"][variable]["validation"])["condition"], variable



def test_the_checkout_function_reads_the_shops_yookassa_account() -> None:
    """Tilda's webhook (on checkout) is settled by the YooKassa payment fetched by its id: the
    same YooKassa account as the notifications' function, the key from Secret Manager."""
    env, secrets = function_env("checkout")
    assert env["YOOKASSA_SHOP_ID"] == function_env("order_paid")[0]["YOOKASSA_SHOP_ID"] == "${var.yookassa_shop_id}"
    assert secrets["YOOKASSA_SECRET_KEY"] == "yookassa_secret_key"
    assert set(tf()["locals"]["secret_readers"]["yookassa_secret_key"]) == {"checkout", "order_paid"}
