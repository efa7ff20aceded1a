"""scripts/package.py: one deterministic zip per function, named by its sha256."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from scripts import package


def test_zips_are_deterministic_and_complete(tmp_path: Path) -> None:
    tfvars = tmp_path / "packages.auto.tfvars.json"
    first = package.package(tmp_path / "a")
    second = package.package(tmp_path / "b")
    assert first == second and sorted(first) == package.functions()
    package.main(["--out", str(tmp_path / "a"), "--tfvars", str(tfvars)])
    assert json.loads(tfvars.read_text()) == {"packages": first}
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
