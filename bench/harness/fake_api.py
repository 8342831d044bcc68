"""The loopback OpenAI server as the benchmarks run it: in a thread of the benchmark process, counting calls."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator

from testkit.fake_openai import CHAT_PATH, EDITS_PATH, GENERATIONS_PATH, FakeOpenAI


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
