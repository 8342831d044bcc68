"""The skeleton of every persona of a task: a gender, an age and a name, drawn in code before any call from the
seed the task stores, so that a run can be repeated and the text model cannot narrow them. Models draw names from a
small favourite set; Faker's locale lists, weighted as Faker weights them, do not. Where Faker has no names for the
language, the skeleton has none and the model proposes them (the stage still refuses repeats)."""

from __future__ import annotations

import math
import random
import warnings
from functools import cache

import faker.config
from django.conf import settings
from faker import Faker

from generation.integrations import countries, languages
from generation.integrations.contract import Skeleton
from generation.models import DEFAULT_AGES, GenerationTask, TaskRequest

# Draws of one name before its skeleton is left for the model to name (a small locale list can run out).
NAME_TRIES = 40


def people_request(task: GenerationTask) -> TaskRequest:
    """The task's request; the defaults (seeded by the task's own id) for a task that has none stored."""
    try:
        return task.people_request
    except TaskRequest.DoesNotExist:
        return TaskRequest(task=task, age_min=DEFAULT_AGES[0], age_max=DEFAULT_AGES[1], seed=task.pk)


@cache
def has_own_names(locale: str) -> bool:
    """Whether Faker's person provider for `locale` has female and male first names of its own (others fall back to
    American names)."""
    if locale not in faker.config.AVAILABLE_LOCALES:
        return False
    with warnings.catch_warnings():  # a deprecated locale says so as it loads
        warnings.simplefilter("ignore")
        provider = next(p for p in Faker(locale).providers if p.__provider__ == "faker.providers.person")
    return bool(
        provider.__lang__ == locale
        and getattr(provider, "first_names_female", None)
        and getattr(provider, "first_names_male", None)
    )


def country_of(task: GenerationTask, request: TaskRequest | None = None) -> str:
    """Where the task's people live: the country asked for, else the bio language's own; "" when neither says."""
    request = request or people_request(task)
    if request.country:
        return request.country
    language = languages.find(task.bio_language)
    return language.country if language else ""


def names_locale(language_name: str, country: str) -> str:
    """The Faker locale the names come from: the language as spoken in the country when Faker has it, else the
    country's own, else the language's; "" when Faker has no names for any of them."""
    language = languages.find(language_name)
    if country:
        primary = language.code.split("-")[0] if language else ""
        of_country = sorted(locale for locale in faker.config.AVAILABLE_LOCALES if locale.endswith(f"_{country}"))
        for locale in [f"{primary}_{country}", *of_country]:
            if has_own_names(locale):
                return locale
    if language and has_own_names(language.faker_locale):
        return language.faker_locale
    return ""


def batch_slots(task: GenerationTask, number: int, size: int) -> range:
    """The slots of a task's batch `number`: the task's first batches share its draw in order; batches added later
    (missing personas) continue it."""
    first = (number - 1) * settings.PERSONAS_PER_BATCH
    return range(first, first + size)


def skeletons(task: GenerationTask, slots: range) -> list[Skeleton]:
    request = people_request(task)
    locale = names_locale(task.bio_language, country_of(task, request))
    drawn = _draw(request.seed, locale, request.gender, request.age_min, request.age_max,
                  task.number_to_generate, slots.stop)  # fmt: skip
    return list(drawn[slots.start : slots.stop])


@cache
def _draw(seed: int, locale: str, mix: str, youngest: int, oldest: int, total: int, upto: int) -> tuple[Skeleton, ...]:
    """Slots 0…upto-1. Within the task's `total`, genders are as even as the count allows (for a mix) and ages are
    spread across the range, one per equal share of it, in shuffled order; slots past it are drawn one by one."""
    rng = random.Random(seed)
    genders = _genders(mix, total, rng)
    span = oldest - youngest + 1
    ages = [youngest + min(span - 1, math.floor((i + rng.random()) * span / total)) for i in range(total)]
    rng.shuffle(ages)
    fake = None
    if locale:
        fake = Faker(locale)
        fake.seed_instance(seed)
    taken: set[str] = set()
    drawn = []
    for slot in range(upto):
        if slot < total:
            gender, age = genders[slot], ages[slot]
        else:
            gender = mix if mix in ("f", "m") else "fm"[slot % 2]
            age = rng.randint(youngest, oldest)
        first = last = ""
        for _ in range(NAME_TRIES if fake else 0):
            if gender == "f":
                candidate = (fake.first_name_female(), fake.last_name_female())
            else:
                candidate = (fake.first_name_male(), fake.last_name_male())
            key = " ".join(candidate).casefold()
            if key not in taken:
                taken.add(key)
                first, last = candidate
                break
        drawn.append(Skeleton(slot, gender, age, first, last))
    return tuple(drawn)


def _genders(mix: str, total: int, rng: random.Random) -> list[str]:
    if mix in ("f", "m"):
        return [mix] * total
    genders = ["f", "m"] * (total // 2)
    if total % 2:
        genders.append(rng.choice("fm"))
    rng.shuffle(genders)
    return genders


def describe_place(task: GenerationTask) -> str:
    """The country the people live in, by name, for the prompt ("" when none is known)."""
    return countries.name_of(country_of(task))
