"""What a task may ask of its people: ages from 18 to 90 (never a minor), women, men or a mix, and a country."""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from generation.integrations import languages
from generation.models import GenerationTask, TaskRequest
from generation.services.requests import MINORS_REFUSED
from generation.web.forms import TaskForm
from testkit.factories import make_superuser
from tests.generation.helpers import submit

pytestmark = pytest.mark.django_db


def test_a_task_stores_the_ages_gender_country_and_seed_it_asked_for():
    task = submit(age_min=25, age_max=34, gender="f", country="pt", seed=99)
    request = TaskRequest.objects.get(task=task)
    assert (request.age_min, request.age_max, request.gender, request.country, request.seed) == (25, 34, "f", "PT", 99)


def test_a_task_asked_without_them_gets_20_to_60_a_mix_and_a_random_seed():
    first, second = submit(), submit()
    assert (first.people_request.age_min, first.people_request.age_max, first.people_request.gender) == (
        20,
        60,
        "mixed",
    )
    assert first.people_request.seed != second.people_request.seed


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"age_min": 17}, "age_min", MINORS_REFUSED),
        ({"age_min": 12, "age_max": 16}, "age_max", MINORS_REFUSED),
        ({"age_max": 91}, "age_max", "The oldest age can be at most 90."),
        ({"age_min": 40, "age_max": 30}, "age_min", "The youngest age cannot be above the oldest."),
        ({"age_min": "twenty"}, "age_min", "Enter the youngest age as a whole number."),
        ({"gender": "x"}, "gender", "Choose women (f), men (m) or a mix (mixed)."),
        ({"country": "XX"}, "country", "'XX' is not a country code"),
    ],
)
def test_a_bad_request_is_refused_with_a_message_on_its_field_and_makes_no_task(fields, field, message):
    with pytest.raises(ValidationError) as refused:
        submit(**fields)
    assert message in " ".join(refused.value.message_dict[field])
    assert not GenerationTask.objects.exists()


def test_the_form_refuses_a_minor_with_the_reason_and_offers_at_least_100_languages_marking_right_to_left_ones():
    form = TaskForm(data={"persona_description": "x", "bio_language": "English", "number_to_generate": 2,
                          "images_per_persona": 4, "age_min": 16, "age_max": 30, "gender": "mixed",
                          "submission_token": "5a0d7f3e-1c7e-4b8e-9d59-3f0d2a9b7c11"})  # fmt: skip
    assert not form.is_valid() and MINORS_REFUSED in form.errors["age_min"]
    choices = dict(form.fields["bio_language"].choices)
    assert len(choices) >= 100
    assert choices["Arabic"] == "Arabic (right to left)" and choices["Urdu"] == "Urdu (right to left)"
    assert choices["Japanese"] == "Japanese"
    assert all(languages.find(name) for name in choices)


def test_the_new_task_page_asks_for_ages_gender_and_country(client):
    client.force_login(make_superuser())
    page = client.get(reverse("task_new")).content.decode()
    for name in ("age_min", "age_max", "gender", "country"):
        assert f'name="{name}"' in page
    assert 'value="PT"' in page and ">Portugal<" in page


def test_generate_takes_ages_gender_and_country_and_refuses_minors_with_the_reason():
    make_superuser()
    out = StringIO()
    call_command("generate", "Nurses in Porto", "--count", "2", "--ages", "25-34", "--gender", "f",
                 "--country", "PT", "--language", "Portuguese", stdout=out)  # fmt: skip
    request = GenerationTask.objects.get().people_request
    assert (request.age_min, request.age_max, request.gender, request.country) == (25, 34, "f", "PT")
    with pytest.raises(CommandError, match="Nobody under 18"):
        call_command("generate", "Teenagers", "--ages", "15-17", stdout=StringIO())
    assert GenerationTask.objects.count() == 1
