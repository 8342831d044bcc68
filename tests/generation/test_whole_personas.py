"""A persona is one person: the skeleton's name, gender and age, the profile the text model wrote around it, and
photos whose prompts carry who they are and each photo's own idea. Through the loopback OpenAI server, with the
real client; the first test through a real django-q2 cluster."""

import json
from collections import Counter

import pytest
from faker import Faker

from generation.integrations.prompts import PEOPLE_MARK
from generation.models import GenerationResult, PersonaDetails
from generation.pipeline import lifecycle
from generation.pipeline.lifecycle import Lease
from generation.pipeline.redo import new_ideas
from generation.pipeline.stages import run_inline
from generation.services import regenerate_bios, regenerate_image, regenerate_photos
from testkit.servers import wait_until
from tests.conftest import requires_postgresql
from tests.generation.helpers import submit

PROFILE = GenerationResult.PROFILE_FIELDS


def pt_names() -> tuple[set[str], set[str]]:
    provider = next(p for p in Faker("pt_PT").providers if p.__provider__ == "faker.providers.person")
    return set(provider.first_names_female) | set(provider.first_names_male), set(provider.last_names)


def assert_whole(result: GenerationResult) -> None:
    for name in PROFILE:
        assert getattr(result, name) not in (None, ""), (result.full_name, name)
    details = result.details
    assert details.look and details.interests
    assert len(set(details.photo_ideas)) == result.task.images_per_persona


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_40_persona_portuguese_task_aged_25_to_34_gives_whole_people_through_real_workers(
    start_cluster, fake_openai, s3_bucket, monkeypatch
):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "ORM", "default")
    start_cluster()
    task = submit(persona_description="Nurses in Porto and Lisbon", bio_language="Portuguese", number_to_generate=40,
                  images_per_persona=4, age_min=25, age_max=34, gender="mixed")  # fmt: skip
    wait_until(lambda: (task.refresh_from_db(), task.is_finished)[1], timeout=240, message="the task to finish")
    assert task.status == "completed", task.error_log
    results = list(task.results.select_related("details"))
    assert len(results) == 40
    ages = Counter(r.age for r in results)
    assert set(ages) <= set(range(25, 35)) and len(ages) >= 8
    genders = Counter(r.gender for r in results)
    assert genders["f"] >= 12 and genders["m"] >= 12
    assert len({r.full_name for r in results}) == 40
    firsts, lasts = pt_names()
    assert sum(r.firstname in firsts and r.lastname in lasts for r in results) >= 38
    for result in results:
        assert_whole(result)
    bases = [call.json["prompt"] for call in fake_openai.calls("/images/generations")]
    grids = [call.form["prompt"] for call in fake_openai.calls("/images/edits")]
    for result in results:
        who = f"{result.firstname}, a {result.age}-year-old"
        assert any(p.startswith(f"A photo of {who}") and result.job_title in p and result.current_city in p
                   and result.details.look in p for p in bases), result  # fmt: skip
        (grid,) = [p for p in grids if result.details.photo_ideas[0] in p]
        assert who in grid and f"top left: {result.details.photo_ideas[0]}" in grid


@pytest.mark.django_db
def test_a_women_only_60_to_75_task_in_a_language_faker_lacks_gives_women_of_those_ages_named_by_the_model(
    fake_openai, s3_bucket
):
    task = submit(bio_language="Breton", number_to_generate=6, age_min=60, age_max=75, gender="f")
    run_inline(task)
    results = list(task.results.all())
    assert len(results) == 6
    assert all(r.gender == "f" and 60 <= r.age <= 75 for r in results)
    assert len({r.full_name for r in results}) == 6
    (chat,) = fake_openai.calls("/chat/completions")[:1]
    people = json.loads(chat.json["messages"][1]["content"].split(PEOPLE_MARK)[1].splitlines()[0])
    assert all(p["firstname"] == "" and p["gender"] == "f" for p in people)


@pytest.mark.django_db
def test_the_model_cannot_change_a_skeleton_s_name_gender_or_age_and_the_notes_count_it(fake_openai, s3_bucket):
    fake_openai.hostile_next_chat(lambda n, p: p | {"firstname": "Elara", "lastname": "Voss", "gender": "m", "age": 17})
    task = submit(number_to_generate=2, gender="f", age_min=30, age_max=31)
    run_inline(task)
    task.refresh_from_db()
    assert all(r.gender == "f" and r.age in (30, 31) and r.full_name != "Elara Voss" for r in task.results.all())
    assert "6 name(s), gender(s) or age(s) the model changed were kept as drawn" in task.error_log


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda p: p | {"photo_ideas": ["at the beach"] * len(p["photo_ideas"])}, "two photo ideas were the same"),
        (lambda p: p | {"photo_ideas": p["photo_ideas"][:1]}, "photo_ideas held 1 ideas, not 4"),
        (lambda p: p | {"job_title": ["nurse"]}, "job_title was list, not text"),
        (lambda p: p | {"about": "  \u200b "}, "about was empty"),
        (lambda p: p | {"interests": "cooking"}, "interests was str, not a list"),
    ],
)
@pytest.mark.django_db
def test_a_persona_with_a_bad_profile_is_refused_with_its_reason_and_asked_again(fake_openai, s3_bucket, spoil, reason):
    fake_openai.hostile_next_chat(lambda n, p: spoil(p) if n == 0 else p)
    task = submit(number_to_generate=2)
    run_inline(task)
    task.refresh_from_db()
    assert task.results.count() == 2 and task.status == "completed"
    assert reason in task.error_log
    for result in task.results.select_related("details"):
        assert_whole(result)


