import functools
import re
import warnings

import pytest
from faker import Faker
from faker.config import AVAILABLE_LOCALES

from generation.integrations import languages
from generation.integrations.languages import BIO_LANGUAGES, LANGUAGES, find, label

BCP47 = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")
WRITTEN_RIGHT_TO_LEFT = [
    "Arabic", "Dhivehi", "Hebrew", "Pashto", "Persian", "Sindhi", "Sorani Kurdish", "Urdu", "Uyghur", "Yiddish",
]  # fmt: skip
OFFERED_BEFORE = [
    "Arabic", "Chinese", "Czech", "Danish", "Dutch", "English", "Finnish", "French", "German", "Greek", "Hebrew",
    "Hindi", "Hungarian", "Indonesian", "Italian", "Japanese", "Korean", "Norwegian", "Polish", "Portuguese",
    "Romanian", "Russian", "Spanish", "Swedish", "Thai", "Turkish", "Ukrainian", "Vietnamese",
]  # fmt: skip


@functools.cache
def has_own_names(locale: str) -> bool:
    """Faker's person provider for this locale is its own (not the en_US fallback) with female and male first names."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fr_QC says it is deprecated
        fake = Faker(locale)
    person = next(p for p in fake.providers if getattr(p, "__provider__", "") == "faker.providers.person")
    own = person.__lang__ == locale and bool(getattr(person, "first_names_female", None))
    return own and bool(getattr(person, "first_names_male", None))


def primary(tag: str) -> str:
    return re.split(r"[-_]", tag)[0]


def test_the_form_offers_over_a_hundred_languages_with_unique_names_sorted():
    assert len(LANGUAGES) >= 100
    names = [language.name for language in LANGUAGES]
    assert len(set(names)) == len(names) and names == sorted(names)
    assert list(BIO_LANGUAGES) == names and all(BIO_LANGUAGES[n].name == n for n in names)


def test_every_code_is_a_well_formed_bcp47_tag():
    assert [language.code for language in LANGUAGES if not BCP47.match(language.code)] == []
    assert len({language.code for language in LANGUAGES}) == len(LANGUAGES)


def test_the_languages_written_right_to_left_are_marked_so():
    assert all(find(name).rtl for name in WRITTEN_RIGHT_TO_LEFT)
    assert not find("English").rtl and not find("Japanese").rtl
    assert {primary(language.code) for language in LANGUAGES if language.rtl} <= languages.RIGHT_TO_LEFT


def test_every_faker_locale_given_has_its_own_female_and_male_first_names():
    given = [language.faker_locale for language in LANGUAGES if language.faker_locale]
    assert [locale for locale in given if locale not in AVAILABLE_LOCALES] == []
    assert [locale for locale in given if not has_own_names(locale)] == []


def test_every_faker_locale_with_its_own_names_has_its_language_offered_with_a_locale():
    own = {primary(locale) for locale in AVAILABLE_LOCALES if has_own_names(locale)}
    with_locale = {primary(language.faker_locale) for language in LANGUAGES if language.faker_locale}
    assert own - with_locale == set()
    left_without = [language.name for language in LANGUAGES if not language.faker_locale]
    assert [name for name in left_without if primary(find(name).code) in own] == []


def test_a_faker_locale_is_in_the_language_of_its_code():
    # Catalan's is es_CA: Faker's popular names of Catalonia, on its Spanish provider.
    mismatched = [
        language.name
        for language in LANGUAGES
        if language.faker_locale and primary(language.faker_locale) != primary(language.code)
    ]
    assert mismatched == ["Catalan"]


def test_the_languages_offered_before_are_all_still_offered_under_the_same_names():
    assert [name for name in OFFERED_BEFORE if name not in BIO_LANGUAGES] == []


def test_portuguese_is_that_of_portugal_and_brazils_is_offered_beside_it():
    assert (BIO_LANGUAGES["Portuguese"].code, BIO_LANGUAGES["Portuguese"].faker_locale) == ("pt-PT", "pt_PT")
    assert (BIO_LANGUAGES["Portuguese (Brazil)"].code, BIO_LANGUAGES["Portuguese (Brazil)"].faker_locale) == (
        "pt-BR",
        "pt_BR",
    )


def test_find_ignores_case_and_surrounding_spaces():
    assert find(" portuguese ") is BIO_LANGUAGES["Portuguese"]
    assert find("ENGLISH (uk)") is BIO_LANGUAGES["English (UK)"]
    assert find("Klingon") is None and find("") is None


def test_country_is_the_region_of_the_faker_locale_when_it_is_a_real_country():
    assert find("Portuguese").country == "PT" and find("Portuguese (Brazil)").country == "BR"
    assert find("Arabic").country == ""  # ar_AA
    assert find("Catalan").country == ""  # es_CA is Catalonia, not Canada
    assert find("Swahili").country == ""  # sw has no region
    assert find("Amharic").country == ""  # no Faker locale


@pytest.mark.parametrize(
    ("language", "code", "direction"),
    [
        ("Arabic", "ar", "rtl"),
        (" sorani kurdish ", "ckb", "rtl"),
        ("Chinese", "zh", "ltr"),
        ("chinese (traditional)", "zh-Hant", "ltr"),
        ("Filipino", "fil", "ltr"),
        ("Klingon", "", "auto"),
    ],
)
def test_code_and_direction_give_the_lang_and_dir_of_the_text(language, code, direction):
    assert languages.code(language) == code and languages.direction(language) == direction


def test_the_label_marks_the_languages_written_right_to_left():
    assert label(find("Hebrew")) == "Hebrew (right to left)"
    assert label(find("French")) == "French"
