"""The admin's results: newest first, found by a last name over every result, and a change page that links the
task and the URLs and shows the images as thumbnails."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from generation.integrations.storage import thumbnail_url
from generation.models import GenerationResult, PersonaDetails
from testkit.factories import make_result, make_task

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/generation/generationresult/"


def listed(client, **params) -> list[int]:
    return [result.pk for result in client.get(LIST_URL, params).context["cl"].result_list]


def test_results_are_listed_newest_first(admin_client):
    first, second = make_result(make_task()), make_result(make_task())
    third = make_result(second.task)
    assert listed(admin_client) == [third.pk, second.pk, first.pk]


def test_searching_a_last_name_finds_it_among_every_tasks_results(admin_client):
    wanted = make_result(make_task(), firstname="Élodie", lastname="Rousseau")
    make_result(make_task(), lastname="Martin")
    assert listed(admin_client, q="Rousseau") == [wanted.pk]
    assert listed(admin_client, q="rousseau") == [wanted.pk]
    assert listed(admin_client, q="ROUSS") == [wanted.pk]


def test_searching_first_and_last_name_together_needs_both_to_match(admin_client):
    # ASCII case differences only: SQLite's LIKE folds no other case (PostgreSQL's UPPER does).
    wanted = make_result(make_task(), firstname="Elodie", lastname="Rousseau")
    make_result(make_task(), firstname="Marc", lastname="Rousseau")
    assert listed(admin_client, q="elodie rousseau") == [wanted.pk]
    assert listed(admin_client, q='"Elodie" Rousseau') == [wanted.pk]


def test_a_task_id_finds_that_tasks_results_and_a_name_still_finds_its_persona(admin_client):
    task = make_task()
    ours = [make_result(task), make_result(task)]
    make_result(make_task())
    assert listed(admin_client, q=task.task_code) == [r.pk for r in reversed(ours)]
    assert listed(admin_client, q=task.task_code.upper()) == [r.pk for r in reversed(ours)]


def test_over_all_results_a_name_needs_three_letters_but_within_a_task_any_will_do(admin_client):
    task = make_task()
    wanted = make_result(task, firstname="Bo", lastname="Li")
    make_result(make_task(), firstname="Bo", lastname="Li")
    assert listed(admin_client, q="Li") == []  # too short for the trigram index: only task ids are matched
    assert listed(admin_client, q="Li", task__id__exact=task.pk) == [wanted.pk]


def test_the_result_page_links_the_task_code_to_the_task_admin_and_the_site(admin_client):
    result = make_result(make_task())
    html = admin_client.get(reverse("admin:generation_generationresult_change", args=[result.pk])).content.decode()
    task_admin = reverse("admin:generation_generationtask_change", args=[result.task.pk])
    site = reverse("task_detail", kwargs={"task_code": result.task.task_code})
    assert f'<a href="{task_admin}">{result.task.task_code}</a>' in html
    assert f'<a href="{site}">View on site</a>' in html


def test_the_result_page_shows_urls_as_links_and_images_as_thumbnails_not_raw_json(admin_client):
    result = make_result(make_task())
    html = admin_client.get(reverse("admin:generation_generationresult_change", args=[result.pk])).content.decode()
    for url in [result.base_image_url, *result.images]:
        assert f'<a href="{url}" target="_blank" rel="noopener">{url}</a>' in html  # the URL, as a link
        assert f'<img src="{thumbnail_url(url, 256)}"' in html  # and its thumbnail
    assert f"Base selfie of {result.full_name}" in html and f"Photo 4 of {result.full_name}" in html
    assert "<textarea" not in html
    assert '["https://' not in html and "[&quot;https://" not in html


def test_a_persona_without_images_yet_shows_dashes(admin_client):
    result = make_result(make_task(), base_image_url=None, images=None)
    page = admin_client.get(reverse("admin:generation_generationresult_change", args=[result.pk]))
    assert page.status_code == 200
    assert "<img" not in page.content.decode().split('id="content-main"')[1]
    assert GenerationResult.objects.get(pk=result.pk).images is None


def test_a_job_title_or_a_city_finds_its_personas(admin_client):
    courier = make_result(make_task(), job_title="Cycle courier", current_city="Lyon")
    baker = make_result(make_task(), job_title="Baker", current_city="Porto")
    make_result(make_task())
    assert listed(admin_client, q="courier") == [courier.pk]
    assert listed(admin_client, q="porto") == [baker.pk]


def test_the_age_band_filter_keeps_the_band_and_finds_the_personas_with_no_age(admin_client):
    task = make_task()
    ages = {age: make_result(task, age=age) for age in (19, 29, 30, 61)}
    unknown = make_result(task)
    assert listed(admin_client, age="18-29") == [ages[29].pk, ages[19].pk]
    assert listed(admin_client, age="30-44") == [ages[30].pk]
    assert listed(admin_client, age="60+") == [ages[61].pk]
    assert listed(admin_client, age="unknown") == [unknown.pk]


def test_the_result_page_shows_the_profile_and_a_dash_where_it_is_empty(admin_client):
    result = make_result(make_task(), age=34, job_title="Baker", current_city="Porto", about="Up at four.")
    html = admin_client.get(reverse("admin:generation_generationresult_change", args=[result.pk])).content.decode()
    assert "Profile" in html
    for text in ("34", "Baker", "Porto", "Up at four."):
        assert text in html
    assert "None" not in html


def test_the_gender_filter_keeps_the_women_or_the_men(admin_client):
    task = make_task()
    woman, man = make_result(task, gender="f"), make_result(task, gender="m")
    assert "?gender__exact=f" in admin_client.get(LIST_URL).content.decode()  # offered in the sidebar
    assert listed(admin_client, gender__exact="f") == [woman.pk]
    assert listed(admin_client, gender__exact="m") == [man.pk]


def test_the_result_page_shows_the_persona_s_look_interests_and_photo_ideas(admin_client):
    result = make_result(make_task())
    PersonaDetails.objects.create(
        result=result, look="Freckles & a <b>yellow</b> rain jacket", interests=["Bouldering", "Jazz"],
        photo_ideas=["On the Croix-Rousse steps", "At a jazz club", "Chalked hands at the wall", "A market stall"],
    )  # fmt: skip
    html = admin_client.get(reverse("admin:generation_generationresult_change", args=[result.pk])).content.decode()
    assert "Freckles &amp; a &lt;b&gt;yellow&lt;/b&gt; rain jacket" in html  # the model's text, escaped
    assert "Bouldering, Jazz" in html
    assert "<li>On the Croix-Rousse steps</li><li>At a jazz club</li>" in html
    assert "<textarea" not in html  # read-only: shown, not a form


def test_a_persona_made_before_details_were_kept_shows_dashes_for_them(admin_client):
    result = make_result(make_task())
    page = admin_client.get(reverse("admin:generation_generationresult_change", args=[result.pk]))
    assert page.status_code == 200
    details = page.content.decode().split(">Details<")[1]
    for name in ("look", "interests", "photo_ideas"):
        assert re.search(rf'field-{name}">.*?<div class="readonly">—</div>', details, re.S), name


def add_personas(count: int) -> None:
    task = make_task()
    for _ in range(count):
        PersonaDetails.objects.create(result=make_result(task, age=30), look="tall", interests=["chess"])


def test_the_results_list_makes_as_many_queries_for_20_personas_as_for_2(admin_client):
    add_personas(2)
    admin_client.get(LIST_URL)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as two:
        assert len(admin_client.get(LIST_URL, {"gender__exact": "f", "age": "30-44"}).context["cl"].result_list) == 2
    add_personas(18)
    with CaptureQueriesContext(connection) as twenty:
        assert len(admin_client.get(LIST_URL, {"gender__exact": "f", "age": "30-44"}).context["cl"].result_list) == 20
    assert len(twenty) == len(two), [query["sql"] for query in twenty]
