from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from siteconfig.defaults import DEFAULT_BIO_PROMPTS
from siteconfig.models import Settings

pytestmark = pytest.mark.django_db


def reseed(*args):
    out = StringIO()
    call_command("reseed_prompts", *args, stdout=out)
    return out.getvalue()


def test_it_adds_missing_prompts_and_leaves_the_rest():
    Settings.objects.filter(key="bio_prompt_x").delete()
    Settings.set_value("bio_prompt_tiktok", "my edited prompt")
    out = reseed()
    assert "added    bio_prompt_x" in out
    assert "left     bio_prompt_tiktok (edited; --force overwrites it)" in out
    assert "left     bio_prompt_facebook (already the default)" in out
    assert Settings.get_value("bio_prompt_x") == DEFAULT_BIO_PROMPTS["bio_prompt_x"]
    assert Settings.get_value("bio_prompt_tiktok") == "my edited prompt"


def test_force_overwrites_edited_prompts():
    Settings.set_value("bio_prompt_instagram", "my edited prompt")
    out = reseed("--force")
    assert "replaced bio_prompt_instagram" in out
    assert Settings.get_value("bio_prompt_instagram") == DEFAULT_BIO_PROMPTS["bio_prompt_instagram"]


def test_platform_limits_it_to_the_named_platforms():
    Settings.set_value("bio_prompt_facebook", "edited fb")
    Settings.set_value("bio_prompt_x", "edited x")
    out = reseed("--force", "--platform", "x")
    assert out.strip() == "replaced bio_prompt_x (edited prompt overwritten with the default)"
    assert Settings.get_value("bio_prompt_facebook") == "edited fb"
    assert Settings.get_value("bio_prompt_x") == DEFAULT_BIO_PROMPTS["bio_prompt_x"]


def test_an_unknown_platform_is_refused_with_the_choices():
    with pytest.raises(CommandError, match="invalid choice: 'myspace'"):
        reseed("--platform", "myspace")


def test_running_it_twice_changes_nothing_the_second_time():
    Settings.objects.all().delete()
    reseed()
    out = reseed()
    assert out.count("already the default") == 4
    assert Settings.objects.count() == 4
