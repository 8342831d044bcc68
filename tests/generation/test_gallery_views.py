"""The review gallery, server side: filters, pages, the live partials and the persona actions' answers to bad
input (a clear message, never a 500, nothing lost)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from generation.models import FaceCheck, GenerationResult
from testkit.factories import make_result, make_task, make_user

pytestmark = pytest.mark.django_db


def finished(user, **fields):
    return make_task(user=user, status="completed", completed_at=timezone.now(), **fields)


def names(response) -> list[str]:
    return [card.result.firstname for card in response.context["cards"]]


def test_the_gallery_filters_by_gender_and_by_face_verdict(client, staff):
    task = finished(staff, number_to_generate=3)
    ok = make_result(task, firstname="Ok", gender="f")
    look = make_result(task, firstname="Look", gender="m")
    make_result(task, firstname="Unchecked", gender="f")
    for position in range(5):  # the base and its four photos: verified
        FaceCheck.objects.create(result=ok, position=position, image_url="x", faces=1, verdict="ok")
    FaceCheck.objects.create(result=look, position=2, image_url="x", faces=1, verdict="different-person", distance=0.8)
    page = reverse("task_detail", args=[task.task_code])
    assert names(client.get(page, {"gender": "f"})) == ["Ok", "Unchecked"]
    assert names(client.get(page, {"verdict": "look"})) == ["Look"]
    assert names(client.get(page, {"verdict": "ok"})) == ["Ok"]
    assert names(client.get(page, {"verdict": "unchecked", "gender": "f"})) == ["Unchecked"]
    # A hand-edited link shows everyone rather than an error.
    assert names(client.get(page, {"gender": "x", "verdict": "<b>", "view": "nope"})) == ["Ok", "Look", "Unchecked"]
    card = next(card for card in client.get(page).context["cards"] if card.result == look)
    assert card.needs_a_look and card.photos[1].hover.startswith("Different person: 0.80 from the base face")


def test_the_live_partial_and_the_task_list_partial_render_for_htmx(client, staff):
    running = make_task(user=staff, status="generating-data")
    live = client.get(reverse("task_live", args=[running.task_code]), headers={"HX-Request": "true"})
    html = live.content.decode()
    assert "<title>" in html and 'id="status-bar"' in html and "hx-swap-oob" not in html
    rows = client.get(reverse("task_list"), headers={"HX-Request": "true"}).content.decode()
    assert 'class="task-row"' in rows and "<html" not in rows and "hx-swap-oob" not in rows
    running.status = "completed"
    running.save()
    # Finished: both partials replace their poller with one that asks no more.
    assert (
        'id="poller" hidden hx-swap-oob="true"'
        in client.get(reverse("task_live", args=[running.task_code])).content.decode()
    )
    rows = client.get(reverse("task_list"), headers={"HX-Request": "true"}).content.decode()
    assert 'id="list-poller" hidden hx-swap-oob="true"' in rows


def test_a_photo_number_that_does_not_exist_is_a_message_not_a_500(client, staff):
    task = finished(staff)
    result = make_result(task)
    url = reverse("persona_action", args=[task.task_code, result.pk, "regenerate-photo"])
    for position in ("9", "abc", ""):
        response = client.post(url, {"position": position}, follow=True)
        assert response.status_code == 200
        assert (
            "has no image" in response.content.decode() or "That photo number is not valid" in response.content.decode()
        )
    assert not task.units.exists()


def test_an_unknown_action_or_another_users_persona_is_a_404(client, staff):
    task = finished(staff)
    result = make_result(task)
    assert client.post(reverse("persona_action", args=[task.task_code, result.pk, "explode"])).status_code == 404
    other = make_result(finished(make_user()))
    assert client.post(reverse("persona_action", args=[other.task.task_code, other.pk, "delete"])).status_code == 404
    assert client.post(reverse("persona_action", args=[task.task_code, other.pk, "delete"])).status_code == 404
    assert GenerationResult.objects.filter(pk=other.pk).exists()


def test_deleting_a_persona_of_a_running_task_is_refused_and_keeps_it(client, staff):
    task = make_task(user=staff, status="generating-images")
    result = make_result(task)
    response = client.post(reverse("persona_action", args=[task.task_code, result.pk, "delete"]), follow=True)
    assert "still running" in response.content.decode()
    assert GenerationResult.objects.filter(pk=result.pk).exists()


def test_an_action_returns_to_the_same_filters_page_and_card(client, staff):
    task = finished(staff)
    result = make_result(task)
    url = reverse("persona_action", args=[task.task_code, result.pk, "regenerate-bios"])
    response = client.post(url, {"gallery_query": "gender=f&verdict=look&page=2&evil=1"})
    assert response.status_code == 302
    assert response["Location"] == f"/tasks/{task.task_code}/?gender=f&verdict=look&page=2#persona-{result.pk}"
    hostile = client.post(url, {"gallery_query": "page=//evil.example.com"})
    assert hostile["Location"] == f"/tasks/{task.task_code}/#persona-{result.pk}"


def test_one_personas_zip_holds_its_folder_only(client, staff):
    task = finished(staff)
    result = make_result(task, base_image_url=None, images=None)
    make_result(task)
    response = client.get(reverse("export_persona_zip", args=[task.task_code, result.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == [f"{result.firstname}_{result.lastname}/persona.json"]
    assert response["Content-Disposition"] == f'attachment; filename="persona-{task.task_code}-{result.pk}.zip"'


def test_the_drawer_shows_the_known_profile_facts_and_none_of_the_empty_ones(client, staff):
    task = finished(staff, number_to_generate=2)
    make_result(task, firstname="Rita", age=34, job_title="Baker", current_city="Porto", about="")
    make_result(task, firstname="Rui")
    html = client.get(reverse("task_detail", args=[task.task_code])).content.decode()
    assert html.count('<dl class="profile"') == 1
    assert '<dt>Age</dt><dd dir="auto">34</dd>' in html
    assert '<dt>Job title</dt><dd dir="auto">Baker</dd>' in html
    assert "<dt>Current city</dt>" in html and "<dt>About</dt>" not in html and "None" not in html
