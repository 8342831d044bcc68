"""What the pipeline benchmarks (1 pipeline, 2 rate limit, 3 overhead, 7 memory) share: a fresh PostgreSQL
database per benchmark, the loopback OpenAI server, moto's S3 server, worker clusters, and Django code run in
child processes.

Every piece is a context manager, entered on one ExitStack per benchmark, so that whatever happens the clusters
are stopped (and their process groups killed if they linger), moto is stopped and the database is dropped.

Where each piece runs, and why:
- The benchmark process itself never sets Django up. The runner runs several benchmarks in one process, and
  Django's settings (the database above all) can be set up once per process; so every piece of Django work
  (submitting a task, bulk-inserting a data set, timing a unit in-process) runs in a child process,
  `python -m bench.harness module:function '<json kwargs>'`, with the benchmark's own environment. The
  benchmark process reads the results with plain SQL (psycopg).
- The fake OpenAI server runs in a thread of the benchmark process: the process has nothing else to do (it
  polls one row every 0.1 s), so the server has its GIL to itself, and its counters (calls per endpoint and
  status, accepted image calls' times, peak concurrency) are read directly, with no stats endpoint.
- moto runs as a subprocess (`python -m moto.server`): it parses and stores every upload, which is real CPU
  work that must not share a GIL with the fake server.
- Workers are `manage.py qcluster` processes (testkit.servers.Cluster), each in a process group of its own."""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import math
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import redis

from testkit.fake_openai import CHAT_PATH, EDITS_PATH, GENERATIONS_PATH, FakeOpenAI
from testkit.servers import Cluster, S3Bucket, new_bucket

ROOT = Path(__file__).resolve().parent.parent
RESULT_MARK = "BENCH-RESULT "
# Workers and children sign and check django-q2 jobs with it: one per benchmark process.
SECRET_KEY = secrets.token_urlsafe(50)
API_KEY = "sk-bench-0123456789abcdef"
DESCRIPTION = "Night-shift nurses in Manchester who run half-marathons"
PERSONAS_PER_BATCH = 5  # the project's default, which the API-call counts below assume
# Environment variables a child or worker must not inherit from whoever started the benchmark.
INHERITED_PREFIXES_DROPPED = ("AWS_", "OPENAI_", "Q_")
INHERITED_DROPPED = {"DATABASE_URL", "REDIS_URL", "ENV_FILE", "GRID_LAYOUT_8", "PERSONAS_PER_BATCH"}


