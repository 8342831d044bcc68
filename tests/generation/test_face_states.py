"""A persona's face signal has three states, and every place that shows it says the same: verified (its base and
every photo checked and found to be one person), not checked (no frontal face found, or the checks off) and flagged.
A task whose every check came back "no face found" used to show a green "Consistent" on each card and "116 of 116
personas consistent" in its summary."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, replace

import pytest
from django.urls import reverse

from generation import services
from generation.models import FaceCheck, GenerationResult, GenerationTask
from generation.pipeline.stages import run_inline
from generation.selectors import face_summary, task_state
from generation.selectors.faces import face_state_counts, face_state_sql, persona_state
from generation.selectors.gallery import GalleryFilters, gallery_results
from generation.services import exports
from testkit.faces import astronaut, grace_hopper
from testkit.factories import PhotoSet, make_result, make_stored_result, make_task, make_user
from tests.generation.helpers import submit

pytestmark = pytest.mark.django_db

VERIFIED, NOT_CHECKED, FLAGGED = "verified", "not checked", "flagged"


@pytest.fixture
def staff(client):
    user = make_user("reviewer@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@dataclass(frozen=True)
class Signals:
    """What each place says of each persona (by its id), and the task's summary line."""

    cards: dict[int, str]
    badges: dict[int, str]
    summary: str
    page_summary: str
    admin: dict[int, str]
    admin_filter: dict[str, list[int]]
    gallery_filter: dict[str, list[int]]
    csv: dict[int, str]
    json: dict[int, str]
    zip: dict[int, str]


def badges_in(html: str) -> dict[int, str]:
    """Each card's face badge, by the persona's id, from the page as it is sent."""
    found = {}
    for card in html.split('<li class="persona card')[1:]:
        badge = re.search(r'data-face-state="([^"]+)"[^>]*>([^<]+)<', card)
        pk = int(re.search(r'id="persona-(\d+)"', card).group(1))
        found[pk] = f"{badge.group(1)}: {badge.group(2)}" if badge else ""
    return found


def signals(client, task: GenerationTask) -> Signals:
    pks = list(task.results.order_by("id").values_list("pk", flat=True))  # the exports' order
    page = reverse("task_detail", args=[task.task_code])
    response = client.get(page)
    cards = {card.result.pk: card.persona_state for card in response.context["cards"]}
    html = response.content.decode()
    page_summary = re.search(r"<dt>Faces</dt><dd>([^<]*)</dd>", html).group(1)

    def gallery(verdict: str) -> list[int]:
        return sorted(card.result.pk for card in client.get(page, {"verdict": verdict}).context["cards"])

    changelist = reverse("admin:generation_generationresult_changelist")

    def admin_rows(**params) -> list:
        return list(client.get(changelist, {"task__id__exact": task.pk, **params}).context["cl"].result_list)

    rows = csv.DictReader(io.StringIO("".join(exports.csv_rows(task))))
    document = json.loads("".join(exports.json_document(task)))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(exports.zip_archive(task))))
    manifests = [json.loads(archive.read(name)) for name in archive.namelist() if name.endswith("/persona.json")]
    return Signals(
        cards=cards,
        badges=badges_in(html),
        summary=face_summary(task),
        page_summary=page_summary,
        admin={result.pk: result.face_state for result in admin_rows()},
        admin_filter={
            state: sorted(result.pk for result in admin_rows(faces=state)) for state in (VERIFIED, NOT_CHECKED, FLAGGED)
        },
        gallery_filter={
            state: gallery(verdict)
            for verdict, state in (("ok", VERIFIED), ("unchecked", NOT_CHECKED), ("look", FLAGGED))
        },  # fmt: skip
        csv=dict(zip(pks, (row["face_state"] for row in rows), strict=True)),
        json=dict(zip(pks, (persona["face_state"] for persona in document["personas"]), strict=True)),
        zip=dict(zip(pks, (persona["face_state"] for persona in manifests), strict=True)),
    )


def assert_every_place_says(found: Signals, states: dict[int, str]) -> None:
    labels = {VERIFIED: "Verified", NOT_CHECKED: "Not checked", FLAGGED: "Needs a look"}
    assert found.cards == states
    assert found.badges == {pk: f"{state}: {labels[state]}" for pk, state in states.items()}
    assert found.admin == found.csv == found.json == found.zip == states
    for state in (VERIFIED, NOT_CHECKED, FLAGGED):
        chosen = sorted(pk for pk, said in states.items() if said == state)
        assert found.admin_filter[state] == chosen
        assert found.gallery_filter[state] == chosen


def by_name(task: GenerationTask, states: dict[str, str]) -> dict[int, str]:
    return {task.results.get(firstname=name).pk: state for name, state in states.items()}


