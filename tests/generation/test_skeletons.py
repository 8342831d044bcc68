"""Each persona's skeleton (gender, age, name) is drawn in code from the task's seed, before any call."""

from collections import Counter

import pytest
from faker import Faker

from generation.pipeline.skeletons import batch_slots, has_own_names, names_locale, skeletons
from tests.generation.helpers import submit

pytestmark = pytest.mark.django_db


def person_provider(locale: str):
    return next(p for p in Faker(locale).providers if p.__provider__ == "faker.providers.person")


def drawn(**fields):
    task = submit(**fields)
    return task, skeletons(task, range(task.number_to_generate))


def test_a_mix_is_as_even_as_the_count_allows_and_ages_are_spread_across_the_range():
    _, people = drawn(number_to_generate=40, age_min=25, age_max=34, gender="mixed", bio_language="Portuguese")
    genders = Counter(p.gender for p in people)
    assert genders == {"f": 20, "m": 20}
    assert Counter(p.age for p in people) == {age: 4 for age in range(25, 35)}


def test_an_odd_count_differs_by_one_at_most_and_a_one_gender_request_gets_only_that_gender():
    _, people = drawn(number_to_generate=7)
    counts = Counter(p.gender for p in people)
    assert abs(counts["f"] - counts["m"]) == 1
    _, women = drawn(number_to_generate=9, gender="f", age_min=60, age_max=75)
    assert {p.gender for p in women} == {"f"} and all(60 <= p.age <= 75 for p in women)


def test_names_come_from_the_locale_lists_matching_each_gender_and_never_repeat_in_a_task():
    _, people = drawn(number_to_generate=200, bio_language="Portuguese")
    provider = person_provider("pt_PT")
    assert len({p.name_key for p in people}) == 200
    for someone in people:
        firsts = provider.first_names_female if someone.gender == "f" else provider.first_names_male
        assert someone.firstname in firsts and someone.lastname in provider.last_names, someone


def test_the_same_seed_draws_the_same_people_and_another_seed_others():
    first, a = drawn(number_to_generate=10, seed=1234)
    _, b = drawn(number_to_generate=10, seed=1234)
    _, c = drawn(number_to_generate=10, seed=4321)
    assert a == b and a != c
    assert first.people_request.seed == 1234


def test_batches_take_consecutive_slots_of_the_task_s_draw(settings):
    settings.PERSONAS_PER_BATCH = 5
    task, people = drawn(number_to_generate=12)
    assert skeletons(task, batch_slots(task, 3, 2)) == people[10:12]


def test_a_language_faker_lacks_leaves_the_names_to_the_model_but_still_draws_gender_and_age():
    _, people = drawn(number_to_generate=6, bio_language="Breton", gender="f", age_min=60, age_max=75)
    assert all(not p.named and p.gender == "f" and 60 <= p.age <= 75 for p in people)


@pytest.mark.parametrize(
    ("language", "country", "locale"),
    [
        ("Portuguese", "", "pt_PT"),
        ("Portuguese", "BR", "pt_BR"),
        ("English", "IE", "en_IE"),
        ("English", "PT", "pt_PT"),  # people who live in Portugal, whatever the bios' language
        ("Japanese", "", "ja_JP"),
        ("Breton", "", ""),
    ],
)
def test_names_come_from_the_language_as_spoken_in_the_country_else_the_country_s_else_the_language_s(
    language, country, locale
):
    assert names_locale(language, country) == locale


def test_only_locales_with_female_and_male_names_of_their_own_count_as_name_data():
    assert all(has_own_names(locale) for locale in ("pt_PT", "ja_JP", "en_US"))
    assert not has_own_names("am_ET") and not has_own_names("lt_LT")  # American fallback; no female first names
