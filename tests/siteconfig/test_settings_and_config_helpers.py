import pytest

from siteconfig.defaults import DEFAULT_BIO_PROMPTS, DEFAULT_CONFIG_FLAGS, LATER_CONFIG_FLAGS
from siteconfig.models import Config, IntConfig, Settings

pytestmark = pytest.mark.django_db


def test_migrate_seeds_the_four_bio_prompts():
    stored = dict(Settings.objects.values_list("key", "value"))
    assert stored == DEFAULT_BIO_PROMPTS
    assert set(stored) == {"bio_prompt_facebook", "bio_prompt_instagram", "bio_prompt_x", "bio_prompt_tiktok"}


def test_migrate_seeds_both_face_flags_and_the_two_later_flags_off():
    assert dict(Config.objects.values_list("key", "value")) == DEFAULT_CONFIG_FLAGS | LATER_CONFIG_FLAGS
    assert DEFAULT_CONFIG_FLAGS == {"randomize_face_base": False, "randomize_face_gender_lock": False}
    assert LATER_CONFIG_FLAGS == {"crop_white_borders": False, "randomize_image_style": False}


def test_int_config_reads_its_seed_and_its_default_and_stores_whole_numbers():
    assert IntConfig.get_value("max_concurrent_tasks") == 1
    IntConfig.objects.all().delete()
    assert IntConfig.get_value("max_concurrent_tasks") == 1  # the default, when the row is gone
    assert IntConfig.get_value("unknown") is None
    IntConfig.set_value("max_concurrent_tasks", "4")
    assert IntConfig.get_value("max_concurrent_tasks") == 4


def test_settings_get_value_returns_the_default_for_a_missing_key():
    assert Settings.get_value("nope") is None
    assert Settings.get_value("nope", "fallback") == "fallback"


def test_settings_set_value_creates_then_updates_one_row_and_moves_updated_at():
    created = Settings.set_value("greeting", "hello")
    updated = Settings.set_value("greeting", "bonjour")
    assert Settings.objects.filter(key="greeting").count() == 1
    assert Settings.get_value("greeting") == "bonjour"
    assert updated.updated_at > created.updated_at
    assert Settings.objects.get(key="greeting").created_at == created.created_at


def test_config_get_value_defaults_to_false_and_honours_a_given_default():
    assert Config.get_value("unknown_flag") is False
    assert Config.get_value("unknown_flag", default=True) is True


def test_config_set_value_stores_booleans_and_keeps_one_row_per_key():
    Config.set_value("randomize_face_base", True)
    assert Config.get_value("randomize_face_base") is True
    Config.set_value("randomize_face_base", False)
    assert Config.get_value("randomize_face_base", default=True) is False
    assert Config.objects.filter(key="randomize_face_base").count() == 1


def test_every_default_prompt_names_its_platform_limit():
    limits = {"facebook": "101", "instagram": "150", "x": "160", "tiktok": "80"}
    for platform, limit in limits.items():
        assert limit in DEFAULT_BIO_PROMPTS[f"bio_prompt_{platform}"]
