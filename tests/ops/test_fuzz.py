"""A fuzz pass over the staff web app with hypothesis, as a signed-in staff user: random and hostile
input in every field of the new-task form, in task ids in every `/tasks/<id>/…` path, and in the
`status` and `page` query values; personas with hostile names and bios in the exports.

The properties: never a 500; the form redirects only when it made a task, which holds the
description as typed (stripped, and without bidi controls); stored markup is shown escaped, never
as markup; the CSV, JSON and ZIP exports stay well-formed whatever the personas hold.

Forms are posted URL-encoded, as a browser posts this form, so bytes that are not UTF-8 (encoded
surrogates, an overlong NUL) can be sent as they would arrive from a hostile client."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings
from django.utils.html import escape
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from generation.integrations.languages import BIO_LANGUAGES
from generation.models import GenerationResult, GenerationTask
from generation.pipeline.text import without_bidi_controls
from generation.services import submitted_with
from generation.services.exports import spreadsheet_safe
from generation.web.task_display import task_title
from testkit.factories import make_result, make_task, make_user
from tests.generation.helpers import prepared_zip

pytestmark = pytest.mark.django_db

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # no .hypothesis/ folder in the checkout; a failure prints its example and a blob to replay it
    print_blob=True,
)

MARKUP = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "</textarea><script>alert(document.cookie)</script>",
    "'><a href=javascript:alert(1)>x</a>",
]
SQL = ["'; DROP TABLE users;--", "' OR '1'='1", "1; SELECT pg_sleep(5)--", 'x" UNION SELECT password FROM users--']
TEMPLATE_AND_PATHS = ["{{ 7*7 }}", "{% debug %}", "${7*7}", "%s%s%n", "../../etc/passwd", "..\\..\\boot.ini", "%00"]
ODD_NUMBERS = ["1e9", "-0", "٣", "３", "0x10", "1_000", " 7 ", "+5", "5.0", "5.5", "NaN", "inf", "-1", "²", "Ⅻ"]
ODD_NUMBERS += ["9" * 5000, "0" * 300 + "1"]
ODD_TEXT = ["", " ", "\t\n\r ", "\x00", "a\x00b", "\u200b", "\u200f\u202e", "\ufeff", "\u00a0", "\u3000", "e\u0301"]
ODD_TEXT += ["\U0001f600", "\uffff", "\U0010ffff", "مرحبا بالعالم", "שלום\u200f", "\r\n", "\\", "\x7f\x1b[31m"]
HOSTILE_WORDS = MARKUP + SQL + TEMPLATE_AND_PATHS + ODD_NUMBERS + ODD_TEXT
# Bytes that are not UTF-8: encoded surrogates, an overlong NUL, stray continuation and invalid bytes.
RAW_BYTES = [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xc0\x80", b"\xff\xfe", b"\xf4\x90\x80\x80", b"\x80", b"a\xe2\x82"]

no_nul = st.characters(codec="utf-8", exclude_characters="\x00")  # storable text: no surrogates, no NUL
surrogate_bytes = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=4).map(
    lambda text: text.encode("utf-8", "surrogatepass")
)
huge = st.builds(
    lambda piece, size: (piece * (size // len(piece) + 1))[:size],
    st.text(min_size=1, max_size=8),
    st.integers(4_001, 100_000),
)
embedded = st.builds(
    lambda a, word, b: a + word + b, st.text(max_size=20), st.sampled_from(HOSTILE_WORDS), st.text(max_size=20)
)
hostile = st.one_of(
    st.sampled_from(HOSTILE_WORDS),
    st.text(),
    embedded,
    huge,
    st.sampled_from(RAW_BYTES),
    surrogate_bytes,
)
absent = st.none()  # the field is left out of the post altogether

# Each field has a good value and a wild one; a drawn set of fields gets the wild one, so some forms
# are wholly good (and make a task), most break a field or two, and some break all five.
GOOD = {
    "persona_description": st.one_of(st.text(min_size=1, max_size=300), embedded),
    "bio_language": st.sampled_from(sorted(BIO_LANGUAGES)),
    "number_to_generate": st.integers(1, 500).map(str),
    "images_per_persona": st.sampled_from(["4", "8"]),
    "submission_token": st.uuids().map(str),
}
WILD = {
    "persona_description": st.one_of(hostile, absent),
    "bio_language": st.one_of(st.sampled_from(sorted(BIO_LANGUAGES)).map(str.lower), hostile, absent),
    "number_to_generate": st.one_of(st.integers().map(str), hostile, absent),
    "images_per_persona": st.one_of(st.integers(-10, 20).map(str), hostile, absent),
    "submission_token": st.one_of(
        st.uuids().map(lambda value: value.hex), st.uuids().map(lambda value: f"{{{value}}}"), hostile, absent
    ),
}


@st.composite
def task_forms(draw) -> dict[str, str | bytes]:
    fields = {name: draw(strategy) for name, strategy in GOOD.items()}
    for name in draw(st.sets(st.sampled_from(sorted(WILD)))):
        fields[name] = draw(WILD[name])
    return {name: value for name, value in fields.items() if value is not None}


def good_form(**fields) -> dict[str, str | bytes]:
    good = {"persona_description": "Surfers", "bio_language": "English", "number_to_generate": "2"}
    return good | {"images_per_persona": "4", "submission_token": str(uuid.uuid4())} | fields


def submitted_before(user, token: str) -> GenerationTask | None:
    """The task this user already made with this form token, read as the form's UUIDField reads it."""
    try:
        return submitted_with(user, uuid.UUID(hex=token.strip()))
    except ValueError:
        return None


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def as_received(value: str | bytes) -> str:
    """What Django makes of a URL-encoded value: bytes that are not UTF-8 become U+FFFD."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def clearly_valid(fields: dict[str, str]) -> bool:
    """The plain, unambiguous good values. (Odd but accepted ones, such as "٣", are not claimed.)"""
    description = fields.get("persona_description", "").strip()
    return (
        any(character.isalnum() for character in description)  # something to describe
        and "\x00" not in description
        and len(description) <= 4000
        and fields.get("bio_language") in BIO_LANGUAGES
        and re.fullmatch(r"[0-9]{1,3}", fields.get("number_to_generate", "")) is not None
        and 1 <= int(fields["number_to_generate"]) <= django_settings.MAX_PERSONAS_PER_TASK
        and fields.get("images_per_persona") in ("4", "8")
        and UUID.fullmatch(fields.get("submission_token", "")) is not None
    )


def assert_no_markup_from(html: str, texts, scripts: int = 2) -> None:
    """None of the markup payloads inside `texts` is in the page raw, and the page has only its own
    script tags (base.html's htmx and app.js)."""
    for text in texts:
        for payload in MARKUP:
            if payload in text:
                assert payload not in html, f"{payload!r} is in the page unescaped"
    assert html.count("<script") == scripts
    assert "<svg" not in html


def assert_shown_escaped(html: str, text: str, baseline: str) -> None:
    """`text` is in the page in its escaped form and, where escaping changes it, not raw (unless the
    raw text is part of the page's own markup, as in a harmless page)."""
    assert escape(text) in html
    if escape(text) != text and text not in baseline:
        assert text not in html


@pytest.fixture
def staff():
    return make_user("fuzz-staff@example.com", is_staff=True)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_form(client: Client, path: str, fields: dict[str, str | bytes]):
    body = urlencode(fields)
    return client.post(path, body, content_type="application/x-www-form-urlencoded"), len(body)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- The new-task form -----------------------------------------------------------------------------


@settings(FUZZ, max_examples=250)
@given(sent=task_forms())
@example(sent=good_form(persona_description="a\x00b"))
@example(sent=good_form(persona_description=b"\xed\xa0\x80 \xc0\x80"))
@example(sent={name: "x" * 100_000 for name in GOOD})
@example(sent={name: "\U0001f600" * 100_000 for name in GOOD})  # 6 MB encoded: over the upload limit
@example(
    sent=good_form(
        persona_description=" \u200b ", bio_language="Arabic", number_to_generate="٣", images_per_persona="8"
    )
)
@example(sent={name: "'; DROP TABLE users;--" for name in GOOD})
@example(sent={})
# Hundreds of examples submit as one person: the cap on open tasks (tests/generation/test_budget_caps.py) is off.
@override_settings(MAX_OPEN_TASKS_PER_USER=None)
def test_the_task_form_never_fails_and_redirects_only_for_a_task_it_made(staff, sent):
    client = signed_in(staff)
    received = {name: as_received(value) for name, value in sent.items()}
    before = GenerationTask.objects.count()
    earlier = submitted_before(staff, received.get("submission_token", ""))

    response, size = post_form(client, "/tasks/new/", sent)

    event(f"form answered {response.status_code}")  # shown by --hypothesis-show-statistics
    assert response.status_code < 500
    if size > django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        assert response.status_code == 400  # RequestDataTooBig: refused before the form sees it
        assert GenerationTask.objects.count() == before
        return
    if response.status_code == 302 and earlier is not None:
        # A token drawn again is the same form posted again: it opens the task that form made.
        assert response["Location"] == f"/tasks/{earlier.task_code}/"
        assert GenerationTask.objects.count() == before
        return
    if response.status_code == 302:
        assert GenerationTask.objects.count() == before + 1
        task = GenerationTask.objects.latest("id")
        assert response["Location"] == f"/tasks/{task.task_code}/"
        assert task.user == staff
        assert task.persona_description == without_bidi_controls(received["persona_description"]).strip()
        assert task.bio_language == received["bio_language"]
        assert task.images_per_persona == int(received["images_per_persona"])
        return
    assert response.status_code == 200
    assert GenerationTask.objects.count() == before
    form = response.context["form"]
    assert form.errors
    assert not clearly_valid(received), f"a valid form was refused: {form.errors.as_data()}"
    if "\x00" in received.get("persona_description", ""):
        # PostgreSQL text cannot hold NUL: the form says so beside the field instead of failing.
        assert "Null characters are not allowed." in form.errors["persona_description"]
    assert_no_markup_from(response.content.decode(), received.values())


@settings(FUZZ, max_examples=50)
@given(
    before=st.text(no_nul, max_size=20),
    payload=st.sampled_from(MARKUP + ["<script", "x onerror=y", "<b onerror=alert(1)>"]),
    after=st.text(no_nul, max_size=30),
)
@override_settings(MAX_OPEN_TASKS_PER_USER=None)
def test_a_description_with_markup_is_stored_as_typed_and_shown_escaped(staff, before, payload, after):
    reader = signed_in(staff)  # no flash messages: the task page keeps the same markup as a harmless one
    harmless = make_task(user=staff, persona_description="Plain text")
    baseline = reader.get(f"/tasks/{harmless.task_code}/").content.decode()
    typed = before + payload + after

    response, _ = post_form(
        signed_in(staff),
        "/tasks/new/",
        {
            "persona_description": typed,
            "bio_language": "English",
            "number_to_generate": "2",
            "images_per_persona": "4",
            "submission_token": str(uuid.uuid4()),
        },
    )

    assert response.status_code == 302
    task = GenerationTask.objects.latest("id")
    stored = task.persona_description
    assert stored == without_bidi_controls(typed).strip()
    page = reader.get(f"/tasks/{task.task_code}/").content.decode()
    assert_shown_escaped(page, stored, baseline)
    assert_no_markup_from(page, [stored])
    # Same template, same task state: only escaped text was added, never a tag.
    assert page.count("<") == baseline.count("<")
    listing = reader.get("/tasks/").content.decode()
    # The list titles a task by the first line of its description, cut at a word.
    assert_shown_escaped(listing, task_title(task), baseline)
    assert_no_markup_from(listing, [task_title(task)])
    assert "<img" not in listing


# --- Task ids in paths -----------------------------------------------------------------------------

MINE, THEIRS = "<a task of mine>", "<someone else's task>"
TASK_ENDPOINTS = [
    ("GET", "{}/"),
    ("GET", "{}/live/"),
    ("GET", "{}/progress/"),
    ("GET", "{}/export.csv"),
    ("GET", "{}/export.json"),
    ("GET", "{}/export.zip"),
    ("GET", "{}/delete/"),
    ("POST", "{}/retry/"),
    ("POST", "{}/cancel/"),
    ("POST", "{}/delete/"),
]
task_ids = st.sampled_from(["mine", "theirs", "hex", "text", "hostile", "hostile"]).flatmap(
    lambda kind: {
        "mine": st.just(MINE),
        "theirs": st.just(THEIRS),
        "hex": st.text("0123456789abcdef", min_size=8, max_size=8),
        "text": st.text(),
        "hostile": hostile,
    }[kind]
)


@settings(FUZZ, max_examples=250)
@given(task_id=task_ids, endpoint=st.sampled_from(TASK_ENDPOINTS), page=st.one_of(absent, hostile))
@example(task_id="\x00", endpoint=("GET", "{}/"), page=None)
@example(task_id=b"\xed\xa0\x80", endpoint=("GET", "{}/export.zip"), page=None)
@example(task_id="x" * 100_000, endpoint=("POST", "{}/delete/"), page=None)
def test_task_paths_answer_404_for_unknown_ids_and_never_fail(staff, task_id, endpoint, page):
    client = signed_in(staff)
    method, pattern = endpoint
    if task_id == MINE:
        task = make_task(user=staff, number_to_generate=3)
        make_result(task, firstname="<script>alert(1)</script>", bio_x='"><img src=x onerror=alert(1)>')
        ident = task.task_code
    elif task_id == THEIRS:
        ident = make_task(user=make_user(is_staff=True)).task_code
    else:
        ident = task_id
    path = "/tasks/" + pattern.format(quote(ident, safe=""))
    if page is not None:
        path += "?" + urlencode({"page": page})

    response = client.get(path) if method == "GET" else client.post(path)
    body = body_of(response)

    event(f"{method} {pattern} answered {response.status_code}")
    assert response.status_code < 500
    if page is not None and "\x00" in as_received(page):
        assert response.status_code == 400  # refused at the door: no page or filter takes a NUL
    elif task_id == MINE:
        # The ZIP is prepared in the background first: 202 until it is ready.
        assert response.status_code == (302 if method == "POST" else 202 if pattern == "{}/export.zip" else 200)
        if pattern in ("{}/", "{}/live/"):
            assert_no_markup_from(body.decode(), MARKUP, scripts=2 if pattern == "{}/" else 0)
    elif "\x00" in as_received(ident):
        assert response.status_code == 400  # refused at the door: no page or filter takes a NUL
    elif isinstance(ident, bytes) or ("/" not in ident and ident != "new"):
        # Unknown, malformed and other users' ids alike: a plain 404, never a hint.
        assert response.status_code == 404


# --- Query values on the task list and the task page ------------------------------------------------

statuses = st.one_of(st.sampled_from(GenerationTask.Status.values), hostile, absent)
pages = st.one_of(st.integers(-3, 5).map(str), hostile, absent)


@pytest.fixture
def many_tasks(staff):
    """Enough tasks for the list to have two pages, in every status, and a task with two pages of personas."""
    for n in range(27):
        make_task(user=staff, status=GenerationTask.Status.values[n % 5])
    big = make_task(user=staff, number_to_generate=30, persona_description="<script>alert('big')</script>")
    GenerationResult.objects.bulk_create(
        GenerationResult(task=big, batch_number=1, firstname=f"<b>{n}</b>", lastname="O'Brien", gender="f")
        for n in range(30)
    )
    return big


@settings(FUZZ, max_examples=150)
@given(status=statuses, page=pages, on_task_page=st.booleans())
@example(status="\x00", page="\x00", on_task_page=False)
@example(status="failed&page=2#x", page="1e9", on_task_page=False)
@example(status=None, page="٢", on_task_page=True)
def test_status_and_page_values_never_fail(staff, many_tasks, status, page, on_task_page):
    client = signed_in(staff)
    query = {name: value for name, value in [("status", status), ("page", page)] if value is not None}
    path = f"/tasks/{many_tasks.task_code}/" if on_task_page else "/tasks/"

    response = client.get(path + "?" + urlencode(query))

    if any(value is not None and "\x00" in as_received(value) for value in (status, page)):
        assert response.status_code == 400 and b"NUL character" in response.content
        return
    assert response.status_code == 200
    shown = response.context["page"]
    assert 1 <= shown.number <= shown.paginator.num_pages
    received = as_received(status) if status is not None else ""
    if not on_task_page:
        listed = {task.status for task in shown.object_list}
        if received in GenerationTask.Status.values:
            assert listed <= {received}
        else:
            assert shown.paginator.count == GenerationTask.objects.filter(user=staff).count()
    html = response.content.decode()
    assert_no_markup_from(html, [received])
    assert "<b>" not in html  # the big task's persona names
    if on_task_page:
        assert escape(many_tasks.persona_description) in html
    elif many_tasks in shown.object_list:
        assert escape(task_title(many_tasks)) in html


# --- Exports of personas with hostile names and bios -------------------------------------------------

names = st.one_of(
    st.text(no_nul, max_size=100),
    st.sampled_from(MARKUP + SQL + ["..", "../..", "/etc/passwd", "C:\\Windows\\system32", ".", "", " ", "con"]),
    st.sampled_from(["a/b", "a\\b", "..\\..", "~", "-", "_", "_._", "\u202e", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "x" * 100]),
)
bios = st.one_of(
    absent,
    st.text(no_nul, max_size=200),
    st.sampled_from(MARKUP + SQL + ['"', ",", '","', "\r\n", "\r", "a\nb\rc", '=HYPERLINK("http://x","y")', "\ufeff"]),
    st.builds(
        lambda piece, size: (piece * size)[:20_000], st.text(no_nul, min_size=1, max_size=5), st.integers(1, 5000)
    ),
)
genders = st.one_of(st.sampled_from(["f", "m"]), st.text(no_nul, max_size=10))
personas = st.fixed_dictionaries(
    {
        "firstname": names,
        "lastname": names,
        "gender": genders,
        "bio_facebook": bios,
        "bio_instagram": bios,
        "bio_x": bios,
        "bio_tiktok": bios,
        "has_base": st.booleans(),
        "image_count": st.integers(0, 9),
    }
)


def expected_csv_row(result: GenerationResult, columns: int) -> list[str]:
    images = list(result.images or [])[:columns]
    # Text cells that a spreadsheet would run as a formula get a leading quote.
    return [
        spreadsheet_safe(result.firstname),
        spreadsheet_safe(result.lastname),
        spreadsheet_safe(result.gender),
        *(spreadsheet_safe(getattr(result, f) or "") for f in ("bio_facebook", "bio_instagram", "bio_x", "bio_tiktok")),
        result.base_image_url or "",
        *images,
        *[""] * (columns - len(images)),
        # No face checks were made for these personas: each says so. No API call was paid for them either.
        "not checked",
        "not checked",
        *["not checked", ""] * columns,
        "0.0000",
        "none",  # made by a factory, not stored through the pipeline: no Content Credentials recorded
        "not checked",
        *[""] * len(GenerationResult.PROFILE_FIELDS),  # no profile: empty cells, never "None"
        *[""] * 3,  # no details either: no look, interests or photo ideas
    ]


def expected_persona(result: GenerationResult) -> dict:
    return {
        "firstname": result.firstname,
        "lastname": result.lastname,
        "gender": result.gender,
        "bios": {name: getattr(result, f"bio_{name}") for name in ("facebook", "instagram", "x", "tiktok")},
        "profile": {field: getattr(result, field) for field in GenerationResult.PROFILE_FIELDS},
        "look": "",
        "interests": [],
        "photo_ideas": [],
        "base_image_url": result.base_image_url,
        "images": result.images or [],
        "cost_usd": 0.0,
        "content_credentials": "none",
        "face_state": "not checked",
        "face_verdict": "not checked",
        "face_checks": [
            {"position": n, "verdict": "not checked", "distance": None} for n in range(len(result.images or []) + 1)
        ],
    }


def check_zip(body: bytes, results: list[GenerationResult], csv_body: bytes, json_body: bytes) -> None:
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    folders = {}
    for name in archive.namelist():
        assert "\\" not in name and not name.startswith("/") and "\x00" not in name
        parts = name.split("/")
        assert len(parts) in (1, 2) and all(part not in ("", ".", "..") for part in parts), name
        if len(parts) == 2:
            folders.setdefault(parts[0], []).append(parts[1])
    assert len(folders) == len(results), "two personas share a folder"
    by_folder = {folder: json.loads(archive.read(f"{folder}/persona.json")) for folder in folders}
    assert sorted(map(json.dumps, by_folder.values())) == sorted(json.dumps(expected_persona(r)) for r in results)
    assert archive.read("personas.csv") == csv_body
    assert json.loads(archive.read("personas.json")) == json.loads(json_body)


@settings(FUZZ, max_examples=60)
@given(people=st.lists(personas, min_size=1, max_size=4), images_each=st.sampled_from([4, 8]))
def test_exports_of_hostile_personas_stay_well_formed(staff, people, images_each):
    client = signed_in(staff)
    task = make_task(user=staff, images_per_persona=images_each, persona_description='<img src=x onerror="x">')
    results = []
    for n, person in enumerate(people, 1):
        fields = dict(person)
        has_base, count = fields.pop("has_base"), fields.pop("image_count")
        folder = f"https://cdn.example.com/avatars/{task.task_code}/{n}"
        fields["base_image_url"] = f"{folder}/base.png" if has_base else None
        fields["images"] = [f"{folder}/{i}.jpg" for i in range(1, count + 1)] or None
        results.append(make_result(task, n, **fields))

    csv_response = client.get(f"/tasks/{task.task_code}/export.csv")
    json_response = client.get(f"/tasks/{task.task_code}/export.json")
    zip_response = prepared_zip(client, task.task_code)
    assert (csv_response.status_code, json_response.status_code, zip_response.status_code) == (200, 200, 200)
    csv_body, json_body, zip_body = body_of(csv_response), body_of(json_response), body_of(zip_response)

    rows = list(csv.reader(io.StringIO(csv_body.decode("utf-8"), newline="")))
    assert rows[0][:3] == ["firstname", "lastname", "gender"]
    assert len(rows[0]) == 16 + len(GenerationResult.PROFILE_FIELDS) + 3 * images_each
    assert rows[1:] == [expected_csv_row(result, images_each) for result in results]

    document = json.loads(json_body)
    assert document["task"]["persona_description"] == task.persona_description
    assert document["personas"] == [expected_persona(result) for result in results]

    check_zip(zip_body, results, csv_body, json_body)

    page = client.get(f"/tasks/{task.task_code}/").content.decode()
    texts = [task.persona_description] + [r.full_name for r in results]
    texts += [bio for r in results for _, bio in r.bios]
    for text in texts:
        assert escape(text) in page
    assert_no_markup_from(page, texts)
    expected_images = 1 + sum(bool(r.base_image_url) + len(r.images or []) for r in results)  # +1: the lightbox
    assert page.count("<img") == expected_images


def test_zip_folders_stay_distinct_when_a_name_matches_another_personas_fallback(client, staff):
    """Two personas called X: the second's folder is X_<its id>. A third persona whose name *is*
    "X_<that id>" must not share it, or extracting the ZIP overwrites one persona with the other."""
    client.force_login(staff)
    task = make_task(user=staff)
    first = make_result(task, firstname="X", lastname="")
    clash = make_result(task, firstname="X", lastname="placeholder")
    second = make_result(task, firstname="X", lastname="")
    GenerationResult.objects.filter(pk=clash.pk).update(lastname=str(second.pk))
    clash.refresh_from_db()
    response = prepared_zip(client, task.task_code)
    csv_body = body_of(client.get(f"/tasks/{task.task_code}/export.csv"))
    json_body = body_of(client.get(f"/tasks/{task.task_code}/export.json"))
    check_zip(body_of(response), [first, clash, second], csv_body, json_body)


# --- The admin's list pages, with any query string -----------------------------------------------------

ADMIN_LISTS = [
    "/admin/generation/generationtask/",
    "/admin/generation/generationresult/",
    "/admin/generation/pipelineunit/",
    "/admin/accounts/user/",
    "/admin/siteconfig/settings/",
    "/admin/siteconfig/config/",
    "/admin/django_q/schedule/",
    "/admin/django_q/failure/",
]
ADMIN_PARAMETERS = [
    "status__exact", "gender__exact", "state__exact", "kind__exact", "images_per_persona__exact", "q", "o", "p",
    "e", "all", "is_staff__exact", "is_active__exact", "task__id__exact", "created_at__gte", "_changelist_filters",
]  # fmt: skip


@pytest.fixture
def admin_user():
    from testkit.factories import make_superuser

    user = make_superuser()
    task = make_task(user=user, number_to_generate=2)
    make_result(task)
    return user


@settings(FUZZ, max_examples=200)
@given(
    path=st.sampled_from(ADMIN_LISTS),
    query=st.dictionaries(st.one_of(st.sampled_from(ADMIN_PARAMETERS), hostile), hostile, max_size=3),
)
@example(path="/admin/generation/generationtask/", query={"status__exact": "\x00"})
@example(path="/admin/generation/generationresult/", query={"gender__exact": "\x00"})
@example(path="/admin/generation/pipelineunit/", query={"state__exact": "\x00", "kind__exact": "\x00"})
@example(path="/admin/generation/generationresult/", query={"q": "\x00", "o": "1e9"})
@example(path="/admin/generation/generationtask/", query={"created_at__gte": "not a date", "p": "-1"})
def test_no_admin_list_answers_500_to_any_query_string(admin_user, path, query):
    client = signed_in(admin_user)
    response = client.get(f"{path}?{urlencode(query)}")

    event(f"admin list answered {response.status_code}")
    assert response.status_code < 500
    if any("\x00" in as_received(key) + as_received(value) for key, value in query.items()):
        assert response.status_code == 400
