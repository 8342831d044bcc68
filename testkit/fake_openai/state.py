"""The state every endpoint shares: the recorded requests, the queued faults, the counters and the lock that
guards them all."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from testkit.fake_openai.replies import Reply, error_payload
from testkit.fake_openai.wire import Server


@dataclass
class RecordedRequest:
    """One request as the server saw it; header names are lower-cased."""

    path: str
    json: dict | None
    form: dict[str, str] | None
    files: list[bytes]
    headers: dict[str, str]
    at: float


@dataclass
class Fault:
    """A queued fault for requests whose path ends with ``suffix``."""

    suffix: str
    remaining: int
    drop: bool = False
    status: int = 500
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    body: str | None = None
    skip: int = 0


class FakeState:
    """The switches, records and counters of a FakeOpenAI (server.py), which the endpoint families extend."""

    def __init__(
        self,
        *,
        chat_latency: float = 0.0,
        image_latency: float = 0.0,
        images_per_minute: int | None = None,
        max_recorded: int | None = None,
    ) -> None:
        """``max_recorded`` keeps only the newest N requests: long benchmark runs upload megabytes per edit."""
        self.chat_latency = chat_latency
        self.image_latency = image_latency
        self.images_per_minute = images_per_minute
        self.max_recorded = max_recorded
        # Called on every image sent (bytes in, bytes out): a ProviderSigner (testkit/provenance.py) makes the
        # answers carry C2PA manifests, as the real API's do.
        self.sign_images: Callable[[bytes], bytes] | None = None
        self.requests: list[RecordedRequest] = []
        # The usage block of every answer sent, in order: what a test adds up to check the recorded costs.
        self.usage_sent: list[dict] = []
        self.peak_concurrency = 0
        self.rate_limited = 0
        self.accepted_images = 0
        self.base_url = ""
        self.port = 0
        self._lock = threading.Lock()
        self._in_flight = 0
        self._faults: list[Fault] = []
        self._reject_all: tuple[int, str | None, str | None] | None = None
        self._chat_modes: deque = deque()
        self._delays: list[list] = []  # [path suffix, seconds, remaining]
        self._raw_images: list[list] = []  # [path suffix, encoded image, remaining]
        self._image_window: deque[float] = deque()
        self._person_counter = 0
        self._image_counter = 0
        self._response_counter = 0
        self._image_cache: dict[tuple, str] = {}
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- inspection ------------------------------------------------------------------------------------------

    def calls(self, path_suffix: str) -> list[RecordedRequest]:
        """Recorded requests whose path ends with ``path_suffix``, e.g. ``calls("/images/edits")``."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(path_suffix)]

    # -- request handling ------------------------------------------------------------------------------------

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _error(
        self, status: int, code: str | None = None, message: str | None = None, retry_after: float | None = None
    ) -> Reply:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        return Reply(status, json.dumps(error_payload(status, code, message)).encode(), headers)

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._response_counter += 1
            return f"{prefix}-fake{self._response_counter:08d}"
