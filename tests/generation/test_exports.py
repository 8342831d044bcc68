"""Exports of a task: CSV, JSON and ZIP, streamed."""

import csv
import io
import json
import re
import tracemalloc
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from generation.models import ExportBuild, GenerationResult, PersonaDetails
from generation.pipeline.stages import run_inline
from generation.services import exports, jobs
from testkit.factories import make_task
from tests.generation.helpers import prepared_zip, submit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def finished_task(staff, settings):
    """A real task made by the offline backend into local storage: 3 personas x 8 images."""
    settings.GENERATION_BACKEND = "offline"
    task = submit(user=staff, number_to_generate=3, images_per_persona=8, bio_language="German")
    run_inline(task)
    task.refresh_from_db()
    assert task.status == "completed"
    return task


def body(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


def test_csv_has_one_row_per_persona_with_names_bios_and_every_url(client, finished_task):
    response = client.get(reverse("export_csv", args=[finished_task.task_code]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="personas-{finished_task.task_code}.csv"'
    rows = list(csv.DictReader(io.StringIO(body(response).decode())))
    results = list(finished_task.results.order_by("id"))
    assert [(r["firstname"], r["lastname"]) for r in rows] == [(p.firstname, p.lastname) for p in results]
    first, persona = rows[0], results[0]
    assert first["bio_instagram"] == persona.bio_instagram and first["gender"] == persona.gender
    assert first["base_image_url"] == persona.base_image_url
    assert [first[f"image_{n}"] for n in range(1, 9)] == persona.images


def test_json_nests_bios_and_images_under_each_persona(client, finished_task):
    response = client.get(reverse("export_json", args=[finished_task.task_code]))
    assert response["Content-Type"] == "application/json"
    document = json.loads(body(response))
    assert document["task"]["task_id"] == finished_task.task_code
    assert document["task"]["bio_language"] == "German"
    assert len(document["personas"]) == 3
    persona = document["personas"][0]
    assert set(persona["bios"]) == {"facebook", "instagram", "x", "tiktok"}
    assert len(persona["images"]) == 8


def test_zip_has_a_folder_per_persona_with_its_images_and_the_csv_and_json_at_the_root(client, finished_task):
    response = prepared_zip(client, finished_task.task_code)
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    assert archive.testzip() is None
    names = set(archive.namelist())
    assert {"personas.csv", "personas.json"} <= names
    for result in finished_task.results.all():
        # Anything but letters, digits and "-" becomes "_" (the offline names may hold a "." or an apostrophe).
        folder = re.sub(r"[^\w-]+", "_", f"{result.firstname}_{result.lastname}").strip("_")
        expected = {f"{folder}/base.png", f"{folder}/persona.json"} | {f"{folder}/{n}.jpg" for n in range(1, 9)}
        assert expected <= names, expected - names
        with default_storage.open(f"avatars/{finished_task.task_code}/{result.pk}/3.jpg", "rb") as stored:
            assert archive.read(f"{folder}/3.jpg") == stored.read()
        assert json.loads(archive.read(f"{folder}/persona.json"))["lastname"] == result.lastname


def test_a_running_task_exports_what_is_finished_so_far(client, staff):
    task = make_task(user=staff, status="generating-images", number_to_generate=5)
    GenerationResult.objects.create(task=task, batch_number=1, firstname="Ada", lastname="Ng", gender="f",
                                    bio_x="hi")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(body(client.get(reverse("export_csv", args=[task.task_code]))).decode())))
    assert [(r["firstname"], r["base_image_url"], r["image_1"]) for r in rows] == [("Ada", "", "")]
    archive = zipfile.ZipFile(io.BytesIO(body(prepared_zip(client, task.task_code))))
    assert sorted(archive.namelist()) == ["Ada_Ng/persona.json", "personas.csv", "personas.json"]


def test_the_zip_of_a_large_task_is_prepared_without_holding_it_in_memory(client, staff, settings):
    """240 personas x 5 files of 40 KB is ~48 MB of images; preparing the export must never hold more
    than a few MB of it at once."""
    task = make_task(user=staff, number_to_generate=240, images_per_persona=4, status="completed")
    blob = bytes(range(256)) * 160  # 40 KB
    results = GenerationResult.objects.bulk_create(
        GenerationResult(task=task, batch_number=1, firstname=f"P{n}", lastname="Q", gender="m") for n in range(240)
    )
    for result in results:
        prefix = f"avatars/{task.task_code}/{result.pk}/"
        for name in ("base.png", "1.jpg", "2.jpg", "3.jpg", "4.jpg"):
            default_storage.save(prefix + name, ContentFile(blob))
        result.base_image_url = default_storage.url(prefix + "base.png")
        result.images = [default_storage.url(f"{prefix}{n}.jpg") for n in range(1, 5)]
    GenerationResult.objects.bulk_update(results, ["base_image_url", "images"])

    assert client.get(reverse("export_zip", args=[task.task_code])).status_code == 202
    build = ExportBuild.objects.get(task=task)
    tracemalloc.start()
    jobs.build_export(build.pk, build.token)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    build.refresh_from_db()
    assert build.state == ExportBuild.State.READY and build.size > 240 * 5 * len(blob)
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while preparing {build.size / 1e6:.1f} MB"


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_stay_text(client, staff):
    task = make_task(user=staff, status="completed")
    GenerationResult.objects.create(task=task, batch_number=1, firstname="=HYPERLINK(1)", lastname="@Ng", gender="f",
                                    bio_x="-1+1", bio_tiktok="fine")  # fmt: skip
    (row,) = list(csv.DictReader(io.StringIO(body(client.get(reverse("export_csv", args=[task.task_code]))).decode())))
    assert (row["firstname"], row["lastname"], row["bio_x"], row["bio_tiktok"]) == (
        "'=HYPERLINK(1)",
        "'@Ng",
        "'-1+1",
        "fine",
    )


PROFILE = {
    "age": 34,
    "ethnicity": "Portuguese",
    "job_title": "Baker",
    "workplace": "Padaria Ribeira",
    "edu_establishment": "Escola de Hotelaria do Porto",
    "edu_study": "Pastry",
    "current_city": "Porto",
    "current_state": "Porto District",
    "prev_city": "Braga",
    "prev_state": "Braga District",
    "about": "=Up at four, every day.",
}


@pytest.fixture
def profiled_task(staff):
    """Two personas as an adopted database holds them: one with its whole profile, one with none."""
    task = make_task(user=staff, status="completed", images_per_persona=4)
    GenerationResult.objects.create(task=task, batch_number=1, firstname="Rita", lastname="Sousa", gender="f",
                                    **PROFILE)  # fmt: skip
    GenerationResult.objects.create(task=task, batch_number=1, firstname="Rui", lastname="Reis", gender="m")
    return task


def test_every_export_carries_the_eleven_profile_fields_under_their_column_names(client, profiled_task):
    rows = list(
        csv.DictReader(io.StringIO(body(client.get(reverse("export_csv", args=[profiled_task.task_code]))).decode()))
    )
    assert {field: rows[0][field] for field in PROFILE} == {
        field: "'=Up at four, every day." if field == "about" else str(value) for field, value in PROFILE.items()
    }
    assert {field: rows[1][field] for field in PROFILE} == dict.fromkeys(PROFILE, "")  # empty, never "None"

    document = json.loads(body(client.get(reverse("export_json", args=[profiled_task.task_code]))))
    assert [persona["profile"] for persona in document["personas"]] == [PROFILE, dict.fromkeys(PROFILE)]

    archive = zipfile.ZipFile(io.BytesIO(body(prepared_zip(client, profiled_task.task_code))))
    assert json.loads(archive.read("Rita_Sousa/persona.json"))["profile"] == PROFILE
    assert json.loads(archive.read("Rui_Reis/persona.json"))["profile"]["age"] is None


LOOK = "Flour on her forearms, hair tied up in a blue scarf"
INTERESTS = ["Sourdough", "Surfing at Matosinhos", "Fado"]
IDEAS = ["Shaping loaves at dawn", "On her board at Matosinhos", "At a fado bar", "Coffee on the Ribeira"]


@pytest.fixture
def detailed_task(profiled_task):
    """The profiled task, its first persona with its details (look, interests, a photo idea per image), the second
    made before details were kept."""
    rita = profiled_task.results.get(firstname="Rita")
    PersonaDetails.objects.create(result=rita, slot=0, look=LOOK, interests=INTERESTS, photo_ideas=IDEAS)
    return profiled_task


def csv_of(client, task) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(client.get(reverse("export_csv", args=[task.task_code]))).decode())))


