"""The FakeOpenAI server: its start and stop, and the routing of each request through auth, faults and rate
limits to the endpoint families (chat.py, images.py)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from testkit.fake_openai.chat import CHAT_PATH, ChatCompletions
from testkit.fake_openai.faults import FaultSwitches
from testkit.fake_openai.images import GENERATIONS_PATH, IMAGE_PATHS, ImageEndpoints
from testkit.fake_openai.replies import Reply
from testkit.fake_openai.state import RecordedRequest
from testkit.fake_openai.wire import Handler, Server, parse_multipart


class FakeOpenAI(FaultSwitches, ChatCompletions, ImageEndpoints):
    """The fake server plus its recording and fault switches. Thread-safe; use via ``running_fake_openai``."""

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeOpenAI:
        """Bind 127.0.0.1 (a free port unless ``port`` is given) and serve from a daemon thread."""
        server = Server(("127.0.0.1", port), Handler)
        server.fake = self
        self._server = server
        self.port = server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        # A short poll interval keeps stop() quick; tests start and stop a server each.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut keep-alive connections so nothing lingers between tests."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.cut_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Clear recorded requests, faults, counters and the rate-limit window (names stay unique)."""
        self.clear_faults()
        with self._lock:
            self.requests.clear()
            self.peak_concurrency = self._in_flight
            self.rate_limited = 0
            self.accepted_images = 0
            self._image_window.clear()

    # -- request handling ------------------------------------------------------------------------------------

    def _dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        """Record the request, then apply auth, faults and rate limits before the real endpoint logic."""
        lower_headers = {k.lower(): v for k, v in headers.items()}
        content_type = lower_headers.get("content-type", "")
        payload: dict | None = None
        form: dict[str, str] | None = None
        files: list[bytes] = []
        parse_error = None
        try:
            if content_type.startswith("multipart/form-data"):
                form, parts = parse_multipart(content_type, body)
                files = [data for name, data in parts if name in ("image", "image[]")]
            elif body:
                parsed = json.loads(body)
                payload = parsed if isinstance(parsed, dict) else None
                if payload is None:
                    parse_error = "The request body must be a JSON object."
        except (ValueError, UnicodeDecodeError) as exc:
            parse_error = f"Could not parse the request body: {exc}"
        with self._lock:
            self.requests.append(RecordedRequest(path, payload, form, files, lower_headers, time.monotonic()))
            if self.max_recorded is not None and len(self.requests) > self.max_recorded:
                del self.requests[: len(self.requests) - self.max_recorded]

        if not lower_headers.get("authorization", "").startswith("Bearer "):
            return self._error(401, None, "You didn't provide an API key. Use an Authorization: Bearer header.")
        with self._lock:
            reject = self._reject_all
        if reject is not None:
            return self._error(*reject)
        delay = self._take(self._delays, path)
        if delay:
            time.sleep(delay)
        fault = self._take_fault(path)
        if fault is not None:
            if fault.drop:
                return Reply(0, drop=True)
            if fault.body is not None:
                extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                return Reply(fault.status, fault.body.encode(), extra)
            return self._error(fault.status, fault.code, fault.message, fault.retry_after)
        if method != "POST" or path not in (CHAT_PATH, *IMAGE_PATHS):
            return self._error(404, "unknown_url", f"Unknown request URL: {method} {path}.")
        if parse_error:
            return self._error(400, None, parse_error)

        if path == CHAT_PATH:
            return self._chat(payload or {})
        limited = self._rate_limit()
        if limited is not None:
            return limited
        raw = self._take(self._raw_images, path)
        if raw is not None:
            return self._raw_image(raw)
        if path == GENERATIONS_PATH:
            return self._image(payload or {}, grid=False)
        fields = form or {}
        if not files:
            return self._error(400, None, "Missing required parameter: 'image'.")
        # One reference is a photo grid to draw from it; two or more (a base and a scene) are one photo.
        return self._image(fields, grid=len(files) == 1, references=len(files))


@contextlib.contextmanager
def running_fake_openai(**kwargs: Any) -> Iterator[FakeOpenAI]:
    """Start a FakeOpenAI with ``kwargs`` (constructor arguments, plus ``port``) and stop it afterwards."""
    port = kwargs.pop("port", 0)
    server = FakeOpenAI(**kwargs).start(port)
    try:
        yield server
    finally:
        server.stop()