def log(message: str) -> None:
    print(f"   {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def cpu_times() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / ticks, sum(fields[:8]) / ticks


def cpu_busy_since(start: tuple[float, float]) -> float:
    """The share of the machine's CPU time that was busy since `start` (from cpu_times())."""
    busy, total = cpu_times()
    return (busy - start[0]) / max(1e-9, total - start[1])


def process_cpu() -> dict[str, float]:
    """CPU seconds used so far, by (pid, pgid) of every process: its own and, for a parent, its reaped children's."""
    used = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        utime, stime, cutime, cstime = (int(v) / ticks for v in fields[11:15])
        used[(int(entry), int(fields[2]), comm)] = (utime + stime, cutime + cstime)
    return used


class CpuMeter:
    """CPU seconds spent between start() and stop() by: the workers (the cluster's process group), moto's process
    group, this process (the fake API server's threads, the polling), and PostgreSQL (every server process: other
    databases' work on this machine counts too)."""

    def __init__(self, cluster_pgid: int, moto_pgid: int) -> None:
        self.groups = {"workers": cluster_pgid, "moto": moto_pgid}

    def _sample(self) -> dict[str, float]:
        totals = dict.fromkeys(("workers", "moto", "fake API + bench", "postgres"), 0.0)
        for (pid, pgid, comm), (own, children) in process_cpu().items():
            for name, group in self.groups.items():
                if pgid == group:
                    totals[name] += own + children
            if pid == os.getpid():
                totals["fake API + bench"] += own
            elif comm.startswith("postgres"):
                totals["postgres"] += own + children
        return totals

    def start(self) -> CpuMeter:
        self.began, self.machine = self._sample(), cpu_times()
        return self

    def stop(self) -> dict[str, float]:
        ended = self._sample()
        used = {name: round(ended[name] - self.began[name], 2) for name in ended}
        return used | {"machine_busy_share": round(cpu_busy_since(self.machine), 3)}


# -- PostgreSQL --------------------------------------------------------------------------------------------------


def server_url() -> str:
    """A URL of the PostgreSQL server (its database does not matter): DATABASE_URL when it names one, else the
    local server scripts/local-postgres finds, starts or sets up."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return url.replace("pgsql://", "postgres://", 1)
    found = subprocess.run([str(ROOT / "scripts" / "local-postgres")], capture_output=True, text=True, timeout=60)
    if found.returncode != 0 or not found.stdout.strip():
        raise RuntimeError(f"no PostgreSQL for the benchmarks: {found.stderr.strip()}")
    return found.stdout.strip()


def with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def admin_connection(url: str) -> psycopg.Connection:
    return psycopg.connect(with_database(url, "postgres"), autocommit=True, connect_timeout=10)


@contextlib.contextmanager
def database(bench: str) -> Iterator[str]:
    """A new database `bench_<bench>_<random>`, a copy of the run's migrated template; yields its URL. Dropped at
    the end, WITH (FORCE) so that connections a killed worker left behind cannot keep it alive."""
    url = server_url()
    template = migrated_template(url)
    name = f"bench_{bench}_{secrets.token_hex(4)}"
    with admin_connection(url) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    db_url = with_database(url, name)
    try:
        yield db_url
    finally:
        close_django_children(lambda key: json.loads(key).get("DATABASE_URL") == db_url)
        drop_database(url, name)


_template: str | None = None


def migrated_template(url: str) -> str:
    """A database migrated once per run by `manage.py migrate` in a subprocess, which each benchmark's database
    copies (a fraction of a second, where a migrate takes over one); dropped when the run exits."""
    global _template
    if _template is None:
        name = f"bench_template_{secrets.token_hex(4)}"
        with admin_connection(url) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        atexit.register(drop_database, url, name)
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=ROOT,
            env=child_env({"DATABASE_URL": with_database(url, name)}),
            capture_output=True,
            text=True,
            timeout=180,
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"migrate failed on {name}:\n{migrated.stderr[-3000:]}")
        _template = name
    return _template


def drop_database(url: str, name: str) -> None:
    with admin_connection(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(db_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(db_url, autocommit=True, connect_timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def wait_tasks(db_url: str, task_pks: list[int], timeout: float, cluster: Workers | None = None) -> list[dict]:
    """Poll the task rows (every 0.1 s) until each has ended; returns them. A dead cluster ends the wait; a lost
    database connection (a server restarted under us) is opened again."""
    deadline = time.monotonic() + timeout
    keys = ("id", "status", "created_at", "completed_at", "error_log")
    conn = None
    try:
        while True:
            try:
                conn = conn or psycopg.connect(db_url, autocommit=True, connect_timeout=10)
                rows = conn.execute(
                    "SELECT id, status, created_at, completed_at, error_log FROM generation_tasks WHERE id = ANY(%s)",
                    (task_pks,),
                ).fetchall()
            except psycopg.OperationalError:
                if conn is not None:
                    conn.close()
                conn, rows = None, []
            if rows and all(status in ("completed", "failed") for _, status, *_ in rows):
                return [dict(zip(keys, row, strict=True)) for row in rows]
            if cluster is not None and not cluster.alive():
                raise RuntimeError(f"the worker cluster died:\n{cluster.log_tail()}")
            if time.monotonic() > deadline:
                states = {row[0]: row[1] for row in rows}
                tail = cluster.log_tail() if cluster else ""
                raise TimeoutError(f"tasks {states} not finished after {timeout:.0f} s\n{tail}")
            time.sleep(0.1)
    finally:
        if conn is not None:
            conn.close()


UNIT_LOG = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ generation\.pipeline "
    r"task (\w+) unit (\w+):(\d+) try \d+: (started|done|stored base|stored \d+ tiles)",
    re.MULTILINE,
)


JOB_LOG = re.compile(r"(Process-\w+) processing \w+-unit-(\d+) ")


def unit_timings(db_url: str, task_pk: int, cluster_log: str) -> list[dict]:
    """Each unit of a task: its kind, when it was queued (our row), when a worker started and ended it (the
    pipeline's own log lines, which the workers stamp to the millisecond; django-q2's job rows cannot tell, their
    `started` is stamped when the job is queued), and which worker process ran it (django-q2's log line)."""
    rows = query(
        db_url,
        """SELECT u.id, g.task_id, u.kind, u.number, u.queued_at FROM generation_units u
             JOIN generation_tasks g ON g.id = u.task_id WHERE u.task_id = %s""",
        (task_pk,),
    )
    seen: dict[tuple[str, str, int], dict[str, datetime]] = {}
    for stamp, task_code, kind, number, event in UNIT_LOG.findall(cluster_log):
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").astimezone()  # the workers' local time
        event = "tiles" if event.endswith("tiles") else event.replace("stored ", "")
        seen.setdefault((task_code, kind, int(number)), {})[event] = at  # tiles: the last grid's
    workers = {int(unit_pk): name for name, unit_pk in JOB_LOG.findall(cluster_log)}
    timings = []
    for unit_pk, task_code, kind, number, queued in rows:
        events = seen.get((task_code, kind, number), {})
        if "started" in events and "done" in events:
            timings.append(
                {
                    "id": unit_pk,
                    "kind": kind,
                    "worker": workers.get(unit_pk, ""),
                    "queued": queued,
                    "started": events["started"],
                    "stopped": events["done"],
                    "base": events.get("base"),
                    "tiles": events.get("tiles"),
                }
            )
    return sorted(timings, key=lambda unit: unit["started"])


def worker_gaps(units: list[dict]) -> list[float]:
    """Seconds each worker sat between ending a unit and starting its next one (of the same kind): the queue's and
    the job runner's cost per unit, whatever the unit waited before a worker was free."""
    by_worker: dict[str, list[dict]] = {}
    for unit in sorted(units, key=lambda u: u["started"]):
        by_worker.setdefault(unit["worker"], []).append(unit)
    return [
        (later["started"] - earlier["stopped"]).total_seconds()
        for runs in by_worker.values()
        for earlier, later in zip(runs, runs[1:], strict=False)
        if earlier["kind"] == later["kind"]
    ]


# -- child processes running Django --------------------------------------------------------------------------------


def child_env(env: dict[str, str]) -> dict[str, str]:
    """This process' environment without anything that configures the project, plus `env`."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(INHERITED_PREFIXES_DROPPED) and k not in INHERITED_DROPPED
    }
    return (
        inherited
        | {
            "DJANGO_SETTINGS_MODULE": "avatar_project.settings",
            "ENV_FILE": "/nonexistent/.env",
            "SECRET_KEY": SECRET_KEY,
            "DEBUG": "false",
            "PYTHONPATH": str(ROOT),
        }
        | env
    )


def django_call(env: dict[str, str], target: str, timeout: float = 300, **kwargs):
    """Run `target` ("module:function") with kwargs in a child process with Django set up on `env`; returns what
    the function returned (JSON). The child is kept for later calls on the same environment (Django's start-up
    costs most of a second) until that environment's database is dropped."""
    key = json.dumps(env, sort_keys=True)
    child = django_child(env)
    answer = child.call(target, kwargs, timeout)
    if answer is None or "error" in answer:
        close_django_children(lambda other: other == key)
        raise RuntimeError(f"{target} failed:\n{answer['error'] if answer else child.stderr_tail()}")
    return answer["result"]


class DjangoChild:
    """`python -m bench.harness`: Django set up on one environment, answering one JSON call a line."""

    def __init__(self, env: dict[str, str]) -> None:
        # A file, not a pipe: a pipe nobody reads would fill up and block the child. Closed in close().
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.harness"],
            cwd=ROOT,
            env=child_env(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            start_new_session=True,
        )

    def call(self, target: str, kwargs: dict, timeout: float) -> dict | None:
        """The answer to one call, skipping whatever else the child prints; None if it ends or runs out of time."""
        self.process.stdin.write(json.dumps({"target": target, "kwargs": kwargs}) + "\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], deadline - time.monotonic())
            if not ready:
                break
            line = self.process.stdout.readline()
            if not line:
                return None
            if line.startswith(RESULT_MARK):
                return json.loads(line[len(RESULT_MARK) :])
        self.process.kill()
        return None

    def stderr_tail(self, chars: int = 4000) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-chars:].decode(errors="replace")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        if self.process.poll() is None:
            self.process.kill()
        self.stderr.close()


_django_children: dict[str, DjangoChild] = {}


def django_child(env: dict[str, str]) -> DjangoChild:
    """The kept child for `env`, started now if there is none: call it early (as Workers does) and Django sets
    up while something else runs."""
    key = json.dumps(env, sort_keys=True)
    child = _django_children.get(key)
    if child is None or child.process.poll() is not None:
        child = _django_children[key] = DjangoChild(env)
    return child


def close_django_children(which=lambda key: True) -> None:
    for key in [key for key in _django_children if which(key)]:
        _django_children.pop(key).close()


atexit.register(close_django_children)


def submit(personas: int, images: int, tasks: int = 1) -> list[int]:
    """(In a child.) Tasks submitted as the web app does: a pending task, its start job queued on commit."""
    import uuid

    from django.conf import settings

    from accounts.models import User
    from generation.services import submit_task

    per_user = settings.MAX_OPEN_TASKS_PER_USER or tasks  # more tasks than one person may have open: more people
    users = [User.objects.create_user(f"bench-{uuid.uuid4().hex[:12]}@example.com") for _ in range(0, tasks, per_user)]
    return [
        submit_task(
            user=users[number // per_user],
            persona_description=DESCRIPTION,
            bio_language="English",
            number_to_generate=personas,
            images_per_persona=images,
        ).pk
        for number in range(tasks)
    ]


def images_stage_task(personas: int, images: int) -> int:
    """(In a child.) A data set built by bulk inserts: a task already in its images stage, with `personas`
    personas and one pending images unit each, as the data stage leaves it. Nothing is queued."""
    import uuid

    from accounts.models import User
    from generation.models import GenerationResult, GenerationTask, PipelineUnit

    user = User.objects.create_user(f"bench-{uuid.uuid4().hex[:12]}@example.com")
    task = GenerationTask.objects.create(
        user=user,
        persona_description=DESCRIPTION,
        bio_language="English",
        number_to_generate=personas,
        images_per_persona=images,
        status=GenerationTask.Status.GENERATING_IMAGES,
    )
    results = GenerationResult.objects.bulk_create(
        GenerationResult(
            task=task,
            batch_number=n // PERSONAS_PER_BATCH + 1,
            firstname=f"Bench{n}",
            lastname=f"Persona{n}",
            gender="fm"[n % 2],
            bio_facebook="Runs before night shifts.",
            bio_instagram="Trainers, tea, 5 a.m. miles.",
            bio_x="Nurse. Runner. Mostly tired.",
            bio_tiktok="Half-marathon prep between shifts.",
        )
        for n in range(personas)
    )
    PipelineUnit.objects.bulk_create(
        PipelineUnit(task=task, kind=PipelineUnit.Kind.IMAGES, number=r.pk, result_id=r.pk) for r in results
    )
    return task.pk


def start_dispatch(task_pk: int) -> None:
    """(In a child.) Queue the first window of a task's pending units, as the stage change does."""
    from generation.pipeline import lifecycle

    lifecycle.dispatch(task_pk)


def api_calls_needed(personas: int, images: int, layout_8: str = "2x2+2x2") -> dict[str, int]:
    """The calls a task needs when nothing fails: one chat per batch, one base per persona, one edit per grid."""
    grids = 1 if images == 4 or layout_8 == "2x4" else 2
    return {
        "chat": math.ceil(personas / PERSONAS_PER_BATCH),
        "generations": personas,
        "edits": personas * grids,
    }


# -- the loopback OpenAI server ------------------------------------------------------------------------------------


class CountingFake(FakeOpenAI):
    """The loopback OpenAI server, counting calls per endpoint and status and stamping each accepted image call.

    `rate_window` is the window of the images-per-minute limit: 60 s as the fake has it, or shorter for a short
    run that must still reach the limit's steady state (the same rate, with less room to burst: stricter)."""

    ENDPOINTS = {CHAT_PATH: "chat", GENERATIONS_PATH: "generations", EDITS_PATH: "edits"}

    def __init__(self, *, rate_window: float = 60.0, **kwargs) -> None:
        super().__init__(max_recorded=0, **kwargs)  # uploads are megabytes: keep none
        self.rate_window = rate_window
        self.counts: Counter[tuple[str, int]] = Counter()
        self.accepted_at: list[float] = []
        self.served: dict[str, list[float]] = {}  # seconds from a request's body read to its answer, by endpoint
        self._count_lock = threading.Lock()

    def _dispatch(self, method, path, headers, body):
        began = time.monotonic()
        reply = super()._dispatch(method, path, headers, body)
        with self._count_lock:
            endpoint = self.ENDPOINTS.get(path, path)
            self.counts[(endpoint, reply.status)] += 1
            self.served.setdefault(endpoint, []).append(time.monotonic() - began)
        return reply

    def _rate_limit(self):
        """The fake's sliding-window limit, with a window of `rate_window` seconds holding the per-minute figure
        scaled to it."""
        with self._lock:
            now = time.monotonic()
            while self._image_window and now - self._image_window[0] >= self.rate_window:
                self._image_window.popleft()
            allowed = None if self.images_per_minute is None else self.images_per_minute * self.rate_window / 60
            if allowed is not None and len(self._image_window) >= allowed:
                self.rate_limited += 1
                wait = max(1, math.ceil(self._image_window[0] + self.rate_window - now))
            else:
                self._image_window.append(now)
                self.accepted_images += 1
                self.accepted_at.append(now)
                return None
        message = f"Rate limit reached for images per minute: Limit {self.images_per_minute}. Try again in {wait}s."
        return self._error(429, "rate_limit_exceeded", message, wait)

    def reset_counts(self) -> None:
        self.reset()
        with self._count_lock:
            self.counts.clear()
            self.accepted_at.clear()
            self.served.clear()

    def made(self, endpoint: str, status: int | None = None) -> int:
        with self._count_lock:
            return sum(n for (name, code), n in self.counts.items() if name == endpoint and status in (None, code))

    def summary(self) -> dict[str, int]:
        with self._count_lock:
            return {f"{name} {code}": n for (name, code), n in sorted(self.counts.items())}


@contextlib.contextmanager
def fake_openai(**kwargs) -> Iterator[CountingFake]:
    fake = CountingFake(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()


# -- moto S3 ------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def moto_s3() -> Iterator[S3Bucket]:
    """A new bucket readable by anyone (the README's policy) on the run's S3 server. Its files go with the server,
    in memory, when the run ends."""
    port, pid = moto_server()
    bucket = new_bucket(f"http://127.0.0.1:{port}")
    bucket.server_pgid = pid  # its own session: pid = process group
    yield bucket


_moto: tuple[int, subprocess.Popen] | None = None


def moto_server() -> tuple[int, int]:
    """(port, pid) of moto's S3 server in a subprocess of its own, started on first use and stopped when the run
    exits; each benchmark has a bucket of its own on it."""
    global _moto
    if _moto is None or _moto[1].poll() is not None:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.moto_server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        atexit.register(stop_group, process, 5)

        def listening() -> bool:
            if process.poll() is not None:
                raise RuntimeError("moto.server exited at start")
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, 30, "moto's S3 server")
        _moto = (port, process)
    return _moto[0], _moto[1].pid


def stop_group(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM the process, then SIGKILL its whole process group if anything of it is left after `grace` s."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)


@contextlib.contextmanager
def redis_database() -> Iterator[str]:
    """A Redis database of our own, at REDIS_URL's server or 127.0.0.1:6379: an empty one among 1-12 (the tests use
    13). The jobs' keys are deleted at the end."""
    server = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379")
    base = f"{server.scheme}://{server.netloc}"
    for number in range(12, 0, -1):
        client = redis.Redis.from_url(f"{base}/{number}")
        if client.dbsize() == 0:
            break
        client.close()
    else:
        raise RuntimeError("no empty Redis database among 1-12")
    try:
        yield f"{base}/{number}"
    finally:
        for key in client.scan_iter("django_q:*"):
            client.delete(key)
        client.close()


# -- worker clusters ---------------------------------------------------------------------------------------------


def worker_env(
    db_url: str, fake: FakeOpenAI, bucket: S3Bucket, workers: int, *, redis_url: str = "", **extra: str
) -> dict[str, str]:
    """What a `manage.py qcluster` needs: the benchmark's database, API server, bucket and broker."""
    return {
        "DATABASE_URL": db_url,
        "GENERATION_BACKEND": "openai",
        "FACE_CHECK": "off",  # the loopback server's drawn portraits are no faces
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": API_KEY,
        "Q_WORKERS": str(workers),
        "REDIS_URL": redis_url,
        **bucket.env(),
        **extra,
    }


class Workers:
    """One `manage.py qcluster` (testkit.servers.Cluster), started and waited for until every worker is ready."""

    READY = re.compile(r"ready for work at (\d+)")

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.env = env
        self.name = name
        self.cluster: Cluster | None = None
        self.log_dir = tempfile.TemporaryDirectory(prefix=f"bench-{name}-")
        self.log_path = Path(self.log_dir.name) / "qcluster.log"

    def __enter__(self) -> Workers:
        workers = int(self.env["Q_WORKERS"])
        self.cluster = Cluster(env=child_env(self.env), log_path=self.log_path).start()
        django_child(self.env)  # sets Django up while the cluster starts: the first submit is then at once
        try:
            wait_for(
                lambda: (
                    self._check_alive()
                    and len(self.worker_pids(alive_only=False)) >= workers
                    and "running." in self.log()
                ),
                60,
                f"{self.name}: {workers} workers ready",
            )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.cluster is None:
            return
        try:
            self.cluster.kill()  # no clean shutdown needed: the database and the bucket go next
            self.cluster.log.close()
        finally:
            process = self.cluster.process
            if process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # whatever outlived the clean stop
            self.cluster = None
            if os.environ.get("BENCH_KEEP_LOGS"):  # where the time goes, line by line
                shutil.copy(self.log_path, Path(os.environ["BENCH_KEEP_LOGS"]) / f"{self.name}-qcluster.log")
            self.log_dir.cleanup()

    def _check_alive(self) -> bool:
        if not self.alive():
            raise RuntimeError(f"{self.name}: qcluster exited at start:\n{self.log_tail()}")
        return True

    @property
    def pgid(self) -> int:
        return self.cluster.process.pid  # started in a session of its own

    def alive(self) -> bool:
        return bool(self.cluster and self.cluster.process and self.cluster.process.poll() is None)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log()[-chars:]

    def worker_pids(self, alive_only: bool = True) -> list[int]:
        """Worker processes in the order they started (recycled workers' successors come later)."""
        pids = [int(pid) for pid in self.READY.findall(self.log())]
        return [pid for pid in pids if not alive_only or Path(f"/proc/{pid}").exists()]


def warm_up(cluster: Workers, env: dict[str, str], db_url: str, fake: CountingFake, personas: int = 0) -> None:
    """Run a small task (2 personas a worker unless told) through the cluster with the API answering at once and
    no rate limit, so that every worker has imported the pipeline and the API client and opened its connections,
    as long-running workers have; then forget its calls and its rate-limit slots."""
    saved = fake.chat_latency, fake.image_latency, fake.images_per_minute
    fake.chat_latency = fake.image_latency = 0.0
    fake.images_per_minute = None
    try:
        warm = django_call(env, "bench.harness:submit", personas=personas or 2 * int(env["Q_WORKERS"]), images=4)
        wait_tasks(db_url, warm, timeout=120, cluster=cluster)
    finally:
        fake.chat_latency, fake.image_latency, fake.images_per_minute = saved
    query(db_url, "DELETE FROM generation_rate_slots RETURNING name")
    fake.reset_counts()


# -- a child process: python -m bench.harness module:function '<json kwargs>' ----------------------------------------


def main() -> None:
    """A child for django_call: one JSON call a line on stdin, one answer a line on stdout."""
    import traceback

    import django

    django.setup()
    for line in sys.stdin:
        call = json.loads(line)
        module, function = call["target"].split(":")
        try:
            answer = {"result": getattr(importlib.import_module(module), function)(**call["kwargs"])}
        except Exception:
            answer = {"error": traceback.format_exc()}
        print(RESULT_MARK + json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
