"""Small builders for test data. They go through the models' own code paths (the user manager,
the task's id generation) rather than raw rows."""

from __future__ import annotations

import itertools

from accounts.models import User
from generation.models import GenerationResult, GenerationTask

_sequence = itertools.count(1)


def make_user(email: str | None = None, password: str | None = None, **fields) -> User:
    """A user; without a password it gets an unusable one (hashing costs ~0.2 s a user)."""
    return User.objects.create_user(email or f"user{next(_sequence)}@example.com", password, **fields)


def make_superuser(email: str | None = None, password: str = "correct horse battery") -> User:
    return User.objects.create_superuser(email or f"admin{next(_sequence)}@example.com", password)


def make_task(user: User | None = None, **fields) -> GenerationTask:
    values = {
        "persona_description": "Amateur cyclists in their thirties who live in Lyon",
        "bio_language": "French",
        "number_to_generate": 10,
        "images_per_persona": 4,
    } | fields
    return GenerationTask.objects.create(user=user or make_user(), **values)


def make_result(task: GenerationTask, n: int | None = None, **fields) -> GenerationResult:
    n = n or next(_sequence)
    values = {
        "batch_number": 1,
        "firstname": f"Camille{n}",
        "lastname": f"Martin{n}",
        "gender": "f",
        "bio_facebook": "Cycliste du dimanche | Lyon",
        "bio_instagram": "🚴 Lyon · café · col du Galibier",
        "bio_x": "Je parle vélo, pluie et pâtisseries.",
        "bio_tiktok": "Mes sorties vélo en 60 s 🚲",
        "base_image_url": f"https://cdn.example.com/avatars/{task.task_code}/{n}/base.png",
        "images": [f"https://cdn.example.com/avatars/{task.task_code}/{n}/{i}.jpg" for i in range(1, 5)],
    } | fields
    return GenerationResult.objects.create(task=task, **values)
