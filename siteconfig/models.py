"""Key-value tables: `settings` holds the text bio prompts, `config` the boolean feature flags."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class Settings(models.Model):
    """`settings`: text values by key; today the four bio prompts."""

    key = models.CharField(max_length=255)
    value = models.TextField()
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "settings"
        ordering = ["key"]
        verbose_name = "bio prompt"
        verbose_name_plural = "bio prompts"
        constraints = [
            # Every read is a lookup by key.
            models.UniqueConstraint(
                fields=["key"],
                name="ix_settings_key",
                violation_error_message="A setting with this key already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @classmethod
    def get_value(cls, key: str, default: str | None = None) -> str | None:
        value = cls.objects.filter(key=key).values_list("value", flat=True).first()
        return default if value is None else value

    @classmethod
    def set_value(cls, key: str, value: str) -> Settings:
        setting, _ = cls.objects.update_or_create(key=key, defaults={"value": value})
        return setting


class Config(models.Model):
    """`config`: global boolean flags by key."""

    key = models.CharField(max_length=255)
    value = models.BooleanField()
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "config"
        ordering = ["key"]
        verbose_name = "config flag"
        verbose_name_plural = "config flags"
        constraints = [
            # Every read is a lookup by key.
            models.UniqueConstraint(
                fields=["key"], name="ix_config_key", violation_error_message="A flag with this key already exists."
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @classmethod
    def get_value(cls, key: str, default: bool = False) -> bool:
        value = cls.objects.filter(key=key).values_list("value", flat=True).first()
        return default if value is None else value

    @classmethod
    def set_value(cls, key: str, value: bool) -> Config:
        flag, _ = cls.objects.update_or_create(key=key, defaults={"value": bool(value)})
        return flag
