"""Standalone: ``python -m testkit.fake_openai --port 8123 [--chat-latency 0.5] [--image-latency 1.0]
[--images-per-minute N]`` serves until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import time

from testkit.fake_openai.server import FakeOpenAI


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI API on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--chat-latency", type=float, default=0.0, help="seconds before each chat answer")
    parser.add_argument("--image-latency", type=float, default=0.0, help="seconds before each image answer")
    parser.add_argument("--images-per-minute", type=int, default=None, help="429 past this many image calls/min")
    parser.add_argument("--max-recorded", type=int, default=1000, help="keep only the newest N requests in memory")
    args = parser.parse_args(argv)
    # Ctrl-C stops it even when its parent ignored SIGINT (pytest-xdist's workers do, and a child inherits that, and
    # Python then installs no handler of its own).
    signal.signal(signal.SIGINT, signal.default_int_handler)
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
