"""A fresh clone's main job, end to end: `scripts/run` in a copy of every tracked file (as it is in the working
tree, uncommitted edits included), with nothing in the environment that would configure it. It must come up on the
embedded defaults (SQLite, the ORM broker, local files, the offline generator), make its own development signing
certificate, sign every file of its demo task, and serve `/healthz` with its worker running.

The copy shares this checkout's packages: its `.venv` is a folder of links to this `.venv`'s interpreter and
libraries, with its own `.setup-stamp` for the copied requirements, so that setup installs nothing and never writes
into the shared `.venv`. Needs neither PostgreSQL nor Redis."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from generation.integrations.provenance import read
from testkit.servers import ROOT

START_TIMEOUT = 120  # seconds from `scripts/run` to a healthy /healthz
PERSONAS = 2
FILES_PER_PERSONA = 5 * 3  # a base and 4 photos, each with two thumbnails
# What scripts/run itself reads, besides what avatar_project/settings.py reads (found below, in its source).
RUN_KNOBS = {"PORT", "DEMO_COUNT", "DEMO_DESCRIPTION", "DEMO_LANGUAGE", "ADMIN_EMAIL"}
CONFIGURING = {"DATABASE_URL", "REDIS_URL", "ENV_FILE", "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "PYTHONPATH"}
CONFIGURING_PREFIXES = ("AWS_", "C2PA_", "OPENAI_")


def fresh_clone(destination: Path) -> Path:
    """Every file git tracks, copied with its working-tree content; nothing untracked (.env, .c2pa/, media/, the
    database) comes along."""
    listing = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True).stdout
    for name in filter(None, listing.decode().split("\0")):
        source = ROOT / name
        if not source.is_symlink() and not source.exists():
            continue  # deleted in the working tree, so not in the clone either
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    shared = ROOT / ".venv"
    (destination / ".venv").mkdir()
    for entry in shared.iterdir():
        if entry.name != ".setup-stamp":
            (destination / ".venv" / entry.name).symlink_to(entry)
    # The hash scripts/setup compares: `cat requirements.txt requirements-dev.txt | sha256sum`.
    requirements = b"".join((destination / name).read_bytes() for name in ("requirements.txt", "requirements-dev.txt"))
    (destination / ".venv" / ".setup-stamp").write_text(hashlib.sha256(requirements).hexdigest() + "\n")
    return destination


def unconfigured_environment(port: int) -> dict[str, str]:
    """This process's environment without anything that would configure the project (pytest-django and the .env
    of this checkout put some of it there), plus the port and a short demo."""
    settings_source = (ROOT / "avatar_project" / "settings.py").read_text()
    read_by_settings = set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", settings_source))
    assert {"DATABASE_URL", "MEDIA_ROOT", "GENERATION_BACKEND", "C2PA_DEV_DIR"} <= read_by_settings
    dropped = CONFIGURING | RUN_KNOBS | read_by_settings
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith(CONFIGURING_PREFIXES)
    }
    return env | {"PORT": str(port), "DEMO_COUNT": str(PERSONAS)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthz_status(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None


def group_alive(process: subprocess.Popen) -> bool:
    """Whether anything of the process group led by `process` still runs (its leader is reaped first: a zombie
    leader would count)."""
    process.poll()
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(condition, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def stop_group(process: subprocess.Popen) -> None:
    """Stop the whole process group (scripts/run, runserver and its reloader child, qcluster and its workers): SIGINT
    first, as Ctrl-C at the terminal would (qcluster stops its workers cleanly on it; on a SIGTERM to all of them at
    once its parent waits for them for ever), then SIGTERM, then SIGKILL to whatever is left. Raises if anything of
    it survives."""
    for stop in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, stop)
        if wait_for(lambda: not group_alive(process), timeout=10):
            break
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
    assert wait_for(lambda: not group_alive(process), timeout=10), "scripts/run left processes behind"


def output(tmp_path: Path) -> str:
    """What scripts/run printed, and the files this checkout has that a clone would not: a new module that is not
    added to git yet works here and breaks a fresh clone."""
    untracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--others", "--exclude-standard"], capture_output=True, text=True
    ).stdout.split()
    printed = "\n".join(
        f"--- {name} ---\n{(tmp_path / name).read_text(errors='replace')[-8000:]}" for name in ("run.out", "run.err")
    )
    return f"{printed}\n--- not tracked by git, so not in the clone: {', '.join(untracked) or 'nothing'} ---"


def test_a_fresh_clone_s_main_job_signs_its_demo_task_with_no_configuration(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    assert not any((clone / name).exists() for name in (".env", ".c2pa", "media", "db.sqlite3"))
    port = free_port()
    env = unconfigured_environment(port)
    with open(tmp_path / "run.out", "wb") as stdout, open(tmp_path / "run.err", "wb") as stderr:
        process = subprocess.Popen(
            [str(clone / "scripts" / "run")],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while healthz_status(port) != 200:
            assert process.poll() is None, f"scripts/run exited ({process.returncode}) first\n{output(tmp_path)}"
            assert time.monotonic() < deadline, f"/healthz not 200 after {START_TIMEOUT} s\n{output(tmp_path)}"
            time.sleep(0.5)
        printed = (tmp_path / "run.out").read_text()
        found = re.search(rf"^Task (\w+): {PERSONAS} persona\(s\)", printed, re.MULTILINE)
        assert found, f"no task code in the output\n{output(tmp_path)}"
        code = found.group(1)
        verify = subprocess.run(
            [str(clone / ".venv" / "bin" / "python"), "manage.py", "verify_provenance", code],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop_group(process)

    # Setup made the development pair itself, with no setting, and said so.
    pair = clone / ".c2pa"
    assert (pair / "signer.pem").is_file() and (pair / "signer.key").is_file()
    assert (pair / "signer.key").stat().st_mode & 0o777 == 0o600
    assert "setup: wrote .env" in printed
    assert (
        f"setup: wrote a development CA (ca.pem) and signing certificate (signer.pem, key signer.key) to {pair}."
        in printed
    )
    # The demo task went to the clone's own media/, and every one of its files carries valid Content Credentials.
    assert f"Status: completed. {PERSONAS} of {PERSONAS} persona(s)" in printed
    assert f"Images: {clone / 'media'}/avatars/{code}/" in printed
    assert verify.returncode == 0, verify.stdout + verify.stderr
    files = PERSONAS * FILES_PER_PERSONA
    assert verify.stdout.strip().splitlines()[-1] == f"Task {code}: {files} files, {files} verified, 0 failed."
    # The clone's verifier trusts the clone's own development CA (C2PA_TRUST_ANCHORS by default).
    assert re.search(rf"^ok +avatars/{code}/1/base\.png +created · trusted$", verify.stdout, re.MULTILINE)
    # A base image, read back by this process from where the output says it is.
    bases = re.findall(rf"^  .+: /media/(avatars/{code}/\d+/base\.\w+)$", printed, re.MULTILINE)
    assert len(bases) == PERSONAS, printed
    reading = read((clone / "media" / bases[0]).read_bytes())
    assert reading.problems == [] and reading.state is not None
    assert "c2pa.created" in reading.actions
    assert reading.ours.get("task") == code
