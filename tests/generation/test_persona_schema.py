"""The JSON schemas we send with `response_format` are strict schemas the API accepts: every object lists all its
properties as required and allows no others, and names follow the API's pattern (openai-openapi,
ResponseFormatJsonSchema: a-z, A-Z, 0-9, underscores and dashes, at most 64)."""

import re

import pytest

from generation.integrations.backends import PersonaRequest, Skeleton
from generation.integrations.prompts import ideas_schema, persona_schema

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SUPPORTED = {"type", "properties", "required", "additionalProperties", "items", "enum", "minItems", "maxItems"}


def objects_in(schema: dict):
    if schema.get("type") == "object":
        yield schema
        for value in schema["properties"].values():
            yield from objects_in(value)
    if schema.get("type") == "array":
        yield from objects_in(schema["items"])


def keywords_in(schema: dict) -> set[str]:
    found = set(schema)
    for value in schema.get("properties", {}).values():
        found |= keywords_in(value)
    if "items" in schema:
        found |= keywords_in(schema["items"])
    return found


WHOLE = PersonaRequest(description="d", language="English", count=2, bio_prompts={}, photo_ideas=8,
                       people=(Skeleton(4, "f", 30, "Ana", "Costa"), Skeleton(5, "m", 41)))  # fmt: skip
BIOS = PersonaRequest(description="d", language="English", count=1, bio_prompts={}, person="Ana Costa (a woman)")


@pytest.mark.parametrize("schema", [persona_schema(WHOLE), persona_schema(BIOS), ideas_schema(8)])
def test_every_object_requires_all_its_properties_and_allows_no_others(schema):
    for node in objects_in(schema):
        assert node["required"] == list(node["properties"]) and node["additionalProperties"] is False
    assert keywords_in(schema) <= SUPPORTED


def test_a_whole_persona_is_written_for_one_of_the_given_refs_with_exactly_its_photo_ideas():
    item = persona_schema(WHOLE)["properties"]["personas"]["items"]["properties"]
    assert item["ref"]["enum"] == ["p4", "p5"]
    assert item["photo_ideas"]["minItems"] == item["photo_ideas"]["maxItems"] == 8
    assert {"ethnicity", "job_title", "current_city", "about", "look", "interests"} <= set(item)
    assert "photo_ideas" not in persona_schema(BIOS)["properties"]["personas"]["items"]["properties"]


@pytest.mark.parametrize("name", ["personas", "photo_ideas"])
def test_the_schema_names_follow_the_api_s_pattern(name):
    assert NAME.match(name)
