"""A fake OpenAI HTTP server on loopback, for tests, benchmarks and offline development.

It speaks enough of the OpenAI wire format that the real ``openai`` client works against it unchanged
(``base_url=server.base_url``), so the project's code paths, retries and error handling are exercised for real,
without network access or cost. Switches on :class:`FakeOpenAI` inject the faults the project must survive:
HTTP errors, refusals, malformed JSON, short answers, dropped connections, rate limits and latency.

Standalone: ``python -m testkit.fake_openai --port 8123 [--chat-latency 0.5] [--image-latency 1.0]
[--images-per-minute N]`` serves until Ctrl-C.

The package, one module per concern: server (start, stop and the routing of each request), chat (chat
completions), images (generations and edits, the rate limit), drawing (the images sent), names (personas' names),
faults (the fault switches), state (what every endpoint shares), replies (replies and OpenAI-style errors) and wire
(HTTP and multipart). The names tests and benchmarks use are re-exported here.
"""

from testkit.fake_openai.chat import CHAT_PATH, asked_count
from testkit.fake_openai.drawing import render_grid, render_portrait
from testkit.fake_openai.images import (
    EDITS_PATH,
    GENERATIONS_PATH,
    IMAGE_INPUT_TOKENS,
    IMAGE_PATHS,
    OUTPUT_TOKENS_PER_MEGAPIXEL,
    grid_layout,
    parse_size,
)
from testkit.fake_openai.names import unique_name
from testkit.fake_openai.replies import error_payload
from testkit.fake_openai.server import FakeOpenAI, running_fake_openai
from testkit.fake_openai.state import RecordedRequest
from testkit.fake_openai.wire import parse_multipart

__all__ = [
    "CHAT_PATH",
    "EDITS_PATH",
    "GENERATIONS_PATH",
    "IMAGE_INPUT_TOKENS",
    "IMAGE_PATHS",
    "OUTPUT_TOKENS_PER_MEGAPIXEL",
    "FakeOpenAI",
    "RecordedRequest",
    "asked_count",
    "error_payload",
    "grid_layout",
    "parse_multipart",
    "parse_size",
    "render_grid",
    "render_portrait",
    "running_fake_openai",
    "unique_name",
]
