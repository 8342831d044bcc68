"""Base selfies from reference faces: faces are imported into the bucket with `manage.py
import_faces`, the config flags decide whether and how they are used, and what the pipeline sends
to `/images/edits` is compared byte for byte with what is stored."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from PIL import Image, ImageDraw

from generation.models import GenerationTask
from generation.pipeline.stages import run_inline
from siteconfig.models import Config
from tests.generation.helpers import assert_task_stored_completely, fetch_image, submit, with_thumbnails

pytestmark = pytest.mark.django_db

GENERATIONS = "/images/generations"
EDITS = "/images/edits"

# (file name, size, format, background colour): distinct colours give distinct bytes.
FACES = {
    "f": [("ana.jpg", (300, 300), "JPEG", (200, 120, 90)), ("bea.png", (320, 400), "PNG", (90, 140, 200))],
    "m": [("carl.jpg", (512, 512), "JPEG", (60, 160, 80)), ("dan.png", (256, 300), "PNG", (170, 90, 170))],
}


def face_bytes(size: tuple[int, int], fmt: str, colour: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", size, colour)
    width, height = size
    ImageDraw.Draw(image).ellipse((width * 0.3, height * 0.2, width * 0.7, height * 0.75), fill=(235, 200, 170))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def face_folder(root: Path, gender: str, *, with_rejects: bool = False) -> Path:
    folder = root / f"faces-{gender}"
    folder.mkdir()
    for name, size, fmt, colour in FACES[gender]:
        (folder / name).write_bytes(face_bytes(size, fmt, colour))
    if with_rejects:
        (folder / "notes.txt").write_text("not a face at all\n")
        (folder / "tiny.png").write_bytes(face_bytes((64, 64), "PNG", (10, 10, 10)))
    return folder


def import_faces(folder: Path, gender: str) -> str:
    out = io.StringIO()
    call_command("import_faces", str(folder), gender=gender, stdout=out)
    return out.getvalue()


def stored_faces(bucket, gender: str) -> dict[str, bytes]:
    client = bucket.client()
    return {
        key: client.get_object(Bucket=bucket.name, Key=key)["Body"].read() for key in bucket.keys(f"faces/{gender}/")
    }


def set_flags(*, randomize: bool, gender_lock: bool = False) -> None:
    Config.set_value("randomize_face_base", randomize)
    Config.set_value("randomize_face_gender_lock", gender_lock)


def assert_completed(task: GenerationTask, bucket) -> None:
    """For a test that runs several tasks: this one completed and stored its own files."""
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.COMPLETED, task.error_log
    results = list(task.results.all())
    assert len(results) == task.number_to_generate and all(len(r.images) == 4 for r in results)
    names = ("base.jpg", "1.jpg", "2.jpg", "3.jpg", "4.jpg")  # the base as the API sent it: JPEG
    expected = {f"avatars/{task.task_code}/{r.pk}/{name}" for r in results for name in names}
    assert bucket.keys(f"avatars/{task.task_code}/") == with_thumbnails(expected)


def every_stored_face(bucket) -> set[bytes]:
    return set(stored_faces(bucket, "f").values()) | set(stored_faces(bucket, "m").values())


def base_calls(server, bucket) -> list:
    """The edits calls that made a base selfie from a reference face: they upload one of the faces in the bucket
    (a grid call uploads the persona's base instead)."""
    faces = every_stored_face(bucket)
    return [call for call in server.calls(EDITS) if call.files and call.files[0] in faces]


def base_call_of(server, bucket, result) -> object:
    (call,) = [c for c in base_calls(server, bucket) if f"as the face of {result.firstname}, a " in c.form["prompt"]]
    return call


def grid_calls_of(server, result) -> list:
    """The edits calls that made this persona's photo grids: they upload its stored base."""
    base = fetch_image(result.base_image_url)[1]
    return [call for call in server.calls(EDITS) if call.files == [base]]


def assert_every_edit_is_a_grid_of_a_stored_base(server, task: GenerationTask) -> None:
    """No edit made a base: each uploads one persona's stored base, one grid per persona."""
    grids = {result.pk: grid_calls_of(server, result) for result in task.results.all()}
    assert all(len(calls) == 1 for calls in grids.values()), grids
    assert len(server.calls(EDITS)) == len(grids)


@pytest.fixture
def faces(s3_bucket, tmp_path) -> dict[str, set[bytes]]:
    """Two faces of each gender in the bucket, imported with the command; the bytes stored per gender."""
    import_faces(face_folder(tmp_path, "f"), "f")
    import_faces(face_folder(tmp_path, "m"), "m")
    return {gender: set(stored_faces(s3_bucket, gender).values()) for gender in ("f", "m")}


def test_import_faces_uploads_real_images_and_rejects_the_rest_with_a_reason(s3_bucket, tmp_path):
    folder = face_folder(tmp_path, "f", with_rejects=True)

    output = import_faces(folder, "f")

    assert "added     ana.jpg" in output and "added     bea.png" in output
    assert "rejected  notes.txt: not a readable image" in output
    assert "rejected  tiny.png: 64x64 is smaller than 256px on a side" in output
    assert output.rstrip().endswith("2 added, 0 already there, 2 rejected.")
    stored = stored_faces(s3_bucket, "f")
    assert len(stored) == 2 and s3_bucket.keys("faces/m/") == []
    assert set(stored.values()) == {(folder / "ana.jpg").read_bytes(), (folder / "bea.png").read_bytes()}
    assert sorted(key.rsplit(".", 1)[1] for key in stored) == ["jpg", "png"]


def test_importing_the_same_faces_twice_adds_nothing_the_second_time(s3_bucket, tmp_path):
    folder = face_folder(tmp_path, "m", with_rejects=True)
    import_faces(folder, "m")
    before = s3_bucket.keys("faces/")

    output = import_faces(folder, "m")

    assert "present   carl.jpg" in output and "present   dan.png" in output
    assert output.rstrip().endswith("0 added, 2 already there, 2 rejected.")
    assert s3_bucket.keys("faces/") == before and len(before) == 2


def test_with_the_flag_off_base_selfies_come_from_text_and_no_face_is_sent(fake_openai, s3_bucket, faces):
    set_flags(randomize=False, gender_lock=True)
    task = submit(number_to_generate=2)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    assert len(fake_openai.calls(GENERATIONS)) == 2
    assert_every_edit_is_a_grid_of_a_stored_base(fake_openai, task)
    every_face = faces["f"] | faces["m"]
    assert not any(call.files[0] in every_face for call in fake_openai.calls(EDITS))


def test_with_the_flag_on_each_base_selfie_is_made_from_one_stored_face(fake_openai, s3_bucket, faces):
    set_flags(randomize=True, gender_lock=False)
    task = submit(number_to_generate=4)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    assert fake_openai.calls(GENERATIONS) == []
    every_face = faces["f"] | faces["m"]
    calls = base_calls(fake_openai, s3_bucket)
    assert len(calls) == 4
    for call in calls:
        assert len(call.files) == 1 and call.files[0] in every_face
        assert "reference photo" in call.form["prompt"]
    # The grids are made from each persona's stored base, not from the face: one grid each, and no other edit.
    for result in task.results.all():
        assert len(grid_calls_of(fake_openai, result)) == 1
    assert len(fake_openai.calls(EDITS)) == 4 + 4


def test_without_the_gender_lock_a_persona_may_get_a_face_of_the_other_gender(fake_openai, s3_bucket, tmp_path):
    import_faces(face_folder(tmp_path, "f"), "f")  # women's faces only
    female_faces = set(stored_faces(s3_bucket, "f").values())
    set_flags(randomize=True, gender_lock=False)
    task = submit(number_to_generate=2)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    assert sorted(task.results.values_list("gender", flat=True)) == ["f", "m"]
    man = task.results.get(gender="m")
    assert base_call_of(fake_openai, s3_bucket, man).files[0] in female_faces
    assert fake_openai.calls(GENERATIONS) == []


def test_with_the_flag_on_and_no_face_stored_base_selfies_come_from_text(fake_openai, s3_bucket):
    set_flags(randomize=True, gender_lock=False)
    task = submit(number_to_generate=2)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    assert len(fake_openai.calls(GENERATIONS)) == 2
    assert_every_edit_is_a_grid_of_a_stored_base(fake_openai, task)


def test_with_the_gender_lock_every_persona_gets_a_face_of_its_own_gender(fake_openai, s3_bucket, faces):
    set_flags(randomize=True, gender_lock=True)
    task = submit(number_to_generate=6)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    results = list(task.results.all())
    assert {r.gender for r in results} == {"f", "m"}
    for result in results:
        sent = base_call_of(fake_openai, s3_bucket, result).files[0]
        assert sent in faces[result.gender], f"{result.full_name} ({result.gender}) got a face of the other gender"
    assert fake_openai.calls(GENERATIONS) == []


def test_with_the_gender_lock_a_gender_without_faces_falls_back_to_a_text_only_base(fake_openai, s3_bucket, tmp_path):
    import_faces(face_folder(tmp_path, "f"), "f")
    female_faces = set(stored_faces(s3_bucket, "f").values())
    set_flags(randomize=True, gender_lock=True)
    task = submit(number_to_generate=2)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    woman, man = task.results.get(gender="f"), task.results.get(gender="m")
    assert base_call_of(fake_openai, s3_bucket, woman).files[0] in female_faces
    # The man's only edit is his grid, made from his stored base; his base came from text.
    assert [c for c in fake_openai.calls(EDITS) if man.firstname in c.form["prompt"]] == grid_calls_of(fake_openai, man)
    assert len(fake_openai.calls(EDITS)) == 3  # the woman's base and grid, the man's grid
    (generation,) = fake_openai.calls(GENERATIONS)
    assert man.firstname in generation.json["prompt"]


def test_a_face_refused_by_moderation_is_swapped_for_another_and_the_task_completes(fake_openai, s3_bucket, faces):
    set_flags(randomize=True, gender_lock=False)
    fake_openai.fail_next(EDITS, 400, code="moderation_blocked", message="Rejected by the safety system.")
    task = submit(number_to_generate=1)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    refused, accepted = base_calls(fake_openai, s3_bucket)
    every_face = faces["f"] | faces["m"]
    assert refused.files[0] in every_face and accepted.files[0] in every_face
    assert refused.files[0] != accepted.files[0]
    assert task.units.get(kind="images").attempts == 1  # swapped within the same try


def test_when_every_face_tried_is_refused_the_persona_fails_with_the_reason(fake_openai, s3_bucket, faces, settings):
    settings.FACE_SWAP_TRIES = 3
    set_flags(randomize=True, gender_lock=False)
    fake_openai.fail_next(EDITS, 400, times=3, code="moderation_blocked")
    task = submit(number_to_generate=1)

    run_inline(task)

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.FAILED
    assert "3 reference face(s) in a row were refused" in task.error_log
    assert task.results.get().full_name in task.error_log
    sent = [call.files[0] for call in base_calls(fake_openai, s3_bucket)]
    assert len(sent) == 3 and len(set(sent)) == 3  # three different faces, none tried twice
    assert fake_openai.calls(GENERATIONS) == []  # no silent fallback to a text-only base


def test_the_face_listing_is_cached_between_tasks_until_it_expires(fake_openai, s3_bucket, tmp_path):
    """With the gender lock on and only women's faces, a man's base comes from text. A man's face
    then put straight into the bucket is not seen while the listing is cached, and is used once
    the cache is gone."""
    import_faces(face_folder(tmp_path, "f"), "f")
    set_flags(randomize=True, gender_lock=True)
    run_inline(submit(number_to_generate=2))
    assert len(fake_openai.calls(GENERATIONS)) == 1  # the man's base

    new_face = face_bytes((400, 400), "JPEG", (30, 30, 120))
    s3_bucket.client().put_object(Bucket=s3_bucket.name, Key="faces/m/added-directly.jpg", Body=new_face)
    second = submit(number_to_generate=2)
    run_inline(second)
    assert_completed(second, s3_bucket)
    assert len(fake_openai.calls(GENERATIONS)) == 2  # again from text: the cached listing has no man's face
    assert not any(call.files[0] == new_face for call in fake_openai.calls(EDITS))

    cache.clear()  # the listing's cache window ends
    third = submit(number_to_generate=2)
    run_inline(third)
    assert_completed(third, s3_bucket)
    assert len(fake_openai.calls(GENERATIONS)) == 2
    assert base_call_of(fake_openai, s3_bucket, third.results.get(gender="m")).files[0] == new_face


def test_faces_imported_with_the_command_are_used_at_once(fake_openai, s3_bucket, tmp_path):
    import_faces(face_folder(tmp_path, "f"), "f")
    set_flags(randomize=True, gender_lock=True)
    run_inline(submit(number_to_generate=2))
    assert len(fake_openai.calls(GENERATIONS)) == 1  # no man's face yet; now cached as "none"

    import_faces(face_folder(tmp_path, "m"), "m")
    task = submit(number_to_generate=2)
    run_inline(task)

    assert_completed(task, s3_bucket)
    assert len(fake_openai.calls(GENERATIONS)) == 1
    male_faces = set(stored_faces(s3_bucket, "m").values())
    assert base_call_of(fake_openai, s3_bucket, task.results.get(gender="m")).files[0] in male_faces
