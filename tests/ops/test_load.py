"""A load test of the real stack: gunicorn (3 workers x 4 threads) on loopback, serving the test
database. 20 staff users sign in through the real sign-in form at the same time, then each loops for
LOAD_SECONDS (30 by default) over a weighted mix of what an operator does: the task list, a task
page, the progress JSON the page polls, and a new task submitted through the form. Every request
must answer as expected (no 500, no lost session, no refused form). The latency of each request is
recorded; count, p50, p95 and max per endpoint are printed and written to
test-artifacts/load-report.json. Latencies are reported, not asserted: on a small CI machine the
server and the 20 clients share the same cores.

The server runs with DEBUG=true only so that plain http on loopback is not redirected to https and
the cookies are not marked Secure; everything else is the production configuration (CONN_MAX_AGE 0,
the ORM job broker). No worker cluster runs: submitted tasks stay pending."""

from __future__ import annotations

import http.cookiejar
import json
import math
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.models import User
from generation.models import GenerationResult, GenerationTask
from testkit.servers import ROOT, database_url, free_port, stop_process_group
from tests.conftest import requires_postgresql

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]

SECONDS = float(os.environ.get("LOAD_SECONDS", "30"))
CLIENTS = 20
TASKS_PER_USER = 5
RESULTS_PER_TASK = 12
MAX_REQUESTS = 30_000  # all clients together: a hard stop whatever the duration
REQUEST_TIMEOUT = 30
PASSWORD = "a load-test password 7"
# What an operator does, by weight: the task page polls its progress every few seconds.
MIX = {"task list": 3, "task page": 3, "progress": 4, "submit": 1}
REPORT = ROOT / "test-artifacts" / "load-report.json"
Status = GenerationTask.Status


# --- The server --------------------------------------------------------------------------------------


