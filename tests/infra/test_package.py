"""scripts/package.py: one deterministic zip per function, named by its sha256."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from scripts import package


def test_zips_are_deterministic_and_complete(tmp_path: Path) -> None:
    tfvars = tmp_path / "packages.auto.tfvars.json"
    first = package.package(tmp_path / "a")
    second = package.package(tmp_path / "b")
    assert first == second and sorted(first) == package.functions()
    package.main(["--out", str(tmp_path / "a"), "--tfvars", str(tfvars), "--kit-dist", str(tmp_path / "no-kit")])
    assert json.loads(tfvars.read_text()) == {"packages": first}  # no kit built: no var.kit
    for function, name in first.items():
        data = (tmp_path / "a" / name).read_bytes()
        assert name == f"{function}-{hashlib.sha256(data).hexdigest()}.zip"
        with zipfile.ZipFile(tmp_path / "a" / name) as archive:
            names = archive.namelist()
            assert names == sorted(names)
            assert {"main.py", "requirements.txt", "VERSION", "shared/__init__.py", "shared/platform/settings.py"} <= set(names)
            assert not any("__pycache__" in n or n.endswith(".pyc") or n.startswith(("tests/", "functions/")) for n in names)
            assert {info.date_time for info in archive.infolist()} == {package.FIXED_TIME}
            assert archive.read("main.py") == (package.ROOT / "functions" / function / "main.py").read_bytes()
            requirements = archive.read("requirements.txt").decode()
            assert "functions-framework==" in requirements and "pytest" not in requirements


KIT = b"/*! Kopilka storefront kit */\n(function () {\n\"use strict\";\n})();\n"


def built_kit(dist: Path, data: bytes = KIT) -> dict[str, object]:
    """A kit build as scripts/kit.py leaves it: the script and manifest.json."""
    dist.mkdir(parents=True, exist_ok=True)
    name = f"kopilka-kit.{hashlib.sha256(data).hexdigest()[:10]}.js"
    (dist / name).write_bytes(data)
    manifest = {"file": name, "integrity": "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode(), "gzip_bytes": len(gzip.compress(data, compresslevel=9, mtime=0))}
    (dist / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def test_a_built_kit_goes_into_the_tfvars_and_dist_gzipped(tmp_path: Path) -> None:
    manifest = built_kit(tmp_path / "kit")
    tfvars = tmp_path / "packages.auto.tfvars.json"
    assert package.main(["--out", str(tmp_path / "dist"), "--tfvars", str(tfvars), "--kit-dist", str(tmp_path / "kit")]) == 0
    values = json.loads(tfvars.read_text())
    assert values["kit"] == manifest and sorted(values["packages"]) == package.functions()
    stored = tmp_path / "dist" / f"{manifest['file']}.gz"  # what infra/storefront.tf uploads
    assert gzip.decompress(stored.read_bytes()) == KIT and len(stored.read_bytes()) == manifest["gzip_bytes"]
    first = stored.read_bytes()
    package.kit(tmp_path / "kit", tmp_path / "dist")
    assert stored.read_bytes() == first  # deterministic: no timestamp in the gzip header

    newer = built_kit(tmp_path / "kit", KIT + b"// v2\n")  # a rebuild replaces the stored copy
    (tmp_path / "kit" / str(manifest["file"])).unlink()
    assert package.kit(tmp_path / "kit", tmp_path / "dist") == newer
    assert sorted(p.name for p in (tmp_path / "dist").glob("kopilka-kit.*")) == [f"{newer['file']}.gz"]


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda dist, m: (dist / m["file"]).write_bytes(KIT + b"tampered"), "does not match the manifest's integrity"),
        (lambda dist, m: (dist / m["file"]).unlink(), "is missing"),
        (lambda dist, m: (dist / "manifest.json").write_text(json.dumps({**m, "file": "../evil.js"})), "is not kopilka-kit.<hex>.js"),
        (lambda dist, m: (dist / "manifest.json").write_text(json.dumps({"file": m["file"]})), "expected {file, integrity, gzip_bytes}"),
    ],
)
def test_a_kit_that_does_not_match_its_manifest_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], spoil, message: str) -> None:
    manifest = built_kit(tmp_path / "kit")
    spoil(tmp_path / "kit", manifest)
    tfvars = tmp_path / "packages.auto.tfvars.json"
    assert package.main(["--out", str(tmp_path / "dist"), "--tfvars", str(tfvars), "--kit-dist", str(tmp_path / "kit")]) == 1
    assert message in capsys.readouterr().err
    assert not tfvars.exists() and not list((tmp_path / "dist").glob("kopilka-kit.*"))


def test_the_console_zip_carries_its_pages_and_only_it_does(tmp_path: Path) -> None:
    names = package.package(tmp_path)
    assert any(name.startswith("console-") for name in names.values())
    for name in names.values():
        with zipfile.ZipFile(tmp_path / name) as archive:
            listed = set(archive.namelist())
            if name.startswith("console-"):
                assert {"console/app.py", "console/templates/base.html", "console/static/console.css", "console/static/console.js"} <= listed
            else:
                assert not any(n.startswith("console/") for n in listed)
