"""One persona's face while its images unit runs. The base selfie is made here, from text or from a reference face.
With face checks on, the base is checked (and made again once when it shows
no face, several, or another persona's face), each grid's tiles are checked against it as soon as the grid is split,
and each rejected tile is replaced by a single-image edit from the base, up to FACE_RETRIES times. What was
replaced, and why, goes into the unit's note, and so into the task's notes."""

from __future__ import annotations

import io

import numpy as np
from django.conf import settings
from PIL import Image

from generation.faces import checks as face_checks
from generation.faces import reference
from generation.faces.checks import Checked
from generation.imaging.photos import Photo
from generation.integrations import backends, storage
from generation.integrations.backends import RefusedError, Sitter
from generation.models import FaceCheck, PipelineUnit
from generation.pipeline.lifecycle import log_unit
from generation.pipeline.persona_files import PersonaFiles
from siteconfig.models import Config

Verdict = FaceCheck.Verdict


def make_base(sitter: Sitter) -> bytes:
    """The base selfie: from text alone, or from a random reference face when the config flag asks for it (a face
    the model's moderation refuses is swapped for another, a few times). Either way the prompt says who they are."""
    if Config.get_value("randomize_face_base"):
        gender = sitter.gender if Config.get_value("randomize_face_gender_lock") else None
        refused: set[str] = set()
        while len(refused) < settings.FACE_SWAP_TRIES:
            face_key = reference.pick_face(gender, refused)
            if face_key is None:
                break
            try:
                return backends.base_selfie(sitter, reference=storage.read(face_key))
            except RefusedError:
                refused.add(face_key)
        if refused:
            raise RefusedError(
                f"{len(refused)} reference face(s) in a row were refused by the model's moderation",
                code="refused:reference-faces",
            )
    return backends.base_selfie(sitter)


class FaceReview:
    @classmethod
    def for_unit(cls, unit: PipelineUnit, files: PersonaFiles) -> FaceReview | None:
        """The unit's review, or None when face checks are off."""
        return cls(unit, files) if face_checks.enabled() else None

    def __init__(self, unit: PipelineUnit, files: PersonaFiles):
        self.unit = unit
        self.files = files
        self.base: Checked | None = None
        self.base_remade = False
        self.tiles: dict[int, tuple[Checked, int]] = {}  # position -> (check, replacements)
        self.lines: list[str] = []

    @property
    def base_face(self) -> np.ndarray | None:
        return self.base.reading.embedding if self.base else None

    # --- The base ---------------------------------------------------------------------------------------------

    def check_base(self, data: bytes, *, remade: bool = False) -> Checked:
        self.base = face_checks.check(data, None)
        self.base_remade = self.base_remade or remade
        return self.base

    def base_needs_remaking(self, data: bytes) -> bool:
        """True (with the reason noted) when a new base should be made again before any grid is asked for."""
        checked = self.check_base(data)
        if checked.verdict in (Verdict.NO_FACE, Verdict.SEVERAL_FACES):
            self.lines.append(f"base made again: {checked.verdict}")
            return True
        duplicate = face_checks.duplicate_of(self.unit.task, self.unit.result, checked.reading.embedding)
        if duplicate:
            self.lines.append(f"base made again: the face of result {duplicate[0]} ({duplicate[1]:.2f} apart)")
            return True
        return False

    def record_base(self, url: str) -> None:
        face_checks.record(self.unit.result, 0, url, self.base, replaced=int(self.base_remade))

    # --- The tiles --------------------------------------------------------------------------------------------

    def review_tiles(self, base: bytes, tiles: list[Photo], layout: tuple[int, int], first: int) -> list[Photo]:
        """The tiles of one grid, with each rejected one replaced (up to FACE_RETRIES times); their checks kept."""
        cols, rows = layout
        kept = []
        for index, tile in enumerate(tiles):
            position = first + index
            checked = face_checks.check(tile.data, self.base_face, face_checks.cut_edges(index, cols, rows))
            replacements = 0
            while checked.rejected and replacements < settings.FACE_RETRIES:
                reason = describe(checked)
                tile = self.replacement(base, tile.data, position)
                replacements += 1
                checked = face_checks.check(tile.data, self.base_face)  # a whole photo: no edge of it was cut
                outcome = "now ok" if not checked.rejected else f"still {describe(checked)}"
                self.lines.append(f"tile {position} replaced ({reason}): {outcome}")
                log_unit(self.unit, "tile %s replaced (%s): %s", position, reason, outcome)
            self.tiles[position] = (checked, replacements)
            kept.append(tile)
        return kept

    def replacement(self, base: bytes, tile: bytes, position: int) -> Photo:
        """One photo of this person in the rejected tile's scene, from the base, sized as the tile, with its
        thumbnails, to be stored at `position`."""
        photo = backends.replacement_photo(base, tile, self.files.sitter, idea=self.files.idea(position))
        with Image.open(io.BytesIO(tile)) as cut:
            size = cut.size
        return self.files.fitted(photo, size, position)

    def record_tiles(self, urls: list[str], version: str = "") -> None:
        """Keep every tile's check. Tiles an earlier run stored (before a crash) are read back and checked here."""
        for position, url in enumerate(urls, 1):
            if position not in self.tiles:
                key = storage.tile_key(self.unit.task.task_code, self.unit.result.pk, position, version)
                self.tiles[position] = (face_checks.check(storage.read(key), self.base_face), 0)
            checked, replacements = self.tiles[position]
            face_checks.record(self.unit.result, position, url, checked, replaced=replacements)

    def note(self) -> str:
        return "; ".join(self.lines)


def describe(checked: Checked) -> str:
    if checked.distance is not None:
        return f"{checked.verdict}, {checked.distance:.2f} from the base"
    return checked.verdict
