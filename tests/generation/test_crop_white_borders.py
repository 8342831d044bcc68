"""config's crop_white_borders: with it on, plain near-white borders are trimmed from the base and every tile before
they are signed and stored; the face check and the signature see the trimmed file. Off by default."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageOps

from generation.imaging.looks import WHITE_THRESHOLD, trim_white_borders, white_border_box
from generation.integrations import provenance
from generation.pipeline.stages import run_inline
from siteconfig.models import Config
from testkit import faces
from tests.generation.helpers import fetch_image, submit

FRAME = 40


def framed(image: Image.Image, colour=(250, 250, 250)) -> Image.Image:
    return ImageOps.expand(image, border=FRAME, fill=colour)


def test_a_plain_near_white_frame_is_trimmed_to_the_picture():
    picture = faces.head(faces.astronaut()).resize((300, 200))
    assert white_border_box(framed(picture)) == (FRAME, FRAME, FRAME + 300, FRAME + 200)
    assert trim_white_borders(framed(picture)).size == (300, 200)


def test_a_border_darker_than_the_threshold_or_a_picture_without_one_is_kept():
    picture = faces.head(faces.astronaut()).resize((300, 200))
    grey = (WHITE_THRESHOLD - 10,) * 3
    assert white_border_box(framed(picture, grey)) is None
    assert white_border_box(picture) is None
    assert white_border_box(Image.new("RGB", (50, 50), (255, 255, 255))) is None  # white all over


def test_no_more_than_a_quarter_of_a_side_is_trimmed():
    dot = Image.new("RGB", (400, 400), (255, 255, 255))
    dot.paste((0, 0, 0), (190, 190, 210, 210))  # a small dark mark on white: a white picture, not a frame
    assert white_border_box(dot) == (100, 100, 300, 300)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("flag", [True, False], ids=["on", "off"])
def test_the_stored_base_and_tiles_are_trimmed_and_signed_as_cropped_only_with_the_flag_on(
    flag, fake_openai, s3_bucket, settings
):
    settings.FACE_CHECK = True
    Config.set_value("crop_white_borders", flag)
    person = faces.astronaut()
    portrait = ImageOps.fit(faces.head(person), (1024 - 2 * FRAME, 1024 - 2 * FRAME))
    fake_openai.send_next_image("/images/generations", faces.jpeg(framed(portrait)))
    grid = Image.open(io.BytesIO(faces.grid([person, faces.mirrored(person), faces.darker(person), person])))
    framed_grid = framed(grid.resize((1024 - 2 * FRAME, 1024 - 2 * FRAME)), (255, 255, 255))
    fake_openai.send_next_image("/images/edits", faces.jpeg(framed_grid))
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)
    task.refresh_from_db()
    assert task.status == "completed", task.error_log
    result = task.results.get()
    base, data = fetch_image(result.base_image_url)
    reading = provenance.read(data)
    assert reading.problems == []
    if flag:
        assert base.size == (1024 - 2 * FRAME, 1024 - 2 * FRAME) and base.format == "PNG"
        assert "c2pa.cropped" in reading.actions
    else:
        assert base.size == (1024, 1024) and base.format == "JPEG"
        assert "c2pa.cropped" not in reading.actions
    # The face checks ran on the files as stored, and found one face each, the base's.
    assert sorted(result.face_checks.values_list("position", "verdict")) == [(n, "ok") for n in range(5)]

    for url in result.images:
        tile, data = fetch_image(url)
        assert provenance.read(data).problems == []
        if flag:  # no white frame left at any edge of a tile
            assert white_border_box(tile.convert("RGB")) is None, url