@pytest.fixture
def server(transactional_db, tmp_path):
    """gunicorn on a free loopback port, on the test database; always stopped, even when start-up fails."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENAI_", "Q_", "REDIS_"))}
    environment |= {
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "true",
        "ENV_FILE": "/nonexistent/.env",
        "ALLOWED_HOSTS": "127.0.0.1",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "LOG_LEVEL": "WARNING",
        # Each operator submits many tasks with no worker running: the cap on open tasks has its own tests.
        "MAX_OPEN_TASKS_PER_USER": "",
    }
    command = [sys.executable, "-m", "gunicorn", "avatar_project.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "3", "--threads", "4"]
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_serving(base, process, log_path)
            yield base
        finally:
            stop_process_group(process)
    errors = [line for line in log_path.read_text(errors="replace").splitlines() if "Traceback" in line]
    assert not errors, "gunicorn logged errors:\n" + log_path.read_text(errors="replace")[-5000:]


def wait_until_serving(base: str, process: subprocess.Popen, log_path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with opener.open(base + "/accounts/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer within 30 s:\n{log_path.read_text(errors='replace')}")


# --- The data ----------------------------------------------------------------------------------------


def seed() -> list[tuple[str, list[str]]]:
    """20 staff users, each with tasks in every state and their personas. The password is hashed once
    (PBKDF2 costs a good fraction of a second) and the hash shared. Returns (email, task ids) per user."""
    hashed = make_password(PASSWORD)
    users = User.objects.bulk_create(
        User(email=f"load{n:02d}@example.com", password=hashed, is_staff=True) for n in range(CLIENTS)
    )
    statuses = [Status.COMPLETED, Status.GENERATING_IMAGES, Status.FAILED, Status.GENERATING_DATA, Status.PENDING]
    ended = timezone.now() - timedelta(minutes=5)
    tasks = GenerationTask.objects.bulk_create(
        GenerationTask(
            task_code=uuid.uuid4().hex[:8],
            user=user,
            persona_description=f"Load-test personas {n}: night-shift nurses in Porto who run marathons",
            bio_language="Portuguese",
            number_to_generate=RESULTS_PER_TASK,
            images_per_persona=4,
            status=status,
            completed_at=ended if status in GenerationTask.FINISHED_STATUSES else None,
        )
        for user in users
        for n, status in enumerate(statuses[:TASKS_PER_USER])
    )
    GenerationResult.objects.bulk_create(
        GenerationResult(
            task=task,
            batch_number=n // 5 + 1,
            firstname=f"Inês{n}",
            lastname="Ferreira",
            gender="fm"[n % 2],
            bio_facebook="Enfermeira de noite, maratonista de dia.",
            bio_instagram="🏃‍♀️ Porto · 42 km · café",
            bio_x="Turnos, treinos e francesinhas.",
            bio_tiktok="Um dia na vida de uma enfermeira que corre.",
            base_image_url=f"https://cdn.example.com/avatars/{task.task_code}/{n}/base.png",
            images=[f"https://cdn.example.com/avatars/{task.task_code}/{n}/{i}.jpg" for i in range(1, 5)],
        )
        for task in tasks
        for n in range(RESULTS_PER_TASK)
    )
    ids = defaultdict(list)
    for task in tasks:
        ids[task.user_id].append(task.task_code)
    return [(user.email, ids[user.pk]) for user in users]


# --- The clients ---------------------------------------------------------------------------------------


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to record (and to check), not something to follow."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Recorder:
    """Latencies and failures of every request, from every client thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.requests = 0

    def take_turn(self) -> bool:
        with self.lock:
            if self.requests >= MAX_REQUESTS:
                return False
            self.requests += 1
            return True

    def record(self, endpoint: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            self.samples[endpoint].append(seconds)
            if error:
                self.errors.append(f"{endpoint}: {error}")

    def fail(self, endpoint: str, error: str) -> None:
        """A wrong answer found after its latency was recorded (wrong page, wrong redirect)."""
        with self.lock:
            self.errors.append(f"{endpoint}: {error}")


class Operator:
    """One staff user in a browser: its own cookie jar, no proxy, redirects not followed."""

    def __init__(self, base: str, email: str, task_codes: list[str], recorder: Recorder, seed: int) -> None:
        self.base, self.email, self.task_codes, self.recorder = base, email, list(task_codes), recorder
        self.random = random.Random(seed)
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            NoRedirects(),
        )

    def call(self, endpoint: str, path: str, expect: int, form: dict | None = None, referer: str = "") -> tuple:
        """One request; returns (status, headers, body), or (None, None, b"") when it failed outright."""
        data = urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data)
        if referer:
            request.add_header("Referer", self.base + referer)
        start = time.perf_counter()
        try:
            try:
                with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                    status, headers, body = response.status, response.headers, response.read()
            except urllib.error.HTTPError as answer:  # 3xx (not followed), 4xx and 5xx
                with answer:
                    status, headers, body = answer.code, answer.headers, answer.read()
        except Exception as error:  # refused, reset, timed out: the server could not answer
            self.recorder.record(endpoint, time.perf_counter() - start, f"{type(error).__name__}: {error}")
            return None, None, b""
        error = None if status == expect else f"{status} (expected {expect}) for {path}"
        self.recorder.record(endpoint, time.perf_counter() - start, error)
        return status, headers, body

    def csrf_token(self, body: bytes) -> str:
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        return match.group(1).decode() if match else ""

    def sign_in(self) -> bool:
        status, _, body = self.call("sign-in form", "/accounts/login/", 200)
        if status != 200:
            return False
        form = {"csrfmiddlewaretoken": self.csrf_token(body), "username": self.email, "password": PASSWORD, "next": ""}
        status, headers, _ = self.call("sign-in post", "/accounts/login/", 302, form, referer="/accounts/login/")
        if status == 302 and headers["Location"] != "/tasks/":
            self.recorder.fail("sign-in post", f"signed in but sent to {headers['Location']}")
            return False
        return status == 302

    def step(self) -> None:
        action = self.random.choices(list(MIX), weights=list(MIX.values()))[0]
        if action == "task list":
            status, _, body = self.call("task list", "/tasks/", 200)
            if status == 200 and b"Your tasks" not in body:
                self.recorder.fail("task list", "the list page is not the signed-in task list")
        elif action == "task page":
            task_code = self.random.choice(self.task_codes)
            self.call("task page", f"/tasks/{task_code}/", 200)
        elif action == "progress":
            task_code = self.random.choice(self.task_codes)
            status, _, body = self.call("progress", f"/tasks/{task_code}/progress/", 200)
            if status == 200 and "status" not in json.loads(body):
                self.recorder.fail("progress", "progress JSON without a status")
        else:
            self.submit()

    def submit(self) -> None:
        status, _, body = self.call("new-task form", "/tasks/new/", 200)
        if status != 200:
            return
        token = re.search(rb'name="submission_token" value="([^"]+)"', body)
        form = {
            "csrfmiddlewaretoken": self.csrf_token(body),
            "persona_description": f"Load-test task from {self.email}: cyclists in Utrecht, {uuid.uuid4().hex[:6]}",
            "bio_language": "Dutch",
            "number_to_generate": str(self.random.randint(1, 3)),
            "images_per_persona": self.random.choice(["4", "8"]),
            # The form renders a fresh token each time; a second post of the same one makes no task.
            "submission_token": token.group(1).decode() if token else str(uuid.uuid4()),
        }
        status, headers, _ = self.call("submit task", "/tasks/new/", 302, form, referer="/tasks/new/")
        if status == 302:
            made = re.fullmatch(r"/tasks/([0-9a-f]{8})/", headers["Location"])
            if made:
                self.task_codes.append(made.group(1))
            else:
                self.recorder.fail("submit task", f"submitted but sent to {headers['Location']}")

    def run(self, signed_in: threading.Barrier) -> None:
        try:
            ok = self.sign_in()
        finally:
            signed_in.wait()  # the timed window starts when every client has signed in
        deadline = time.monotonic() + SECONDS
        while ok and time.monotonic() < deadline and self.recorder.take_turn():
            try:
                self.step()
            except Exception as error:  # an answer this client could not read (say, progress that is not JSON)
                self.recorder.fail("client", f"{type(error).__name__}: {error}")
                return


