"""Build one deployable zip per function: ``dist/<function>-<sha256>.zip``.

    make package                  # or: python -m scripts.package [--out DIR] [--tfvars FILE]

A zip holds the function's ``main.py`` at its root, the ``shared/`` package,
``requirements.txt`` (the runtime pins; no test tools) and ``VERSION`` (a digest of
the rest, which ``shared.platform.settings`` reports as the deployed version). Entries are sorted and
carry a fixed timestamp and mode, so the bytes — and the sha256 in the name —
change only when the code does. The names are written to
``infra/packages.auto.tfvars.json`` (``var.packages``), which Terraform loads by
itself from ``infra/``; a new name is a new bucket object, so only the changed
functions are rebuilt.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = {".pyc", ".pyo"}


def functions() -> list[str]:
    return sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "main.py").is_file())


def entries(function: str) -> list[tuple[str, Path]]:
    """(name in the zip, file) for one function, sorted by name."""
    files = [("main.py", ROOT / "functions" / function / "main.py"), ("requirements.txt", ROOT / "requirements.txt")]
    for path in (ROOT / "shared").rglob("*"):
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--tfvars", type=Path, default=ROOT / "infra" / "packages.auto.tfvars.json", help="where to write var.packages ('-' for none)")
    args = parser.parse_args(argv)
    names = package(args.out)
    for function, name in names.items():
        print(f"{function:<16} {args.out / name}")
    if str(args.tfvars) != "-":
        args.tfvars.write_text(json.dumps({"packages": names}, indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.tfvars}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
