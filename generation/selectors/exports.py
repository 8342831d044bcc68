"""What a prepared export stands for: a fingerprint of everything the task's ZIP is made of."""

from __future__ import annotations

import hashlib

from django.db.models import Count, Max, Q

from generation.costs import budgets as costs
from generation.models import FaceCheck, GenerationResult, GenerationTask, ImageCredential

RESULT_FIELDS = ("id", "firstname", "lastname", "gender", "bio_facebook", "bio_instagram", "bio_x", "bio_tiktok",
                 "base_image_url", "images")  # fmt: skip


def export_fingerprint(task: GenerationTask) -> str:
    """A digest of every row the task's ZIP is written from (the task, its personas, their face checks, Content
    Credentials and costs): it changes whenever the ZIP would, so a prepared one is known to be out of date.
    Reading the rows rather than trusting a "last changed" stamp means no writer can forget to bump it."""
    digest = hashlib.sha256()

    def add(rows) -> None:
        for row in rows:
            digest.update(repr(row).encode())
        digest.update(b"|")

    add([(task.status, task.completed_at, task.persona_description, task.bio_language, task.images_per_persona,
          task.number_to_generate, costs.task_spent(task.pk))])  # fmt: skip
    add(GenerationResult.objects.filter(task=task).order_by("id").values_list(*RESULT_FIELDS).iterator(2000))
    checks = FaceCheck.objects.filter(result__task=task).order_by("result_id", "position", "id")
    add(checks.values_list("result_id", "position", "verdict", "distance").iterator(2000))
    # Per persona, what the exports say of its signed files: how many, how many failed, when last checked.
    credentials = ImageCredential.objects.filter(task=task).values("result_id").order_by("result_id")
    failed = Count("id", filter=~Q(verdict=ImageCredential.Verdict.VERIFIED))
    add(credentials.annotate(files=Count("id"), failed=failed, checked=Max("checked_at")).values_list(
        "result_id", "files", "failed", "checked"))  # fmt: skip
    return digest.hexdigest()
