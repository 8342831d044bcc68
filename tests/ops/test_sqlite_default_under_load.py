"""The embedded default under load, as `scripts/run` runs it: one SQLite file shared by a worker cluster at its default
worker count on the ORM broker, a web server, `generate --sync` and `check_faces`, all at the same time. A 120-persona
task through the worker, a `--sync` task and a face check must lose nothing, the new-task form must keep answering,
and nobody may report "database is locked".

Every process is a real one on its own SQLite file (DATABASE_URL=sqlite:///…), whatever database the test session
itself uses, so this runs, and does not skip, in CI on PostgreSQL."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from testkit.servers import ROOT, Cluster, free_port, stop_process_group, wait_until

BIG_TASK = 120
SYNC_TASK = 20
CHECKED_TASK = 10  # made first, then checked by `check_faces` while the rest runs
FORM_POSTS = 5
IMAGES = 4
PASSWORD = "an under-load password 7"
LOCKED = "database is locked"
# What configures the project from this process' environment; the processes here get the embedded defaults.
NOT_PASSED_ON = ("AWS_", "OPENAI_", "Q_", "REDIS_", "SQLITE_", "DATABASE_URL", "CONN_MAX_AGE", "FACE_CHECK")


def embedded_environment(tmp_path: Path) -> dict[str, str]:
    """`scripts/run`'s setup: SQLite, the ORM broker at the default worker count, local files and the offline
    generator, with DEBUG on as its `.env` has it."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(NOT_PASSED_ON)}
    return environment | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ENV_FILE": "/nonexistent/.env",
        "SECRET_KEY": "under-load-" + "s" * 40,
        "DEBUG": "true",
        "GENERATION_BACKEND": "offline",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONPATH": str(ROOT),
    }


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def start_manage(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def task_code(printed: str) -> str:
    found = re.search(r"^Task (\w{8}): ", printed, re.MULTILINE)
    assert found, printed
    return found.group(1)


class Browser:
    """A staff user's browser against the web server: its own cookies, redirects recorded, not followed."""

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            return None

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            self.NoRedirects(),
        )

    def call(self, path: str, form: dict | None = None) -> tuple[int, str, str]:
        """(status, Location, body) of one request."""
        request = urllib.request.Request(self.base + path, data=urlencode(form).encode() if form else None)
        request.add_header("Referer", self.base + path)
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.headers.get("Location", ""), response.read().decode()
        except urllib.error.HTTPError as answer:
            with answer:
                return answer.code, answer.headers.get("Location", ""), answer.read().decode(errors="replace")

    @staticmethod
    def hidden(body: str, name: str) -> str:
        found = re.search(rf'name="{name}" value="([^"]+)"', body)
        assert found, f"no {name} in the page:\n{body[:2000]}"
        return found.group(1)

    def sign_in(self, email: str, password: str) -> None:
        _, _, body = self.call("/accounts/login/")
        form = {"csrfmiddlewaretoken": self.hidden(body, "csrfmiddlewaretoken"), "username": email,
                "password": password}  # fmt: skip
        status, location, _ = self.call("/accounts/login/", form)
        assert (status, location) == (302, "/tasks/"), status

    def submit_task(self, description: str) -> tuple[int, str]:
        """The new-task form, filled in and posted as a person would: (status, Location) of the POST."""
        status, _, body = self.call("/tasks/new/")
        if status != 200:
            return status, ""
        form = {
            "csrfmiddlewaretoken": self.hidden(body, "csrfmiddlewaretoken"),
            "submission_token": self.hidden(body, "submission_token"),
            "persona_description": description,
            "bio_language": "English",
            "number_to_generate": "1",
            "images_per_persona": str(IMAGES),
        }
        status, location, _ = self.call("/tasks/new/", form)
        return status, location


def wait_for_web_server(base: str, process: subprocess.Popen, log: Path) -> None:
    def answers() -> bool:
        assert process.poll() is None, log.read_text(errors="replace")
        with contextlib.suppress(OSError), urllib.request.urlopen(base + "/accounts/login/", timeout=2) as response:
            return response.status == 200
        return False

    wait_until(answers, timeout=60, message="the web server")


def task_outcomes(database: Path) -> list[tuple[str, str, int, int]]:
    """(code, status, personas asked for, personas with all their images) of every task, read from the file."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        return db.execute(
            "SELECT t.task_id, t.status, t.number_to_generate, "
            "(SELECT COUNT(*) FROM generation_results r WHERE r.task_id = t.id AND json_array_length(r.images) = ?) "
            "FROM generation_tasks t ORDER BY t.id",
            [IMAGES],
        ).fetchall()


def what_went_wrong(database: Path, logs: dict[str, str]) -> str:
    """The tasks' notes and every warning the processes logged: why a persona is missing."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        notes = db.execute("SELECT task_id, error_log FROM generation_tasks WHERE error_log IS NOT NULL").fetchall()
    warnings = [f"{name}: {line}" for name, text in logs.items() for line in text.splitlines() if " WARNING " in line
                or " ERROR " in line]  # fmt: skip
    return "\n".join([*(f"task {code}: {note}" for code, note in notes), *warnings[-60:]])


def all_completed(database: Path) -> list[tuple[str, str, int, int]] | None:
    outcomes = task_outcomes(database)
    return outcomes if all(status == "completed" for _, status, _, _ in outcomes) else None


