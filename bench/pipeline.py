"""1. Pipeline vs the API limit. Real `manage.py qcluster` workers on PostgreSQL with the ORM broker, moto S3,
and the loopback OpenAI server answering chat in 0.5 s and images in 1.0 s: one task of 100 personas × 8
images (quick: 8 × 8), with Q_WORKERS 8, then 16 (full only), then 8 again with GRID_LAYOUT_8=2x4 (full only),
then the first run once more with the files on local disk instead of moto's S3 server (full only: what the S3
stand-in, sharing the two cores, costs).

Wall time is what the user waits for: from the task's creation to its completion, both stamped in the
database. Two limits are computed for the same run:

- the issue's: the sum of the latencies of every API call needed, divided by the workers;
- the critical path, which the target applies to: per unit, the API time it must spend in sequence (a batch
  0.5 s; an images unit 1.0 s for the base, then 1.0 s for its grids, which run at once); units being
  indivisible, a stage of n units takes at least ceil(n / workers) rounds of its unit time, and the images
  stage cannot start before the data stage ends (the stage barrier), so the two stages add.

The issue's limit assumes one call at a time per worker, which the project beats by making a persona's two
2x2 grids at once: measured against it any pipeline looks faster than the API allows. The critical path is
the least time any schedule of these units on these workers can take, so the ratio that must be <= 1.10 is
wall / critical path. With GRID_LAYOUT_8=2x4 (one tall grid, one call fewer) the two limits agree but for
the rounding. Also printed per run: API calls made against those needed (chat = batches, generations =
personas, edits = grids), and the peak number of API calls the server saw at once.

Before the measured task, a warm-up task runs through the same cluster at zero latency, so that every
worker has opened its connections, as long-running workers have (full runs only: the pipeline and its
clients are made before the workers are forked, so a quick run's first units pay only for their
connections). Where the time goes is in each figure's details: the start (creation to the first batch's
start: two jobs picked up from the broker), the data stage, the barrier gap, each images job against its
2.0 s of API time, the idle gap a worker has between two units, how busy the workers were, and the CPU
seconds each process group used."""

from __future__ import annotations

import contextlib
import math
import tempfile

from bench import harness
from bench.common import Figure, median, percentile

BENCH = "1 pipeline vs API"
CHAT_LATENCY = 0.5
IMAGE_LATENCY = 1.0
IMAGES = 8
UNIT_TIME = 2 * IMAGE_LATENCY  # an images unit: the base, then its grid(s) at once
TARGET = 1.10


def limits(personas: int, workers: int, layout: str) -> dict[str, float]:
    needed = harness.api_calls_needed(personas, IMAGES, layout)
    batches = needed["chat"]
    image_calls = needed["generations"] + needed["edits"]
    return {
        "issue": (batches * CHAT_LATENCY + image_calls * IMAGE_LATENCY) / workers,
        "critical": math.ceil(batches / workers) * CHAT_LATENCY + math.ceil(personas / workers) * UNIT_TIME,
        "critical_without_rounding": (batches * CHAT_LATENCY + personas * UNIT_TIME) / workers,
    }


def seconds(delta) -> float:
    return round(delta.total_seconds(), 3)


def where_time_goes(units: list[dict], created, completed, workers: int) -> dict[str, float]:
    """The wall time cut into its parts, from the units' start and end (worker log) beside their rows."""
    batches = [u for u in units if u["kind"] == "batch"]
    images = [u for u in units if u["kind"] == "images"]
    if not images or not batches:
        return {}
    gaps = harness.worker_gaps(images)
    jobs = [(u["stopped"] - u["started"]).total_seconds() for u in images]
    steps = [u for u in images if u["base"] and u["tiles"]]
    base_steps = [(u["base"] - u["started"]).total_seconds() - IMAGE_LATENCY for u in steps]
    grid_steps = [(u["tiles"] - u["base"]).total_seconds() - IMAGE_LATENCY for u in steps]
    end_steps = [(u["stopped"] - u["tiles"]).total_seconds() for u in steps]
    images_began = min(u["started"] for u in images)
    images_busy = sum(jobs) / (workers * (completed - images_began).total_seconds())
    return {
        "start_s": seconds(min(u["started"] for u in batches) - created),
        "data_stage_s": seconds(max(u["stopped"] for u in batches) - min(u["started"] for u in batches)),
        "barrier_gap_s": seconds(images_began - max(u["stopped"] for u in batches)),
        "images_stage_s": seconds(completed - images_began),
        "batch_job_median_s": round(median([(u["stopped"] - u["started"]).total_seconds() for u in batches]), 3),
        "images_job_median_s": round(median(jobs), 3),
        "images_job_p90_s": round(percentile(jobs, 0.9), 3),
        "images_job_overhead_median_s": round(median(jobs) - UNIT_TIME, 3),
        "overhead_to_base_stored_median_s": round(median(base_steps), 3),
        "overhead_to_tiles_stored_median_s": round(median(grid_steps), 3),
        "tiles_stored_to_done_median_s": round(median(end_steps), 3),
        "worker_gap_median_s": round(median(gaps), 3),
        "worker_gap_p90_s": round(percentile(gaps, 0.9), 3),
        "images_stage_busy_share": round(images_busy, 3),
        "tail_s": seconds(completed - max(u["stopped"] for u in images)),
    }


