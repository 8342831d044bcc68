from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import Truncator

from siteconfig.defaults import DEFAULT_BIO_PROMPTS
from siteconfig.models import Config, Settings


@admin.register(Settings)
class BioPromptAdmin(admin.ModelAdmin):
    list_display = ("key", "preview", "length", "updated_at")
    search_fields = ("key", "value")
    readonly_fields = ("created_at", "updated_at")
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 16, "cols": 100, "style": "font-family: monospace"})}
    }
    actions = ("restore_defaults",)

    def get_readonly_fields(self, request: HttpRequest, obj: Settings | None = None) -> tuple[str, ...]:
        # Renaming a key would silently detach the prompt from its platform.
        return (*self.readonly_fields, "key") if obj else self.readonly_fields

    @admin.display(description="prompt")
    def preview(self, obj: Settings) -> str:
        return Truncator(obj.value).chars(90)

    @admin.display(description="characters")
    def length(self, obj: Settings) -> int:
        return len(obj.value)

    @admin.action(description="Restore the default text of the selected prompts")
    def restore_defaults(self, request: HttpRequest, queryset: QuerySet[Settings]) -> None:
        restored = 0
        for setting in queryset.filter(key__in=DEFAULT_BIO_PROMPTS):
            if setting.value != DEFAULT_BIO_PROMPTS[setting.key]:
                setting.value = DEFAULT_BIO_PROMPTS[setting.key]
                setting.save(update_fields=["value", "updated_at"])
                restored += 1
        self.message_user(request, f"Restored {restored} prompt(s) to their default text.", messages.SUCCESS)


@admin.register(Config)
class ConfigAdmin(admin.ModelAdmin):
    list_display = ("key", "value", "updated_at")
    list_editable = ("value",)
    list_filter = ("value",)
    search_fields = ("key",)
    readonly_fields = ("created_at", "updated_at")
    actions = ("turn_on", "turn_off")

    def get_readonly_fields(self, request: HttpRequest, obj: Config | None = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "key") if obj else self.readonly_fields

    @admin.action(description="Turn selected flags on")
    def turn_on(self, request: HttpRequest, queryset: QuerySet[Config]) -> None:
        self._set(request, queryset, True)

    @admin.action(description="Turn selected flags off")
    def turn_off(self, request: HttpRequest, queryset: QuerySet[Config]) -> None:
        self._set(request, queryset, False)

    def _set(self, request: HttpRequest, queryset: QuerySet[Config], value: bool) -> None:
        count = queryset.update(value=value, updated_at=timezone.now())
        self.message_user(request, f"Turned {count} flag(s) {'on' if value else 'off'}.", messages.SUCCESS)
