"""Who a task's people are beyond the documented columns, in tables of our own: what the task asked for (ages, a
gender mix, a country, and the seed its skeletons are drawn from), and what the text model wrote for each persona
that has no documented column (a look, interests and one photo idea per image)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from generation.models.tasks import GenerationResult, GenerationTask

YOUNGEST, OLDEST = 18, 90  # nobody under 18, ever: the photos are realistic people
DEFAULT_AGES = (20, 60)


class TaskRequest(models.Model):
    """The people a task asked for. A task without a row (made before this table, or adopted) reads as the
    defaults (`people_request`)."""

    class Gender(models.TextChoices):
        MIXED = "mixed", "Women and men"
        WOMEN = "f", "Women"
        MEN = "m", "Men"

    task = models.OneToOneField(
        GenerationTask, on_delete=models.CASCADE, db_constraint=False, related_name="people_request"
    )
    age_min = models.PositiveSmallIntegerField(default=DEFAULT_AGES[0])
    age_max = models.PositiveSmallIntegerField(default=DEFAULT_AGES[1])
    gender = models.CharField(max_length=5, choices=Gender.choices, default=Gender.MIXED)
    # ISO 3166-1 alpha-2; empty: the bio language's own country.
    country = models.CharField(max_length=2, blank=True, default="")
    # The skeletons are drawn from it, so a run can be repeated.
    seed = models.BigIntegerField()

    class Meta:
        db_table = "generation_task_requests"
        constraints = [
            models.CheckConstraint(
                condition=Q(age_min__gte=YOUNGEST) & Q(age_max__lte=OLDEST) & Q(age_min__lte=F("age_max")),
                name="generation_task_requests_adult_ages",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.age_min}–{self.age_max}, {self.gender}, {self.country or 'any country'}"


class PersonaDetails(models.Model):
    """What the text model wrote about a persona beside its profile columns. `slot` is the persona's skeleton in
    its task's draw, so a batch asked again knows which of its people it still lacks."""

    result = models.OneToOneField(
        GenerationResult, on_delete=models.CASCADE, db_constraint=False, related_name="details"
    )
    slot = models.IntegerField(null=True, blank=True)
    look = models.TextField(blank=True, default="")
    interests = models.JSONField(default=list, blank=True)
    photo_ideas = models.JSONField(default=list, blank=True)
    # New ideas an operator's "new photos" unit asked for, kept until its photos are recorded, so that a second run
    # of the unit pays for no second call.
    next_ideas = models.JSONField(default=list, blank=True)
    next_ideas_unit = models.IntegerField(null=True, blank=True)

    class Meta:
        db_table = "generation_persona_details"
        verbose_name_plural = "persona details"

    def __str__(self) -> str:
        return f"details of {self.result_id}"
