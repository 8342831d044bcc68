"""Tasks and their results, on the documented `generation_tasks` and `generation_results` tables.

Both foreign keys are declared with `db_constraint=False`: their database constraints are created
by the migrations under the documented names (`fk_generation_tasks_user_id`, and
`fk_generation_results_task_id` with ON DELETE CASCADE), which Django cannot name itself."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from generation.money import BUDGET_DIGITS, BUDGET_PLACES

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
        IMAGES = "images", "Persona images"
        # Operator actions on a persona already made:
        PHOTOS = "photos", "New photos of a persona"
        IMAGE = "image", "One new photo"
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
    IMAGE_KINDS = (Kind.IMAGES, Kind.PHOTOS, Kind.IMAGE)

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


class FaceCheck(models.Model):
    """What the face model saw in one stored image of a persona (the base, or a tile), and its verdict. Kept in a
    table of our own: the documented tables stay exact."""

    class Verdict(models.TextChoices):
        OK = "ok", "OK"
        DIFFERENT_PERSON = "different-person", "Different person"
        SEVERAL_FACES = "several-faces", "Several faces"
        FACE_CUT = "face-cut", "Face cut by the split"
        NO_FACE = "no-face", "Not checked (no frontal face)"

    REJECTED = (Verdict.DIFFERENT_PERSON, Verdict.SEVERAL_FACES, Verdict.FACE_CUT)
    # Worst first: how a persona's verdicts sum up to one.
    SEVERITY = (Verdict.DIFFERENT_PERSON, Verdict.SEVERAL_FACES, Verdict.FACE_CUT, Verdict.NO_FACE, Verdict.OK)

    result = models.ForeignKey(
        GenerationResult, on_delete=models.CASCADE, db_constraint=False, related_name="face_checks"
    )
    # 0 for the base selfie, 1… for the tiles in the order of `images`.
    position = models.IntegerField()
    image_url = models.TextField()
    faces = models.IntegerField()
    # The main face's box in the image's pixels: [left, top, right, bottom].
    box = models.JSONField(null=True, blank=True)
    # The main face's 128 float32 numbers, as bytes.
    embedding = models.BinaryField(null=True, blank=True)
    # Distance from the persona's base face (None for the base itself, or when either has no face).
    distance = models.FloatField(null=True, blank=True)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    # How many times the pipeline replaced this image because of its verdict.
    replaced = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "generation_face_checks"
        ordering = ["result_id", "position"]
        constraints = [
            # One check per image slot; a re-check replaces it.
            models.UniqueConstraint(fields=["result", "position"], name="generation_face_checks_once"),
        ]
        indexes = [
            # "Needs a look": the checks of a verdict (admin filter, gallery filter).
            models.Index(fields=["verdict"], name="generation_face_checks_verdict"),
        ]

    def __str__(self) -> str:
        return f"{self.result_id}:{self.position} {self.verdict}"


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


class ApiCall(models.Model):
    """One try of one API call, as it was paid for: what it asked, how it ended, the usage the API reported and its
    cost. Retries are rows of their own. Written as each try ends, outside any unit's transaction, so a unit that is
    run again (its worker killed) adds its new tries beside the old ones and loses none. Owners are kept loosely
    (SET_NULL): deleting a persona or a task does not unwrite what was spent."""

    class Kind(models.TextChoices):
        PERSONAS = "personas", "Persona batch"
        BIOS = "bios", "New bios"
        BASE = "base", "Base selfie"
        GRID = "grid", "Photo grid"
        REPLACEMENT = "replacement", "Replacement photo"
        FACE_SWAP = "face-swap", "Face swap"

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        RETRIED = "retried", "Failed, tried again"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    task = models.ForeignKey(
        GenerationTask, on_delete=models.SET_NULL, null=True, blank=True, db_constraint=False, db_index=False,
        related_name="api_calls",
    )  # fmt: skip
    unit = models.ForeignKey(
        PipelineUnit, on_delete=models.SET_NULL, null=True, blank=True, db_constraint=False, db_index=False,
        related_name="api_calls",
    )  # fmt: skip
    result = models.ForeignKey(
        GenerationResult, on_delete=models.SET_NULL, null=True, blank=True, db_constraint=False, db_index=False,
        related_name="api_calls",
    )  # fmt: skip
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, db_constraint=False,
        db_index=False, related_name="api_calls",
    )  # fmt: skip
    kind = models.CharField(max_length=20, choices=Kind.choices)
    model = models.CharField(max_length=100)
    size = models.CharField(max_length=20, blank=True, default="")
    quality = models.CharField(max_length=20, blank=True, default="")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    http_status = models.IntegerField(null=True, blank=True)
    latency_ms = models.IntegerField()
    text_input_tokens = models.IntegerField(default=0)
    image_input_tokens = models.IntegerField(default=0)
    text_output_tokens = models.IntegerField(default=0)
    image_output_tokens = models.IntegerField(default=0)
    images = models.IntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    # False when the price table has no price for this call: its cost shows as unknown, not as 0.
    priced = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "generation_api_calls"
        ordering = ["-created_at"]  # what the index on created_at serves, read backwards
        indexes = [
            # A task's spend (task page, exports, the running budget check before every call).
            models.Index(fields=["task", "created_at"], name="generation_api_calls_task"),
            # A user's spend in a month (monthly cap, `manage.py costs`, top users).
            models.Index(fields=["user", "created_at"], name="generation_api_calls_user"),
            # The dashboard's days, and the admin's newest first: with the id, the admin's order (created_at, id),
            # whose page keys an index-only scan reads.
            models.Index(fields=["created_at", "id"], name="generation_api_calls_day"),
            # The admin's list filtered by kind, newest first.
            models.Index(fields=["kind", "created_at", "id"], name="generation_api_calls_kind"),
            # A persona's spend (exports).
            models.Index(fields=["result"], name="generation_api_calls_result"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.model} {self.outcome}"


class TaskBudget(models.Model):
    """What a task was submitted with, in a table of our own: its cap (at most TASK_BUDGET_USD; NULL: no cap) and its
    estimate, which the monthly check at submit counts against the month while the task waits or runs. A task with
    no row (made before these were kept) has the cap TASK_BUDGET_USD."""

    task = models.OneToOneField(GenerationTask, on_delete=models.CASCADE, db_constraint=False, related_name="budget")
    cap_usd = models.DecimalField(max_digits=BUDGET_DIGITS, decimal_places=BUDGET_PLACES, null=True, blank=True,
                                  validators=[MinValueValidator(0)])  # fmt: skip
    estimate_usd = models.DecimalField(max_digits=BUDGET_DIGITS, decimal_places=BUDGET_PLACES, null=True, blank=True,
                                       validators=[MinValueValidator(0)])  # fmt: skip

    class Meta:
        db_table = "generation_task_budgets"
        constraints = [
            models.CheckConstraint(
                condition=Q(cap_usd__isnull=True) | Q(cap_usd__gte=0), name="generation_task_budgets_cap_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(estimate_usd__isnull=True) | Q(estimate_usd__gte=0),
                name="generation_task_budgets_estimate_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {'no cap' if self.cap_usd is None else f'{self.cap_usd} USD'}"


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


class UserBudget(models.Model):
    """A user's own monthly cap, over MONTHLY_BUDGET_USD (set in the admin): empty is no cap, 0 lets nothing be
    spent."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_constraint=False, related_name="budget"
    )
    monthly_usd = models.DecimalField(
        "monthly cap (USD)",
        max_digits=BUDGET_DIGITS,
        decimal_places=BUDGET_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(0, "A budget cannot be negative: enter 0 or more, or leave it empty.")],
        help_text="Empty: no cap. 0: nothing may be spent. Over MONTHLY_BUDGET_USD for this user.",
    )

    class Meta:
        db_table = "generation_user_budgets"
        verbose_name = "monthly budget"
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_usd__isnull=True) | Q(monthly_usd__gte=0),
                name="generation_user_budgets_not_negative",
                violation_error_message="A budget cannot be negative: enter 0 or more, or leave it empty.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {'no cap' if self.monthly_usd is None else f'{self.monthly_usd} USD a month'}"


