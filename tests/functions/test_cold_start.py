"""Cold starts: importing a function loads only what every one of its requests needs.

The back office loads neither Argon2id nor TOTP: only a login, a password change
and an MFA enrolment or check use them, so they are imported there; every other
admin request's cold start skips them (and the hash an unknown account is checked
against). Checkout loads no HTTP client: only the YooKassa calls of a paying
checkout and of Tilda's webhook need one, and it is built with the first of them.
The scheduled sweep loads no carrier client: its shipping fallback pass delivers
orders no carrier reports on, and asking the carriers is the poller's job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("argon2", "_argon2_cffi_bindings", "pyotp")


def loaded_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The modules or top-level packages named in ``heavy`` that are in sys.modules after running ``code`` in a fresh interpreter."""
    probe = code + f"\nimport json, sys\nprint(json.dumps(sorted(({{m.split('.')[0] for m in sys.modules}} | set(sys.modules)) & set({list(heavy)!r}))))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_admin_function_loads_neither_argon2_nor_pyotp() -> None:
    assert loaded_after("import functions.admin.main") == []


def test_a_password_check_and_a_totp_code_load_them_when_used() -> None:
    code = (
        "from datetime import datetime, timezone\n"
        "from shared.domain.mfa import Totp\n"
        "from shared.services.passwords import check_password, hash_password\n"
        "assert check_password(hash_password('pw'), 'pw') and not check_password(None, 'pw')\n"
        "totp = Totp.new(datetime.now(timezone.utc))\n"
        "assert totp.uri('a@shop.example').startswith('otpauth://totp/')\n"
    )
    assert loaded_after(code) == sorted(HEAVY)


def test_importing_the_checkout_function_loads_no_http_client_until_yookassa_is_called() -> None:
    load = "import functions_framework, importlib.util as u\ns = u.spec_from_file_location('main', 'functions/checkout/main.py'); m = u.module_from_spec(s); s.loader.exec_module(m)\n"
    assert loaded_after(load, ("httpx",)) == []
    client = "from shared.adapters.yookassa import YooKassaClient\nYooKassaClient(base_url='https://api.yookassa.ru/v3', shop_id='1', secret_key='k', timeout=1.0).close()\n"
    assert loaded_after(load + client, ("httpx",)) == ["httpx"]


def test_importing_the_sweep_loads_no_carrier_client() -> None:
    load = "import functions_framework, importlib.util as u\ns = u.spec_from_file_location('main', 'functions/expiry_sweep/main.py'); m = u.module_from_spec(s); s.loader.exec_module(m)\n"
    carriers = ("shared.adapters.carriers", "xml")
    assert loaded_after(load, carriers) == []
    assert loaded_after(load + "import shared.services.delivery\n", carriers) == sorted(carriers)


def test_the_collector_pauses_while_a_function_loads_and_runs_again_once_its_router_is_built() -> None:
    probe = (
        "import gc, functions_framework, importlib.util as u\n"
        "import shared\n"
        "paused = not gc.isenabled()\n"
        "s = u.spec_from_file_location('main', 'functions/account/main.py'); m = u.module_from_spec(s); s.loader.exec_module(m)\n"
        "print(paused, gc.isenabled(), gc.get_freeze_count() > 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]
    # outside the Functions Framework (a script, the sweep's tools) the package never pauses it
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    plain = subprocess.run([sys.executable, "-c", "import gc, shared; print(gc.isenabled())"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert plain.stdout.strip() == "True", plain.stderr
