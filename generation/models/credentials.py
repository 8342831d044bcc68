"""The Content Credentials of each stored file, as signed and as last verified."""

from __future__ import annotations

from django.db import models

from generation.models.tasks import GenerationResult, GenerationTask


class ImageCredential(models.Model):
    """The Content Credentials of one stored file (an image or a thumbnail), as read back when it was stored and
    again by `verify_provenance`. The task page's "Content Credentials" line is read from these rows, never by
    downloading images. Rows go with their files: pruned with a replaced image, deleted with a persona or task."""

    class Verdict(models.TextChoices):
        VERIFIED = "verified", "Verified"
        INVALID = "invalid", "Invalid"
        MISSING = "missing", "Missing"

    task = models.ForeignKey(GenerationTask, on_delete=models.CASCADE, related_name="credentials")
    result = models.ForeignKey(GenerationResult, on_delete=models.CASCADE, related_name="credentials")
    key = models.CharField(max_length=500, unique=True)
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveIntegerField()
    manifest_label = models.CharField(max_length=200, blank=True)
    signer = models.CharField(max_length=200, blank=True)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    problem = models.TextField(blank=True)
    signed_at = models.DateTimeField()
    checked_at = models.DateTimeField()
    checked_by = models.CharField(max_length=40)  # "storing" or "verify_provenance"

    class Meta:
        db_table = "generation_image_credentials"
        verbose_name = "signed file"
        verbose_name_plural = "signed files"
        indexes = [
            # The task page's line and the exports: a task's rows counted by verdict.
            models.Index(fields=["task", "verdict"], name="generation_credentials_task"),
            # The admin's list, newest checked first, and its date filter.
            models.Index(fields=["-checked_at", "-id"], name="generation_credentials_checked"),
        ]

    def __str__(self) -> str:
        return self.key
