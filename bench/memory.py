"""7. Memory over time: the resident memory (VmRSS) of a cluster's worker processes, sampled every second (quick: 4
times a second) while they run 2,000 units (quick: 80): one cluster, Q_WORKERS 2, the API answering at once, jobs
through Redis (the worker processes run the same code whatever the broker; Redis spares the ORM broker's polling
CPU, so that 2,000 units fit in about two minutes on two cores),
tasks of 417 personas × 4 images (84 batches + 417 images units each; four of them in full, one of 67 personas
in quick), submitted as the web app does.

django-q2 replaces a worker process after `recycle` jobs (settings: 200), which resets its memory: a slow leak
would show as a saw-tooth, not as a rise. So two figures, each with the target ratio <= 1.10:
- all workers' median RSS in the last quarter of the run against the first quarter (what the machine sees);
- within each worker process' own life (after its first job, which imports the pipeline and the API client), the
  median RSS of its last quarter against its first quarter; the worst life is reported (what a leak would do
  between two recycles).
The number of worker processes seen (recycled ones included) is printed beside them."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from pathlib import Path

from bench import harness
from bench.common import Figure, median

BENCH = "7 memory over time"
WORKERS = 2
IMAGES = 4
PERSONAS_PER_TASK = 417
TARGET = 1.10
RECYCLE = 200  # settings.Q_CLUSTER["recycle"]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Sampler(threading.Thread):
    """Every `interval` seconds, the RSS of each worker process of the cluster alive at that moment."""

    def __init__(self, cluster: harness.Workers, interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.cluster, self.interval = cluster, interval
        self.samples: list[tuple[float, int, float]] = []  # (time, pid, MB)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            now = time.monotonic()
            for pid in self.cluster.worker_pids():
                mb = rss_mb(pid)
                if mb is not None:
                    self.samples.append((now, pid, mb))
            self.done.wait(self.interval)


def quarter_ratio(samples: list[tuple[float, float]]) -> tuple[float, float] | None:
    """(median of the first quarter, median of the last quarter) of (time, MB) samples, by time."""
    if len(samples) < 8:
        return None
    start, end = samples[0][0], samples[-1][0]
    span = end - start
    first = [mb for at, mb in samples if at <= start + span / 4]
    last = [mb for at, mb in samples if at >= end - span / 4]
    return median(first), median(last)


def run(quick: bool) -> list[Figure]:
    return measure(80 if quick else 2000, 67 if quick else PERSONAS_PER_TASK)


def measure(units_wanted: int, personas: int, **extra_env: str) -> list[Figure]:
    per_task = math.ceil(personas / harness.PERSONAS_PER_BATCH) + personas
    tasks = max(1, round(units_wanted / per_task))
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(harness.database("memory"))
        bucket = stack.enter_context(harness.moto_s3())
        fake = stack.enter_context(harness.fake_openai())
        redis_url = stack.enter_context(harness.redis_database())
        env = harness.worker_env(db_url, fake, bucket, WORKERS, redis_url=redis_url, **extra_env)
        with harness.Workers(env, "memory") as cluster:
            harness.warm_up(cluster, env, db_url, fake)  # RSS from after the first jobs, as long-running workers
            sampler = Sampler(cluster, interval=1.0 if units_wanted >= 1000 else 0.25)
            sampler.start()
            began = time.monotonic()
            task_pks = harness.django_call(
                env, "bench.harness.datasets:submit", personas=personas, images=IMAGES, tasks=tasks
            )
            try:
                ended = harness.wait_tasks(db_url, task_pks, timeout=900, cluster=cluster)
            finally:
                sampler.done.set()
                sampler.join()
            elapsed = time.monotonic() - began
            pids = cluster.worker_pids(alive_only=False)
        units = harness.query(
            db_url, "SELECT count(*) FROM generation_units WHERE task_id = ANY(%s) AND state = 'done'", (task_pks,)
        )[0][0]
    failed = [t for t in ended if t["status"] != "completed"]
    if failed:
        raise RuntimeError(f"{len(failed)} task(s) did not complete: {failed[0]['error_log']}")

    overall = quarter_ratio([(at, mb) for at, _, mb in sampler.samples])
    lives = {}
    for pid in {pid for _, pid, _ in sampler.samples}:
        own = [(at, mb) for at, p, mb in sampler.samples if p == pid]
        # From its first job on: a fresh worker is a fork of the cluster's process until then.
        settled = [s for s in own if s[1] >= 0.9 * max(mb for _, mb in own[: max(1, len(own) // 4)])]
        ratio = quarter_ratio(settled)
        if ratio:
            lives[pid] = ratio
    worst_pid = max(lives, key=lambda p: lives[p][1] / lives[p][0]) if lives else None
    details = {
        "units_done": units,
        "elapsed_s": round(elapsed, 1),
        "units_per_s": round(units / elapsed, 2),
        "worker_processes_seen": len(pids),
        "recycles_expected": units // RECYCLE,
        "samples": len(sampler.samples),
        "lives_mb_first_last_quarter": {str(p): [round(a, 1), round(b, 1)] for p, (a, b) in lives.items()},
    }
    harness.log(f"memory: {details}")
    figures = []
    if overall:
        figures.append(
            Figure(
                BENCH,
                f"workers' RSS, last vs first quarter of {units} units",
                overall[1],
                "MB",
                limit=overall[0],
                target=f"ratio <= {TARGET:.2f}",
                ok=overall[1] <= TARGET * overall[0],
                details=details,
            )
        )
    if worst_pid is not None:
        first, last = lives[worst_pid]
        figures.append(
            Figure(
                BENCH,
                f"one worker's RSS over its life, worst of {len(lives)} (recycled every {RECYCLE} jobs)",
                last,
                "MB",
                limit=first,
                target=f"ratio <= {TARGET:.2f}",
                ok=last <= TARGET * first,
            )
        )
    figures.append(
        Figure(
            BENCH,
            "worker processes seen (recycling resets RSS)",
            len(pids),
            "processes",
            limit=WORKERS + units // RECYCLE,
            target="info: limit = workers + units / recycle",
        )
    )
    return figures
