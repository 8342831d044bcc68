"""The operator's requests on a persona already made, each run as a unit: new photos (a new base and its grids),
one new photo, or new bios. New files get keys of their own; the lifecycle records them with the unit's outcome
and then deletes the files they replace, so the bucket holds exactly what the rows point to."""

from __future__ import annotations

from django.db import transaction

from generation.faces import checks as face_checks
from generation.integrations.backends import IdeasRequest, MalformedAnswerError, PersonaRequest, get_backend
from generation.integrations.openai import ratelimit
from generation.models import GenerationResult, PersonaDetails, PipelineUnit
from generation.pipeline.face_review import FaceReview, describe
from generation.pipeline.images import Photos, run_images, threads
from generation.pipeline.lifecycle import Lease, log_unit
from generation.pipeline.persona_data import Persona, validate_ideas, validate_persona
from generation.pipeline.persona_files import PersonaFiles
from generation.pipeline.personas import bio_prompts


def version_of(unit: PipelineUnit) -> str:
    return f"v{unit.pk}"


def about_person(result: GenerationResult) -> str:
    """Who the persona is, profile included, for a request that writes more of them."""
    facts = "; ".join(f"{label}: {value}" for label, value in result.profile)
    details = PersonaDetails.objects.filter(result_id=result.pk).first()
    if details and details.look:
        facts += f"; look: {details.look}"
    if details and details.interests:
        facts += "; interests: " + ", ".join(details.interests)
    who = f"{result.full_name} ({'a woman' if result.gender == 'f' else 'a man'})"
    return f"{who}. {facts}" if facts else who


def new_ideas(unit: PipelineUnit, lease: Lease) -> list[str]:
    """Fresh photo ideas for new photos of the persona, asked for once per unit: a second run of the unit finds
    those the first one kept."""
    result = unit.result
    details, _ = PersonaDetails.objects.get_or_create(result=result)
    if details.next_ideas_unit == unit.pk and details.next_ideas:
        return list(details.next_ideas)
    request = IdeasRequest(about_person(result), unit.task.images_per_persona, list(details.photo_ideas or []))
    ratelimit.wait_for_slot("text")
    checked = validate_ideas(get_backend().write_photo_ideas(request), request.count)
    if isinstance(checked, str):
        raise MalformedAnswerError(f"The new photo ideas could not be used: {checked}")
    with transaction.atomic():
        lease.lock()
        PersonaDetails.objects.filter(pk=details.pk).update(next_ideas=checked, next_ideas_unit=unit.pk)
    return checked


def run_new_photos(unit: PipelineUnit, lease: Lease) -> Photos:
    """New photos of the persona from new ideas, which become the persona's once its photos are made."""
    ideas = new_ideas(unit, lease)
    photos = run_images(unit, lease, version=version_of(unit), ideas=ideas)
    with transaction.atomic():
        lease.lock()
        PersonaDetails.objects.filter(result_id=unit.result_id, next_ideas_unit=unit.pk).update(
            photo_ideas=ideas, next_ideas=[], next_ideas_unit=None
        )
    return photos


def run_new_image(unit: PipelineUnit, lease: Lease) -> Photos:
    """One photo made again from the base, in the scene of the one it replaces, checked like a replacement tile."""
    result = unit.result
    images = list(result.images or [])
    position = unit.target or 0
    if not 1 <= position <= len(images):
        raise ValueError(f"{result.full_name} has no image {position} (it has {len(images)}).")
    files = PersonaFiles(unit, lease, threads(), version_of(unit))
    files.check_signing()  # before the call is paid for: a CredentialsError stops the task
    base = files.read(result.base_image_url)
    old = files.read(images[position - 1])
    review = FaceReview(unit, files)
    photo = review.replacement(base, old, position)
    note = ""
    if face_checks.enabled():
        base_face = face_checks.check(base, None).reading.embedding
        checked = face_checks.check(photo.data, base_face)
        note = f"photo {position} made again: {describe(checked)}"
    images[position - 1] = files.store_photo(position, photo)
    if face_checks.enabled():
        face_checks.record(result, position, images[position - 1], checked, replaced=1)
    log_unit(unit, "photo %s made again", position)
    return Photos(images, result.base_image_url, note)


def run_new_bios(unit: PipelineUnit, lease: Lease) -> str:
    """New bios for the persona, in the task's language, keeping the name, gender and profile."""
    task, result = unit.task, unit.result
    request = PersonaRequest(
        description=task.persona_description,
        language=task.bio_language,
        count=1,
        bio_prompts=bio_prompts(),
        person=about_person(result),
    )
    ratelimit.wait_for_slot("text")
    answer = get_backend().generate_personas(request)
    checked = validate_persona(answer[0]) if answer else "the model gave no persona"
    if not isinstance(checked, Persona):
        raise MalformedAnswerError(f"The new bios could not be used: {checked}")
    with transaction.atomic():
        lease.lock()
        GenerationResult.objects.filter(pk=result.pk).update(
            **{f"bio_{platform}": bio for platform, bio in checked.bios.items()}
        )
    log_unit(unit, "new bios saved")
    return f"bios of {result.full_name} written again" + (
        f"; {checked.trimmed} cut to length" if checked.trimmed else ""
    )