@pytest.mark.django_db
def test_profile_texts_are_cut_to_their_length_and_counted(fake_openai, s3_bucket):
    fake_openai.hostile_next_chat(lambda n, p: p | {"about": "Eu gosto de caminhar junto ao rio. " * 200})
    task = submit(number_to_generate=1)
    run_inline(task)
    task.refresh_from_db()
    about = task.results.get().about
    assert len(about) <= 600 and about.endswith("…")
    assert "1 profile text(s) cut to their length" in task.error_log


@pytest.mark.django_db
def test_new_bios_keep_the_profile_and_are_written_knowing_it(fake_openai, s3_bucket):
    task = submit(number_to_generate=1)
    run_inline(task)
    result = task.results.get()
    profile = {name: getattr(result, name) for name in PROFILE}
    regenerate_bios(result)
    run_inline(task)
    result.refresh_from_db()
    assert {name: getattr(result, name) for name in PROFILE} == profile
    asked = fake_openai.calls("/chat/completions")[-1].json["messages"][1]["content"]
    assert result.job_title in asked and result.current_city in asked and result.details.look in asked


@pytest.mark.django_db
def test_new_photos_use_new_ideas_asked_for_once_and_one_new_photo_keeps_its_tile_s_idea(fake_openai, s3_bucket):
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)
    result = task.results.get()
    old_ideas = list(result.details.photo_ideas)

    regenerate_photos(result)
    run_inline(task)
    chats = fake_openai.calls("/chat/completions")
    ideas_calls = [c for c in chats if c.json["response_format"]["json_schema"]["name"] == "photo_ideas"]
    assert len(ideas_calls) == 1
    assert all(idea in ideas_calls[0].json["messages"][1]["content"] for idea in old_ideas)  # asked to differ
    details = PersonaDetails.objects.get(result=result)
    assert len(set(details.photo_ideas)) == 4 and not set(details.photo_ideas) & set(old_ideas)
    assert details.next_ideas == [] and details.next_ideas_unit is None
    grid = fake_openai.calls("/images/edits")[-1].form["prompt"]
    assert f"top left: {details.photo_ideas[0]}" in grid

    regenerate_image(result, 3)
    run_inline(task)
    replacement = fake_openai.calls("/images/edits")[-1].form["prompt"]
    assert f"The scene: {details.photo_ideas[2]}" in replacement and result.firstname in replacement


@pytest.mark.django_db
def test_the_people_live_in_the_country_asked_for_else_the_language_s_own_and_their_names_come_from_it(
    fake_openai, s3_bucket
):
    brazil = submit(bio_language="Portuguese", country="BR", number_to_generate=4)
    run_inline(brazil)
    portugal = submit(bio_language="Portuguese", number_to_generate=4)
    run_inline(portugal)
    first, second = (call.json["messages"][1]["content"] for call in fake_openai.calls("/chat/completions"))
    assert "Where they live: Brazil." in first and "Where they live: Portugal." in second
    provider = next(p for p in Faker("pt_BR").providers if p.__provider__ == "faker.providers.person")
    assert all(r.lastname in provider.last_names for r in brazil.results.all())


@pytest.mark.django_db
def test_a_new_photos_unit_run_twice_asks_for_its_ideas_once(fake_openai, s3_bucket):
    task = submit(number_to_generate=1)
    run_inline(task)
    unit = lifecycle.claim(regenerate_photos(task.results.get()).pk)
    lease = Lease(unit)
    first = new_ideas(unit, lease)
    again = new_ideas(unit, lease)  # the same unit run again, after a worker died before its photos were made
    assert first == again
    chats = fake_openai.calls("/chat/completions")
    assert sum(c.json["response_format"]["json_schema"]["name"] == "photo_ideas" for c in chats) == 1


@pytest.mark.django_db
def test_where_the_model_names_people_a_repeated_name_is_refused_and_asked_again(fake_openai, s3_bucket):
    fake_openai.hostile_next_chat(lambda n, p: p | {"firstname": "Elara", "lastname": "Voss"})
    task = submit(bio_language="Breton", number_to_generate=3)
    run_inline(task)
    task.refresh_from_db()
    names = [r.full_name for r in task.results.all()]
    assert len(names) == 3 and len(set(names)) == 3 and names.count("Elara Voss") == 1
    assert "repeated name(s) dropped" in task.error_log