def one_run(
    db_url, bucket, fake, personas: int, workers: int, layout: str, warm: bool = True, media_root: str = ""
) -> list[Figure]:
    label = f"{workers} workers, {personas}x{IMAGES}" + (", one 2x4 grid" if layout == "2x4" else "")
    env = harness.worker_env(db_url, fake, bucket, workers, GRID_LAYOUT_8=layout)
    if media_root:  # no bucket named: the files go to local disk, and moto has nothing to do
        label += ", files on local disk"
        env |= {"AWS_STORAGE_BUCKET_NAME": "", "MEDIA_ROOT": media_root}
    with harness.Workers(env, f"pipeline-{workers}") as cluster:
        if warm:
            harness.warm_up(cluster, env, db_url, fake)
        meter = harness.CpuMeter(cluster.pgid, bucket.server_pgid).start()
        [task_pk] = harness.django_call(env, "bench.harness.datasets:submit", personas=personas, images=IMAGES)
        [task] = harness.wait_tasks(db_url, [task_pk], timeout=600, cluster=cluster)
        cpu = meter.stop()
        units = harness.unit_timings(db_url, task_pk, cluster.log())
    if task["status"] != "completed":
        raise RuntimeError(f"{label}: the task ended {task['status']}: {task['error_log']}")
    wall = (task["completed_at"] - task["created_at"]).total_seconds()
    limit = limits(personas, workers, layout)
    needed = harness.api_calls_needed(personas, IMAGES, layout)
    made = {endpoint: fake.made(endpoint) for endpoint in needed}
    units_run = len(units)
    details = where_time_goes(units, task["created_at"], task["completed_at"], workers) | {
        "limits_s": {k: round(v, 3) for k, v in limit.items()},
        "cpu_s": cpu,
        "cpu_s_per_unit": {k: round(v / max(1, units_run), 3) for k, v in cpu.items() if k != "machine_busy_share"},
    }
    harness.log(f"{label}: wall {wall:.2f} s, critical path {limit['critical']:.2f} s, {details}")
    parallel_calls = 1 if layout == "2x4" else 2
    return [
        Figure(
            BENCH,
            f"wall vs critical path, {label}",
            wall,
            "s",
            limit=limit["critical"],
            target=f"ratio <= {TARGET:.2f}",
            ok=wall <= TARGET * limit["critical"],
            details=details,
        ),
        Figure(
            BENCH,
            f"wall vs sum of API latencies / workers, {label}",
            wall,
            "s",
            limit=limit["issue"],
            target=f"ratio <= {TARGET:.2f}",
            ok=wall <= TARGET * limit["issue"],
        ),
        Figure(
            BENCH,
            f"API calls made vs needed, {label}",
            sum(made.values()),
            "calls",
            limit=sum(needed.values()),
            target="made = needed, per endpoint",
            ok=made == needed,
            details={"made": made, "needed": needed, "all_answers": fake.summary()},
        ),
        Figure(
            BENCH,
            f"peak concurrent API calls, {label}",
            fake.peak_concurrency,
            "calls",
            limit=workers * parallel_calls,
            target="info: limit = workers x calls a unit makes at once",
        ),
    ]


def run(quick: bool) -> list[Figure]:
    personas = 8 if quick else 100
    plan = [(8, "2x2+2x2")] if quick else [(8, "2x2+2x2"), (16, "2x2+2x2"), (8, "2x4")]
    figures: list[Figure] = []
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(harness.database("pipeline"))
        bucket = stack.enter_context(harness.moto_s3())
        fake = stack.enter_context(harness.fake_openai(chat_latency=CHAT_LATENCY, image_latency=IMAGE_LATENCY))
        for workers, layout in plan:
            # Quick: no warm-up task; the workers were made ready before the fork (generation.apps).
            figures += one_run(db_url, bucket, fake, personas, workers, layout, warm=not quick)
        if not quick:
            # Where the time goes: the first run again with the files on local disk instead of moto's S3 server,
            # a single Python process that shares the two cores with the workers it serves.
            media = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_pipeline_media_"))
            figures += one_run(db_url, bucket, fake, personas, *plan[0], media_root=media)[:1]
    return figures
