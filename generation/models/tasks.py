"""Tasks and their results, on the documented `generation_tasks` and `generation_results` tables, with the runs
and submissions of tasks.

Both foreign keys are declared with `db_constraint=False`: their database constraints are created
by the migrations under the documented names (`fk_generation_tasks_user_id`, and
`fk_generation_results_task_id` with ON DELETE CASCADE), which Django cannot name itself."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

TASK_ID_LENGTH = 8


class GenerationTask(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        GENERATING_DATA = "generating-data", "Generating data"
        GENERATING_IMAGES = "generating-images", "Generating images"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        # Ours, beside the documented five: `status` is a free string, so this needs no schema change.
        CANCELLED = "cancelled", "Cancelled"

    class ImagesPerPersona(models.IntegerChoices):
        # Made four at a time, as N/4 photo grids of 2x2 (8 can be one 2x4 grid instead: GRID_LAYOUT_8).
        FOUR = 4, "4 images"
        EIGHT = 8, "8 images"
        TWELVE = 12, "12 images"
        SIXTEEN = 16, "16 images"
        TWENTY = 20, "20 images"

    FINISHED_STATUSES = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
    RUNNING_STATUSES = (Status.GENERATING_DATA, Status.GENERATING_IMAGES)
    OPEN_STATUSES = (Status.PENDING, *RUNNING_STATUSES)  # waiting or running

    # The public code people read and type (column `task_id`); the primary key is `pk`.
    task_code = models.CharField(max_length=12, editable=False, db_column="task_id")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # Tasks outlive a careless click: deactivate a user rather than delete their work.
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        related_name="generation_tasks",
    )
    persona_description = models.TextField()
    bio_language = models.CharField(max_length=100)
    number_to_generate = models.IntegerField()
    images_per_persona = models.IntegerField(choices=ImagesPerPersona.choices)
    status = models.CharField(max_length=50, choices=Status.choices, default=Status.PENDING, db_default=Status.PENDING)
    error_log = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "generation_tasks"
        ordering = ["-id"]
        constraints = [
            # The user-facing id is looked up from URLs and commands.
            models.UniqueConstraint(fields=["task_code"], name="ix_generation_tasks_task_id"),
            models.UniqueConstraint(fields=["task_code"], name="uq_generation_tasks_task_id"),
        ]
        indexes = [
            # A user's own task list.
            models.Index(fields=["user"], name="ix_generation_tasks_user_id"),
            # Filtering by status (admin, finding running tasks).
            models.Index(fields=["status"], name="ix_generation_tasks_status"),
        ]
        # Beside change and delete: retrying a task or generating its missing personas pays the API again.
        permissions = [("resume_task", "Can retry a task or generate its missing personas (paid work)")]

    def __str__(self) -> str:
        return self.task_code

    def save(self, *args, **kwargs) -> None:
        if not self.task_code:
            self.task_code = self.generate_task_id()
        super().save(*args, **kwargs)

    @staticmethod
    def generate_task_id() -> str:
        """A short random id for people to read and type; re-drawn on the rare clash with a
        stored one (the unique constraint remains the final guard)."""
        for _ in range(20):
            candidate = uuid.uuid4().hex[:TASK_ID_LENGTH]
            if not GenerationTask.objects.filter(task_code=candidate).exists():
                return candidate
        raise RuntimeError("Could not draw an unused task id in 20 tries.")

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES

    def update_status(self, new_status: str) -> None:
        if new_status not in self.Status.values:
            raise ValueError(f"Unknown task status {new_status!r}; expected one of: {', '.join(self.Status.values)}.")
        self.status = new_status
        self.save(update_fields=["status", "updated_at"])

    def mark_completed(self, success: bool, error_message: str | None = None) -> None:
        """End the task: `completed` or `failed`, stamped with the time it ended."""
        self.status = self.Status.COMPLETED if success else self.Status.FAILED
        self.completed_at = timezone.now()
        update_fields = ["status", "completed_at", "updated_at"]
        if error_message:
            self.error_log = error_message
            update_fields.append("error_log")
        self.save(update_fields=update_fields)


class GenerationResult(models.Model):
    """One persona of a task: names, gender, a bio per platform and its image URLs."""

    class Gender(models.TextChoices):
        FEMALE = "f", "Female"
        MALE = "m", "Male"

    task = models.ForeignKey(
        GenerationTask,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="results",
    )
    batch_number = models.IntegerField()
    firstname = models.CharField(max_length=100)
    lastname = models.CharField(max_length=100)
    gender = models.CharField(max_length=10, choices=Gender.choices)
    bio_facebook = models.TextField(null=True, blank=True)
    bio_instagram = models.TextField(null=True, blank=True)
    bio_x = models.TextField(null=True, blank=True)
    bio_tiktok = models.TextField(null=True, blank=True)
    base_image_url = models.TextField(null=True, blank=True)
    # Ordered list of the public URLs of the split images.
    images = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    # The profile, as the original app's revisions 7e69fd85074a and fbc78f685fa2 added it: every field nullable.
    job_title = models.TextField(null=True, blank=True)
    workplace = models.TextField(null=True, blank=True)
    edu_establishment = models.TextField("school, college or university", null=True, blank=True)
    edu_study = models.TextField("field of study", null=True, blank=True)
    current_city = models.CharField(max_length=255, null=True, blank=True)
    current_state = models.CharField("current state or region", max_length=255, null=True, blank=True)
    prev_city = models.CharField("previous city", max_length=255, null=True, blank=True)
    prev_state = models.CharField("previous state or region", max_length=255, null=True, blank=True)
    about = models.TextField(null=True, blank=True)
    ethnicity = models.CharField(max_length=100, null=True, blank=True)
    age = models.IntegerField(null=True, blank=True)

    # The profile's columns in their order, as the exports and pages show them.
    PROFILE_FIELDS = (
        "age",
        "ethnicity",
        "job_title",
        "workplace",
        "edu_establishment",
        "edu_study",
        "current_city",
        "current_state",
        "prev_city",
        "prev_state",
        "about",
    )

    class Meta:
        db_table = "generation_results"
        ordering = ["id"]
        indexes = [
            # A task's results (task page, progress counts, cascade).
            models.Index(fields=["task"], name="ix_generation_results_task_id"),
            # Results of one batch (the pipeline checks what a batch already saved).
            models.Index(fields=["batch_number"], name="ix_generation_results_batch_number"),
        ]
        # New photos, one new photo or new bios of a persona: paid work, apart from changing or deleting it.
        permissions = [("regenerate_persona", "Can ask for new photos or bios of a persona (paid work)")]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.firstname} {self.lastname}"

    @property
    def bios(self) -> list[tuple[str, str]]:
        """(platform label, bio) for the bios this persona has."""
        labelled = [("Facebook", self.bio_facebook), ("Instagram", self.bio_instagram), ("X", self.bio_x),
                    ("TikTok", self.bio_tiktok)]  # fmt: skip
        return [(label, bio) for label, bio in labelled if bio]

    @property
    def headline(self) -> str:
        """Age · job · town, as a card shows them ("" for a persona without a profile)."""
        parts = [str(self.age) if self.age else "", self.job_title or "", self.current_city or ""]
        return " · ".join(part for part in parts if part)

    @property
    def profile(self) -> list[tuple[str, str]]:
        """(label, value) for the profile facts this persona has, in the columns' order; unknown ones left out."""
        facts = []
        for name in self.PROFILE_FIELDS:
            value = getattr(self, name)
            if value is not None and value != "":
                label = str(self._meta.get_field(name).verbose_name)
                facts.append((label[:1].upper() + label[1:], str(value)))
        return facts


