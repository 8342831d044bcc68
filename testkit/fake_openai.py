"""A fake OpenAI HTTP server on loopback, for tests, benchmarks and offline development.

It speaks enough of the OpenAI wire format that the real ``openai`` client works against it unchanged
(``base_url=server.base_url``), so the project's code paths, retries and error handling are exercised for real,
without network access or cost. Switches on :class:`FakeOpenAI` inject the faults the project must survive:
HTTP errors, refusals, malformed JSON, short answers, dropped connections, rate limits and latency.

Standalone: ``python -m testkit.fake_openai --port 8123 [--chat-latency 0.5] [--image-latency 1.0]
[--images-per-minute N]`` serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import math
import random
import re
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageDraw

__all__ = ["FakeOpenAI", "RecordedRequest", "running_fake_openai"]

# Usage the server reports for images: tokens per reference image sent, and output tokens per megapixel drawn.
IMAGE_INPUT_TOKENS = 1_040
OUTPUT_TOKENS_PER_MEGAPIXEL = 1_007
CHAT_PATH = "/v1/chat/completions"
GENERATIONS_PATH = "/v1/images/generations"
EDITS_PATH = "/v1/images/edits"
IMAGE_PATHS = (GENERATIONS_PATH, EDITS_PATH)

DEFAULT_SIZE = (1024, 1024)
MAX_SIDE = 4096  # refuse absurd sizes rather than let a typo allocate gigabytes
RATE_WINDOW_SECONDS = 60.0
REFUSAL_TEXT = "I can't help with that."
MALFORMED_CHAT_CONTENT = '{"personas": [ {"firstname": '

SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")

FIRST_NAMES = {
    "f": ["Lena", "Amara", "Sofia", "Ingrid", "Priya", "Mei", "Chiara", "Noor", "Elif", "Zofia", "Ana", "Yara"],
    "m": ["Tomas", "Kwame", "Luca", "Henrik", "Ravi", "Kenji", "Mateo", "Omar", "Emre", "Piotr", "Jonas", "Diego"],
}
LAST_NAMES = [
    "Okafor", "Lindqvist", "Moreau", "Kowalski", "Tanaka", "Haddad", "Varga", "Brennan", "Castillo", "Novak",
    "Achterberg", "Yilmaz", "Petrov", "Salazar", "Mensah", "Fischer", "Nakamura", "Rossi", "Dubois", "Karlsson",
]  # fmt: skip
# Syllables for made-up surname parts once the plain (first, last) pairs run out; keeps names name-like.
SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tu", "vi", "no", "dal", "ber", "ko", "ri", "an", "sel", "mar", "te"]

# Mid-tone colours: clearly non-white so a grid splitter can tell tiles from white gutters.
PALETTE = [
    (214, 96, 77), (76, 140, 200), (96, 170, 110), (200, 160, 60),
    (150, 100, 190), (60, 170, 170), (210, 120, 160), (120, 120, 130),
]  # fmt: skip

ERROR_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to access this resource."),
    404: ("invalid_request_error", None, "Not found."),
    429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request."),
}


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
class _Fault:
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


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def error_payload(status: int, code: str | None = None, message: str | None = None) -> dict:
    """An OpenAI-style error object; the ``type`` follows the status like the real API's does."""
    default_type, default_code, default_message = ERROR_DEFAULTS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}")
    )
    code = code if code is not None else default_code
    err_type = "insufficient_quota" if code == "insufficient_quota" else default_type
    return {"error": {"message": message or default_message, "type": err_type, "param": None, "code": code}}


def parse_size(value: Any) -> tuple[int, int] | None:
    """``"WxH"`` → (W, H); missing or ``"auto"`` → the default; anything unusable → None."""
    if value in (None, "", "auto"):
        return DEFAULT_SIZE
    match = SIZE_RE.match(str(value))
    if not match:
        return None
    width, height = int(match.group(1)), int(match.group(2))
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        return None
    return width, height


def grid_layout(size: tuple[int, int]) -> tuple[int, int]:
    """The photo grid an edit of this size is drawn as, read from the request alone: a tall image is 2 columns by
    4 rows, any other 2 by 2."""
    width, height = size
    return (2, 4) if height > width else (2, 2)


