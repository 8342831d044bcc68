"""Who a task's people are, in figures, as the original app's dataset view gives them: their ages, women and men,
and the most common heritages and towns; and what the task asked for."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from django.db.models import Count

from generation.integrations import countries
from generation.models import GenerationTask
from generation.pipeline.skeletons import country_of, people_request

MOST_COMMON = 3


@dataclass(frozen=True)
class PeopleSummary:
    count: int
    women: int
    men: int
    ages: tuple[int, int, int] | None  # youngest, median, oldest
    ethnicities: list[tuple[str, int]]
    towns: list[tuple[str, int]]


@dataclass(frozen=True)
class AskedPeople:
    ages: str
    gender: str
    country: str


def people_summary(task: GenerationTask) -> PeopleSummary:
    results = task.results.order_by()
    genders = dict(results.values_list("gender").annotate(n=Count("id")))
    ages = sorted(results.exclude(age=None).values_list("age", flat=True))
    return PeopleSummary(
        count=sum(genders.values()),
        women=genders.get("f", 0),
        men=genders.get("m", 0),
        ages=(ages[0], round(median(ages)), ages[-1]) if ages else None,
        ethnicities=_most_common(results, "ethnicity"),
        towns=_most_common(results, "current_city"),
    )


def _most_common(results, column: str) -> list[tuple[str, int]]:
    rows = results.exclude(**{f"{column}__isnull": True}).exclude(**{column: ""})
    return list(rows.values_list(column).annotate(n=Count("id")).order_by("-n", column)[:MOST_COMMON])


def asked_people(task: GenerationTask) -> AskedPeople:
    request = people_request(task)
    place = countries.name_of(country_of(task, request))
    return AskedPeople(
        ages=f"{request.age_min}–{request.age_max}",
        gender=request.get_gender_display(),
        country=place if request.country else (f"{place} (from the language)" if place else "Not set"),
    )