class TaskRun(models.Model):
    """One stretch of a task running: from its start, a retry or an operator action until it ends. The time a
    task spent running is the sum of its runs, not the time since it was created (a failed task may sit for hours
    before its retry)."""

    task = models.ForeignKey(
        GenerationTask, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="runs"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "generation_task_runs"
        ordering = ["task_id", "started_at"]
        indexes = [
            # A task's runs, in order (task page, task list durations).
            models.Index(fields=["task", "started_at"], name="generation_task_runs_task"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} from {self.started_at:%Y-%m-%d %H:%M:%S}"


class TaskSubmission(models.Model):
    """The token of the new-task form a task was submitted with, in a table of our own. The unique pair (owner,
    token) is the double-submit guard: a second POST of the same form (a double click, a reload, six at once) finds
    the first task instead of making another, whichever request the database lets through first. `task` is empty
    only inside the transaction that claims the token."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_constraint=False, related_name="task_submissions"
    )
    token = models.UUIDField()
    task = models.OneToOneField(
        GenerationTask, on_delete=models.CASCADE, db_constraint=False, null=True, related_name="submission"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "generation_task_submissions"
        constraints = [models.UniqueConstraint(fields=["owner", "token"], name="generation_task_submissions_once")]

    def __str__(self) -> str:
        return f"{self.owner_id}: {self.token}"
