"""The committed OpenAPI document matches the code, and the code's routes match the document."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from scripts import openapi
from shared.edge.http import HEALTH_PATH

ROOT = Path(__file__).resolve().parents[3]
FUNCTIONS = openapi.FUNCTIONS  # every function folder but the console's pages


def test_committed_document_is_current():
    assert (ROOT / "openapi.json").read_text(encoding="utf-8") == openapi.render(), "run `make openapi` and commit openapi.json"


def test_document_is_openapi_3_1_with_error_schema():
    doc = openapi.build()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["components"]["schemas"]["ErrorDetail"]["properties"]) == {"code", "message", "message_ru", "details"}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert "200" in operation["responses"] and "400" in operation["responses"], f"{method} {path}"


def _router(function: str):
    spec = importlib.util.spec_from_file_location(f"kopilka_fn_{function}", ROOT / "functions" / function / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.router


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_route_is_documented_and_every_documented_route_exists(function):
    routes = {(method, path) for method, path in _router(function).routes} | {("GET", HEALTH_PATH)}  # the router answers /health itself
    documented = {(e.method, e.path.rstrip("/") or "/") for e in openapi.endpoints() if e.function == function}
    assert routes == documented


def test_every_documented_function_has_a_folder():
    assert {e.function for e in openapi.endpoints()} <= set(FUNCTIONS)
    assert set(FUNCTIONS) | set(openapi.PAGES) == set(openapi.FOLDERS)
    assert os.path.isdir(ROOT / "functions")