def offline_task(settings, *, checks: bool) -> GenerationTask:
    """A real task of the offline backend, whose drawn portraits are no faces to the face model."""
    settings.GENERATION_BACKEND = "offline"
    settings.FACE_CHECK = checks
    task = submit(number_to_generate=3, images_per_persona=4)
    run_inline(task)
    task.refresh_from_db()
    assert task.status == "completed"
    return task


def test_a_task_whose_every_check_found_no_face_says_not_checked_everywhere(client, staff, settings):
    task = offline_task(settings, checks=True)
    assert set(FaceCheck.objects.filter(result__task=task).values_list("verdict", flat=True)) == {"no-face"}
    assert FaceCheck.objects.filter(result__task=task).count() == 3 * 5

    found = signals(client, task)

    assert_every_place_says(found, dict.fromkeys(task.results.values_list("pk", flat=True), NOT_CHECKED))
    assert found.summary == found.page_summary == "Not checked: no face verified in 3 personas"
    assert "consistent" not in found.summary.lower()
    checks = {step.name: step for step in task_state(task).steps}["Face checks"]
    assert (checks.state, checks.detail) == ("short", "3 of 3; 3 not checked")
    no_face = client.get(reverse("admin:generation_facecheck_changelist"), {"outcome": NOT_CHECKED})
    assert len(no_face.context["cl"].result_list) == 15
    assert "Not checked" in no_face.content.decode()
    ok = client.get(reverse("admin:generation_facecheck_changelist"), {"outcome": VERIFIED})
    assert len(ok.context["cl"].result_list) == 0


def test_a_task_made_with_the_checks_off_says_not_checked_everywhere(client, staff, settings):
    task = offline_task(settings, checks=False)
    assert not FaceCheck.objects.filter(result__task=task).exists()

    found = signals(client, task)

    assert_every_place_says(found, dict.fromkeys(task.results.values_list("pk", flat=True), NOT_CHECKED))
    assert found.summary == found.page_summary == "Not checked"


@pytest.fixture(scope="module")
def photos() -> dict[str, PhotoSet]:
    one = PhotoSet.of(astronaut())
    other = PhotoSet.of(grace_hopper())
    # Someone else in the photos than in the base selfie.
    return {"same": one, "other": replace(one, tile=other.tile, tile_thumbnails=other.tile_thumbnails)}


def checked_task(user, photos: dict[str, PhotoSet], kinds: dict[str, str]) -> GenerationTask:
    """Personas stored as the pipeline stores them, then checked by the face model (`check_faces`)."""
    task = make_task(user=user, number_to_generate=len(kinds), status="completed")
    for name, kind in kinds.items():
        make_stored_result(task, photos[kind], firstname=name)
    services.check_faces(task)
    return task


def test_a_task_whose_every_image_passed_says_verified_everywhere(client, staff, photos):
    task = checked_task(staff, photos, {"Ada": "same", "Bea": "same"})
    assert set(FaceCheck.objects.filter(result__task=task).values_list("verdict", flat=True)) == {"ok"}

    found = signals(client, task)

    assert_every_place_says(found, by_name(task, {"Ada": VERIFIED, "Bea": VERIFIED}))
    assert found.summary == found.page_summary == "2 of 2 personas verified; 0 tiles replaced"


def test_one_flagged_tile_flags_its_persona_and_a_face_not_found_leaves_its_own_not_checked(client, staff, photos):
    task = checked_task(staff, photos, {"Ada": "same", "Bea": "other", "Cleo": "same"})
    cleo = task.results.get(firstname="Cleo")
    # One tile of Cleo's shows no frontal face (a profile shot): her other four images passing does not verify her.
    FaceCheck.objects.filter(result=cleo, position=3).update(verdict="no-face", faces=0, distance=None)

    found = signals(client, task)

    assert_every_place_says(found, by_name(task, {"Ada": VERIFIED, "Bea": FLAGGED, "Cleo": NOT_CHECKED}))
    assert found.summary == "1 of 3 personas verified; 1 not checked; 0 tiles replaced; 1 need a look"
    rows = {row["firstname"]: row for row in csv.DictReader(io.StringIO("".join(exports.csv_rows(task))))}
    assert (rows["Bea"]["face_verdict"], rows["Cleo"]["face_verdict"], rows["Ada"]["face_verdict"]) == (
        "different-person", "no-face", "ok"
    )  # fmt: skip


def test_a_persona_with_a_photo_never_checked_is_not_verified(client, staff, photos):
    task = checked_task(staff, photos, {"Ada": "same"})
    FaceCheck.objects.filter(result__task=task, position=4).delete()  # e.g. a photo made while the checks were off

    found = signals(client, task)

    assert_every_place_says(found, by_name(task, {"Ada": NOT_CHECKED}))
    persona = json.loads("".join(exports.json_document(task)))["personas"][0]
    assert persona["face_verdict"] == "not checked" and persona["face_checks"][4]["verdict"] == "not checked"


