"""The fake OpenAI server must satisfy the real ``openai`` client, or tests built on it would prove nothing."""

import base64
import io
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
from PIL import Image

from generation.integrations.backends import PersonaRequest
from generation.integrations.prompts import persona_schema as project_schema
from testkit.fake_openai import running_fake_openai


@pytest.fixture
def server():
    with running_fake_openai() as fake:
        yield fake


def client_for(fake, max_retries=0):
    return openai.OpenAI(api_key="test-key", base_url=fake.base_url, max_retries=max_retries)


def persona_schema(count: int) -> dict:
    """The schema the project sends for `count` personas."""
    return project_schema(PersonaRequest(description="d", language="English", count=count, bio_prompts={}))


def unbounded_schema():
    """The project's schema with no length fixed for the personas array."""
    schema = persona_schema(1)
    del schema["properties"]["personas"]["minItems"], schema["properties"]["personas"]["maxItems"]
    return schema


def ask_personas(client, count=None, *, schema=None, user_text="Invent personas for a social media data set."):
    """A chat request shaped as the project sends it: the count is fixed by the JSON schema (the schema the project
    builds, so the fake is tested against the real request shape), not by anything in the messages."""
    if schema is None:
        schema = persona_schema(count) if count is not None else unbounded_schema()
    return client.chat.completions.create(
        model="gpt-test",
        messages=[
            {"role": "system", "content": "You write personas. Give exactly 99 people."},
            {"role": "user", "content": user_text},
        ],
        response_format={"type": "json_schema", "json_schema": {"name": "personas", "strict": True, "schema": schema}},
    )