def test_the_json_export_carries_each_persona_s_look_interests_and_photo_ideas(client, detailed_task):
    document = json.loads(body(client.get(reverse("export_json", args=[detailed_task.task_code]))))
    rita = document["personas"][0]
    assert (rita["look"], rita["interests"], rita["photo_ideas"]) == (LOOK, INTERESTS, IDEAS)
    assert rita["profile"] == PROFILE  # beside the profile, not in it

    archive = zipfile.ZipFile(io.BytesIO(body(prepared_zip(client, detailed_task.task_code))))
    persona = json.loads(archive.read("Rita_Sousa/persona.json"))
    assert (persona["look"], persona["interests"], persona["photo_ideas"]) == (LOOK, INTERESTS, IDEAS)


def test_the_csv_has_look_interests_and_photo_ideas_columns_after_the_profile(client, detailed_task):
    rita, _ = csv_of(client, detailed_task)
    assert list(rita)[-14:] == [*GenerationResult.PROFILE_FIELDS, "look", "interests", "photo_ideas"]
    assert rita["look"] == LOOK
    assert rita["interests"] == "Sourdough | Surfing at Matosinhos | Fado"
    assert rita["photo_ideas"] == " | ".join(IDEAS)


def test_a_persona_without_details_exports_empty_values(client, detailed_task):
    rui = csv_of(client, detailed_task)[1]
    assert (rui["firstname"], rui["look"], rui["interests"], rui["photo_ideas"]) == ("Rui", "", "", "")

    document = json.loads(body(client.get(reverse("export_json", args=[detailed_task.task_code]))))
    rui = document["personas"][1]
    assert (rui["look"], rui["interests"], rui["photo_ideas"]) == ("", [], [])

    archive = zipfile.ZipFile(io.BytesIO(body(prepared_zip(client, detailed_task.task_code))))
    rui = json.loads(archive.read("Rui_Reis/persona.json"))
    assert (rui["look"], rui["interests"], rui["photo_ideas"]) == ("", [], [])