def asked_count(payload: dict) -> int:
    """How many personas a chat request asks for: the length its JSON schema fixes (``minItems`` of the
    ``personas`` array); 5 when the request has no such schema."""
    schema = ((payload.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    personas = (schema.get("properties") or {}).get("personas") or {}
    count = personas.get("minItems", personas.get("maxItems"))
    return count if isinstance(count, int) and count >= 0 else 5


def _darker(colour: tuple[int, int, int], factor: float = 0.55) -> tuple[int, int, int]:
    return tuple(int(c * factor) for c in colour)  # type: ignore[return-value]


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "jpeg":
        image.save(buffer, "JPEG", quality=80)
    elif fmt == "webp":
        image.save(buffer, "WEBP", quality=80)
    else:
        image.save(buffer, "PNG", compress_level=1)  # fast: benchmarks make thousands of these
    return buffer.getvalue()


def render_portrait(size: tuple[int, int], index: int) -> Image.Image:
    """A coloured background with an ellipse "face"; ``index`` picks the colour so successive images differ."""
    width, height = size
    colour = PALETTE[index % len(PALETTE)]
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.3, height * 0.2, width * 0.7, height * 0.75), fill=(240, 205, 175), outline=(60, 40, 30))
    return image


def _split(total: int, parts: int) -> list[int]:
    """Split ``total`` pixels into ``parts`` near-equal whole lengths."""
    base, extra = divmod(max(total, parts), parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def render_grid(size: tuple[int, int], cols: int, rows: int, index: int) -> Image.Image:
    """A photo-grid look-alike: solid tiles with uneven white gutters and a ragged white border.

    Image models never draw exact grid lines, so gutters vary (6-14 px) and the outer border is present on only
    some sides; this is what the project's grid splitter has to cope with.
    """
    width, height = size
    rng = random.Random(index)
    left, top = rng.randint(2, 6), rng.randint(0, 4)
    right, bottom = rng.choice([0, 3, 5]), rng.randint(2, 6)
    col_gutters = [rng.randint(6, 14) for _ in range(cols - 1)]
    row_gutters = [rng.randint(6, 14) for _ in range(rows - 1)]
    tile_widths = _split(width - left - right - sum(col_gutters), cols)
    tile_heights = _split(height - top - bottom - sum(row_gutters), rows)

    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    y = top
    for row, tile_h in enumerate(tile_heights):
        x = left
        for col, tile_w in enumerate(tile_widths):
            colour = PALETTE[(index + row * cols + col) % len(PALETTE)]
            draw.rectangle((x, y, x + tile_w - 1, y + tile_h - 1), fill=colour)
            draw.ellipse(
                (x + tile_w * 0.3, y + tile_h * 0.2, x + tile_w * 0.7, y + tile_h * 0.75), fill=_darker(colour)
            )
            x += tile_w + (col_gutters[col] if col < cols - 1 else 0)
        y += tile_h + (row_gutters[row] if row < rows - 1 else 0)
    return image


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """Split a multipart/form-data body into text fields and (field name, bytes) files, byte-exact."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError("multipart body without boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: list[tuple[str, bytes]] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        raw_headers, _, content = chunk.partition(b"\r\n\r\n")
        disposition = ""
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                disposition = value
        name_match = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        field_name = name_match.group(1) if name_match else ""
        if re.search(r"filename\*?=", disposition):
            files.append((field_name, content))
        else:
            fields[field_name] = content.decode("utf-8", "replace")
    return fields, files


class _Server(ThreadingHTTPServer):
    """Tracks open connections so ``stop()`` can cut idle keep-alive sockets instead of waiting on them."""

    daemon_threads = True
    block_on_close = False
    fake: FakeOpenAI

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Reads the request, hands it to the FakeOpenAI, and writes (or withholds) the reply."""

    protocol_version = "HTTP/1.1"  # the openai client reuses connections
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: tests and benchmarks make thousands of requests."""

    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        fake._enter()
        try:
            body = self._read_body()
            reply = fake._dispatch(method, self.path.split("?", 1)[0], dict(self.headers.items()), body)
        except Exception as exc:  # a bug in the fake must show up as a loud 500, not a silent hang-up
            traceback.print_exc()
            reply = fake._error(500, "fake_server_bug", f"fake_openai crashed: {exc!r}")
            self.close_connection = True
        finally:
            fake._leave()
        if reply.drop:
            self.close_connection = True  # say nothing; the socket is closed after we return
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):  # the client was killed mid-call (the worker tests do that)
            self.close_connection = True


class FakeOpenAI:
    """The fake server plus its recording and fault switches. Thread-safe; use via ``running_fake_openai``."""

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
        self._faults: list[_Fault] = []
        self._reject_all: tuple[int, str | None, str | None] | None = None
        self._chat_modes: deque = deque()
        self._delays: list[list] = []  # [path suffix, seconds, remaining]
        self._raw_images: list[list] = []  # [path suffix, encoded image, remaining]
        self._image_window: deque[float] = deque()
        self._person_counter = 0
        self._image_counter = 0
        self._response_counter = 0
        self._image_cache: dict[tuple, str] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeOpenAI:
        """Bind 127.0.0.1 (a free port unless ``port`` is given) and serve from a daemon thread."""
        server = _Server(("127.0.0.1", port), _Handler)
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

    # -- inspection ------------------------------------------------------------------------------------------

    def calls(self, path_suffix: str) -> list[RecordedRequest]:
        """Recorded requests whose path ends with ``path_suffix``, e.g. ``calls("/images/edits")``."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(path_suffix)]

    # -- switches --------------------------------------------------------------------------------------------

    def fail_next(
        self,
        path_suffix: str,
        status: int,
        times: int = 1,
        *,
        code: str | None = None,
        message: str | None = None,
        retry_after: float | None = None,
        body: str | None = None,
        skip: int = 0,
    ) -> None:
        """The next ``times`` matching requests answer ``status`` with an OpenAI error (or the raw ``body``); with
        ``skip``, only after that many matching requests have passed this fault by."""
        fault = _Fault(
            path_suffix, times, status=status, code=code, message=message, retry_after=retry_after, body=body,
            skip=skip,
        )  # fmt: skip
        with self._lock:
            self._faults.append(fault)

    def delay_next(self, path_suffix: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` matching requests wait ``seconds`` before they are answered (a slow model)."""
        with self._lock:
            self._delays.append([path_suffix, seconds, times])

    def _take(self, queue: list[list], path: str):
        """The value of the first [path suffix, value, remaining] entry that matches `path`, used up once."""
        with self._lock:
            for entry in queue:
                if path.endswith(entry[0]):
                    entry[2] -= 1
                    if entry[2] <= 0:
                        queue.remove(entry)
                    return entry[1]
        return None

    def drop_next(self, path_suffix: str, times: int = 1) -> None:
        """The next ``times`` matching requests get their connection closed without any answer."""
        with self._lock:
            self._faults.append(_Fault(path_suffix, times, drop=True))

    def malformed_next_chat(self, times: int = 1) -> None:
        """Next chat answers are 200 but the message content is truncated, invalid JSON."""
        with self._lock:
            self._chat_modes.extend(["malformed"] * times)

    def refuse_next_chat(self, times: int = 1) -> None:
        """Next chat answers are 200 with ``content`` null and a ``refusal`` message."""
        with self._lock:
            self._chat_modes.extend(["refuse"] * times)

    def short_next_chat(self, times: int = 1) -> None:
        """Next chat answers hold one persona fewer than asked (never below zero)."""
        with self._lock:
            self._chat_modes.extend(["short"] * times)

    def send_next_image(self, path_suffix: str, data: bytes, times: int = 1) -> None:
        """The next ``times`` matching image requests answer with these bytes as the image, whatever they are
        (a bomb, a truncated file, the wrong format)."""
        with self._lock:
            self._raw_images.append([path_suffix, data, times])

    def hostile_next_chat(self, spoil) -> None:
        """The next chat answer holds the personas asked for, each passed through ``spoil(index, persona)``
        first: what a hostile or broken model would send (wrong types, control characters, huge bios)."""
        with self._lock:
            self._chat_modes.append(spoil)

    def reject_all_with(self, status: int, code: str | None = None, message: str | None = None) -> None:
        """Every request answers this error until ``clear_faults()`` (e.g. 401 ``invalid_api_key``)."""
        with self._lock:
            self._reject_all = (status, code, message)

    def clear_faults(self) -> None:
        """Forget queued faults, chat switches and ``reject_all_with``."""
        with self._lock:
            self._faults.clear()
            self._delays.clear()
            self._raw_images.clear()
            self._chat_modes.clear()
            self._reject_all = None

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

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _error(
        self, status: int, code: str | None = None, message: str | None = None, retry_after: float | None = None
    ) -> _Reply:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        return _Reply(status, json.dumps(error_payload(status, code, message)).encode(), headers)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.endswith(fault.suffix):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Reply:
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
                return _Reply(0, drop=True)
            if fault.body is not None:
                extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                return _Reply(fault.status, fault.body.encode(), extra)
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

    def _rate_limit(self) -> _Reply | None:
        """Sliding 60 s window over accepted image requests; past the limit answer 429 with Retry-After."""
        with self._lock:
            limit = self.images_per_minute
            now = time.monotonic()
            while self._image_window and now - self._image_window[0] >= RATE_WINDOW_SECONDS:
                self._image_window.popleft()
            if limit is not None and len(self._image_window) >= limit:
                self.rate_limited += 1
                oldest = self._image_window[0] if self._image_window else now
                wait = max(1, math.ceil(oldest + RATE_WINDOW_SECONDS - now))
            else:
                self._image_window.append(now)
                self.accepted_images += 1
                return None
        message = f"Rate limit reached for images per minute: Limit {limit}. Please try again in {wait}s."
        return self._error(429, "rate_limit_exceeded", message, wait)

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._response_counter += 1
            return f"{prefix}-fake{self._response_counter:08d}"

    # -- chat ------------------------------------------------------------------------------------------------

    def _chat(self, payload: dict) -> _Reply:
        time.sleep(self.chat_latency)
        count = asked_count(payload)
        with self._lock:
            mode = self._chat_modes.popleft() if self._chat_modes else None

        content: str | None
        refusal = None
        if mode == "refuse":
            content, refusal = None, REFUSAL_TEXT
        elif mode == "malformed":
            content = MALFORMED_CHAT_CONTENT
        elif callable(mode):
            personas = [mode(index, self._persona()) for index in range(count)]
            content = json.dumps({"personas": personas}, ensure_ascii=False)
        else:
            wanted = max(0, count - 1) if mode == "short" else count
            content = json.dumps({"personas": [self._persona() for _ in range(wanted)]}, ensure_ascii=False)

        prompt_tokens = max(1, len(json.dumps(payload.get("messages") or [])) // 4)
        completion_tokens = max(1, len(content or refusal or "") // 4)
        answer = {
            "id": self._next_id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": payload.get("model") or "gpt-fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": "fp_fake",
        }
        with self._lock:
            self.usage_sent.append(answer["usage"])
        return _Reply(200, json.dumps(answer).encode())

    def _persona(self) -> dict[str, str]:
        """A persona whose (firstname, lastname) pair never repeats in this server's lifetime."""
        with self._lock:
            number = self._person_counter
            self._person_counter += 1
        gender = "f" if number % 2 == 0 else "m"
        firstname, lastname = unique_name(gender, number // 2)
        return {
            "firstname": firstname,
            "lastname": lastname,
            "gender": gender,
            "bio_facebook": f"{firstname} shares family news and local events on Facebook.",
            "bio_instagram": f"Everyday snapshots by {firstname} on Instagram.",
            "bio_x": f"{firstname} {lastname} posts quick takes on X.",
            "bio_tiktok": f"Short TikTok clips from {firstname}'s daily life.",
        }

    # -- images ----------------------------------------------------------------------------------------------

    def _image(self, params: dict, *, grid: bool, references: int = 0) -> _Reply:
        size = parse_size(params.get("size"))
        if size is None:
            return self._error(400, "invalid_value", f"Invalid value for 'size': {params.get('size')!r}.")
        try:
            n = max(1, min(int(params.get("n") or 1), 10))
        except (TypeError, ValueError):
            return self._error(400, "invalid_value", f"Invalid value for 'n': {params.get('n')!r}.")
        fmt = str(params.get("output_format") or "png").lower()
        fmt = fmt if fmt in ("png", "jpeg", "webp") else "png"
        cols, rows = grid_layout(size) if grid else (0, 0)
        time.sleep(self.image_latency)

        data = []
        for _ in range(n):
            with self._lock:
                index = self._image_counter
                self._image_counter += 1
            data.append({"b64_json": self._rendered(size, fmt, index % len(PALETTE), cols, rows)})
        # Shaped as the real API's image usage: input split into text and image tokens (each reference image
        # costs IMAGE_INPUT_TOKENS), output tokens by the image's area.
        prompt_tokens = max(1, len(str(params.get("prompt", ""))) // 4)
        image_tokens = IMAGE_INPUT_TOKENS * references
        output_tokens = n * round(OUTPUT_TOKENS_PER_MEGAPIXEL * size[0] * size[1] / 1_000_000)
        answer = {
            "created": int(time.time()),
            "data": data,
            "output_format": fmt,
            "size": f"{size[0]}x{size[1]}",
            "usage": {
                "input_tokens": prompt_tokens + image_tokens,
                "input_tokens_details": {"image_tokens": image_tokens, "text_tokens": prompt_tokens},
                "output_tokens": output_tokens,
                "total_tokens": prompt_tokens + image_tokens + output_tokens,
            },
        }
        quality = params.get("quality")
        if quality in ("low", "medium", "high"):
            answer["quality"] = quality
        with self._lock:
            self.usage_sent.append(answer["usage"])
        return _Reply(200, json.dumps(answer).encode())

    def _raw_image(self, data: bytes) -> _Reply:
        answer = {"created": int(time.time()), "data": [{"b64_json": base64.b64encode(data).decode("ascii")}]}
        return _Reply(200, json.dumps(answer).encode())

    def _rendered(self, size: tuple[int, int], fmt: str, index: int, cols: int, rows: int) -> str:
        """Base64 of the encoded image, cached: rendering and encoding dominate otherwise."""
        key = (size, fmt, index, cols, rows, id(self.sign_images))
        with self._lock:
            cached = self._image_cache.get(key)
        if cached is not None:
            return cached
        image = render_grid(size, cols, rows, index) if cols else render_portrait(size, index)
        data = _encode(image, fmt)
        if self.sign_images:
            data = self.sign_images(data)
        encoded = base64.b64encode(data).decode("ascii")
        with self._lock:
            self._image_cache[key] = encoded
        return encoded


def _syllable_word(number: int) -> str:
    """A pronounceable, capitalised word that is unique per ``number`` >= 1 (bijective base-N on syllables)."""
    parts = []
    while number > 0:
        number -= 1
        number, digit = divmod(number, len(SYLLABLES))
        parts.append(SYLLABLES[digit])
    return "".join(reversed(parts)).capitalize()


def unique_name(gender: str, number: int) -> tuple[str, str]:
    """The ``number``-th distinct name for ``gender``: plain pairs first, then double-barrelled surnames."""
    firsts = FIRST_NAMES[gender]
    first = firsts[number % len(firsts)]
    pair_index, cycle = divmod(number // len(firsts), len(LAST_NAMES))
    last = LAST_NAMES[pair_index]
    if cycle:
        last = f"{last}-{_syllable_word(cycle)}"
    return first, last


@contextlib.contextmanager
def running_fake_openai(**kwargs: Any) -> Iterator[FakeOpenAI]:
    """Start a FakeOpenAI with ``kwargs`` (constructor arguments, plus ``port``) and stop it afterwards."""
    port = kwargs.pop("port", 0)
    server = FakeOpenAI(**kwargs).start(port)
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI API on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--chat-latency", type=float, default=0.0, help="seconds before each chat answer")
    parser.add_argument("--image-latency", type=float, default=0.0, help="seconds before each image answer")
    parser.add_argument("--images-per-minute", type=int, default=None, help="429 past this many image calls/min")
    parser.add_argument("--max-recorded", type=int, default=1000, help="keep only the newest N requests in memory")
    args = parser.parse_args(argv)
    server = FakeOpenAI(
        chat_latency=args.chat_latency,
        image_latency=args.image_latency,
        images_per_minute=args.images_per_minute,
        max_recorded=args.max_recorded,
    ).start(args.port)
    print(f"Fake OpenAI serving at {server.base_url} (OPENAI_BASE_URL); Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
