"""config's randomize_image_style: with it on, each photo gets a random phone-camera look before it is signed, drawn
from its key (a second run makes the same file), and its Content Credentials record the edit with the model's grid
as its parent. The base selfie, the model's reference for the person, is left as it is. Off by default."""

from __future__ import annotations

import numpy as np
import pytest

from generation.imaging.looks import LOOK_ACTIONS, PRESETS, apply_look, random_look
from generation.imaging.metadata import TRAINED_ALGORITHMIC_MEDIA, read_xmp
from generation.imaging.photos import split_grid_photos
from generation.integrations import provenance
from generation.pipeline.stages import run_inline
from siteconfig.models import Config
from testkit import faces
from tests.generation.helpers import fetch_image, submit


def test_a_look_is_drawn_from_its_seed_within_the_phone_camera_ranges():
    looks = [random_look(f"avatars/x/1/{n}.jpg") for n in range(200)]
    assert random_look("avatars/x/1/1.jpg") == random_look("avatars/x/1/1.jpg")
    assert len(set(looks)) == len(looks)
    assert {look.preset for look in looks} == set(PRESETS)
    for look in looks:
        assert 78 <= look.quality <= 95
        assert 0.92 <= look.contrast <= 1.08
        assert 0.2 <= abs(look.softness) <= 0.6
        assert 0 < look.grain <= 6 and 0 < look.vignette <= 0.3
    assert {look.softness > 0 for look in looks} == {True, False}  # blur and sharpening both come up


def test_a_look_changes_the_pixels_a_little_and_the_same_seed_the_same_way():
    tile = faces.head(faces.astronaut()).resize((256, 256)).convert("RGB")
    look = random_look("seed")
    styled = apply_look(tile, look, "seed")
    assert styled.size == tile.size
    assert np.array_equal(np.asarray(styled), np.asarray(apply_look(tile, look, "seed")))
    difference = np.abs(np.asarray(styled, dtype=int) - np.asarray(tile, dtype=int))
    assert 1 < difference.mean() < 40  # a look, not another picture
    corners = np.asarray(styled, dtype=int)[:8, :8].mean(), np.asarray(styled, dtype=int)[124:132, 124:132].mean()
    assert corners[0] < np.asarray(tile, dtype=int)[:8, :8].mean()  # the vignette darkens the corners


def tiles_of(task) -> list[bytes]:
    return [fetch_image(url)[1] for url in task.results.get().images]


@pytest.mark.django_db(transaction=True)
def test_styled_photos_are_signed_as_edited_from_the_grid_and_made_again_the_same(fake_openai, s3_bucket):
    plain = submit(number_to_generate=1, images_per_persona=4)
    run_inline(plain)
    Config.set_value("randomize_image_style", True)
    styled = submit(number_to_generate=1, images_per_persona=4)
    run_inline(styled)
    styled.refresh_from_db()
    assert styled.status == "completed", styled.error_log

    plain_tiles, styled_tiles = tiles_of(plain), tiles_of(styled)
    for data in styled_tiles:
        reading = provenance.read(data)
        assert reading.problems == []
        assert set(LOOK_ACTIONS) <= set(reading.actions) and "c2pa.cropped" in reading.actions
        assert [ingredient["relationship"] for ingredient in reading.ingredients] == ["parentOf"]
        assert TRAINED_ALGORITHMIC_MEDIA in read_xmp(data)
    for data in plain_tiles:
        assert not set(LOOK_ACTIONS) & set(provenance.read(data).actions)
    base = fetch_image(styled.results.get().base_image_url)[1]
    assert not set(LOOK_ACTIONS) & set(provenance.read(base).actions)  # the reference is left as the model made it


def test_the_same_grid_and_keys_give_the_same_styled_files_and_other_keys_other_looks():
    grid = faces.grid([faces.astronaut(), faces.grace_hopper(), faces.astronaut(), faces.grace_hopper()])
    keys = [f"avatars/t/1/{n}.jpg" for n in range(1, 5)]
    once = split_grid_photos(grid, 2, 2, look_seeds=keys)
    assert [photo.data for photo in once] == [photo.data for photo in split_grid_photos(grid, 2, 2, look_seeds=keys)]
    other = split_grid_photos(grid, 2, 2, look_seeds=[f"avatars/t/2/{n}.jpg" for n in range(1, 5)])
    assert [photo.data for photo in once] != [photo.data for photo in other]
    assert all(photo.made_from.steps == ("c2pa.cropped", *LOOK_ACTIONS) for photo in once)
    assert split_grid_photos(grid, 2, 2)[0].made_from.steps == ("c2pa.cropped",)
