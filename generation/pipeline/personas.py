"""Stage 2: one batch of personas from the text model, each written around a skeleton the code drew (name, gender,
age), validated, de-duplicated and saved with its profile, look, interests and photo ideas."""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.conf import settings
from django.db import transaction

from generation.integrations.backends import MalformedAnswerError, PersonaRequest, RefusedError, Skeleton, get_backend
from generation.integrations.openai import ratelimit
from generation.models import GenerationResult, GenerationTask, PersonaDetails, PipelineUnit
from generation.pipeline import skeletons as drawn
from generation.pipeline.lifecycle import Lease, log_unit
from generation.pipeline.persona_data import Persona, validate_persona
from siteconfig.defaults import DEFAULT_BIO_PROMPTS, PLATFORMS, bio_prompt_key
from siteconfig.models import Settings

# How many already-used names of the task the model is told to avoid.
AVOID_NAMES_SHOWN = 60


@dataclass(frozen=True)
class Drawn:
    """A persona of the answer on its skeleton, and how many of the skeleton's facts the model had changed."""

    persona: Persona
    skeleton: Skeleton
    changed: int


def bio_prompts() -> dict[str, str]:
    stored = dict(Settings.objects.filter(key__in=[bio_prompt_key(p) for p in PLATFORMS]).values_list("key", "value"))
    return {p: stored.get(bio_prompt_key(p)) or DEFAULT_BIO_PROMPTS[bio_prompt_key(p)] for p in PLATFORMS}


def saved_count(unit: PipelineUnit) -> int:
    return GenerationResult.objects.filter(task=unit.task, batch_number=unit.number).count()


def missing_people(unit: PipelineUnit) -> list[Skeleton]:
    """The batch's skeletons that no saved persona of the task stands on yet."""
    slots = drawn.batch_slots(unit.task, unit.number, unit.size)
    used = set(PersonaDetails.objects.filter(result__task=unit.task, slot__in=slots).values_list("slot", flat=True))
    return [someone for someone in drawn.skeletons(unit.task, slots) if someone.slot not in used]


def on_skeletons(personas: list[Persona], people: list[Skeleton]) -> list[Drawn]:
    """Each persona on the skeleton it was written for (by its ref, else in order). The skeleton's gender, age and
    any name it has stand; what the model changed is counted."""
    by_ref = {someone.ref: someone for someone in people}
    left = list(people)
    placed = []
    for persona in personas:
        skeleton = by_ref.pop(persona.ref, None) or next((s for s in left if s.ref in by_ref), None)
        if skeleton is None:
            break
        by_ref.pop(skeleton.ref, None)
        changed = (persona.gender != skeleton.gender) + (persona.age != skeleton.age or isinstance(persona.age, bool))
        if skeleton.named:
            changed += persona.name_key != skeleton.name_key
            persona = replace(persona, firstname=skeleton.firstname, lastname=skeleton.lastname)
        placed.append(Drawn(replace(persona, gender=skeleton.gender, age=skeleton.age), skeleton, changed))
    return placed


def save_personas(unit: PipelineUnit, placed: list[Drawn], lease: Lease) -> list[Drawn]:
    """Save as many as the batch still lacks, skipping names the task already has and skeletons already used. The
    task row lock makes the count-then-insert safe when the same batch runs in two workers at once, and the unit's
    row lock, taken only while the lease is ours, keeps a worker that lost its lease from saving anything. Returns
    those saved."""
    with transaction.atomic():
        GenerationTask.objects.select_for_update().filter(pk=unit.task.pk).first()
        lease.lock()
        room = unit.size - saved_count(unit)
        names = GenerationResult.objects.filter(task=unit.task).values_list("firstname", "lastname")
        taken = {f"{first} {last}".casefold() for first, last in names}
        slots = PersonaDetails.objects.filter(result__task=unit.task).values_list("slot", flat=True)
        used = set(slots)
        fresh = []
        for one in placed:
            if one.persona.name_key not in taken and one.skeleton.slot not in used and len(fresh) < room:
                taken.add(one.persona.name_key)
                used.add(one.skeleton.slot)
                fresh.append(one)
        results = GenerationResult.objects.bulk_create(
            GenerationResult(
                task=unit.task,
                batch_number=unit.number,
                firstname=one.persona.firstname,
                lastname=one.persona.lastname,
                gender=one.persona.gender,
                age=one.skeleton.age,
                **one.persona.profile,
                **{f"bio_{platform}": bio for platform, bio in one.persona.bios.items()},
            )
            for one in fresh
        )
        PersonaDetails.objects.bulk_create(
            PersonaDetails(result=result, slot=one.skeleton.slot, look=one.persona.look,
                           interests=list(one.persona.interests), photo_ideas=list(one.persona.photo_ideas))
            for result, one in zip(results, fresh, strict=True)
        )  # fmt: skip
    return fresh


def recent_names(task_pk: int) -> list[str]:
    rows = GenerationResult.objects.filter(task=task_pk).order_by("-id").values_list("firstname", "lastname")
    return [f"{first} {last}" for first, last in rows[:AVOID_NAMES_SHOWN]]


def run_batch(unit: PipelineUnit, lease: Lease) -> str:
    """Ask for the batch's missing personas, a bounded number of times. Transient and fatal API
    errors propagate (the unit is retried, or the task stops); unreadable or refused answers and
    invalid personas only cost a round. Returns a note when the batch ends short, bios had to be cut or the model
    changed what the skeletons said."""
    task = unit.task
    prompts = bio_prompts()
    problems: list[str] = []
    trimmed = refusals = changed = cut = repeats = 0
    for _ in range(settings.BATCH_ASK_ROUNDS):
        people = missing_people(unit)[: max(0, unit.size - saved_count(unit))]
        if not people:
            break
        missing = len(people)
        request = PersonaRequest(
            description=task.persona_description,
            language=task.bio_language,
            count=missing,
            bio_prompts=prompts,
            avoid_names=recent_names(task.pk) if not all(p.named for p in people) else [],
            people=tuple(people),
            country=drawn.describe_place(task),
            photo_ideas=task.images_per_persona,
        )
        ratelimit.wait_for_slot("text")
        try:
            answer = get_backend().generate_personas(request)
        except (MalformedAnswerError, RefusedError) as problem:
            problems.append(str(problem))
            log_unit(unit, "asked for %s personas: %s", missing, problem)
            continue
        checked = [validate_persona(raw, photo_ideas=task.images_per_persona) for raw in answer]
        personas = [p for p in checked if isinstance(p, Persona)]
        refused = [reason for reason in checked if isinstance(reason, str)]
        problems.extend(refused)
        refusals += len(refused)
        placed = on_skeletons(personas, people)
        saved = save_personas(unit, placed, lease)
        trimmed += sum(one.persona.trimmed for one in saved)
        changed += sum(one.changed for one in saved)
        cut += sum(one.persona.texts_cut for one in saved)
        if len(saved) < min(len(placed), missing):
            repeats += min(len(placed), missing) - len(saved)
            problems.append(f"{min(len(placed), missing) - len(saved)} repeated name(s) dropped")
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
    elif repeats:
        notes.append(f"{repeats} repeated name(s) dropped and asked again")
    if trimmed:
        notes.append(f"{trimmed} bio(s) cut to their platform's length")
    if cut:
        notes.append(f"{cut} profile text(s) cut to their length")
    if changed:
        notes.append(f"{changed} name(s), gender(s) or age(s) the model changed were kept as drawn")
    return f"batch {unit.number}: " + "; ".join(notes) if notes else ""
