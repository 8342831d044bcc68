"""10. Turns between users. Real `manage.py qcluster` workers (ORM broker), moto S3 and the loopback OpenAI server:
user A submits several tasks of one-persona batches and, once A's units run, user B submits one persona. B's wait
is counted in A's units that ended between B's submit and the end of B's first unit, against A's whole backlog:
workers are given to users in turn (generation.pipeline.lifecycle._dispatch), so B waits for the units A had
queued, not for A's backlog. The bound it is measured against: two windows of A's (what A had queued when B came,
and what A queued while B's start job waited) plus the units already running."""

from __future__ import annotations

import contextlib
import time

from bench import harness
from bench.common import Figure

BENCH = "10 turns between users"
WORKERS = 2
IMAGES = 4


def run(quick: bool) -> list[Figure]:
    tasks, personas = (3, 8) if quick else (8, 20)
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(harness.database("fairness"))
        bucket = stack.enter_context(harness.moto_s3())
        fake = stack.enter_context(harness.fake_openai(chat_latency=0.2, image_latency=0.3))
        env = harness.worker_env(db_url, fake, bucket, WORKERS, PERSONAS_PER_BATCH="1")
        # A user's window of queued and running units, as the workers' own settings make it.
        window = harness.django_call(env, "generation.pipeline.lifecycle:in_flight_window")
        # A's tasks and B's run side by side: this measures the turns between them, not the cap.
        harness.django_call(env, "bench.harness.datasets:allow_running_tasks", count=tasks + 1)
        with harness.Workers(env, "fairness"):
            backlog = harness.django_call(
                env, "bench.harness.datasets:submit", personas=personas, images=IMAGES, tasks=tasks
            )
            harness.wait_for(
                lambda: harness.query(db_url, "SELECT count(*) FROM generation_units WHERE state = 'running'")[0][0],
                60,
                "A's units to run",
            )
            began = time.monotonic()
            [b_task] = harness.django_call(env, "bench.harness.datasets:submit", personas=1, images=IMAGES)
            harness.wait_for(
                lambda: harness.query(
                    db_url, "SELECT count(*) FROM generation_units WHERE task_id = %s AND state = 'done'", (b_task,)
                )[0][0],
                120,
                "B's first unit to end",
                interval=0.05,
            )
            waited = time.monotonic() - began
            [(submitted, first_end)] = harness.query(
                db_url,
                "SELECT t.created_at, min(u.ended_at) FROM generation_tasks t"
                " JOIN generation_units u ON u.task_id = t.id"
                " WHERE t.id = %s AND u.state = 'done' GROUP BY t.created_at",
                (b_task,),
            )
            [(ran_before, left)] = harness.query(
                db_url,
                "SELECT count(*) FILTER (WHERE ended_at > %s AND ended_at <= %s),"
                " count(*) FILTER (WHERE state IN ('pending', 'queued')) FROM generation_units WHERE task_id = ANY(%s)",
                (submitted, first_end, backlog),
            )
    details = {"a_tasks": tasks, "a_batches": tasks * personas, "a_units_still_waiting": left,
               "b_wait_s": round(waited, 2), "window": window}  # fmt: skip
    harness.log(f"B's first unit ended after {ran_before} of A's units: {details}")
    return [
        Figure(
            BENCH,
            f"A's units that ended before B's first, A with {tasks} tasks of {personas} batches",
            ran_before,
            "units",
            limit=2 * window + WORKERS,
            target="ratio <= 1.00",
            ok=ran_before <= 2 * window + WORKERS,
            details=details,
        )
    ]
