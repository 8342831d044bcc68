"""Who a task's people are, in figures, as the original app's dataset view gives them: their ages, women and men,
and the most common heritages and towns; and what the task asked for."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from statistics import median

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
    """In one query of the task's rows, since the live part asks for it every two seconds."""
    rows = list(task.results.order_by().values_list("gender", "age", "ethnicity", "current_city"))
    genders = Counter(gender for gender, *_ in rows)
    ages = sorted(age for _, age, _, _ in rows if age is not None)
    return PeopleSummary(
        count=len(rows),
        women=genders["f"],
        men=genders["m"],
        ages=(ages[0], round(median(ages)), ages[-1]) if ages else None,
        ethnicities=_most_common(ethnicity for _, _, ethnicity, _ in rows),
        towns=_most_common(town for *_, town in rows),
    )


def _most_common(values) -> list[tuple[str, int]]:
    counted = Counter(value for value in values if value)
    return sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))[:MOST_COMMON]


def asked_people(task: GenerationTask) -> AskedPeople:
    request = people_request(task)
    place = countries.name_of(country_of(task, request))
    return AskedPeople(
        ages=f"{request.age_min}–{request.age_max}",
        gender=request.get_gender_display(),
        country=place if request.country else (f"{place} (from the language)" if place else "Not set"),
    )
