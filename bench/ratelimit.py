"""2. Rate-limit utilisation. The loopback OpenAI server enforces an images-per-minute limit N (a sliding window
over accepted image calls; past it, 429 with Retry-After) and the workers are configured with the same figure
(OPENAI_IMAGES_PER_MINUTE = N), with chat in 0.5 s and images in 1.0 s, 12 workers (enough to keep N/min busy:
N/60 calls a second of ~1.1 s each).

Full: 200 personas × 4 images (200 bases + 200 grids = 400 image calls) at N = 300/min with the real 60 s
window: an 80 s run, whose last 20 s are past the first full window, where a client that sends faster than
the limit, or unevenly, gets 429s. Quick: 24 personas × 4 (48 calls) at N = 480/min, the server holding the
same rate over a 3 s window (24 calls per 3 s: a stricter limit, with less room to burst), so that a 6 s run
spends half of its time in that steady state.

Achieved rate = (accepted image calls - 1) / (time from the first accepted image call to the last), per minute,
against N: target >= 0.90. Share of 429s = image requests answered 429 / all image requests: target <= 2 %."""

from __future__ import annotations

import contextlib
from collections import deque

from bench import harness
from bench.common import Figure

BENCH = "2 rate-limit use"
IMAGES = 4
WORKERS = 12
TARGET_USE = 0.90
TARGET_429 = 0.02


def busiest_window(times: list[float], window: float) -> int:
    """The most accepted calls inside any sliding window of `window` seconds."""
    inside: deque[float] = deque()
    most = 0
    for at in sorted(times):
        inside.append(at)
        while at - inside[0] >= window:
            inside.popleft()
        most = max(most, len(inside))
    return most


def run(quick: bool) -> list[Figure]:
    personas, per_minute, window = (24, 480, 3.0) if quick else (200, 300, 60.0)
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(harness.database("ratelimit"))
        bucket = stack.enter_context(harness.moto_s3())
        fake = stack.enter_context(
            harness.fake_openai(chat_latency=0.5, image_latency=1.0, images_per_minute=per_minute, rate_window=window)
        )
        env = harness.worker_env(db_url, fake, bucket, WORKERS, OPENAI_IMAGES_PER_MINUTE=str(per_minute))
        with harness.Workers(env, "ratelimit") as cluster:
            if not quick:  # workers are made ready before the fork (generation.apps): quick skips warming them
                harness.warm_up(cluster, env, db_url, fake, personas=WORKERS)
            [task_pk] = harness.django_call(env, "bench.harness.datasets:submit", personas=personas, images=IMAGES)
            [task] = harness.wait_tasks(db_url, [task_pk], timeout=600, cluster=cluster)
        accepted = sorted(fake.accepted_at)
        limited = fake.rate_limited
    if task["status"] != "completed":
        raise RuntimeError(f"the task ended {task['status']}: {task['error_log']}")
    span = accepted[-1] - accepted[0]
    achieved = (len(accepted) - 1) / span * 60
    requests = len(accepted) + limited
    needed = harness.api_calls_needed(personas, IMAGES)
    details = {
        "accepted_image_calls": len(accepted),
        "answered_429": limited,
        "needed_image_calls": needed["generations"] + needed["edits"],
        "first_to_last_image_call_s": round(span, 2),
        "server_window_s": window,
        "most_calls_in_one_window": busiest_window(accepted, window),
        "allowed_per_window": per_minute * window / 60,
        "wall_s": round((task["completed_at"] - task["created_at"]).total_seconds(), 2),
        "calls": fake.summary(),
    }
    harness.log(f"{achieved:.1f}/min of {per_minute}/min, {limited} of {requests} image requests got 429: {details}")
    return [
        Figure(
            BENCH,
            f"images/min achieved vs the limit, {personas}x{IMAGES}",
            achieved,
            "/min",
            limit=per_minute,
            target=f"ratio >= {TARGET_USE:.2f}",
            ok=achieved >= TARGET_USE * per_minute,
            details=details,
        ),
        Figure(
            BENCH,
            "share of image requests answered 429",
            100 * limited / requests,
            "%",
            limit=100 * TARGET_429,
            target=f"<= {100 * TARGET_429:.0f} %",
            ok=limited <= TARGET_429 * requests,
        ),
    ]