class DailyUsage(models.Model):
    """What a user's work came to in a day: tasks submitted, personas and images made, API calls and their cost.
    Added to as things happen (one upsert each), so the dashboard reads 30 rows a user instead of a million calls.
    `user_key` is the user's primary key, 0 for calls made for no one (a unique key cannot hold NULL)."""

    day = models.DateField()
    user_key = models.IntegerField()
    tasks = models.IntegerField(default=0)
    personas = models.IntegerField(default=0)
    images = models.IntegerField(default=0)
    calls = models.IntegerField(default=0)
    failed_calls = models.IntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)

    class Meta:
        db_table = "generation_daily_usage"
        constraints = [models.UniqueConstraint(fields=["day", "user_key"], name="generation_daily_usage_once")]

    def __str__(self) -> str:
        return f"{self.day} user {self.user_key}"


class ImageCredential(models.Model):
    """The Content Credentials of one stored file (an image or a thumbnail), as read back when it was stored and
    again by `verify_provenance`. The task page's "Content Credentials" line is read from these rows, never by
    downloading images. Rows go with their files: pruned with a replaced image, deleted with a persona or task."""

    class Verdict(models.TextChoices):
        VERIFIED = "verified", "Verified"
        INVALID = "invalid", "Invalid"
        MISSING = "missing", "Missing"

    task = models.ForeignKey(GenerationTask, on_delete=models.CASCADE, related_name="credentials")
    result = models.ForeignKey(GenerationResult, on_delete=models.CASCADE, related_name="credentials")
    key = models.CharField(max_length=500, unique=True)
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveIntegerField()
    manifest_label = models.CharField(max_length=200, blank=True)
    signer = models.CharField(max_length=200, blank=True)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    problem = models.TextField(blank=True)
    signed_at = models.DateTimeField()
    checked_at = models.DateTimeField()
    checked_by = models.CharField(max_length=40)  # "storing" or "verify_provenance"

    class Meta:
        db_table = "generation_image_credentials"
        verbose_name = "signed file"
        verbose_name_plural = "signed files"
        indexes = [
            # The task page's line and the exports: a task's rows counted by verdict.
            models.Index(fields=["task", "verdict"], name="generation_credentials_task"),
            # The admin's list, newest checked first, and its date filter.
            models.Index(fields=["-checked_at", "-id"], name="generation_credentials_checked"),
        ]

    def __str__(self) -> str:
        return self.key


