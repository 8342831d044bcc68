"""What the face model saw in each stored image: its verdict, and the embedding the duplicate search compares."""

from __future__ import annotations

from django.db import models

from generation.models.tasks import GenerationResult


class FaceCheck(models.Model):
    """What the face model saw in one stored image of a persona (the base, or a tile), and its verdict. Kept in a
    table of our own: the documented tables stay exact."""

    class Verdict(models.TextChoices):
        OK = "ok", "OK"
        DIFFERENT_PERSON = "different-person", "Different person"
        SEVERAL_FACES = "several-faces", "Several faces"
        FACE_CUT = "face-cut", "Face cut by the split"
        NO_FACE = "no-face", "Not checked (no frontal face)"

    REJECTED = (Verdict.DIFFERENT_PERSON, Verdict.SEVERAL_FACES, Verdict.FACE_CUT)
    # Worst first: how a persona's verdicts sum up to one.
    SEVERITY = (Verdict.DIFFERENT_PERSON, Verdict.SEVERAL_FACES, Verdict.FACE_CUT, Verdict.NO_FACE, Verdict.OK)

    result = models.ForeignKey(
        GenerationResult, on_delete=models.CASCADE, db_constraint=False, related_name="face_checks"
    )
    # 0 for the base selfie, 1… for the tiles in the order of `images`.
    position = models.IntegerField()
    image_url = models.TextField()
    faces = models.IntegerField()
    # The main face's box in the image's pixels: [left, top, right, bottom].
    box = models.JSONField(null=True, blank=True)
    # The main face's 128 float32 numbers, as bytes.
    embedding = models.BinaryField(null=True, blank=True)
    # Distance from the persona's base face (None for the base itself, or when either has no face).
    distance = models.FloatField(null=True, blank=True)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    # How many times the pipeline replaced this image because of its verdict.
    replaced = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "generation_face_checks"
        ordering = ["result_id", "position"]
        constraints = [
            # One check per image slot; a re-check replaces it.
            models.UniqueConstraint(fields=["result", "position"], name="generation_face_checks_once"),
        ]
        indexes = [
            # "Needs a look": the checks of a verdict (admin filter, gallery filter).
            models.Index(fields=["verdict"], name="generation_face_checks_verdict"),
        ]

    def __str__(self) -> str:
        return f"{self.result_id}:{self.position} {self.verdict}"
