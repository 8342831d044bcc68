"""The offline generator, as a worker cluster runs it: workers are forked from one process."""

from __future__ import annotations

import json
import os
from dataclasses import replace

from generation.integrations.backends import IdeasRequest, PersonaRequest, Skeleton
from generation.integrations.offline import OfflineBackend
from generation.integrations.prompts import PROFILE_LIMITS
from generation.pipeline.persona_data import Persona, validate_persona

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


def test_the_offline_generator_keeps_each_skeleton_and_fills_every_field_of_a_whole_persona():
    people = (Skeleton(0, "f", 61, "Ana", "Costa"), Skeleton(1, "m", 24))
    request = replace(REQUEST, language="Portuguese", count=2, people=people, photo_ideas=8, country="Portugal")
    personas = OfflineBackend().generate_personas(request)
    checked = [validate_persona(raw, photo_ideas=8) for raw in personas]
    assert all(isinstance(persona, Persona) for persona in checked), checked
    first, second = checked
    assert (first.firstname, first.lastname, first.gender, first.age, first.ref) == ("Ana", "Costa", "f", 61, "p0")
    assert second.firstname and second.gender == "m" and second.age == 24
    for persona in checked:
        assert set(persona.profile) == set(PROFILE_LIMITS) and all(persona.profile.values())
        assert persona.look and persona.interests and len(set(persona.photo_ideas)) == 8


def test_offline_photo_ideas_are_new_and_distinct():
    old = ["at a market on a sunny morning, in sportswear"]
    ideas = OfflineBackend().write_photo_ideas(IdeasRequest("Ana Costa (a woman)", 20, old))
    assert len(set(ideas)) == 20 and not set(ideas) & set(old)
