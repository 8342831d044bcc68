"""A persona's face signal has three states, and every place that shows it says the same: verified (its base and
every photo checked and found to be one person), not checked (no frontal face found, or the checks off) and flagged.
A task whose every check came back "no face found" used to show a green "Consistent" on each card and "116 of 116
personas consistent" in its summary."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, replace

import pytest
from django.urls import reverse

from generation import exports, services
from generation.models import FaceCheck, GenerationResult, GenerationTask
from generation.pipeline.stages import run_inline
from generation.selectors import face_summary, task_state
from generation.selectors.gallery import GalleryFilters, gallery_results
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
    """What each place says of each persona (by first name), and the task's summary line."""

    cards: dict[str, str]
    badges: dict[str, str]
    summary: str
    page_summary: str
    admin: dict[str, str]
    admin_filter: dict[str, list[str]]
    gallery_filter: dict[str, list[str]]
    csv: dict[str, str]
    json: dict[str, str]
    zip: dict[str, str]


def badges_in(html: str) -> dict[str, str]:
    """Each card's face badge, by the persona's first name, from the page as it is sent."""
    found = {}
    for card in html.split('<li class="persona card')[1:]:
        badge = re.search(r'data-face-state="([^"]+)"[^>]*>([^<]+)<', card)
        name = re.search(r"<h3[^>]*>(\S+) ", card).group(1)
        found[name] = f"{badge.group(1)}: {badge.group(2)}" if badge else ""
    return found


def signals(client, task: GenerationTask) -> Signals:
    page = reverse("task_detail", args=[task.task_code])
    response = client.get(page)
    cards = {card.result.firstname: card.face_state for card in response.context["cards"]}
    html = response.content.decode()
    page_summary = re.search(r"<dt>Faces</dt><dd>([^<]*)</dd>", html).group(1)

    def gallery(verdict: str) -> list[str]:
        return [card.result.firstname for card in client.get(page, {"verdict": verdict}).context["cards"]]

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
        admin={result.firstname: result.face_state for result in admin_rows()},
        admin_filter={
            state: sorted(result.firstname for result in admin_rows(faces=state))
            for state in (VERIFIED, NOT_CHECKED, FLAGGED)
        },
        gallery_filter={
            state: gallery(verdict)
            for verdict, state in (("ok", VERIFIED), ("unchecked", NOT_CHECKED), ("look", FLAGGED))
        },  # fmt: skip
        csv={row["firstname"]: row["face_state"] for row in rows},
        json={persona["firstname"]: persona["face_state"] for persona in document["personas"]},
        zip={persona["firstname"]: persona["face_state"] for persona in manifests},
    )


def assert_every_place_says(found: Signals, states: dict[str, str]) -> None:
    labels = {VERIFIED: "Verified", NOT_CHECKED: "Not checked", FLAGGED: "Needs a look"}
    assert found.cards == states
    assert found.badges == {name: f"{state}: {labels[state]}" for name, state in states.items()}
    assert found.admin == found.csv == found.json == found.zip == states
    for state in (VERIFIED, NOT_CHECKED, FLAGGED):
        chosen = sorted(name for name, said in states.items() if said == state)
        assert found.admin_filter[state] == chosen
        assert sorted(found.gallery_filter[state]) == chosen


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

    assert_every_place_says(found, dict.fromkeys(found.cards, NOT_CHECKED))
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

    assert_every_place_says(found, dict.fromkeys(found.cards, NOT_CHECKED))
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

    assert_every_place_says(found, {"Ada": VERIFIED, "Bea": VERIFIED})
    assert found.summary == found.page_summary == "2 of 2 personas verified; 0 tiles replaced"


def test_one_flagged_tile_flags_its_persona_and_a_face_not_found_leaves_its_own_not_checked(client, staff, photos):
    task = checked_task(staff, photos, {"Ada": "same", "Bea": "other", "Cleo": "same"})
    cleo = task.results.get(firstname="Cleo")
    # One tile of Cleo's shows no frontal face (a profile shot): her other four images passing does not verify her.
    FaceCheck.objects.filter(result=cleo, position=3).update(verdict="no-face", faces=0, distance=None)

    found = signals(client, task)

    assert_every_place_says(found, {"Ada": VERIFIED, "Bea": FLAGGED, "Cleo": NOT_CHECKED})
    assert found.summary == "1 of 3 personas verified; 1 not checked; 0 tiles replaced; 1 need a look"
    rows = {row["firstname"]: row for row in csv.DictReader(io.StringIO("".join(exports.csv_rows(task))))}
    assert (rows["Bea"]["face_verdict"], rows["Cleo"]["face_verdict"], rows["Ada"]["face_verdict"]) == (
        "different-person", "no-face", "ok"
    )  # fmt: skip


def test_a_persona_with_a_photo_never_checked_is_not_verified(client, staff, photos):
    task = checked_task(staff, photos, {"Ada": "same"})
    FaceCheck.objects.filter(result__task=task, position=4).delete()  # e.g. a photo made while the checks were off

    found = signals(client, task)

    assert_every_place_says(found, {"Ada": NOT_CHECKED})
    persona = json.loads("".join(exports.json_document(task)))["personas"][0]
    assert persona["face_verdict"] == "not checked" and persona["face_checks"][4]["verdict"] == "not checked"


def test_a_value_that_is_no_list_in_images_is_read_as_no_photos(staff):
    """Rows from before the images column was a list may hold another JSON value; the filters still answer."""
    task = make_task(user=staff, status="completed")
    old = make_result(task, firstname="Old")
    GenerationResult.objects.filter(pk=old.pk).update(images={"1": "x"})
    unchecked = gallery_results(task, GalleryFilters(verdict="unchecked"))
    assert [result.firstname for result in unchecked] == ["Old"]