def new_build_token() -> str:
    return uuid.uuid4().hex


class ExportBuild(models.Model):
    """The task's ZIP, prepared in storage by a background job so that no download holds a web worker while it
    is made or sent. It stands for the task as it was when `fingerprint` was taken. For a finished task, a request
    that finds another fingerprint (a persona regenerated, deleted or added) starts a new build; a running task's
    ZIP is served as it is until it is EXPORT_RUNNING_REFRESH_SECONDS old (export_builds.is_recent_for_running_task).
    `token` names the build that is wanted: a job for an older token, or one whose worker died (its `beat_at`
    stands still for EXPORT_BUILD_STALE_SECONDS), changes nothing."""

    class State(models.TextChoices):
        PREPARING = "preparing", "Preparing"
        READY = "ready", "Ready"

    task = models.OneToOneField(GenerationTask, on_delete=models.CASCADE, related_name="export_build")
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PREPARING)
    token = models.CharField(max_length=32, blank=True)  # empty until a build is queued
    key = models.CharField(max_length=300, blank=True)  # the storage key of the ready ZIP
    size = models.BigIntegerField(null=True, blank=True)
    beat_at = models.DateTimeField(default=timezone.now)  # the building job's last sign of life
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "generation_export_builds"

    def __str__(self) -> str:
        return f"{self.task_id} {self.state}"
