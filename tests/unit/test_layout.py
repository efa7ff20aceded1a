"""The layout keeps the architecture readable: ``shared/`` holds only packages at its top, and no
module of ``shared/`` or ``functions/`` grows past 500 lines."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 500


def test_the_top_of_shared_holds_only_packages() -> None:
    modules = sorted(p.name for p in (ROOT / "shared").glob("*.py") if p.name != "__init__.py")
    assert modules == []


def test_no_module_is_over_500_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in [*(ROOT / "shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py")] if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
