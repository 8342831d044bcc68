"""Stage 2: one batch of personas from the text model, validated, de-duplicated and saved."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from generation import ratelimit
from generation.backends import MalformedAnswerError, PersonaRequest, RefusedError, get_backend
from generation.models import GenerationResult, GenerationTask, PipelineUnit
from generation.pipeline.lifecycle import Lease, log_unit
from siteconfig.defaults import DEFAULT_BIO_PROMPTS, PLATFORMS, bio_prompt_key
from siteconfig.models import Settings

NAME_MAX = GenerationResult._meta.get_field("firstname").max_length
GENDER_WORDS = {"f": "f", "female": "f", "woman": "f", "m": "m", "male": "m", "man": "m"}
# How many already-used names of the task the model is told to avoid.
AVOID_NAMES_SHOWN = 60


@dataclass(frozen=True)
class Persona:
    firstname: str
    lastname: str
    gender: str
    bios: dict[str, str]

    @property
    def name_key(self) -> str:
        return f"{self.firstname} {self.lastname}".casefold()


def bio_prompts() -> dict[str, str]:
    stored = dict(Settings.objects.filter(key__in=[bio_prompt_key(p) for p in PLATFORMS]).values_list("key", "value"))
    return {p: stored.get(bio_prompt_key(p)) or DEFAULT_BIO_PROMPTS[bio_prompt_key(p)] for p in PLATFORMS}


def validate_persona(raw: object) -> Persona | str:
    """A clean Persona, or the reason this one cannot be used."""
    if not isinstance(raw, dict):
        return "an entry was not an object"
    first = str(raw.get("firstname") or "").strip()
    last = str(raw.get("lastname") or "").strip()
    if not first or not last:
        return "a persona had an empty name"
    if len(first) > NAME_MAX or len(last) > NAME_MAX:
        return f"a name was longer than {NAME_MAX} characters"
    gender = GENDER_WORDS.get(str(raw.get("gender") or "").strip().lower())
    if not gender:
        return f"unknown gender {str(raw.get('gender'))[:20]!r}"
    bios = {p: str(raw.get(f"bio_{p}") or "").strip() for p in PLATFORMS}
    missing = [p for p, bio in bios.items() if not bio]
    if missing:
        return f"{first} {last} had no bio for {', '.join(missing)}"
    return Persona(first, last, gender, bios)


def saved_count(unit: PipelineUnit) -> int:
    return GenerationResult.objects.filter(task=unit.task, batch_number=unit.number).count()


def save_personas(unit: PipelineUnit, personas: list[Persona], lease: Lease) -> tuple[int, int]:
    """Save as many as the batch still lacks, skipping names the task already has. The task row lock makes the
    count-then-insert safe when the same batch runs in two workers at once, and the unit's row lock, taken only
    while the lease is ours, keeps a worker that lost its lease from saving anything. Returns (saved, skipped as
    duplicates)."""
    with transaction.atomic():
        GenerationTask.objects.select_for_update().filter(pk=unit.task.pk).first()
        lease.lock()
        room = unit.size - saved_count(unit)
        names = GenerationResult.objects.filter(task=unit.task).values_list("firstname", "lastname")
        taken = {f"{first} {last}".casefold() for first, last in names}
        fresh = []
        for persona in personas:
            if persona.name_key not in taken and len(fresh) < room:
                taken.add(persona.name_key)
                fresh.append(persona)
        GenerationResult.objects.bulk_create(
            GenerationResult(
                task=unit.task,
                batch_number=unit.number,
                firstname=p.firstname,
                lastname=p.lastname,
                gender=p.gender,
                **{f"bio_{platform}": bio for platform, bio in p.bios.items()},
            )
            for p in fresh
        )
    return len(fresh), len(personas) - len(fresh)


def recent_names(task_pk: int) -> list[str]:
    rows = GenerationResult.objects.filter(task=task_pk).order_by("-id").values_list("firstname", "lastname")
    return [f"{first} {last}" for first, last in rows[:AVOID_NAMES_SHOWN]]


def run_batch(unit: PipelineUnit, lease: Lease) -> str:
    """Ask for the batch's missing personas, a bounded number of times. Transient and fatal API
    errors propagate (the unit is retried, or the task stops); unreadable or refused answers and
    invalid personas only cost a round. Returns a note when the batch ends short."""
    task = unit.task
    prompts = bio_prompts()
    problems: list[str] = []
    for _ in range(settings.BATCH_ASK_ROUNDS):
        missing = unit.size - saved_count(unit)
        if missing <= 0:
            break
        request = PersonaRequest(
            description=task.persona_description,
            language=task.bio_language,
            count=missing,
            bio_prompts=prompts,
            avoid_names=recent_names(task.pk),
        )
        ratelimit.wait_for_slot("text")
        try:
            answer = get_backend().generate_personas(request)
        except (MalformedAnswerError, RefusedError) as problem:
            problems.append(str(problem))
            log_unit(unit, "asked for %s personas: %s", missing, problem)
            continue
        checked = [validate_persona(raw) for raw in answer]
        personas = [p for p in checked if isinstance(p, Persona)]
        problems.extend(reason for reason in checked if isinstance(reason, str))
        saved, duplicates = save_personas(unit, personas, lease)
        if duplicates:
            problems.append(f"{duplicates} repeated name(s) dropped")
        if len(answer) < missing:
            problems.append(f"asked for {missing}, the model gave {len(answer)}")
        log_unit(unit, "asked for %s personas, got %s, saved %s", missing, len(answer), saved)
    short = unit.size - saved_count(unit)
    if short > 0:
        reasons = "; ".join(dict.fromkeys(problems)) or "no reason given"
        return f"batch {unit.number}: {unit.size - short} of {unit.size} personas ({reasons})"
    return ""
