"""Build one deployable zip per function: ``dist/<function>-<sha256>.zip``.

    make package                  # or: python -m scripts.package [--out DIR] [--tfvars FILE]

A zip holds the function's ``main.py`` at its root, the ``shared/`` package (and, for the console, the ``console/`` package with its templates and styles),
``requirements.txt`` (the runtime pins; no test tools) and ``VERSION`` (a digest of
the rest, which ``shared.platform.settings`` reports as the deployed version). Entries are sorted and
carry a fixed timestamp and mode, so the bytes — and the sha256 in the name —
change only when the code does. The names are written to
``infra/packages.auto.tfvars.json`` (``var.packages``), which Terraform loads by
itself from ``infra/``; a new name is a new bucket object, so only the changed
functions are rebuilt.

When the storefront kit is built (``storefront/dist/manifest.json`` from
``scripts/kit.py``), its script is checked against the manifest (name, the
``sha384`` integrity) and written gzipped to ``dist/<file>.gz`` (what the kit
bucket stores), and the manifest goes into the same tfvars file as ``kit``
(``var.kit``, infra/storefront.tf). Without a manifest there is no ``kit``
entry and no kit is deployed.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = {".pyc", ".pyo"}
KIT_DIST = ROOT / "storefront" / "dist"
KIT_FILE = re.compile(r"kopilka-kit\.[0-9a-f]+\.js")


class KitError(Exception):
    """The storefront kit's build does not match its manifest."""


def functions() -> list[str]:
    return sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "main.py").is_file())


def entries(function: str) -> list[tuple[str, Path]]:
    """(name in the zip, file) for one function, sorted by name."""
    files = [("main.py", ROOT / "functions" / function / "main.py"), ("requirements.txt", ROOT / "requirements.txt")]
    packages = ["shared", "console"] if function == "console" else ["shared"]  # the console's pages, templates and styles
    for path in (p for package in packages for p in (ROOT / package).rglob("*")):
        rel = path.relative_to(ROOT)
        if path.is_file() and not SKIP_DIRS & set(rel.parts) and path.suffix not in SKIP_SUFFIXES:
            files.append((rel.as_posix(), path))
    return sorted(files)


def build(function: str) -> bytes:
    files = [(name, path.read_bytes()) for name, path in entries(function)]
    # VERSION (read by shared.platform.settings as the deployed version): a digest of the other entries.
    digest = hashlib.sha256(b"".join(name.encode() + b"\0" + data + b"\0" for name, data in files)).hexdigest()[:12]
    files = sorted(files + [("VERSION", (digest + "\n").encode())])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the build host
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def package(out: Path) -> dict[str, str]:
    """Write every function's zip into ``out`` (older zips of a function removed); answer the names."""
    out.mkdir(parents=True, exist_ok=True)
    names = {}
    for function in functions():
        data = build(function)
        name = f"{function}-{hashlib.sha256(data).hexdigest()}.zip"
        for stale in out.glob(f"{function}-*.zip"):
            if stale.name != name and len(stale.stem) == len(function) + 65:
                stale.unlink()
        (out / name).write_bytes(data)
        names[function] = name
    return names


def kit(dist: Path, out: Path) -> dict[str, Any] | None:
    """The kit's manifest, checked against its script, whose gzipped copy is written to ``out``; ``None``: not built."""
    manifest_path = dist / "manifest.json"
    if not manifest_path.is_file():
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or set(manifest) != {"file", "integrity", "gzip_bytes"}:
        raise KitError(f"{manifest_path}: expected {{file, integrity, gzip_bytes}}")
    name = manifest["file"]
    if not isinstance(name, str) or not KIT_FILE.fullmatch(name):
        raise KitError(f"{manifest_path}: file {name!r} is not kopilka-kit.<hex>.js")
    script = dist / name
    if not script.is_file():
        raise KitError(f"{script} is missing: rebuild the kit (python -m scripts.kit)")
    data = script.read_bytes()
    if manifest["integrity"] != "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode():
        raise KitError(f"{script} does not match the manifest's integrity: rebuild the kit (python -m scripts.kit)")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("kopilka-kit.*.js.gz"):
        if stale.name != name + ".gz":
            stale.unlink()
    (out / (name + ".gz")).write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    return {"file": name, "integrity": manifest["integrity"], "gzip_bytes": int(manifest["gzip_bytes"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--tfvars", type=Path, default=ROOT / "infra" / "packages.auto.tfvars.json", help="where to write var.packages and var.kit ('-' for none)")
    parser.add_argument("--kit-dist", type=Path, default=KIT_DIST, help="the storefront kit's build (manifest.json and the script)")
    args = parser.parse_args(argv)
    names = package(args.out)
    for function, name in names.items():
        print(f"{function:<16} {args.out / name}")
    try:
        built = kit(args.kit_dist, args.out)
    except KitError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    values: dict[str, Any] = {"packages": names}
    if built is None:
        print(f"{'kit':<16} not built ({args.kit_dist / 'manifest.json'} missing): no kit is deployed")
    else:
        values["kit"] = built
        print(f"{'kit':<16} {args.out / (built['file'] + '.gz')}")
    if str(args.tfvars) != "-":
        args.tfvars.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.tfvars}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
