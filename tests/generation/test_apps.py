"""What a worker cluster prepares before it forks its workers."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from django.core.files.storage import default_storage

from generation.apps import prepare_for_workers
from generation.integrations.backends import get_backend

ROOT = Path(__file__).resolve().parents[2]


def test_the_clients_are_made_before_the_fork_without_any_request(settings):
    settings.GENERATION_BACKEND = "openai"
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # the discard port: a request would fail
    settings.STORAGES = {
        "default": {
            "BACKEND": "generation.integrations.storage.PutObjectS3Storage",
            "OPTIONS": {"bucket_name": "avatars", "endpoint_url": "http://127.0.0.1:9", "region_name": "us-east-1",
                        "access_key": "testing", "secret_key": "testing", "querystring_auth": False},
        },
        "staticfiles": settings.STORAGES["staticfiles"],
    }  # fmt: skip
    get_backend.cache_clear()
    try:
        prepare_for_workers()
        assert get_backend.cache_info().currsize == 1
        assert default_storage._bucket is not None
        assert default_storage._unsigned_connections.connection is not None
    finally:
        get_backend.cache_clear()


def test_a_client_that_cannot_be_made_is_a_warning_and_the_cluster_still_starts(settings, caplog):
    settings.GENERATION_BACKEND = "carrier-pigeon"
    get_backend.cache_clear()
    with caplog.at_level(logging.WARNING, logger="generation.pipeline"):
        prepare_for_workers()
    assert "could not prepare the API and storage clients" in caplog.text
    assert "Unknown GENERATION_BACKEND 'carrier-pigeon'" in caplog.text
    get_backend.cache_clear()


ARENAS_SCRIPT = """
import ctypes, sys, threading
from generation.apps import cap_malloc_arenas
if sys.argv[1] == "capped":
    cap_malloc_arenas()
def allocate():
    small = [bytes(5_000) for _ in range(2_000)]  # under the mmap threshold: from the thread's arena
threads = [threading.Thread(target=allocate) for _ in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
ctypes.CDLL(None).malloc_stats()
"""


def arenas_used(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", ARENAS_SCRIPT, mode], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stderr.count("Arena ")


def test_worker_processes_allocate_from_two_malloc_arenas_whatever_their_threads():
    assert arenas_used("uncapped") > 2  # without the cap, glibc gave the threads arenas of their own
    assert arenas_used("capped") <= 2
