"""What a hostile or broken text model sends about personas, checked at the door. Each case was sent by a
loopback server that answered as such a model would; the batch keeps its good personas and pays for one call."""

from __future__ import annotations

import pytest

from generation.models import GenerationTask
from generation.pipeline.persona_data import Persona, trim_at_word, validate_persona
from generation.pipeline.stages import run_inline
from generation.services.exports import csv_rows
from siteconfig.defaults import BIO_LIMITS
from tests.generation.helpers import submit

pytestmark = pytest.mark.django_db


def persona(**fields) -> dict:
    return {
        "firstname": "Maëlle",
        "lastname": "Rousseau",
        "gender": "f",
        "bio_facebook": "Infirmière à Nantes | vélo et jardin",
        "bio_instagram": "🌿 Nantes\nInfirmière de nuit",
        "bio_x": "Soins, café, pluie bretonne.",
        "bio_tiktok": "Mes nuits à l'hôpital 🌙",
    } | fields


def test_a_nul_byte_in_one_name_refuses_that_persona_and_the_batch_keeps_the_others(fake_openai, s3_bucket, settings):
    """PostgreSQL rejected the whole batch insert over one NUL: the batch was paid three times and lost both good
    personas. Now the bad one is refused and the batch saves the rest from the one call."""
    settings.PERSONAS_PER_BATCH = 3
    fake_openai.hostile_next_chat(lambda n, p: p | {"firstname": "Ma\x00rie"} if n == 1 else p)
    task = submit(number_to_generate=3, images_per_persona=4)

    run_inline(task)

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.COMPLETED
    assert task.results.count() == 3
    # The first answer's two good personas were kept; one more call made up the refused one.
    assert len(fake_openai.calls("/chat/completions")) == 2
    assert "firstname held a control character" in task.error_log
    assert not any("\x00" in name for name in task.results.values_list("firstname", flat=True))


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("firstname", 123, "firstname was int, not text"),
        ("lastname", ["a", "b"], "lastname was list, not text"),
        ("firstname", {"x": 1}, "firstname was dict, not text"),
        ("bio_x", True, "bio_x was bool, not text"),
        ("gender", None, "gender was missing, not text"),
        ("firstname", "\u200b\u200c\u2060", "firstname had no visible letter"),
        ("lastname", "\u202e\u2066 \u2069", "lastname had no visible letter"),
        ("bio_tiktok", " \x00\x07 ", "bio_tiktok was empty"),
    ],
)
def test_a_value_of_the_wrong_type_or_with_nothing_visible_refuses_the_persona(field, value, reason):
    assert validate_persona(persona(**{field: value})) == f"a persona was refused: {reason}"


def test_bidirectional_controls_are_removed_from_names_and_bios_and_never_reach_the_csv(fake_openai, s3_bucket):
    fake_openai.hostile_next_chat(
        lambda n, p: p | {"lastname": "\u202euaessuoR\u202c", "bio_x": "\u2066#nuit\u2069 à Nantes\x1b[31m"}
    )
    task = submit(number_to_generate=1, images_per_persona=4, bio_language="Breton")  # Faker has no names: the model's

    run_inline(task)

    result = task.results.get()
    assert result.lastname == "uaessuoR" and result.bio_x == "#nuit à Nantes[31m"
    exported = "".join(csv_rows(task))
    assert not any(c in exported for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\x1b")


def test_bios_are_cut_to_each_platform_s_limit_at_a_word_and_the_task_notes_say_how_many(fake_openai, s3_bucket):
    """A 5 MB bio on every platform made a 20 MB task page."""
    huge = "Passionnée de randonnée et de photographie argentique " * 100_000
    fake_openai.hostile_next_chat(lambda n, p: p | {f"bio_{platform}": huge for platform in BIO_LIMITS})
    task = submit(number_to_generate=2, images_per_persona=4)

    run_inline(task)

    task.refresh_from_db()
    for result in task.results.all():
        for platform, limit in BIO_LIMITS.items():
            bio = getattr(result, f"bio_{platform}")
            assert len(bio) <= limit and bio.endswith("…"), (platform, len(bio))
            assert huge.startswith(bio[:-1])  # cut after a whole word
            assert not bio[:-1].endswith(" ")
    assert "8 bio(s) cut to their platform's length" in task.error_log
    assert task.status == GenerationTask.Status.COMPLETED


def test_a_bio_within_its_limit_is_kept_whole_and_counts_no_cut():
    checked = validate_persona(persona())
    assert isinstance(checked, Persona) and checked.trimmed == 0
    assert checked.bios["instagram"] == "🌿 Nantes\nInfirmière de nuit"


def test_text_without_spaces_is_cut_at_the_limit():
    assert trim_at_word("日" * 200, 80) == "日" * 79 + "…"


def test_the_prompt_states_each_platform_s_limit(fake_openai, s3_bucket):
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)
    prompt = fake_openai.calls("/chat/completions")[0].json["messages"][-1]["content"]
    for platform, limit in BIO_LIMITS.items():
        assert f"bio_{platform} (never more than {limit} characters" in prompt
