"""Parallel test workers (pytest-xdist) each keep their own emulator projects, so one worker's
wipe of its data never reaches another's."""

from __future__ import annotations

import os


def per_worker(project: str) -> str:
    """``project`` for this worker: ``<project>-gw0`` under xdist, ``project`` in a plain run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{project}-{worker}" if worker else project
