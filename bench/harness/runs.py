"""A run through a worker cluster: warming it up, waiting for the tasks to end, and reading when each unit ran
from the workers' log."""

from __future__ import annotations

import re
import time
from datetime import datetime

import psycopg

from bench.harness.children import django_call
from bench.harness.databases import query
from bench.harness.fake_api import CountingFake
from bench.harness.workers import Workers


def warm_up(cluster: Workers, env: dict[str, str], db_url: str, fake: CountingFake, personas: int = 0) -> None:
    """Run a small task (2 personas a worker unless told) through the cluster with the API answering at once and
    no rate limit, so that every worker has imported the pipeline and the API client and opened its connections,
    as long-running workers have; then forget its calls and its rate-limit slots."""
    saved = fake.chat_latency, fake.image_latency, fake.images_per_minute
    fake.chat_latency = fake.image_latency = 0.0
    fake.images_per_minute = None
    try:
        warm = django_call(
            env, "bench.harness.datasets:submit", personas=personas or 2 * int(env["Q_WORKERS"]), images=4
        )
        wait_tasks(db_url, warm, timeout=120, cluster=cluster)
    finally:
        fake.chat_latency, fake.image_latency, fake.images_per_minute = saved
    query(db_url, "DELETE FROM generation_rate_slots RETURNING name")
    fake.reset_counts()


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
