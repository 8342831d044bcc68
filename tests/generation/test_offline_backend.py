"""The offline generator, as a worker cluster runs it: workers are forked from one process."""

from __future__ import annotations

import json
import os

from generation.integrations.backends import PersonaRequest
from generation.integrations.offline import OfflineBackend

REQUEST = PersonaRequest(
    description="Night-shift bakers in Lisbon", language="English", count=5, bio_prompts={}, avoid_names=[]
)


def names_drawn() -> list[str]:
    return [f"{p['firstname']} {p['lastname']}" for p in OfflineBackend().generate_personas(REQUEST)]


def names_drawn_in_a_forked_worker() -> list[str]:
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the worker: draw, hand the names over, and leave at once (no atexit, no test teardown)
        try:
            os.write(writing, json.dumps(names_drawn()).encode())
        finally:
            os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as pipe:
        names = json.loads(pipe.read())
    os.waitpid(child, 0)
    return names


def test_workers_forked_from_one_cluster_draw_names_of_their_own():
    """Each worker of a cluster once drew the very names its siblings drew, so the batches of one task that ran at
    the same time kept dropping each other's personas as repeats, and a 120-persona task came out short."""
    names_drawn()  # the cluster's main process has used the generator before it forks
    first, second = names_drawn_in_a_forked_worker(), names_drawn_in_a_forked_worker()
    assert not set(first) & set(second), (first, second)
