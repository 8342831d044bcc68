"""3. Per-unit overhead, with the loopback OpenAI server answering at once (zero latency): what the pipeline itself
costs per unit when there is nothing to wait for.

A unit here is one persona's images unit with 4 images: a base selfie (one generations call), one 2x2 grid (one
edits call), four tiles cut from it, five images and their ten thumbnails stored in S3, the rows updated and the
next unit queued: the unit the pipeline runs most. Its data set, a task in its images stage with N personas and N
pending units, is built by bulk inserts (N = 200; quick 16).

- Units per second through the ORM broker and through Redis: a real `manage.py qcluster` (Q_WORKERS 4, two per
  core, enough to keep both cores busy while units wait on S3 and the database) runs the N units, each finished
  unit queueing the next as in production; from the first unit's start to the task's end. The limit beside it,
  measured in the same run: the same kind of unit run back to back in one process with no broker at all, times
  the two cores (what two processes could do if queueing cost nothing and the S3 and API servers took no CPU).
  The CPU seconds per unit of each process group are in the details.
- The time split of one unit, measured in a child process that runs units in-process, one after another, with
  timers around the API client's calls (http: the request, the loopback server, the answer's parsing), Pillow
  (the grid split with the tiles' thumbnails, the base's metadata and thumbnails), storage (S3 listing, reads and
  writes through django-storages) and every SQL statement (db, through `connection.execute_wrapper`); "other
  Python" is the rest. The median over the units (the first left out: it pays for imports and connections) against
  the median unit's total. The queue's share is measured on the broker runs: how long a worker sits between ending
  a unit and starting its next one."""

from __future__ import annotations

import contextlib
import threading
import time

from bench import harness
from bench.common import Figure, median

BENCH = "3 per-unit overhead"
IMAGES = 4
PARTS = ("http", "pillow", "storage", "db")


