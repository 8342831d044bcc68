"""The data a benchmark runs on, built in a child process (django_call "bench.harness.datasets:<function>"),
and the API calls a task of a given size needs."""

from __future__ import annotations

import math
import uuid

DESCRIPTION = "Night-shift nurses in Manchester who run half-marathons"
PERSONAS_PER_BATCH = 5  # the project's default, which the API-call counts below assume


def submit(personas: int, images: int, tasks: int = 1) -> list[int]:
    """(In a child.) Tasks submitted as the web app does: a pending task, its start job queued on commit."""
    from django.conf import settings

    from accounts.models import User
    from generation.services import submit_task

    per_user = settings.MAX_OPEN_TASKS_PER_USER or tasks  # more tasks than one person may have open: more people
    users = [User.objects.create_user(f"bench-{uuid.uuid4().hex[:12]}@example.com") for _ in range(0, tasks, per_user)]
    return [
        submit_task(
            user=users[number // per_user],
            persona_description=DESCRIPTION,
            bio_language="English",
            number_to_generate=personas,
            images_per_persona=images,
        ).pk
        for number in range(tasks)
    ]


def allow_running_tasks(count: int) -> None:
    """(In a child.) Let `count` tasks generate at once (int_config's max_concurrent_tasks, 1 as migrated): for the
    benchmarks that measure tasks running side by side."""
    from siteconfig.models import IntConfig

    IntConfig.set_value("max_concurrent_tasks", count)


def images_stage_task(personas: int, images: int) -> int:
    """(In a child.) A data set built by bulk inserts: a task already in its images stage, with `personas`
    personas and one pending images unit each, as the data stage leaves it. Nothing is queued."""
    from accounts.models import User
    from generation.models import GenerationResult, GenerationTask, PipelineUnit

    user = User.objects.create_user(f"bench-{uuid.uuid4().hex[:12]}@example.com")
    task = GenerationTask.objects.create(
        user=user,
        persona_description=DESCRIPTION,
        bio_language="English",
        number_to_generate=personas,
        images_per_persona=images,
        status=GenerationTask.Status.GENERATING_IMAGES,
    )
    results = GenerationResult.objects.bulk_create(
        GenerationResult(
            task=task,
            batch_number=n // PERSONAS_PER_BATCH + 1,
            firstname=f"Bench{n}",
            lastname=f"Persona{n}",
            gender="fm"[n % 2],
            bio_facebook="Runs before night shifts.",
            bio_instagram="Trainers, tea, 5 a.m. miles.",
            bio_x="Nurse. Runner. Mostly tired.",
            bio_tiktok="Half-marathon prep between shifts.",
        )
        for n in range(personas)
    )
    PipelineUnit.objects.bulk_create(
        PipelineUnit(task=task, kind=PipelineUnit.Kind.PERSONA_IMAGES, number=r.pk, result_id=r.pk) for r in results
    )
    return task.pk


def start_dispatch(task_pk: int) -> None:
    """(In a child.) Queue the first window of a task's pending units, as the stage change does."""
    from generation.pipeline import lifecycle

    lifecycle.dispatch(task_pk)


def api_calls_needed(personas: int, images: int, layout_8: str = "2x2+2x2") -> dict[str, int]:
    """The calls a task needs when nothing fails: one chat per batch, one base per persona, one edit per grid."""
    grids = 1 if images == 4 or layout_8 == "2x4" else 2
    return {
        "chat": math.ceil(personas / PERSONAS_PER_BATCH),
        "generations": personas,
        "edits": personas * grids,
    }