def png_bytes(size=(64, 64), colour=(10, 120, 200)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def decode_image(b64):
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def generate(client, size="1024x1024"):
    return client.images.generate(model="gpt-image-1", prompt="a portrait", size=size, quality="low")


def is_white(pixel):
    return all(channel >= 245 for channel in pixel[:3])


def count_tile_runs(pixels):
    """Number of non-white stretches along a line of pixels: the tiles a grid splitter would find."""
    runs, inside = 0, False
    for pixel in pixels:
        if not is_white(pixel) and not inside:
            runs += 1
        inside = not is_white(pixel)
    return runs


# -- chat ------------------------------------------------------------------------------------------------------


def test_chat_returns_as_many_personas_as_the_json_schema_fixes_whatever_the_messages_say(server):
    completion = ask_personas(client_for(server), count=3, user_text="Give exactly 7 people.")

    assert completion.object == "chat.completion"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    personas = json.loads(completion.choices[0].message.content)["personas"]
    assert len(personas) == 3
    for persona in personas:
        assert persona["gender"] in ("f", "m")
        assert persona["firstname"] and persona["lastname"]
        for platform, key in [("Facebook", "bio_facebook"), ("Instagram", "bio_instagram"), ("TikTok", "bio_tiktok")]:
            assert platform in persona[key]
        assert " X." in persona["bio_x"]


def test_chat_reads_the_count_from_max_items_when_the_schema_has_no_min_items(server):
    schema = unbounded_schema()
    schema["properties"]["personas"]["maxItems"] = 2

    completion = ask_personas(client_for(server), schema=schema)

    assert len(json.loads(completion.choices[0].message.content)["personas"]) == 2


def test_chat_defaults_to_five_personas_when_the_schema_fixes_no_count(server):
    completion = ask_personas(client_for(server))

    assert len(json.loads(completion.choices[0].message.content)["personas"]) == 5


def test_chat_records_the_request_body_it_received(server):
    ask_personas(client_for(server), count=1, user_text="Bios in German, please.")

    [request] = server.calls("/chat/completions")
    assert request.path == "/v1/chat/completions"
    assert request.json["response_format"]["json_schema"]["name"] == "personas"
    assert request.json["response_format"]["json_schema"]["schema"]["properties"]["personas"]["minItems"] == 1
    assert request.json["messages"][-1]["content"] == "Bios in German, please."
    assert request.headers["authorization"] == "Bearer test-key"


def test_persona_names_never_repeat_over_the_server_lifetime_and_stay_short(server):
    client = client_for(server)
    names = []
    for _ in range(4):  # 800 names: more than the plain first x last combinations, so suffixes kick in
        content = ask_personas(client, count=200).choices[0].message.content
        names += [(p["firstname"], p["lastname"]) for p in json.loads(content)["personas"]]

    assert len(names) == len(set(names)) == 800
    assert all(len(first) < 100 and len(last) < 100 for first, last in names)
    assert all(last[0].isupper() and not any(ch.isdigit() for ch in last) for _, last in names)


def test_malformed_switch_answers_200_with_content_that_is_not_json(server):
    server.malformed_next_chat()
    client = client_for(server)

    content = ask_personas(client, count=2).choices[0].message.content
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    assert len(json.loads(ask_personas(client, count=2).choices[0].message.content)["personas"]) == 2


def test_refusal_switch_answers_with_null_content_and_a_refusal(server):
    server.refuse_next_chat()

    message = ask_personas(client_for(server), count=2).choices[0].message
    assert message.content is None
    assert message.refusal == "I can't help with that."


def test_short_switch_answers_one_persona_fewer_than_asked(server):
    server.short_next_chat(times=2)
    client = client_for(server)

    assert len(json.loads(ask_personas(client, count=4).choices[0].message.content)["personas"]) == 3
    assert len(json.loads(ask_personas(client, count=0).choices[0].message.content)["personas"]) == 0
    assert len(json.loads(ask_personas(client, count=4).choices[0].message.content)["personas"]) == 4


# -- images ----------------------------------------------------------------------------------------------------


def test_image_generation_returns_a_single_portrait_png_of_the_requested_size(server):
    result = generate(client_for(server), size="1024x1536")

    image = decode_image(result.data[0].b64_json)
    assert image.format == "PNG"
    assert image.size == (1024, 1536)
    assert server.calls("/images/generations")[0].json["size"] == "1024x1536"
    # A portrait, not a grid: a line across its top meets one coloured background and no white gutter.
    pixels = image.convert("RGB").load()
    assert count_tile_runs([pixels[x, image.height // 16] for x in range(image.width)]) == 1


def test_image_generation_treats_auto_size_as_square(server):
    result = client_for(server).images.generate(model="gpt-image-1", prompt="x", size="auto")

    assert decode_image(result.data[0].b64_json).size == (1024, 1024)


def test_successive_generated_images_differ(server):
    client = client_for(server)

    first, second = (generate(client, size="256x256").data[0].b64_json for _ in range(2))
    assert first != second


def test_image_edit_records_the_uploaded_bytes_exactly(server):
    # Bytes that look like multipart syntax must survive parsing untouched.
    tricky = png_bytes() + b"\r\n--not-a-boundary\r\n\r\n"
    result = client_for(server).images.edit(
        model="gpt-image-1",
        image=[("base.png", png_bytes(), "image/png"), ("second.png", tricky, "image/png")],
        prompt="Make it a portrait photo",
        size="1024x1024",
        quality="high",
        input_fidelity="high",
    )

    [request] = server.calls("/images/edits")
    assert request.files == [png_bytes(), tricky]
    assert request.form["prompt"] == "Make it a portrait photo"
    assert request.form["input_fidelity"] == "high"
    assert decode_image(result.data[0].b64_json).size == (1024, 1024)


@pytest.mark.parametrize(
    ("size", "cols", "rows"),
    [("1024x1536", 2, 4), ("1024x1024", 2, 2), ("1536x1024", 2, 2)],
    ids=["tall-is-2x4", "square-is-2x2", "wide-is-2x2"],
)
def test_every_edit_is_drawn_as_a_photo_grid_whose_layout_comes_from_the_size(server, size, cols, rows):
    # The prompt asks for another layout: the fake reads the layout from the size alone.
    result = client_for(server).images.edit(
        model="gpt-image-1",
        image=[("base.png", png_bytes(), "image/png")],
        prompt="Show this person in a photo grid of 3 columns and 3 rows.",
        size=size,
    )

    image = decode_image(result.data[0].b64_json).convert("RGB")
    assert image.size == tuple(int(side) for side in size.split("x"))
    width, height = image.size
    pixels = image.load()
    # Lines through the tiles (avoiding the central ellipses) cross `cols` tiles across and `rows` down.
    assert count_tile_runs([pixels[x, height // (4 * rows)] for x in range(width)]) == cols
    assert count_tile_runs([pixels[width // (4 * cols), y] for y in range(height)]) == rows


# -- faults ----------------------------------------------------------------------------------------------------


def test_queued_429_raises_rate_limit_error_when_the_client_does_not_retry(server):
    server.fail_next("/chat/completions", 429, retry_after=1)

    with pytest.raises(openai.RateLimitError) as caught:
        ask_personas(client_for(server), count=1)
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.body["type"] == "rate_limit_error"


def test_queued_429_is_overcome_by_a_client_that_honours_retry_after(server):
    server.fail_next("/chat/completions", 429, retry_after=1)

    started = time.monotonic()
    completion = ask_personas(client_for(server, max_retries=1), count=2)

    assert len(json.loads(completion.choices[0].message.content)["personas"]) == 2
    assert len(server.calls("/chat/completions")) == 2
    assert time.monotonic() - started >= 0.9


def test_queued_faults_only_hit_the_endpoint_they_were_queued_for(server):
    server.fail_next("/images/edits", 500)
    client = client_for(server)

    assert ask_personas(client, count=1).choices[0].message.content
    with pytest.raises(openai.InternalServerError):
        client.images.edit(model="gpt-image-1", image=png_bytes(), prompt="x")


def test_moderation_fault_carries_its_code(server):
    server.fail_next("/images/generations", 400, code="moderation_blocked", message="Rejected by the safety system.")

    with pytest.raises(openai.BadRequestError) as caught:
        generate(client_for(server))
    assert caught.value.code == "moderation_blocked"
    assert caught.value.body["message"] == "Rejected by the safety system."


def test_insufficient_quota_429_has_the_matching_error_type(server):
    server.fail_next("/chat/completions", 429, code="insufficient_quota")

    with pytest.raises(openai.RateLimitError) as caught:
        ask_personas(client_for(server), count=1)
    assert caught.value.body["type"] == "insufficient_quota"


def test_fault_with_a_raw_body_sends_it_verbatim(server):
    server.fail_next("/chat/completions", 502, body="<html>bad gateway</html>")

    with pytest.raises(openai.InternalServerError) as caught:
        ask_personas(client_for(server), count=1)
    assert caught.value.response.text == "<html>bad gateway</html>"


def test_reject_all_answers_every_request_until_faults_are_cleared(server):
    server.reject_all_with(401, "invalid_api_key")
    client = client_for(server)

    with pytest.raises(openai.AuthenticationError) as caught:
        ask_personas(client, count=1)
    assert caught.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        generate(client)

    server.clear_faults()
    assert generate(client).data


def test_dropped_connection_raises_a_connection_error_and_the_next_call_works(server):
    server.drop_next("/images/generations")
    client = client_for(server)

    with pytest.raises(openai.APIConnectionError):
        generate(client)
    assert generate(client).data


def test_request_without_authorization_header_is_rejected_with_401(server):
    request = urllib.request.Request(
        server.base_url + "/chat/completions", data=b"{}", headers={"Content-Type": "application/json"}
    )

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 401
    assert json.loads(caught.value.read())["error"]["type"] == "invalid_request_error"


# -- rate limit, concurrency, lifecycle ------------------------------------------------------------------------


def test_images_per_minute_answers_429_with_retry_after_once_the_window_is_full():
    with running_fake_openai(images_per_minute=2) as fake:
        client = client_for(fake)
        generate(client, size="256x256")
        client.images.edit(model="gpt-image-1", image=png_bytes(), prompt="x", size="256x256")

        with pytest.raises(openai.RateLimitError) as caught:
            generate(client, size="256x256")

        assert caught.value.code == "rate_limit_exceeded"
        assert 1 <= int(caught.value.response.headers["retry-after"]) <= 60
        assert fake.rate_limited == 1
        assert fake.accepted_images == 2
        assert ask_personas(client, count=1).choices[0].message.content  # chat is not image-limited


def test_peak_concurrency_counts_requests_handled_at_the_same_time():
    with running_fake_openai(image_latency=0.3) as fake:
        client = client_for(fake)
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda _: generate(client, size="256x256"), range(2)))

        assert len(results) == 2
        assert fake.peak_concurrency == 2


def test_latency_can_be_changed_while_running(server):
    client = client_for(server)
    server.chat_latency = 0.3

    started = time.monotonic()
    ask_personas(client, count=1)
    assert time.monotonic() - started >= 0.3


def test_reset_forgets_requests_faults_and_peak_concurrency(server):
    client = client_for(server)
    generate(client, size="256x256")
    server.fail_next("/images/generations", 500)

    server.reset()

    assert server.requests == []
    assert server.peak_concurrency == 0
    assert generate(client, size="256x256").data


def test_module_runs_standalone_until_interrupted():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "testkit.fake_openai", "--port", str(port), "--image-latency", "0"],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert f"http://127.0.0.1:{port}/v1" in process.stdout.readline()
        client = openai.OpenAI(api_key="test-key", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
        assert decode_image(generate(client, size="256x256").data[0].b64_json).size == (256, 256)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        process.stdout.close()
    assert process.returncode == 0


def test_max_recorded_keeps_only_the_newest_requests():
    with running_fake_openai(max_recorded=2) as fake:
        client = client_for(fake)
        for size in ("256x256", "512x512", "768x768"):
            generate(client, size=size)

        assert [r.json["size"] for r in fake.requests] == ["512x512", "768x768"]