def test_a_formula_like_look_interest_or_photo_idea_stays_text_in_the_csv(client, staff):
    task = make_task(user=staff, status="completed")
    result = GenerationResult.objects.create(task=task, batch_number=1, firstname="Ada", lastname="Ng", gender="f")
    PersonaDetails.objects.create(result=result, look="=1+1", interests=["@SUM(A1)", "chess"],
                                  photo_ideas=["-2+3", "+cmd|' /C calc'!A0"])  # fmt: skip
    (row,) = csv_of(client, task)
    assert row["look"] == "'=1+1"
    assert row["interests"] == "'@SUM(A1) | chess"  # the cell's start is what a spreadsheet reads as a formula
    assert row["photo_ideas"] == "'-2+3 | +cmd|' /C calc'!A0"


def personas_with_details(task, count: int) -> None:
    for n in range(count):
        result = GenerationResult.objects.create(task=task, batch_number=1, firstname=f"P{n}", lastname="Q",
                                                 gender="f")  # fmt: skip
        PersonaDetails.objects.create(result=result, look=f"look {n}", interests=["chess"], photo_ideas=["a park"])


def test_the_exports_make_as_many_queries_for_20_personas_as_for_2(staff):
    """The details come joined to their personas: no query per persona."""
    few, many = make_task(user=staff, status="completed"), make_task(user=staff, status="completed")
    personas_with_details(few, 2)
    personas_with_details(many, 20)
    for export in (exports.csv_rows, exports.json_document, exports.zip_archive):
        counts = []
        for task in (few, many):
            with CaptureQueriesContext(connection) as queries:
                for _ in export(task):
                    pass
            counts.append(len(queries))
        assert counts[0] == counts[1], (export.__name__, counts)
