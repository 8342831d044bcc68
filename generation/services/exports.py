"""Exports of a task's personas: CSV, JSON and a ZIP of their images. Each is a generator, so the
response streams: rows are read in chunks and files copied through in pieces, and memory stays flat
whatever the task's size. A running task exports what is finished so far."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import Count, DecimalField, IntegerField, OuterRef, Subquery, Sum
from zipstream import ZIP_STORED, ZipStream

from generation import selectors
from generation.costs import budgets as costs
from generation.integrations import storage
from generation.models import ApiCall, FaceCheck, GenerationResult, GenerationTask, ImageCredential
from generation.selectors.faces import NOT_CHECKED, persona_state, persona_verdict

BIO_FIELDS = ("bio_facebook", "bio_instagram", "bio_x", "bio_tiktok")
PROFILE_FIELDS = GenerationResult.PROFILE_FIELDS
DETAIL_COLUMNS = ("look", "interests", "photo_ideas")
LIST_SEPARATOR = " | "  # between a list's items in one CSV cell
CHUNK_ROWS = 100  # rows held at once: a fifth of the largest task (500 personas), whatever its size
COPY_BYTES = 64 * 1024


def results_of(task: GenerationTask) -> Iterator[GenerationResult]:
    """The task's personas with their details, face checks and what their calls cost, fetched a chunk at a time (one
    query per chunk for each)."""
    return with_costs(task.results.order_by("id")).iterator(chunk_size=CHUNK_ROWS)


def with_costs(results):
    """Personas annotated with `spent` (what their calls cost) and `signed_files`/`unverified_files` (their files'
    Content Credentials rows, and those that failed), joined to their details, their face checks prefetched."""
    spent = ApiCall.objects.filter(result=OuterRef("pk")).order_by().values("result").annotate(total=Sum("cost_usd"))
    rows = ImageCredential.objects.filter(result=OuterRef("pk")).order_by().values("result")
    failed = rows.exclude(verdict=ImageCredential.Verdict.VERIFIED)
    return (
        results.annotate(
            spent=Subquery(spent.values("total"), output_field=DecimalField()),
            signed_files=Subquery(rows.annotate(n=Count("id")).values("n"), output_field=IntegerField()),
            unverified_files=Subquery(failed.annotate(n=Count("id")).values("n"), output_field=IntegerField()),
        )
        .select_related("details")
        .prefetch_related("face_checks")
    )


def credentials_state(result: GenerationResult) -> str:
    """'verified' (every file's Content Credentials checked), 'failed' (one did not), or 'none' (none recorded)."""
    if getattr(result, "unverified_files", None):
        return "failed"
    return "verified" if getattr(result, "signed_files", None) else "none"


def cost_usd(amount) -> float:
    """A cost as the exports write it: dollars, to a hundredth of a cent."""
    return float(Decimal(amount or 0).quantize(Decimal("0.0001")))


def checks_by_position(result: GenerationResult) -> dict[int, FaceCheck]:
    return {check.position: check for check in result.face_checks.all()}


def face_verdict(result: GenerationResult, checks: dict[int, FaceCheck]) -> str:
    """The worst verdict of the base and each photo, a photo with no check counting as "not checked"."""
    return persona_verdict({n: check.verdict for n, check in checks.items()}, len(result.images or []))


def result_face_state(result: GenerationResult, checks: dict[int, FaceCheck]) -> str:
    """verified, not checked or flagged, as the persona's card says it."""
    return persona_state({n: check.verdict for n, check in checks.items()}, len(result.images or []))


def persona_details(result: GenerationResult) -> tuple[str, list[str], list[str]]:
    """The persona's look, interests and photo ideas; empty for a persona made before they were kept."""
    details = getattr(result, "details", None)  # a missing row raises a DoesNotExist that is an AttributeError
    if details is None:
        return "", [], []
    return details.look, list(details.interests or []), list(details.photo_ideas or [])


def persona_dict(result: GenerationResult) -> dict:
    checks = checks_by_position(result)
    look, interests, photo_ideas = persona_details(result)
    return {
        "firstname": result.firstname,
        "lastname": result.lastname,
        "gender": result.gender,
        "bios": {field.removeprefix("bio_"): getattr(result, field) for field in BIO_FIELDS},
        # Under the columns' own names; what is not known is null (age is a number).
        "profile": {field: getattr(result, field) for field in PROFILE_FIELDS},
        "look": look,
        "interests": interests,
        "photo_ideas": photo_ideas,  # one per image, in the images' order
        "base_image_url": result.base_image_url,
        "images": result.images or [],
        "cost_usd": cost_usd(getattr(result, "spent", None)),
        "content_credentials": credentials_state(result),
        # The persona's face state and worst verdict, then each image's (position 0 is the base).
        "face_state": result_face_state(result, checks),
        "face_verdict": face_verdict(result, checks),
        "face_checks": [
            {
                "position": n,
                "verdict": checks[n].verdict if n in checks else NOT_CHECKED,
                "distance": round(checks[n].distance, 4) if n in checks and checks[n].distance is not None else None,
            }
            for n in range(len(result.images or []) + 1)
        ],  # fmt: skip
    }


# A spreadsheet runs a cell that starts with one of these as a formula; a leading quote keeps it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def profile_cell(value: str | int | None) -> str:
    """A profile value as a CSV cell: empty when unknown (never "None"), text kept from running as a formula."""
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else spreadsheet_safe(value)


def csv_rows(task: GenerationTask) -> Iterator[str]:
    """One row per persona; image URLs in columns image_1 … image_N, then the face checks: the persona's worst
    verdict, the base's, and each image's verdict and distance from the base; then the persona's face state, its
    profile, its look, interests and photo ideas (columns added after the others, so that readers by position still
    find theirs; a list's items joined by " | ")."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    columns = task.images_per_persona
    numbers = range(1, columns + 1)
    writer.writerow(["firstname", "lastname", "gender", *BIO_FIELDS, "base_image_url"]
                    + [f"image_{n}" for n in numbers] + ["face_verdict", "base_verdict"]
                    + [f"image_{n}_{part}" for n in numbers for part in ("verdict", "distance")]
                    + ["cost_usd", "content_credentials", "face_state", *PROFILE_FIELDS, *DETAIL_COLUMNS])  # fmt: skip
    yield flush()
    for result in results_of(task):
        images = list(result.images or [])[:columns]
        checks = checks_by_position(result)
        look, interests, photo_ideas = persona_details(result)
        verdicts = []
        for n in range(1, columns + 1):
            check = checks.get(n)
            verdicts += [check.verdict, "" if check.distance is None else f"{check.distance:.4f}"] if check else [
                NOT_CHECKED, ""]  # fmt: skip
        writer.writerow(
            [spreadsheet_safe(text) for text in (result.firstname, result.lastname, result.gender)]
            + [spreadsheet_safe(getattr(result, f) or "") for f in BIO_FIELDS]
            + [result.base_image_url or ""] + images + [""] * (columns - len(images))
            + [face_verdict(result, checks), checks[0].verdict if 0 in checks else NOT_CHECKED] + verdicts
            + [f"{cost_usd(result.spent):.4f}", credentials_state(result), result_face_state(result, checks)]
            + [profile_cell(getattr(result, field)) for field in PROFILE_FIELDS]
            + [spreadsheet_safe(look)]
            + [spreadsheet_safe(LIST_SEPARATOR.join(items)) for items in (interests, photo_ideas)]
        )  # fmt: skip
        yield flush()


def json_document(task: GenerationTask) -> Iterator[str]:
    """{"task": {...}, "personas": [...]}, written one persona at a time."""
    header = {
        "task_id": task.task_code,
        "status": task.status,
        "persona_description": task.persona_description,
        "bio_language": task.bio_language,
        "number_to_generate": task.number_to_generate,
        "images_per_persona": task.images_per_persona,
        "created_at": task.created_at.isoformat(),
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        # Every call's cost, personas' or not (a batch of names is the task's): the personas' need not add up to it.
        "cost_usd": cost_usd(costs.task_spent(task.pk)),
        "content_credentials": content_credentials(task),
    }
    yield '{"task": ' + json.dumps(header, ensure_ascii=False) + ', "personas": ['
    for n, result in enumerate(results_of(task)):
        yield ("," if n else "") + "\n  " + json.dumps(persona_dict(result), ensure_ascii=False)
    yield "\n]}\n"


def content_credentials(task: GenerationTask) -> dict:
    """The task page's Content Credentials line, with its figures (from the rows, as the page reads them)."""
    summary = selectors.credentials_summary(task, selectors.task_state(task))
    return {
        "state": summary.state,
        "statement": summary.statement,
        "files": summary.files,
        "verified": summary.verified,
        "last_checked_at": summary.checked_at.isoformat() if summary.checked_at else None,
    }


# File systems cap a name at 255 bytes, not characters: "é" takes 2 and "日" 3 in UTF-8. A folder name keeps
# well under that, with room for the "_<pk>_<n>" that keeps it unique.
FOLDER_NAME_BYTES = 120


def cut_to_bytes(text: str, limit: int) -> str:
    """The longest start of `text` whose UTF-8 takes at most `limit` bytes (never half a character)."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def folder_name(result: GenerationResult, used: set[str]) -> str:
    name = re.sub(r"[^\w-]+", "_", f"{result.firstname}_{result.lastname}", flags=re.UNICODE).strip("_")
    base = cut_to_bytes(name, FOLDER_NAME_BYTES).strip("_") or "persona"
    # "<name>_<pk>" can itself be another persona's name: draw until the folder is new, or two
    # personas would share a folder and one's files would overwrite the other's on extraction.
    candidates = itertools.chain([base, f"{base}_{result.pk}"], (f"{base}_{result.pk}_{n}" for n in itertools.count(2)))
    folder = next(candidate for candidate in candidates if candidate not in used)
    used.add(folder)
    return folder


def stored_file(url: str) -> Iterator[bytes]:
    """The bytes of one stored image, read from storage in pieces when the ZIP reaches it."""
    stored = storage.open_image(url)
    if stored is None:
        return
    with stored:
        while piece := stored.read(COPY_BYTES):
            yield piece


def encoded(chunks: Iterator[str]) -> Iterator[bytes]:
    return (chunk.encode() for chunk in chunks)


def zip_archive(task: GenerationTask) -> Iterator[bytes]:
    """<Firstname_Lastname>/base.<ext>, 1.<ext> …, persona.json per persona, and the CSV and JSON
    of the whole task at the root. Images are stored (not deflated): they are compressed already.

    Each persona's files are streamed as soon as they are queued, so only one persona's wait in the
    queue, and the first bytes leave before the last row is read. What grows with the task is the
    ZIP's central directory (name, size, CRC and offset of every file, written at the very end)."""
    archive = ZipStream(compress_type=ZIP_STORED)
    used: set[str] = set()
    for result in results_of(task):
        add_persona(archive, result, folder_name(result, used))
        yield from archive.all_files()
    archive.add(encoded(csv_rows(task)), "personas.csv")
    archive.add(encoded(json_document(task)), "personas.json")
    yield from archive.finalize()


def persona_zip(result: GenerationResult) -> Iterator[bytes]:
    """One persona's folder, as in the task's ZIP: its images and persona.json."""
    archive = ZipStream(compress_type=ZIP_STORED)
    result = with_costs(GenerationResult.objects.filter(pk=result.pk)).get()
    add_persona(archive, result, folder_name(result, set()))
    yield from archive.finalize()


def add_persona(archive: ZipStream, result: GenerationResult, folder: str) -> None:
    if result.base_image_url:
        extension = storage.image_extension(result.base_image_url, ".png")
        archive.add(stored_file(result.base_image_url), f"{folder}/base{extension}")
    for n, url in enumerate(result.images or [], 1):
        extension = storage.image_extension(url, ".jpg")
        archive.add(stored_file(url), f"{folder}/{n}{extension}")
    archive.add(json.dumps(persona_dict(result), ensure_ascii=False, indent=2), f"{folder}/persona.json")


def persona_filename(result: GenerationResult) -> str:
    return f"persona-{result.task.task_code}-{result.pk}.zip"


def export_filename(task: GenerationTask, extension: str) -> str:
    return f"personas-{task.task_code}.{extension}"
