"""Whole tasks through the real OpenAI client, the loopback OpenAI server and moto's S3 server,
run in this process (the pipeline `generate --sync` uses)."""

from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django_q.models import OrmQ

from generation.integrations.backends import get_backend
from generation.models import GenerationTask
from generation.pipeline import lifecycle
from generation.pipeline.stages import run_inline
from tests.generation.helpers import assert_task_stored_completely, fetch_image, submit

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_task_with_four_images_per_persona_stores_every_row_and_every_url(fake_openai, s3_bucket, settings):
    settings.PERSONAS_PER_BATCH = 3
    task = submit(number_to_generate=7, images_per_persona=4)
    run_inline(task)
    assert_task_stored_completely(task, s3_bucket)
    assert Counter(task.results.values_list("batch_number", flat=True)) == {1: 3, 2: 3, 3: 1}
    names = [(r.firstname, r.lastname) for r in task.results.all()]
    assert len(set(names)) == 7
    # No more API calls than needed: one chat per batch, one selfie and one grid per persona.
    assert len(fake_openai.calls("/chat/completions")) == 3
    assert len(fake_openai.calls("/images/generations")) == 7
    assert len(fake_openai.calls("/images/edits")) == 7


def test_a_task_with_eight_images_per_persona_makes_two_grids_from_the_same_base(fake_openai, s3_bucket, settings):
    task = submit(number_to_generate=2, images_per_persona=8)
    run_inline(task)
    assert_task_stored_completely(task, s3_bucket)
    edits = fake_openai.calls("/images/edits")
    assert len(edits) == 4
    # Two 2x2 grids: asked for in words, and at the square size (which the fake draws as 2x2).
    assert all("2 columns and 2 rows" in call.form["prompt"] for call in edits)
    assert all(call.form["size"] == settings.OPENAI_IMAGE_SIZE for call in edits)
    # Each grid carries its own tiles' photo ideas, in order: the first grid ideas 1-4, the second 5-8.
    for result in task.results.all():
        ideas = result.details.photo_ideas
        assert len(set(ideas)) == 8
        for first in (0, 4):
            (grid,) = [call for call in edits if f"top left: {ideas[first]}" in call.form["prompt"]]
            assert f"bottom right: {ideas[first + 3]}" in grid.form["prompt"]
    bases = {fetch_image(result.base_image_url)[1] for result in task.results.all()}
    sent = [call.files[0] for call in edits]
    assert set(sent) == bases and all(sent.count(base) == 2 for base in bases)


def test_images_are_asked_for_as_jpeg_and_the_base_is_stored_as_the_jpeg_returned(fake_openai, s3_bucket):
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)
    assert_task_stored_completely(task, s3_bucket)
    (generation,) = fake_openai.calls("/images/generations")
    (edit,) = fake_openai.calls("/images/edits")
    assert (generation.json["output_format"], generation.json["output_compression"]) == ("jpeg", 95)
    assert (edit.form["output_format"], edit.form["output_compression"]) == ("jpeg", "95")
    result = task.results.get()
    assert result.base_image_url.endswith("/base.jpg")
    assert fetch_image(result.base_image_url)[0].format == "JPEG"


def test_an_empty_output_format_leaves_the_format_to_the_api(fake_openai, s3_bucket, settings):
    settings.OPENAI_OUTPUT_FORMAT = ""
    get_backend.cache_clear()
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)
    assert_task_stored_completely(task, s3_bucket)
    calls = [c.json or c.form for c in fake_openai.calls("/images/generations") + fake_openai.calls("/images/edits")]
    assert not any("output_format" in sent or "output_compression" in sent for sent in calls)
    assert task.results.get().base_image_url.endswith("/base.png")  # the API's own default, PNG


def test_the_chat_request_carries_description_language_and_the_four_bio_prompts(fake_openai, s3_bucket):
    task = submit(number_to_generate=2, bio_language="Portuguese", persona_description="Surf teachers in Ericeira")
    run_inline(task)
    (call,) = fake_openai.calls("/chat/completions")
    assert call.json["response_format"]["type"] == "json_schema"
    assert call.json["response_format"]["json_schema"]["strict"] is True
    prompt = call.json["messages"][-1]["content"]
    assert "Surf teachers in Ericeira" in prompt and "Portuguese" in prompt
    for platform in ("facebook", "instagram", "x", "tiktok"):
        assert f"- bio_{platform} (never more than" in prompt


def test_a_submitted_task_is_pending_and_its_start_is_queued_once_committed(db):
    task = submit()
    assert task.status == GenerationTask.Status.PENDING
    assert [q.task["func"] for q in OrmQ.objects.all()] == [lifecycle.START_JOB]


def test_a_rolled_back_submission_queues_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        submit()
        raise RuntimeError("the caller's transaction fails after submitting")
    assert OrmQ.objects.count() == 0
    assert GenerationTask.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("persona_description", "   ", "Describe the personas to generate."),
        ("persona_description", "x" * 4001, "Keep the description under 4000 characters."),
        ("bio_language", "", "Choose the language of the bios."),
        ("number_to_generate", 0, "Choose a number of personas from 1 to 500."),
        ("number_to_generate", 501, "Choose a number of personas from 1 to 500."),
        ("number_to_generate", "ten", "Choose a number of personas from 1 to 500."),
        ("images_per_persona", 6, "Choose 4, 8, 12, 16 or 20 images per persona."),
    ],
)
def test_bad_values_are_refused_with_a_clear_message_and_nothing_is_queued(field, value, message):
    with pytest.raises(ValidationError) as refused:
        submit(**{field: value})
    assert refused.value.message_dict == {field: [message]}
    assert OrmQ.objects.count() == 0 and GenerationTask.objects.count() == 0


def test_the_maximum_number_of_personas_comes_from_settings(settings):
    settings.MAX_PERSONAS_PER_TASK = 20
    with pytest.raises(ValidationError, match="from 1 to 20"):
        submit(number_to_generate=21)


def test_a_description_with_nothing_to_describe_is_refused():
    with pytest.raises(ValidationError) as refused:
        submit(persona_description=" \u200b\u200b ")
    assert refused.value.message_dict == {"persona_description": ["Describe the personas to generate."]}


@pytest.mark.parametrize("images", [12, 16, 20])
def test_twelve_sixteen_or_twenty_images_come_from_that_many_2x2_grids_made_in_parallel(fake_openai, s3_bucket, images):
    task = submit(number_to_generate=1, images_per_persona=images)
    run_inline(task)
    assert_task_stored_completely(task, s3_bucket)
    grids = fake_openai.calls("/images/edits")
    assert len(grids) == images // 4
    assert all(call.form["size"] == "1024x1024" for call in grids)
    assert len({call.form["prompt"] for call in grids}) == images // 4  # each grid steered to other scenes
