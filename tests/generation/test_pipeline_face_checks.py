"""The face checks with real faces: the loopback server answers with photos of two real people (from scikit-image
and matplotlib), laid out as photo grids, and the pipeline must end with the verdicts, replacements, notes and
final images it promises."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from generation.integrations import face_model
from generation.models import FaceCheck, GenerationTask, PipelineUnit
from generation.pipeline import lifecycle
from generation.pipeline.stages import run_inline, run_unit
from generation.selectors import face_summary
from generation.services.exports import csv_rows, json_document
from testkit import faces
from testkit.factories import make_superuser
from testkit.servers import wait_until
from tests.conftest import requires_postgresql
from tests.generation.helpers import assert_task_stored_completely, fetch_image, submit

pytestmark = pytest.mark.django_db
GENERATIONS = "/images/generations"
EDITS = "/images/edits"
Verdict = FaceCheck.Verdict


@pytest.fixture
def checks_on(settings, fake_openai, s3_bucket):
    settings.FACE_CHECK = True
    return fake_openai


def verdicts(task: GenerationTask) -> list[list[tuple[int, str, int]]]:
    """Per persona: (position, verdict, replaced) of each stored image, base first."""
    return [
        list(result.face_checks.order_by("position").values_list("position", "verdict", "replaced"))
        for result in task.results.order_by("pk")
    ]


def stored_face_distance(url: str, base_url: str) -> float:
    _, tile = fetch_image(url)
    _, base = fetch_image(base_url)
    return face_model.distance(face_model.read(tile).embedding, face_model.read(base).embedding)


def test_a_grid_of_one_person_passes_every_check_with_no_replacement(checks_on, s3_bucket):
    a = faces.astronaut()
    checks_on.send_next_image(GENERATIONS, faces.portrait(a))
    checks_on.send_next_image(EDITS, faces.grid([a, faces.mirrored(a), faces.darker(a), a]))
    task = submit(number_to_generate=1, images_per_persona=4)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    assert verdicts(task) == [[(0, "ok", 0), (1, "ok", 0), (2, "ok", 0), (3, "ok", 0), (4, "ok", 0)]]
    distances = list(FaceCheck.objects.filter(position__gt=0).values_list("distance", flat=True))
    assert all(distance < 0.3 for distance in distances), distances
    assert len(checks_on.calls(EDITS)) == 1


@pytest.mark.parametrize(
    ("tile", "rejected_as", "position"),
    [
        (lambda: faces.grace_hopper(), Verdict.DIFFERENT_PERSON, 2),
        (lambda: faces.pair(faces.astronaut(), faces.grace_hopper()), Verdict.SEVERAL_FACES, 3),
        (lambda: faces.at_right_edge(faces.astronaut()), Verdict.FACE_CUT, 1),
    ],
)
def test_a_rejected_tile_is_replaced_from_the_base_and_the_notes_say_why(
    checks_on, s3_bucket, tile, rejected_as, position
):
    a = faces.astronaut()
    photos = [a, a, a, a]
    photos[position - 1] = tile()
    checks_on.send_next_image(GENERATIONS, faces.portrait(a))
    checks_on.send_next_image(EDITS, faces.grid(photos))
    checks_on.send_next_image(EDITS, faces.jpeg(faces.mirrored(a), (1024, 1024)))  # the replacement
    task = submit(number_to_generate=1, images_per_persona=4)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    expected = [(0, "ok", 0)] + [(n, "ok", 1 if n == position else 0) for n in range(1, 5)]
    assert verdicts(task) == [expected]
    replacement = checks_on.calls(EDITS)[1]
    assert len(replacement.files) == 2  # the base and the rejected tile's scene
    assert f"tile {position} replaced ({rejected_as}" in task.error_log
    result = task.results.get()
    assert stored_face_distance(result.images[position - 1], result.base_image_url) < 0.6


def test_a_tile_still_rejected_after_its_retries_is_kept_with_its_verdict(checks_on, s3_bucket, settings):
    settings.FACE_RETRIES = 2
    a, g = faces.astronaut(), faces.grace_hopper()
    checks_on.send_next_image(GENERATIONS, faces.portrait(a))
    checks_on.send_next_image(EDITS, faces.grid([a, g, a, a]))
    checks_on.send_next_image(EDITS, faces.portrait(g), times=2)  # both replacements show her too
    task = submit(number_to_generate=1, images_per_persona=4)

    run_inline(task)

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.COMPLETED
    assert verdicts(task)[0][2] == (2, Verdict.DIFFERENT_PERSON, 2)
    assert task.error_log.count("tile 2 replaced (different-person") == 2
    assert "still different-person" in task.error_log
    assert len(checks_on.calls(EDITS)) == 3


def test_a_second_persona_given_the_first_one_s_face_gets_a_new_base_before_any_grid(checks_on, s3_bucket):
    a, g = faces.astronaut(), faces.grace_hopper()
    checks_on.send_next_image(GENERATIONS, faces.portrait(a), times=2)  # both personas get her face
    checks_on.send_next_image(GENERATIONS, faces.portrait(g))  # the second base, made again
    checks_on.send_next_image(EDITS, faces.grid([a, a, a, a]))
    checks_on.send_next_image(EDITS, faces.grid([g, g, g, g]))
    task = submit(number_to_generate=2, images_per_persona=4)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    first, second = verdicts(task)
    assert first[0] == (0, "ok", 0) and second[0] == (0, "ok", 1)
    assert [verdict for _, verdict, _ in second] == ["ok"] * 5
    assert "base made again: the face of result" in task.error_log
    assert len(checks_on.calls(GENERATIONS)) == 3 and len(checks_on.calls(EDITS)) == 2
    bases = [face_model.read(fetch_image(r.base_image_url)[1]).embedding for r in task.results.order_by("pk")]
    assert face_model.distance(*bases) > 0.6


def test_a_base_with_no_face_is_made_again_once_before_its_grid(checks_on, s3_bucket):
    a = faces.astronaut()
    checks_on.send_next_image(GENERATIONS, faces.jpeg(faces.Image.new("RGB", (1024, 1024), (120, 160, 200))))
    checks_on.send_next_image(GENERATIONS, faces.portrait(a))
    checks_on.send_next_image(EDITS, faces.grid([a, a, a, a]))
    task = submit(number_to_generate=1, images_per_persona=4)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    assert verdicts(task)[0][0] == (0, "ok", 1)
    assert "base made again: no-face" in task.error_log
    assert len(checks_on.calls(GENERATIONS)) == 2


def test_without_face_checks_nothing_is_checked_or_replaced(settings, fake_openai, s3_bucket):
    settings.FACE_CHECK = False
    a, g = faces.astronaut(), faces.grace_hopper()
    fake_openai.send_next_image(GENERATIONS, faces.portrait(a))
    fake_openai.send_next_image(EDITS, faces.grid([a, g, a, a]))
    task = submit(number_to_generate=1, images_per_persona=4)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    assert not FaceCheck.objects.exists()
    assert len(fake_openai.calls(EDITS)) == 1


CLUSTER_CASES = {
    "someone else": (lambda a, g: [a, a, g, a], 3, Verdict.DIFFERENT_PERSON),
    "two people": (lambda a, g: [a, faces.pair(a, g), a, a], 2, Verdict.SEVERAL_FACES),
    "a face cut by the split": (lambda a, g: [faces.at_right_edge(a), a, a, a], 1, Verdict.FACE_CUT),
}


@requires_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", CLUSTER_CASES)
def test_a_worker_cluster_replaces_the_rejected_tile(start_cluster, fake_openai, s3_bucket, case):
    photos, position, rejected_as = CLUSTER_CASES[case]
    a, g = faces.astronaut(), faces.grace_hopper()
    fake_openai.send_next_image(GENERATIONS, faces.portrait(a))
    fake_openai.send_next_image(EDITS, faces.grid(photos(a, g)))
    fake_openai.send_next_image(EDITS, faces.jpeg(a, (1024, 1024)))
    start_cluster(FACE_CHECK="on")
    task = submit(number_to_generate=1, images_per_persona=4)

    wait_until(lambda: GenerationTask.objects.get(pk=task.pk).is_finished, timeout=90, message="the task to end")

    assert_task_stored_completely(task, s3_bucket)
    assert verdicts(task) == [[(0, "ok", 0)] + [(n, "ok", int(n == position)) for n in range(1, 5)]]
    assert f"tile {position} replaced ({rejected_as}" in GenerationTask.objects.get(pk=task.pk).error_log


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_cluster_gives_a_second_persona_with_the_first_one_s_face_a_new_base(
    start_cluster, fake_openai, s3_bucket
):
    a, g = faces.astronaut(), faces.grace_hopper()
    fake_openai.send_next_image(GENERATIONS, faces.portrait(a), times=2)
    fake_openai.send_next_image(GENERATIONS, faces.portrait(g))
    fake_openai.send_next_image(EDITS, faces.grid([a, a, a, a]))
    fake_openai.send_next_image(EDITS, faces.grid([g, g, g, g]))
    start_cluster(FACE_CHECK="on", Q_WORKERS="1")  # one worker: the bases are made one after the other
    task = submit(number_to_generate=2, images_per_persona=4)

    wait_until(lambda: GenerationTask.objects.get(pk=task.pk).is_finished, timeout=90, message="the task to end")

    assert_task_stored_completely(task, s3_bucket)
    first, second = verdicts(task)
    assert first[0] == (0, "ok", 0) and second[0] == (0, "ok", 1)
    assert all(verdict == "ok" for _, verdict, _ in first + second)


def test_exports_carry_each_image_s_verdict_and_distance_and_the_persona_s_worst(checks_on, s3_bucket, settings):
    settings.FACE_RETRIES = 0  # the other person's tile is kept, for the operator
    a, g = faces.astronaut(), faces.grace_hopper()
    checks_on.send_next_image(GENERATIONS, faces.portrait(a))
    checks_on.send_next_image(EDITS, faces.grid([a, a, g, a]))
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)

    persona = json.loads("".join(json_document(task)))["personas"][0]
    assert persona["face_verdict"] == "different-person"
    assert [check["verdict"] for check in persona["face_checks"]] == ["ok", "ok", "ok", "different-person", "ok"]
    assert persona["face_checks"][3]["distance"] > 0.6 and persona["face_checks"][0]["distance"] is None
    (row,) = csv.DictReader(io.StringIO("".join(csv_rows(task))))
    assert (row["face_verdict"], row["base_verdict"], row["image_3_verdict"]) == ("different-person", "ok",
                                                                                   "different-person")  # fmt: skip
    assert float(row["image_3_distance"]) > 0.6 and float(row["image_1_distance"]) < 0.3
    assert face_summary(task) == "0 of 1 personas verified; 0 tiles replaced; 1 need a look"


def test_check_faces_records_the_stored_images_verdicts_again_and_can_run_twice(checks_on, s3_bucket, settings):
    a, g = faces.astronaut(), faces.grace_hopper()
    checks_on.send_next_image(GENERATIONS, faces.portrait(a))
    checks_on.send_next_image(EDITS, faces.grid([a, g, a, a]))
    settings.FACE_CHECK = False  # made before the checks existed
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)
    assert face_summary(task) == "Not checked"

    for _ in range(2):
        out = io.StringIO()
        call_command("check_faces", task.task_code, stdout=out)

    assert "ok ok different-person ok ok" in out.getvalue()
    assert FaceCheck.objects.count() == 5
    assert f"Task {task.task_code} faces: 0 of 1 personas verified; 0 tiles replaced; 1 need a look." in out.getvalue()


def test_check_faces_names_an_unknown_task(db):
    with pytest.raises(Exception, match="No task nosuch00"):
        call_command("check_faces", "nosuch00")


def test_two_bases_made_at_the_same_moment_with_one_face_are_caught_when_the_stage_ends(checks_on, s3_bucket):
    """Two workers making bases at once cannot see each other's. Here that race's outcome is made by hand: the
    second persona's base check is given the first one's face, and the stage's end is replayed. The later persona
    gets new photos, once."""
    a, g = faces.astronaut(), faces.grace_hopper()
    checks_on.send_next_image(GENERATIONS, faces.portrait(a))
    checks_on.send_next_image(GENERATIONS, faces.portrait(g))
    checks_on.send_next_image(EDITS, faces.grid([a, a, a, a]))
    checks_on.send_next_image(EDITS, faces.grid([g, g, g, g]))
    task = submit(number_to_generate=2, images_per_persona=4)
    run_inline(task)
    first, second = task.results.order_by("pk")
    shared = FaceCheck.objects.get(result=first, position=0).embedding
    FaceCheck.objects.filter(result=second, position=0).update(embedding=shared)
    GenerationTask.objects.filter(pk=task.pk).update(status=GenerationTask.Status.GENERATING_IMAGES, completed_at=None)

    lifecycle.advance(task.pk)
    lifecycle.advance(task.pk)

    (redo,) = task.units.filter(kind=PipelineUnit.Kind.ALL_PHOTOS_AGAIN)
    assert redo.result_id == second.pk
    checks_on.send_next_image(GENERATIONS, faces.portrait(g))
    checks_on.send_next_image(EDITS, faces.grid([g, g, g, g]))
    token = lifecycle.inline.set(True)
    try:
        run_unit(redo.pk)
    finally:
        lifecycle.inline.reset(token)
    task.refresh_from_db()
    second.refresh_from_db()
    assert task.status == GenerationTask.Status.COMPLETED
    assert ".v" in second.base_image_url
    assert task.units.filter(kind=PipelineUnit.Kind.ALL_PHOTOS_AGAIN).count() == 1


def two_tasks_with_one_face(checks_on) -> tuple[GenerationTask, GenerationTask]:
    a = faces.astronaut()
    tasks = []
    for _ in range(2):
        checks_on.send_next_image(GENERATIONS, faces.portrait(a))
        checks_on.send_next_image(EDITS, faces.grid([a, a, a, a]))
        task = submit(number_to_generate=1, images_per_persona=4)
        run_inline(task)
        tasks.append(task)
    return tasks[0], tasks[1]


def test_a_face_an_earlier_task_used_is_listed_by_the_command_and_the_admin_page(checks_on, s3_bucket, admin_client):
    earlier, later = two_tasks_with_one_face(checks_on)
    out = io.StringIO()
    call_command("find_duplicate_faces", stdout=out)
    persona = later.results.get()
    assert f"{persona.full_name} (task {later.task_code}, result {persona.pk}) has the face of" in out.getvalue()
    assert f"of task {earlier.task_code}: 0.00 apart" in out.getvalue()
    assert "1 persona(s) share a face with an earlier task." in out.getvalue()

    page = admin_client.get("/admin/generation/facecheck/seen-before/")
    assert page.status_code == 200
    assert persona.full_name in page.content.decode() and earlier.task_code in page.content.decode()


SEEN_BEFORE = "/admin/generation/facecheck/seen-before/"


def test_faces_seen_before_needs_the_face_check_view_permission(checks_on, s3_bucket, client):
    earlier, later = two_tasks_with_one_face(checks_on)
    staff = later.user
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)
    assert client.get(SEEN_BEFORE).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_facecheck"))
    assert client.get(SEEN_BEFORE).status_code == 200


def test_faces_seen_before_lists_only_the_viewers_own_tasks_unless_a_superuser(checks_on, s3_bucket, client):
    earlier, later = two_tasks_with_one_face(checks_on)
    seen, first = later.results.get(), earlier.results.get()
    view = Permission.objects.get(codename="view_facecheck")
    for task in (earlier, later):
        task.user.is_staff = True
        task.user.save(update_fields=["is_staff"])
        task.user.user_permissions.add(view)

    client.force_login(later.user)  # their persona has a face of another user's earlier task: not theirs to learn of
    page = client.get(SEEN_BEFORE).content.decode()
    assert seen.full_name not in page and later.task_code not in page
    assert first.full_name not in page and earlier.task_code not in page
    assert "No persona shares a face with an earlier task." in page

    client.force_login(earlier.user)  # another user's persona reused their face: not theirs to see
    page = client.get(SEEN_BEFORE).content.decode()
    assert seen.full_name not in page and later.task_code not in page
    assert "No persona shares a face with an earlier task." in page

    client.force_login(make_superuser())
    page = client.get(SEEN_BEFORE).content.decode()
    assert seen.full_name in page and first.full_name in page and earlier.task_code in page


def test_faces_seen_before_lists_to_a_staff_user_a_face_two_of_their_own_tasks_share(checks_on, s3_bucket, client):
    earlier, later = two_tasks_with_one_face(checks_on)
    GenerationTask.objects.filter(pk=earlier.pk).update(user=later.user)
    staff = later.user
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    staff.user_permissions.add(Permission.objects.get(codename="view_facecheck"))
    client.force_login(staff)
    page = client.get(SEEN_BEFORE).content.decode()
    assert later.results.get().full_name in page and earlier.results.get().full_name in page
    assert earlier.task_code in page and later.task_code in page


def test_with_the_check_across_tasks_on_a_base_an_earlier_task_used_is_made_again(checks_on, s3_bucket, settings):
    settings.FACE_DUPLICATES_ACROSS_TASKS = True
    a, g = faces.astronaut(), faces.grace_hopper()
    checks_on.send_next_image(GENERATIONS, faces.portrait(a))
    checks_on.send_next_image(EDITS, faces.grid([a, a, a, a]))
    run_inline(submit(number_to_generate=1, images_per_persona=4))
    checks_on.send_next_image(GENERATIONS, faces.portrait(a))
    checks_on.send_next_image(GENERATIONS, faces.portrait(g))
    checks_on.send_next_image(EDITS, faces.grid([g, g, g, g]))
    later = submit(number_to_generate=1, images_per_persona=4)

    run_inline(later)

    assert "base made again: the face of result" in GenerationTask.objects.get(pk=later.pk).error_log
    assert verdicts(later)[0][0] == (0, "ok", 1)
