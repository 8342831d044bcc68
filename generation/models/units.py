"""The pipeline's units of work (a batch of personas, one persona's images, one photo made again) and the slots
that pace API calls across workers."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from generation.models.tasks import GenerationResult, GenerationTask


def default_attempt_limit() -> int:
    return settings.UNIT_MAX_ATTEMPTS


class PipelineUnit(models.Model):
    """One background job's worth of work: a batch of personas, or one persona's images.

    The pipeline's own state lives here, not on the documented tables: which units a task has, how often each was
    tried (worker deaths included, which django-q2 does not count), and who holds it right now: a short lease that
    its worker renews while it works, with a token that fences a worker who lost it. Only
    `generation.pipeline.lifecycle` changes `state`."""

    class Kind(models.TextChoices):
        BATCH = "batch", "Batch of personas"
        # A persona's images the first time: its base selfie and all its photos.
        PERSONA_IMAGES = "images", "Persona images"
        # Operator actions on a persona already made (the stored values are the original ones):
        ALL_PHOTOS_AGAIN = "photos", "New photos of a persona"
        ONE_PHOTO_AGAIN = "image", "One new photo"
        BIOS = "bios", "New bios of a persona"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    OPEN_STATES = (State.PENDING, State.QUEUED, State.RUNNING)
    # The kinds each running stage of a task waits for.
    DATA_KINDS = (Kind.BATCH, Kind.BIOS)
    IMAGE_KINDS = (Kind.PERSONA_IMAGES, Kind.ALL_PHOTOS_AGAIN, Kind.ONE_PHOTO_AGAIN)

    # Both foreign keys cascade in the database too (created by the migration), so that deleting a task or result
    # in plain SQL still works.
    task = models.ForeignKey(
        GenerationTask, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="units"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The batch number for a batch, the result's id for images; for an operator action, its own sequence.
    number = models.IntegerField()
    # For one new photo: its position in the persona's images (1-based).
    target = models.IntegerField(null=True, blank=True)
    # Personas asked of a batch.
    size = models.IntegerField(default=0)
    result = models.ForeignKey(
        GenerationResult, on_delete=models.CASCADE, db_constraint=False, null=True, blank=True, related_name="units"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # Times a worker took the unit, deaths included; never reset. It gives up at `attempt_limit`.
    attempts = models.IntegerField(default=0)
    attempt_limit = models.IntegerField(default=default_attempt_limit)
    # The lease: renewed by its worker's heartbeat; once it has run out, the unit may be taken again.
    lease_until = models.DateTimeField(null=True, blank=True)
    # Drawn anew by every claim. A worker writes its outcome only while the token is still its own.
    lease_token = models.IntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Why it failed, or what it fell short of (a batch that got fewer personas than asked).
    note = models.TextField(blank=True, default="")
    # What the API said when it rejected this unit's input ("400:invalid_value"): the same code for several units
    # in a row stops the task.
    error_code = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "generation_units"
        ordering = ["id"]
        constraints = [
            # A unit is planned once, however many workers plan it.
            models.UniqueConstraint(fields=["task", "kind", "number"], name="generation_units_once_per_task"),
        ]
        indexes = [
            # Dispatch and progress: a task's units by state.
            models.Index(fields=["task", "state"], name="generation_units_task_state"),
            # The sweep: running units whose lease ran out.
            models.Index(fields=["state", "lease_until"], name="generation_units_state_lease"),
            # The sweep: queued units whose job was lost with its cluster.
            models.Index(fields=["state", "queued_at"], name="generation_units_state_queued"),
        ]

    def __str__(self) -> str:
        # Named by what people know, the task code: "3f9a2c1b · batch 1" (lists select the task with the unit).
        return f"{self.task.task_code} · {self.kind} {self.number}"


class RateLimitSlot(models.Model):
    """The next free moment (epoch seconds) for one kind of API call, shared by every worker on
    every machine through the database."""

    name = models.CharField(max_length=50, primary_key=True)
    next_at = models.FloatField(default=0.0)

    class Meta:
        db_table = "generation_rate_slots"

    def __str__(self) -> str:
        return self.name
