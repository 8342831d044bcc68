"""What the image model is told about the person in each photo."""

from generation.integrations.backends import Sitter
from generation.integrations.prompts import base_selfie_prompt, grid_prompt, replacement_prompt, tile_places

ANA = Sitter(firstname="Ana", gender="f", description="Nurses in Porto", age=29, ethnicity="Portuguese",
             look="wavy dark hair, slim, scrubs and trainers", job="Nurse", town="Porto, Porto District")  # fmt: skip


def test_the_base_prompt_says_the_age_gender_heritage_look_job_and_town():
    prompt = base_selfie_prompt(ANA, with_reference=False)
    assert "Ana, a 29-year-old Portuguese woman (wavy dark hair, slim, scrubs and trainers), Nurse in Porto" in prompt


def test_the_reference_face_prompt_keeps_the_face_and_still_says_age_and_look():
    prompt = base_selfie_prompt(ANA, with_reference=True)
    assert prompt.startswith("Use the face in the reference photo")
    assert "29-year-old" in prompt and "wavy dark hair" in prompt


def test_each_grid_prompt_names_its_own_tiles_ideas_in_reading_order():
    ideas = ["at the ward at night", "on the Ribeira at dusk", "at a café at noon", "on the beach on Sunday",
             "at a market", "in a park", "on a tram", "at a concert"]  # fmt: skip
    prompt = grid_prompt(ANA, cols=2, rows=4, ideas=ideas)
    assert "top left: at the ward at night; top right: on the Ribeira at dusk; row 2 left: at a café at noon" in prompt
    assert "bottom right: at a concert." in prompt
    assert tile_places(2, 2) == ["top left", "top right", "bottom left", "bottom right"]


def test_a_persona_without_ideas_or_profile_falls_back_to_the_task_s_description_and_scene_sets():
    plain = Sitter(firstname="Hugo", gender="m", description="Lighthouse keepers in Norway")
    assert "Hugo, a man who fits this description: Lighthouse keepers in Norway" in base_selfie_prompt(
        plain, with_reference=False
    )
    assert "mostly evening" in grid_prompt(plain, cols=2, rows=2, ideas=[], part=2, parts=2)


def test_a_replacement_photo_carries_the_idea_of_the_tile_it_replaces():
    assert "The scene: on the beach on Sunday." in replacement_prompt(ANA, "on the beach on Sunday")