def test_a_value_that_is_no_list_in_images_is_read_as_no_photos(staff):
    """Rows from before the images column was a list may hold another JSON value; the filters still answer."""
    task = make_task(user=staff, status="completed")
    old = make_result(task, firstname="Old")
    GenerationResult.objects.filter(pk=old.pk).update(images={"1": "x"})
    unchecked = gallery_results(task, GalleryFilters(verdict="unchecked"))
    assert [result.firstname for result in unchecked] == ["Old"]


def test_the_rule_in_python_and_both_sql_forms_agree_on_every_mix_of_verdicts(staff):
    """Each mix of ok, no face, a rejection or no check over a base and two photos; personas with no photos yet;
    and a check left behind at a position past the photos (which no form counts)."""
    task = make_task(user=staff, images_per_persona=2)
    kinds = ["ok", "no-face", "different-person", None]
    expected = {}
    for mix in itertools.product(kinds, repeat=3):
        for images in (None, ["a.jpg", "b.jpg"]):
            result = make_result(task, images=images)
            verdicts = {position: verdict for position, verdict in enumerate(mix) if verdict}
            for position, verdict in verdicts.items():
                FaceCheck.objects.create(result=result, position=position, image_url="x", faces=1, verdict=verdict)
            FaceCheck.objects.create(result=result, position=7, image_url="x", faces=2, verdict="several-faces")
            expected[result.pk] = persona_state(verdicts, len(images or []))
    assert set(expected.values()) == {VERIFIED, NOT_CHECKED, FLAGGED}

    in_sql = dict(task.results.annotate(state=face_state_sql()).values_list("pk", "state"))
    with_photos = task.results.filter(images__isnull=False)
    counted = face_state_counts(with_photos)

    assert in_sql == expected
    states = Counter(expected[pk] for pk in with_photos.values_list("pk", flat=True))
    assert (counted["verified"], counted["not_checked"], counted["flagged"]) == (
        states[VERIFIED], states[NOT_CHECKED], states[FLAGGED]
    )  # fmt: skip


def test_the_admin_offers_the_faces_filter_within_one_task_s_results_only(client, staff, photos):
    """Over every result the state has no index to read it by; within one task's results it is cheap."""
    task = checked_task(staff, photos, {"Ada": "same", "Bea": "other"})
    changelist = reverse("admin:generation_generationresult_changelist")
    everywhere = client.get(changelist, {"faces": FLAGGED})
    assert everywhere.status_code == 200 and len(everywhere.context["cl"].result_list) == 2
    assert "By faces" not in everywhere.content.decode()
    within = client.get(changelist, {"faces": FLAGGED, "task__id__exact": task.pk})
    assert [result.firstname for result in within.context["cl"].result_list] == ["Bea"]
    assert "By faces" in within.content.decode() and "Needs a look" in within.content.decode()


def test_the_not_checked_filter_shows_as_many_personas_as_the_summary_counts(client, staff):
    """A persona still waiting for its photos has no badge and is in no count of the summary: the "Not checked"
    filter leaves it out too, instead of listing more personas than the summary says."""
    task = make_task(user=staff, number_to_generate=5, status="generating-images")
    for position, verdict in ((0, "ok"), (0, "no-face")):
        result = make_result(task)
        FaceCheck.objects.create(result=result, position=position, image_url="x", faces=1, verdict=verdict)
    waiting = [make_result(task, images=None) for _ in range(3)]
    FaceCheck.objects.create(result=waiting[0], position=0, image_url="x", faces=1, verdict="ok")

    response = client.get(reverse("task_detail", args=[task.task_code]), {"verdict": "unchecked"})

    assert task_state(task).not_checked == 2
    assert response.context["page"].paginator.count == len(response.context["cards"]) == 2
    assert not {card.result.pk for card in response.context["cards"]} & {result.pk for result in waiting}


def test_a_verdict_this_code_does_not_know_reads_as_not_checked_in_the_admin(client, staff, photos):
    """A legacy or future verdict in the database: the checks' list answers, calls it not checked, and the
    "Not checked" outcome filter lists it (it used to raise StopIteration, a 500)."""
    task = checked_task(staff, photos, {"Ada": "same"})
    legacy = FaceCheck.objects.filter(result__task=task, position=2).get()
    FaceCheck.objects.filter(pk=legacy.pk).update(verdict="blurred")
    changelist = reverse("admin:generation_facecheck_changelist")

    everything = client.get(changelist)
    not_checked = client.get(changelist, {"outcome": NOT_CHECKED})
    verified = client.get(changelist, {"outcome": VERIFIED})

    assert everything.status_code == not_checked.status_code == 200
    assert [check.pk for check in not_checked.context["cl"].result_list] == [legacy.pk]
    assert "Not checked" in not_checked.content.decode()
    assert legacy.pk not in {check.pk for check in verified.context["cl"].result_list}
    assert len(verified.context["cl"].result_list) == 4