# --- The report -------------------------------------------------------------------------------------


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def figures(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 1),
        "p95_ms": round(percentile(ordered, 0.95) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def report(recorder: Recorder, elapsed: float) -> dict:
    timed = [name for name in recorder.samples if not name.startswith("sign-in")]
    every = [seconds for name in timed for seconds in recorder.samples[name]]
    return {
        "clients": CLIENTS,
        "server": "gunicorn, 3 workers x 4 threads, DEBUG=true, CONN_MAX_AGE=0",
        "cpu_count": os.cpu_count(),
        "seconds": round(elapsed, 1),
        "requests": len(every),
        "requests_per_second": round(len(every) / elapsed, 1) if elapsed else 0.0,
        "errors": len(recorder.errors),
        "endpoints": {name: figures(samples) for name, samples in sorted(recorder.samples.items())},
        "overall": figures(every) if every else None,
    }


def print_table(summary: dict) -> None:
    lines = [
        "",
        f"Load: {summary['clients']} clients for {summary['seconds']} s against {summary['server']} "
        f"on {summary['cpu_count']} CPU(s), shared with the clients",
        f"{'endpoint':<16}{'count':>8}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}",
    ]
    rows = [*summary["endpoints"].items(), ("overall (timed)", summary["overall"])]
    lines += [f"{name:<16}{f['count']:>8}{f['p50_ms']:>10}{f['p95_ms']:>10}{f['max_ms']:>10}" for name, f in rows]
    lines.append(f"{summary['requests']} requests in the timed window, {summary['requests_per_second']} requests/s, "
                 f"{summary['errors']} error(s)")  # fmt: skip
    print("\n".join(lines))


def test_twenty_operators_at_once_get_every_page_and_every_submission_through(server):
    accounts = seed()
    recorder = Recorder()
    signed_in = threading.Barrier(CLIENTS + 1)
    operators = [Operator(server, email, ids, recorder, n) for n, (email, ids) in enumerate(accounts)]
    threads = [threading.Thread(target=o.run, args=(signed_in,), daemon=True) for o in operators]
    for thread in threads:
        thread.start()
    signed_in.wait(timeout=120)
    started = time.monotonic()
    for thread in threads:
        thread.join(SECONDS + REQUEST_TIMEOUT + 10)
    elapsed = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads), "a client is stuck"

    summary = report(recorder, elapsed)
    print_table(summary)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(summary, indent=2) + "\n")

    assert recorder.errors == [], f"{len(recorder.errors)} failed request(s), first ones: {recorder.errors[:10]}"
    assert len(recorder.samples["sign-in post"]) == CLIENTS
    assert all(recorder.samples[name] for name in ("task list", "task page", "progress", "submit task"))
    submitted = GenerationTask.objects.filter(persona_description__startswith="Load-test task from").count()
    assert submitted == len(recorder.samples["submit task"])