def test_the_embedded_default_loses_nothing_with_a_worker_a_sync_task_a_face_check_and_the_form_at_once(tmp_path):
    env = embedded_environment(tmp_path)
    database = tmp_path / "db.sqlite3"
    admin = ("ensure_superuser", "--email", "admin@example.com", "--password", PASSWORD)
    for step in (("migrate", "--noinput"), admin):
        done = manage(env, *step)
        assert done.returncode == 0, done.stdout + done.stderr
    seeded = manage(env, "generate", "Lighthouse keepers of Brittany", "--count", str(CHECKED_TASK), "--images",
                    str(IMAGES), "--sync", "--yes")  # fmt: skip
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    checked_code = task_code(seeded.stdout)

    port = free_port()
    web_log, sync_log, faces_log = tmp_path / "web.log", tmp_path / "sync.log", tmp_path / "check_faces.log"
    cluster = Cluster(env=env, log_path=tmp_path / "qcluster.log").start()
    web = start_manage(env, web_log, "runserver", "--noreload", f"127.0.0.1:{port}")
    started = time.monotonic()
    commands: list[subprocess.Popen] = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_web_server(base, web, web_log)
        browser = Browser(base)
        browser.sign_in("admin@example.com", PASSWORD)
        queued = manage(env, "generate", "Night-shift bakers in Lisbon", "--count", str(BIG_TASK), "--images",
                        str(IMAGES), "--yes")  # fmt: skip
        assert queued.returncode == 0, queued.stdout + queued.stderr
        wait_until(
            lambda: any(status == "generating-data" for _, status, _, _ in task_outcomes(database)),
            timeout=60,
            message="the worker to start the big task",
        )
        commands = [
            start_manage(env, sync_log, "generate", "Retired ferry captains on the Bosphorus", "--count",
                         str(SYNC_TASK), "--images", str(IMAGES), "--sync", "--yes"),
            start_manage(env, faces_log, "check_faces", checked_code),
        ]  # fmt: skip
        posts = []
        for n in range(FORM_POSTS):
            posts.append(browser.submit_task(f"Form task {n} under load: beekeepers of the Cévennes"))
            time.sleep(0.5)
        sync, faces = (command.wait(300) for command in commands)
        outcomes = wait_until(
            lambda: all_completed(database),
            timeout=300,
            interval=1,
            message="every task to complete",
        )
        elapsed = time.monotonic() - started
    finally:
        for process in [*commands, web]:
            stop_process_group(process)
        cluster.stop()
    logs = {path.name: path.read_text(errors="replace") for path in (cluster.log_path, web_log, sync_log, faces_log)}
    print(f"under load: {len(outcomes)} tasks, {sum(row[2] for row in outcomes)} personas in {elapsed:.1f} s")

    assert [status for status, _ in posts] == [302] * FORM_POSTS, (posts, logs[web_log.name][-5000:])
    assert all(re.fullmatch(r"/tasks/\w{8}/", location) for _, location in posts), posts
    assert sync == 0, logs[sync_log.name][-5000:]
    assert faces == 0, logs[faces_log.name][-5000:]
    assert logs[faces_log.name].count(" (result ") == CHECKED_TASK, logs[faces_log.name][-3000:]
    # Every persona of every task, with all its images: the big one, the --sync one, the checked one, the form's.
    assert len(outcomes) == 3 + FORM_POSTS
    assert sorted(row[2] for row in outcomes)[-3:] == [CHECKED_TASK, SYNC_TASK, BIG_TASK]
    wanted = [("completed", asked) for _, _, asked, _ in outcomes]
    assert [(status, made) for _, status, _, made in outcomes] == wanted, what_went_wrong(database, logs)
    for name, text in logs.items():
        assert LOCKED not in text, f"{name} reports a lock:\n" + "\n".join(
            line for line in text.splitlines() if LOCKED in line
        )


def test_a_write_lock_held_past_the_busy_timeout_is_waited_out_and_not_reported(tmp_path):
    """Someone holds SQLite's write lock longer than the busy timeout: `generate --sync` waits for it (saying that it
    waits) and then makes its task, instead of crashing on "database is locked"."""
    env = embedded_environment(tmp_path) | {"SQLITE_BUSY_TIMEOUT": "1"}
    for step in (("migrate", "--noinput"), ("ensure_superuser", "--email", "admin@example.com")):
        done = manage(env, *step)
        assert done.returncode == 0, done.stdout + done.stderr
    log = tmp_path / "sync.log"
    with contextlib.closing(sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        command = start_manage(env, log, "generate", "Glassblowers of Murano", "--count", "2", "--sync", "--yes")
        try:
            # Released only once the command has met the lock for a whole busy timeout, and said so.
            wait_until(
                lambda: "waiting again" in log.read_text(errors="replace") or command.poll() is not None,
                timeout=120,
                interval=0.05,
                message="the command to wait for the lock",
            )
        finally:
            holder.execute("ROLLBACK")
        returncode = command.wait(120)
    printed = log.read_text(errors="replace")
    assert "waiting again" in printed, printed
    assert returncode == 0, printed
    assert LOCKED not in printed, printed
    assert "Status: completed. 2 of 2 persona(s)" in printed, printed
