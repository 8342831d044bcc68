"""Image generations and edits: drawn images of the asked size and format, usage shaped as the real API's, and
the images-per-minute rate limit."""

from __future__ import annotations

import base64
import json
import math
import re
import time
from typing import Any

from testkit.fake_openai.drawing import PALETTE, encode, render_grid, render_portrait
from testkit.fake_openai.replies import Reply
from testkit.fake_openai.state import FakeState

# Usage the server reports for images: tokens per reference image sent, and output tokens per megapixel drawn.
IMAGE_INPUT_TOKENS = 1_040
OUTPUT_TOKENS_PER_MEGAPIXEL = 1_007
GENERATIONS_PATH = "/v1/images/generations"
EDITS_PATH = "/v1/images/edits"
IMAGE_PATHS = (GENERATIONS_PATH, EDITS_PATH)

DEFAULT_SIZE = (1024, 1024)
MAX_SIDE = 4096  # refuse absurd sizes rather than let a typo allocate gigabytes
RATE_WINDOW_SECONDS = 60.0

SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


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


class ImageEndpoints(FakeState):
    """``POST /v1/images/generations`` and ``POST /v1/images/edits``."""

    def _rate_limit(self) -> Reply | None:
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

    def _image(self, params: dict, *, grid: bool, references: int = 0) -> Reply:
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
        return Reply(200, json.dumps(answer).encode())

    def _raw_image(self, data: bytes) -> Reply:
        answer = {"created": int(time.time()), "data": [{"b64_json": base64.b64encode(data).decode("ascii")}]}
        return Reply(200, json.dumps(answer).encode())

    def _rendered(self, size: tuple[int, int], fmt: str, index: int, cols: int, rows: int) -> str:
        """Base64 of the encoded image, cached: rendering and encoding dominate otherwise."""
        key = (size, fmt, index, cols, rows, id(self.sign_images))
        with self._lock:
            cached = self._image_cache.get(key)
        if cached is not None:
            return cached
        image = render_grid(size, cols, rows, index) if cols else render_portrait(size, index)
        data = encode(image, fmt)
        if self.sign_images:
            data = self.sign_images(data)
        encoded = base64.b64encode(data).decode("ascii")
        with self._lock:
            self._image_cache[key] = encoded
        return encoded
