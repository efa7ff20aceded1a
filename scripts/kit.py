"""Build the storefront kit and render the tag a shop puts on its pages.

    python -m scripts.kit            # storefront/dist/kopilka-kit.<hash>.js + manifest.json
    make kit                         # the same

The kit's source is ``storefront/src/*.js`` (plain JavaScript, no npm): the
files are joined in name order inside one function scope, full-line comments
and indentation dropped. The output is named by the first 10 hex digits of
its SHA-256, so a browser may cache it for good; ``manifest.json`` says which
file is current, its Subresource Integrity (``sha384-…``) and its gzipped
size. :func:`snippet` renders the one ``<script async>`` tag for a shop.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import html
import json
import re
from pathlib import Path
from typing import NamedTuple, TypedDict

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "storefront" / "src"
DIST = ROOT / "storefront" / "dist"
BUDGET_GZIP_BYTES = 25 * 1024
# the data attribute of each function's URL on the script tag
ATTRIBUTES = {"cart_quote": "data-cart-quote", "sms_otp": "data-sms-otp", "account": "data-account", "checkout": "data-checkout"}
TELEGRAM_AUTH_URL = "https://oauth.telegram.org/auth"  # Telegram's OpenID Connect authorization endpoint
_COMMENT_LINE = re.compile(r"^\s*//.*$")


class TelegramLogin(NamedTuple):
    """"Log in with Telegram" in the login widget: the bot's id is the OpenID Connect client id."""

    client_id: str
    auth_url: str = TELEGRAM_AUTH_URL


class Manifest(TypedDict):
    file: str
    integrity: str
    gzip_bytes: int


def bundle(source: Path = SOURCE) -> str:
    """The kit as one script: every source file in name order, inside one function scope."""
    parts = []
    for path in sorted(source.glob("*.js")):
        lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
        parts.append("\n".join(line for line in lines if line and not _COMMENT_LINE.match(line)))
    return '/*! Kopilka storefront kit */\n(function () {\n"use strict";\n' + "\n".join(parts) + "\n})();\n"


def integrity(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def build(dist: Path = DIST, source: Path = SOURCE) -> Manifest:
    """Write ``kopilka-kit.<hash>.js`` and ``manifest.json`` into ``dist`` (older builds removed)."""
    data = bundle(source).encode("utf-8")
    name = f"kopilka-kit.{hashlib.sha256(data).hexdigest()[:10]}.js"
    dist.mkdir(parents=True, exist_ok=True)
    for old in dist.glob("kopilka-kit.*.js"):
        if old.name != name:
            old.unlink()
    (dist / name).write_bytes(data)
    manifest: Manifest = {"file": name, "integrity": integrity(data), "gzip_bytes": len(gzip.compress(data, compresslevel=9, mtime=0))}
    (dist / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def manifest(dist: Path = DIST) -> Manifest:
    """The manifest of the last build (built now if there is none)."""
    path = dist / "manifest.json"
    if not path.exists():
        return build(dist)
    data: Manifest = json.loads(path.read_text(encoding="utf-8"))
    return data


def snippet(function_urls: dict[str, str], kit_base_url: str, *, dist: Path = DIST, telegram: TelegramLogin | None = None) -> str:
    """The exact tag a shop puts in its site-wide HEAD code (or a T123 block).

    ``function_urls``: each function's URL by name (``cart_quote``, ``sms_otp``,
    ``account``, ``checkout``; others are ignored); ``kit_base_url``: where
    ``storefront/dist`` is served; ``telegram``: the «Войти через Telegram» button
    (``data-telegram-client-id``, and ``data-telegram-auth-url`` when it is not Telegram's).
    """
    built = manifest(dist)
    attributes = [f'src="{html.escape(kit_base_url.rstrip("/") + "/" + built["file"])}"', f'integrity="{built["integrity"]}"', 'crossorigin="anonymous"']
    for name, attribute in ATTRIBUTES.items():
        if name in function_urls:
            attributes.append(f'{attribute}="{html.escape(function_urls[name].rstrip("/"))}"')
    if telegram is not None:
        attributes.append(f'data-telegram-client-id="{html.escape(telegram.client_id)}"')
        if telegram.auth_url != TELEGRAM_AUTH_URL:
            attributes.append(f'data-telegram-auth-url="{html.escape(telegram.auth_url)}"')
    return "<script async " + " ".join(attributes) + "></script>"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", type=Path, default=DIST)
    args = parser.parse_args()
    built = build(args.dist)
    print(f"{args.dist / built['file']}  {built['gzip_bytes']} bytes gzipped (budget {BUDGET_GZIP_BYTES})  {built['integrity']}")
    return 0 if built["gzip_bytes"] <= BUDGET_GZIP_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())