def split_units(task_pk: int, images: int) -> dict:
    """(In a child.) Run the task's pending units in this process, one after another, timing each part."""
    from django.db import connection

    from generation.integrations import storage
    from generation.integrations.backends import get_backend
    from generation.models import PipelineUnit
    from generation.pipeline import lifecycle, stages
    from generation.pipeline import persona_files as images_stage

    lock = threading.Lock()
    spent = dict.fromkeys(PARTS, 0.0)

    def timed(part: str, function):
        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                with lock:
                    spent[part] += time.perf_counter() - began

        return wrapper

    def timed_sql(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            with lock:
                spent["db"] += time.perf_counter() - began

    backend = get_backend()
    backend.generate_image = timed("http", backend.generate_image)
    backend.edit_image = timed("http", backend.edit_image)
    images_stage.split_grid_photos = timed("pillow", images_stage.split_grid_photos)
    images_stage.thumbnails_of = timed("pillow", images_stage.thumbnails_of)
    images_stage.with_ai_metadata = timed("pillow", images_stage.with_ai_metadata)
    for name in ("save", "exists", "read", "find_base", "list_files"):
        setattr(storage, name, timed("storage", getattr(storage, name)))

    rows = []
    token = lifecycle.inline.set(True)  # nothing is sent to a broker
    try:
        unit_pks = list(
            PipelineUnit.objects.filter(task=task_pk, state=PipelineUnit.State.PENDING).values_list("id", flat=True)
        )
        with connection.execute_wrapper(timed_sql):
            for unit_pk in unit_pks:
                for part in PARTS:
                    spent[part] = 0.0
                began = time.perf_counter()
                stages.run_unit(unit_pk)
                total = time.perf_counter() - began
                rows.append({"total": total, **spent})
    finally:
        lifecycle.inline.reset(token)
    failed = PipelineUnit.objects.filter(task=task_pk).exclude(state=PipelineUnit.State.DONE).count()
    return {"rows": rows, "failed": failed}


def broker_rate(
    db_url, fake, bucket, personas: int, workers: int, warm_personas: int = 0, redis_url: str = "", **extra_env: str
) -> dict:
    env = harness.worker_env(db_url, fake, bucket, workers, redis_url=redis_url, **extra_env)
    name = "redis" if redis_url else "orm"
    with harness.Workers(env, f"overhead-{name}") as cluster:
        harness.warm_up(cluster, env, db_url, fake, personas=warm_personas)
        task_pk = harness.django_call(env, "bench.harness.datasets:images_stage_task", personas=personas, images=IMAGES)
        meter = harness.CpuMeter(cluster.pgid, bucket.server_pgid).start()
        harness.django_call(env, "bench.harness.datasets:start_dispatch", task_pk=task_pk)
        [task] = harness.wait_tasks(db_url, [task_pk], timeout=300, cluster=cluster)
        cpu = meter.stop()
        timings = harness.unit_timings(db_url, task_pk, cluster.log())
    if task["status"] != "completed":
        raise RuntimeError(f"{name}: the task ended {task['status']}: {task['error_log']}")
    first = min(u["started"] for u in timings)
    elapsed = (task["completed_at"] - first).total_seconds()
    return {
        "units_per_s": personas / elapsed,
        "elapsed_s": elapsed,
        "worker_gap_median_ms": 1000 * median(harness.worker_gaps(timings)),
        "queued_to_started_median_ms": 1000 * median([(u["started"] - u["queued"]).total_seconds() for u in timings]),
        "job_median_ms": 1000 * median([(u["stopped"] - u["started"]).total_seconds() for u in timings]),
        "cpu_s_per_unit": {k: round(v / personas, 4) for k, v in cpu.items() if k != "machine_busy_share"},
        "machine_busy_share": cpu["machine_busy_share"],
    }


def run(quick: bool) -> list[Figure]:
    personas = 16 if quick else 200
    split_personas = 4 if quick else 30
    workers = 4
    cores = 2
    figures: list[Figure] = []
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(harness.database("overhead"))
        bucket = stack.enter_context(harness.moto_s3())
        fake = stack.enter_context(harness.fake_openai())
        redis_url = stack.enter_context(harness.redis_database())
        env = harness.worker_env(db_url, fake, bucket, workers)

        task_pk = harness.django_call(
            env, "bench.harness.datasets:images_stage_task", personas=split_personas, images=IMAGES
        )
        # One image thread, so that the parts run one after another and add up to the unit.
        split = harness.django_call(
            {**env, "IMAGE_THREADS": "1"}, "bench.overhead:split_units", task_pk=task_pk, images=IMAGES
        )
        rows = split["rows"][1:]  # the first unit pays for imports and connections
        inline_rate = len(rows) / sum(r["total"] for r in rows)

        warm = workers if quick else 0  # quick: one persona a worker to warm up (else the default, two)
        orm = broker_rate(db_url, fake, bucket, personas, workers, warm)
        over_redis = broker_rate(db_url, fake, bucket, personas, workers, warm, redis_url=redis_url)
    limit = inline_rate * cores
    for name, measured in (("ORM broker", orm), ("Redis broker", over_redis)):
        figures.append(
            Figure(
                BENCH,
                f"units/s through the {name}, {workers} workers",
                measured["units_per_s"],
                "units/s",
                limit=limit,
                target="info: limit = in-process rate x 2 cores",
                details=measured,
            )
        )
    total = median([r["total"] for r in rows])
    for part in PARTS:
        figures.append(
            Figure(
                BENCH,
                f"one persona's images: {part}",
                1000 * median([r[part] for r in rows]),
                "ms",
                limit=1000 * total,
                target="info: share of the unit",
            )
        )
    other = median([r["total"] - sum(r[p] for p in PARTS) for r in rows])
    figures.append(Figure(BENCH, "one persona's images: other Python", 1000 * other, "ms", limit=1000 * total))
    for name, measured in (("ORM broker", orm), ("Redis broker", over_redis)):
        figures.append(
            Figure(
                BENCH,
                f"one persona's images: queue, {name}",
                measured["worker_gap_median_ms"],
                "ms",
                limit=1000 * total,
                target="info: a worker's wait between units",
            )
        )
    return figures
