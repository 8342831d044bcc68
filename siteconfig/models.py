"""Key-value tables: `settings` holds the text bio prompts, `config` the boolean feature flags and `int_config` the
integer settings. All three have the same shape and helpers; only the value's type differs."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.functions import Now

from siteconfig.defaults import DEFAULT_INT_CONFIG


class KeyValue(models.Model):
    key = models.CharField(max_length=255)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    default_value: Any = None

    class Meta:
        abstract = True
        ordering = ["key"]
        constraints = [
            # Every read is a lookup by key: ix_settings_key, ix_config_key, ix_int_config_key.
            models.UniqueConstraint(
                fields=["key"], name="ix_%(class)s_key", violation_error_message="This key is taken already."
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @classmethod
    def get_value(cls, key: str, default: Any = None) -> Any:
        value = cls.objects.filter(key=key).values_list("value", flat=True).first()
        if value is not None:
            return value
        return cls.default_value if default is None else default

    @classmethod
    def set_value(cls, key: str, value: Any) -> KeyValue:
        row, _ = cls.objects.update_or_create(key=key, defaults={"value": value})
        return row


class Settings(KeyValue):
    """`settings`: text values by key; today the four bio prompts."""

    value = models.TextField()

    class Meta(KeyValue.Meta):
        db_table = "settings"
        verbose_name = "bio prompt"
        verbose_name_plural = "bio prompts"

    @classmethod
    def get_value(cls, key: str, default: str | None = None) -> str | None:
        return super().get_value(key, default)


class Config(KeyValue):
    """`config`: global boolean flags by key; a missing flag reads as False."""

    value = models.BooleanField()
    default_value = False

    class Meta(KeyValue.Meta):
        db_table = "config"
        verbose_name = "config flag"
        verbose_name_plural = "config flags"

    @classmethod
    def get_value(cls, key: str, default: bool = False) -> bool:
        return super().get_value(key, default)

    @classmethod
    def set_value(cls, key: str, value: bool) -> Config:
        return super().set_value(key, bool(value))


class IntConfig(KeyValue):
    """`int_config`: whole-number settings by key (the original app's last revisions); today how many tasks may run
    at once. A missing key reads as its default in siteconfig.defaults."""

    value = models.IntegerField()

    class Meta(KeyValue.Meta):
        db_table = "int_config"
        verbose_name = "integer setting"
        verbose_name_plural = "integer settings"
        constraints = [  # the table's name has an underscore its class's lacks
            models.UniqueConstraint(
                fields=["key"], name="ix_int_config_key", violation_error_message="This key is taken already."
            ),
        ]

    @classmethod
    def get_value(cls, key: str, default: int | None = None) -> int | None:
        return super().get_value(key, DEFAULT_INT_CONFIG.get(key) if default is None else default)

    @classmethod
    def set_value(cls, key: str, value: int) -> IntConfig:
        return super().set_value(key, int(value))
