"""Stage 2: one batch of personas from the text model, validated, de-duplicated and saved."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from generation.integrations.backends import MalformedAnswerError, PersonaRequest, RefusedError, get_backend
from generation.integrations.openai import ratelimit
from generation.models import GenerationResult, GenerationTask, PipelineUnit
from generation.pipeline.lifecycle import Lease, log_unit
from generation.pipeline.persona_data import Persona, validate_persona
from siteconfig.defaults import DEFAULT_BIO_PROMPTS, PLATFORMS, bio_prompt_key
from siteconfig.models import Settings

# How many already-used names of the task the model is told to avoid.
AVOID_NAMES_SHOWN = 60


def bio_prompts() -> dict[str, str]:
    stored = dict(Settings.objects.filter(key__in=[bio_prompt_key(p) for p in PLATFORMS]).values_list("key", "value"))
    return {p: stored.get(bio_prompt_key(p)) or DEFAULT_BIO_PROMPTS[bio_prompt_key(p)] for p in PLATFORMS}


def saved_count(unit: PipelineUnit) -> int:
    return GenerationResult.objects.filter(task=unit.task, batch_number=unit.number).count()


def save_personas(unit: PipelineUnit, personas: list[Persona], lease: Lease) -> list[Persona]:
    """Save as many as the batch still lacks, skipping names the task already has. The task row lock makes the
    count-then-insert safe when the same batch runs in two workers at once, and the unit's row lock, taken only
    while the lease is ours, keeps a worker that lost its lease from saving anything. Returns those saved."""
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
    return fresh


def recent_names(task_pk: int) -> list[str]:
    rows = GenerationResult.objects.filter(task=task_pk).order_by("-id").values_list("firstname", "lastname")
    return [f"{first} {last}" for first, last in rows[:AVOID_NAMES_SHOWN]]


def run_batch(unit: PipelineUnit, lease: Lease) -> str:
    """Ask for the batch's missing personas, a bounded number of times. Transient and fatal API
    errors propagate (the unit is retried, or the task stops); unreadable or refused answers and
    invalid personas only cost a round. Returns a note when the batch ends short or bios had to be cut."""
    task = unit.task
    prompts = bio_prompts()
    problems: list[str] = []
    trimmed = refusals = 0
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
        refused = [reason for reason in checked if isinstance(reason, str)]
        problems.extend(refused)
        refusals += len(refused)
        saved = save_personas(unit, personas, lease)
        trimmed += sum(persona.trimmed for persona in saved)
        if len(saved) < min(len(personas), missing):
            problems.append(f"{min(len(personas), missing) - len(saved)} repeated name(s) dropped")
        if len(answer) < missing:
            problems.append(f"asked for {missing}, the model gave {len(answer)}")
        log_unit(unit, "asked for %s personas, got %s, saved %s", missing, len(answer), len(saved))
    notes = []
    short = unit.size - saved_count(unit)
    if short > 0:
        reasons = "; ".join(dict.fromkeys(problems)) or "no reason given"
        notes.append(f"{unit.size - short} of {unit.size} personas ({reasons})")
    elif refusals:
        reasons = "; ".join(dict.fromkeys(problems))
        notes.append(f"{refusals} persona(s) refused and asked again ({reasons})")
    if trimmed:
        notes.append(f"{trimmed} bio(s) cut to their platform's length")
    return f"batch {unit.number}: " + "; ".join(notes) if notes else ""
