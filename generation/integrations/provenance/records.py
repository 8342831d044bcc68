"""The stored files' Content Credentials, one row each (ImageCredential): written as files are stored, from the
bytes about to be written, and again by `verify_provenance` from what the storage holds. Pages read these rows."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Q
from django.utils import timezone

from generation.integrations import storage
from generation.integrations.provenance import Reading, SigningError, read
from generation.models import GenerationTask, ImageCredential

Verdict = ImageCredential.Verdict
STORING = "storing"
VERIFYING = "verify_provenance"


def verdict_of(reading: Reading) -> str:
    if not reading.problems:
        return Verdict.VERIFIED
    return Verdict.MISSING if reading.state is None else Verdict.INVALID


def row(
    task_id: int, result_id: int, key: str, data: bytes, reading: Reading, by: str, problems: list[str] | None = None
) -> ImageCredential:
    """The row for a file; `problems` found beyond the manifest's own make it invalid."""
    now = timezone.now()
    problems = reading.problems + (problems or [])
    verdict = verdict_of(reading)
    return ImageCredential(
        task_id=task_id,
        result_id=result_id,
        key=key,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        manifest_label=reading.label[:200],
        signer=reading.signer[:200],
        verdict=Verdict.INVALID if problems and verdict == Verdict.VERIFIED else verdict,
        problem="; ".join(problems),
        signed_at=now,
        checked_at=now,
        checked_by=by,
    )


def save_rows(rows: list[ImageCredential], *, signed: bool = True) -> None:
    """Insert or replace by key. A new signing (`signed`) moves signed_at; a later check keeps it."""
    fields = ["task", "result", "sha256", "size", "manifest_label", "signer", "verdict", "problem", "checked_at"]
    fields += ["checked_by", "signed_at"] if signed else ["checked_by"]
    ImageCredential.objects.bulk_create(rows, update_conflicts=True, unique_fields=["key"], update_fields=fields)


def checked(task_id: int, result_id: int, files: Iterable[tuple[str, bytes]]) -> list[ImageCredential]:
    """The rows of files about to be stored, from their credentials read back as a verifier would. Raises
    SigningError for a file whose credentials do not validate, before anything is stored. The caller saves the
    rows of the files once they are written."""
    rows = [row(task_id, result_id, key, data, read(data), STORING) for key, data in files]
    for kept in rows:
        if kept.verdict != Verdict.VERIFIED:
            raise SigningError(f"{kept.key} was signed, but its Content Credentials do not validate: {kept.problem}")
    return rows


def fill_in(task_id: int, result_id: int, keys: Collection[str]) -> None:
    """Rows for stored files that lack theirs: those a worker wrote just before it was killed, which a later run
    reuses instead of writing again. Each is read from the storage and recorded as it is found (one query when
    none is missing)."""
    have = set(ImageCredential.objects.filter(result_id=result_id, key__in=keys).values_list("key", flat=True))
    found = [(key, storage.read(key)) for key in sorted(set(keys) - have)]
    save_rows([row(task_id, result_id, key, data, read(data), STORING) for key, data in found])


def forget_all_but(result_id: int, keep: Collection[str | None]) -> None:
    """Drop the rows of a persona's files that were pruned: all but its kept images and their thumbnails."""
    ImageCredential.objects.filter(result_id=result_id).exclude(key__in=storage.with_thumbnail_keys(keep)).delete()


@dataclass(frozen=True)
class Summary:
    """What the task page and exports say about a task's Content Credentials."""

    files: int
    verified: int
    invalid: int
    missing: int
    expected: int  # files a finished task stores (0 while it runs)
    checked_at: datetime | None
    last_verify: datetime | None

    @property
    def state(self) -> str:
        """'verified', 'failed', 'partial' (some files have no row: stored before signing) or 'none'."""
        if self.invalid or self.missing:
            return "failed"
        if not self.files:
            return "none"
        if self.expected and self.files < self.expected:
            return "partial"
        return "verified"

    @property
    def statement(self) -> str:
        if self.state == "failed":
            failed = f"Content Credentials: {self.invalid + self.missing} of {self.files} files failed verification"
            return failed + (f", {self.missing} with no manifest" if self.missing else "")
        if self.state == "none":
            return "Content Credentials: none recorded for this task's files"
        if self.state == "partial":
            return (
                f"Content Credentials: verified on {self.verified} of {self.expected} files; "
                "the rest were stored before images were signed"
            )
        return f"Content Credentials: verified ({self.verified} files signed, AI-generated)"


def summary(task: GenerationTask, with_images: int) -> Summary:
    """One aggregate over the task's rows. `with_images`: personas with their photos, for the expected count."""
    figures = ImageCredential.objects.filter(task_id=task.pk).aggregate(
        files=Count("id"),
        verified=Count("id", filter=Q(verdict=Verdict.VERIFIED)),
        invalid=Count("id", filter=Q(verdict=Verdict.INVALID)),
        missing=Count("id", filter=Q(verdict=Verdict.MISSING)),
        latest_check=Max("checked_at"),
        latest_verify=Max("checked_at", filter=Q(checked_by=VERIFYING)),
    )
    figures["checked_at"], figures["last_verify"] = figures.pop("latest_check"), figures.pop("latest_verify")
    expected = 0
    if task.is_finished:
        expected = with_images * (task.images_per_persona + 1) * (1 + len(storage.THUMBNAIL_WIDTHS))
    return Summary(expected=expected, **figures)
