#!/usr/bin/env python3
"""Manage a local Firestore emulator for Kopilka (stdlib only).

Usage:
    python scripts/emulator.py run [--port N] -- COMMAND [ARGS...]
        Start a private emulator on a free 127.0.0.1 port, run COMMAND with
        FIRESTORE_EMULATOR_HOST / GOOGLE_CLOUD_PROJECT set, stop the emulator
        (its whole process group) and exit with COMMAND's exit code.
    python scripts/emulator.py start [--port N]
        Start an emulator in the background, record it in .emulator/state.json
        and print FIRESTORE_EMULATOR_HOST=127.0.0.1:PORT.
    python scripts/emulator.py stop
        Stop the background emulator recorded in .emulator/state.json.
    python scripts/emulator.py status
        Print the background emulator's host, or exit 1 if none is running.
    python scripts/emulator.py reset [HOST]
        Delete all documents in the emulator (HOST defaults to
        $FIRESTORE_EMULATOR_HOST, then the background emulator).

Environment:
    KOPILKA_GCLOUD            gcloud binary to use (default: `gcloud` on PATH)
    JAVA                      java binary (same variable the emulator honours)
    KOPILKA_EMULATOR_TIMEOUT  start-up deadline in seconds (default 60)
    GOOGLE_CLOUD_PROJECT      project id (default kopilka-local)

Exit codes: COMMAND's own code for `run`; 2 usage error; 3 missing
prerequisite; 4 emulator failed to start; 5 emulator could not be stopped;
128+N when interrupted by signal N.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".emulator"
STATE_FILE = STATE_DIR / "state.json"
HOST_IP = "127.0.0.1"
DEFAULT_PROJECT = "kopilka-local"
POLL_INTERVAL = 0.1
STOP_GRACE = 10.0
MIN_JAVA = 17

EXIT_USAGE = 2
EXIT_PREREQ = 3
EXIT_START = 4
EXIT_STOP = 5

INSTALL_HINT = (
    "kopilka: the Firestore emulator needs the Google Cloud CLI with the "
    "cloud-firestore-emulator component and Java {java}+ (install: "
    "https://cloud.google.com/sdk/docs/install, then "
    "`gcloud components install cloud-firestore-emulator` or "
    "`apt-get install google-cloud-cli-firestore-emulator openjdk-17-jre-headless`)"
)

# Plain opener: never route 127.0.0.1 through an HTTP(S)_PROXY from the env.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PrerequisiteError(Exception):
    pass


class StartError(Exception):
    pass


class _Signalled(BaseException):
    """Raised from our SIGINT/SIGTERM/SIGHUP handler so `finally` runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def log(msg: str) -> None:
    print(f"kopilka: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# prerequisites


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run(
            [java, "-version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    if major == 1 and m.group(2):  # "1.8.0_xxx" style
        major = int(m.group(2))
    return major


def check_prerequisites() -> str:
    """Return the gcloud path or raise PrerequisiteError (one-line message)."""
    hint = INSTALL_HINT.format(java=MIN_JAVA)
    gcloud = shutil.which(os.environ.get("KOPILKA_GCLOUD") or "gcloud")
    if not gcloud:
        raise PrerequisiteError(hint + " [gcloud not found]")
    # Best effort: in a standard SDK layout (<root>/bin/gcloud, <root>/platform)
    # the component lives in <root>/platform/cloud-firestore-emulator.
    sdk_root = Path(os.path.realpath(gcloud)).parent.parent
    if (sdk_root / "platform").is_dir() and not (
        sdk_root / "platform" / "cloud-firestore-emulator"
    ).is_dir():
        raise PrerequisiteError(hint + " [cloud-firestore-emulator component missing]")
    java = shutil.which(os.environ.get("JAVA") or "java")
    if not java:
        raise PrerequisiteError(hint + " [java not found]")
    major = _java_major(java)
    if major is not None and major < MIN_JAVA:
        raise PrerequisiteError(hint + f" [found Java {major}]")
    return gcloud


# --------------------------------------------------------------------------
# process-group helpers


def _group_members(pgid: int) -> list[int] | None:
    """Live (non-zombie) pids in process group `pgid`; None if /proc is unusable."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ..." -- comm may contain spaces/parens.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in "ZX":
            members.append(int(entry.name))
    return members


def group_alive(pgid: int) -> bool:
    members = _group_members(pgid)
    if members is not None:
        return bool(members)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_open(port: int, host: str = HOST_IP) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def stop_group(pgid: int, leader: subprocess.Popen | None = None, port: int | None = None) -> bool:
    """SIGTERM the whole group, wait up to STOP_GRACE s, then SIGKILL it.

    Returns True when no live process of the group remains and the port
    (if given) no longer accepts connections.
    """

    def reap() -> None:
        if leader is not None:
            leader.poll()

    def wait_gone(deadline: float) -> bool:
        while True:
            reap()
            if not group_alive(pgid):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL)

    for sig, grace in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, 5.0)):
        reap()
        if not group_alive(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        if wait_gone(time.monotonic() + grace):
            break
        if sig == signal.SIGTERM:
            log(f"emulator group {pgid} ignored SIGTERM for {STOP_GRACE:.0f}s; sending SIGKILL")

    if leader is not None:
        try:
            leader.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    ok = True
    if group_alive(pgid):
        log(f"WARNING: processes of emulator group {pgid} are still running: {_group_members(pgid)}")
        ok = False
    if port is not None:
        deadline = time.monotonic() + 5
        while port_open(port) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
        if port_open(port):
            log(f"WARNING: port {port} still accepts connections after stopping the emulator")
            ok = False
    return ok


# --------------------------------------------------------------------------
# emulator start


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST_IP, 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with _OPENER.open(f"http://{HOST_IP}:{port}/", timeout=1) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def start_emulator(gcloud: str, port: int | None = None) -> tuple[subprocess.Popen, int, Path]:
    """Start the emulator in its own session/process group; wait until it answers.

    Returns (gcloud process, port, log path). On failure the group is stopped
    and StartError is raised. With port=None a free port is picked (and
    retried a couple of times if it was grabbed by someone else meanwhile).
    """
    timeout = float(os.environ.get("KOPILKA_EMULATOR_TIMEOUT", "60"))
    STATE_DIR.mkdir(exist_ok=True)
    attempts = 1 if port is not None else 3
    last_error = "emulator did not start"
    for _ in range(attempts):
        p = port or free_port()
        if port_open(p):
            last_error = f"port {p} is already in use"
            continue
        log_path = STATE_DIR / f"emulator-{p}.log"
        env = dict(os.environ, CLOUDSDK_CORE_DISABLE_PROMPTS="1")
        proc = None
        try:
            with open(log_path, "wb") as logf:
                proc = subprocess.Popen(
                    [gcloud, "emulators", "firestore", "start", f"--host-port={HOST_IP}:{p}"],
                    stdin=subprocess.DEVNULL,
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=STATE_DIR,
                    start_new_session=True,  # session leader => pgid == pid
                )
            deadline = time.monotonic() + timeout
            while True:
                if _answers(p):
                    return proc, p, log_path
                if proc.poll() is not None:
                    last_error = (
                        f"emulator exited with code {proc.returncode} before answering "
                        f"on port {p}; log {log_path}:\n{log_tail(log_path)}"
                    )
                    break
                if time.monotonic() >= deadline:
                    raise StartError(
                        f"emulator did not answer on http://{HOST_IP}:{p}/ within "
                        f"{timeout:g}s; log {log_path}:\n{log_tail(log_path)}"
                    )
                time.sleep(POLL_INTERVAL)
        except BaseException:
            if proc is not None:
                stop_group(proc.pid, proc, p)
            raise
        stop_group(proc.pid, proc, p)
        if "already in use" not in log_tail(log_path, 200).lower():
            break
    raise StartError(last_error)


# --------------------------------------------------------------------------
# signals


def _raise_signal(signum, _frame):
    raise _Signalled(signum)


_SIGNALS = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])


def _install_handlers() -> None:
    for s in _SIGNALS:
        signal.signal(s, _raise_signal)


def _ignore_signals() -> None:
    """Used while cleaning up so a second Ctrl-C cannot abort the cleanup."""
    for s in _SIGNALS:
        signal.signal(s, signal.SIG_IGN)


# --------------------------------------------------------------------------
# commands


def _stop_child(child: subprocess.Popen, signum: int) -> None:
    """Pass the signal on to COMMAND and wait for it (SIGKILL after a grace period).

    A terminal Ctrl-C already reached COMMAND (same foreground process group),
    so for SIGINT give it a moment to finish on its own before re-sending.
    """
    if signum == signal.SIGINT:
        try:
            child.wait(timeout=2)
            return
        except subprocess.TimeoutExpired:
            pass
    if child.poll() is not None:
        return
    try:
        child.send_signal(signum)
        child.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    except OSError:
        pass


def cmd_run(argv: list[str]) -> int:
    port = None
    if argv[:1] == ["--port"] and len(argv) >= 2:
        port, argv = int(argv[1]), argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        log("usage: emulator.py run [--port N] -- COMMAND [ARGS...]")
        return EXIT_USAGE
    try:
        gcloud = check_prerequisites()
    except PrerequisiteError as e:
        print(str(e), file=sys.stderr)
        return EXIT_PREREQ

    _install_handlers()
    proc = child = None
    rc = 1
    try:
        proc, port, log_path = start_emulator(gcloud, port)
        host = f"{HOST_IP}:{port}"
        log(f"Firestore emulator ready at {host} (pgid {proc.pid}, log {log_path.relative_to(ROOT)})")
        env = dict(os.environ, FIRESTORE_EMULATOR_HOST=host)
        env.setdefault("GOOGLE_CLOUD_PROJECT", DEFAULT_PROJECT)
        try:
            child = subprocess.Popen(argv, env=env)
        except OSError as e:
            log(f"cannot run {argv[0]!r}: {e}")
            rc = 127
        else:
            rc = child.wait()
            if rc < 0:
                rc = 128 - rc
    except StartError as e:
        log(str(e))
        rc = EXIT_START
    except (_Signalled, KeyboardInterrupt) as e:
        signum = e.signum if isinstance(e, _Signalled) else signal.SIGINT
        _ignore_signals()
        log(f"interrupted by signal {signum}; shutting down")
        if child is not None:
            _stop_child(child, signum)
        rc = 128 + int(signum)
    finally:
        _ignore_signals()
        if proc is not None:
            if not stop_group(proc.pid, proc, port):
                rc = rc or EXIT_STOP
            elif rc == 0:
                log_path.unlink(missing_ok=True)  # keep logs of failed runs only
    return rc


def _read_state() -> dict | None:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None


def _state_alive(state: dict) -> bool:
    pgid = int(state.get("pgid", 0))
    if pgid <= 0 or not group_alive(pgid):
        return False
    # Guard against pid reuse: the leader should still be our gcloud command.
    try:
        cmdline = Path(f"/proc/{pgid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return True  # no /proc: trust the state file
    return b"emulators" in cmdline and b"firestore" in cmdline


def cmd_start(argv: list[str]) -> int:
    port = None
    if argv[:1] == ["--port"] and len(argv) >= 2:
        port, argv = int(argv[1]), argv[2:]
    if argv:
        log("usage: emulator.py start [--port N]")
        return EXIT_USAGE
    state = _read_state()
    if state and _state_alive(state) and _answers(int(state["port"])):
        log(f"emulator already running (pgid {state['pgid']})")
        print(f"FIRESTORE_EMULATOR_HOST={state['host']}")
        return 0
    if state:
        if int(state.get("pgid", 0)) > 0 and _state_alive(state):
            stop_group(int(state["pgid"]))
        STATE_FILE.unlink(missing_ok=True)
    try:
        gcloud = check_prerequisites()
    except PrerequisiteError as e:
        print(str(e), file=sys.stderr)
        return EXIT_PREREQ
    _install_handlers()
    proc = None
    try:
        proc, port, log_path = start_emulator(gcloud, port)
        host = f"{HOST_IP}:{port}"
        state = {
            "host": host,
            "port": port,
            "pgid": proc.pid,
            "pid": proc.pid,
            "log": str(log_path),
            "project": os.environ.get("GOOGLE_CLOUD_PROJECT", DEFAULT_PROJECT),
            "started": time.time(),
        }
        tmp = STATE_FILE.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(STATE_FILE)
    except StartError as e:
        log(str(e))
        return EXIT_START
    except (_Signalled, KeyboardInterrupt) as e:
        _ignore_signals()
        if proc is not None:
            stop_group(proc.pid, proc, port)
        return 128 + int(e.signum if isinstance(e, _Signalled) else signal.SIGINT)
    log(f"Firestore emulator started in background (pgid {proc.pid}, log {log_path.relative_to(ROOT)})")
    print(f"FIRESTORE_EMULATOR_HOST={host}")
    return 0


def cmd_stop(argv: list[str]) -> int:
    state = _read_state()
    if not state:
        log("no background emulator recorded (.emulator/state.json missing)")
        return 0
    pgid, port = int(state.get("pgid", 0)), state.get("port")
    ok = True
    if pgid > 0 and _state_alive(state):
        _ignore_signals()
        ok = stop_group(pgid, None, int(port) if port else None)
        log(f"stopped emulator at {state.get('host')} (pgid {pgid})" if ok else "emulator did not stop cleanly")
    else:
        log("recorded emulator is not running; removing stale state")
    if ok:
        STATE_FILE.unlink(missing_ok=True)
    return 0 if ok else EXIT_STOP


def cmd_status(argv: list[str]) -> int:
    state = _read_state()
    if state and _state_alive(state) and _answers(int(state["port"])):
        print(f"FIRESTORE_EMULATOR_HOST={state['host']}")
        return 0
    log("no background emulator running")
    return 1


def reset(host: str, project: str | None = None, timeout: float = 10.0) -> None:
    """Delete every document in the emulator's (default) database.

    Raises urllib.error.URLError / HTTPError on failure.
    """
    project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or DEFAULT_PROJECT
    url = f"http://{host}/emulator/v1/projects/{project}/databases/(default)/documents"
    req = urllib.request.Request(url, method="DELETE")
    with _OPENER.open(req, timeout=timeout) as resp:
        resp.read()


def cmd_reset(argv: list[str]) -> int:
    host = argv[0] if argv else os.environ.get("FIRESTORE_EMULATOR_HOST")
    project = None
    if not host:
        state = _read_state()
        if state and _state_alive(state):
            host, project = state["host"], state.get("project")
    if not host:
        log("no emulator: pass HOST, set FIRESTORE_EMULATOR_HOST or run `emulator.py start`")
        return EXIT_USAGE
    try:
        reset(host, project)
    except (urllib.error.URLError, OSError) as e:
        log(f"reset of {host} failed: {e}")
        return 1
    log(f"emulator data at {host} reset")
    return 0


COMMANDS = {
    "run": cmd_run,
    "start": cmd_start,
    "stop": cmd_stop,
    "status": cmd_status,
    "reset": cmd_reset,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else EXIT_USAGE
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
