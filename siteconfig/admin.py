from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from generation.integrations.backends import PersonaRequest, Skeleton
from generation.integrations.prompts import persona_messages
from generation.pipeline.personas import bio_prompts
from siteconfig.defaults import CONFIG_FLAG_HELP, DEFAULT_BIO_PROMPTS, INT_CONFIG_HELP, INT_CONFIG_RANGES
from siteconfig.models import Config, IntConfig, Settings
from siteconfig.services import reseed_prompts

# The request the preview shows the prompts within: an ordinary one, as a person would type it.
SAMPLE_DESCRIPTION = "Amateur cyclists in their thirties who live in Lyon"
SAMPLE_LANGUAGE = "French"
SAMPLE_NAMES = (("Camille", "Martin"), ("Julien", "Bernard"))
PREVIEW_STYLE = "white-space:pre-wrap;max-width:60em;margin:0 0 8px;font-size:12px"


def platform_of(key: str) -> str:
    return key.removeprefix("bio_prompt_")


@admin.register(Settings)
class BioPromptAdmin(admin.ModelAdmin):
    """The four platform prompts. They are edited, never added or deleted: the pipeline asks for exactly these
    four keys, so a new key would be read by nothing and a deleted one would silently fall back to its default."""

    list_display = ("key", "preview", "length", "updated_at")
    search_fields = ("key", "value")
    readonly_fields = ("created_at", "updated_at", "model_preview")
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 16, "cols": 100, "style": "font-family: monospace"})}
    }
    actions = ("restore_defaults",)
    fieldsets = (
        (None, {"fields": ("key", "value")}),
        (
            "What the model is sent",
            {
                "fields": ("model_preview",),
                "description": "As saved: save your edits to see them here.",
            },
        ),
        (None, {"fields": ("created_at", "updated_at")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Settings | None = None) -> bool:
        # A key of our own (none today) may go; the four platform prompts may not.
        return obj is not None and obj.key not in DEFAULT_BIO_PROMPTS and super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Settings | None = None) -> tuple[str, ...]:
        # Renaming a key would silently detach the prompt from its platform.
        return (*self.readonly_fields, "key") if obj else self.readonly_fields

    def get_urls(self):
        restore = self.admin_site.admin_view(require_POST(self.restore_default_view))
        return [
            path("<path:object_id>/restore-default/", restore, name="siteconfig_settings_restore_default"),
            *super().get_urls(),
        ]

    def render_change_form(self, request: HttpRequest, context: dict, add=False, change=False, form_url="", obj=None):
        """The change form template (admin/siteconfig/settings/change_form.html) offers "Restore default" when the
        prompt has a default and differs from it."""
        default = DEFAULT_BIO_PROMPTS.get(obj.key) if obj else None
        context |= {"has_default": default is not None, "is_default": default is not None and obj.value == default}
        return super().render_change_form(request, context, add, change, form_url, obj)

    def restore_default_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        """Put back the default text of one prompt (the same write as `reseed_prompts --force --platform P`)."""
        prompt = self.get_object(request, object_id)
        if prompt is None:
            raise Http404("No such bio prompt.")
        if not self.has_change_permission(request, prompt):
            raise PermissionDenied
        change_url = reverse("admin:siteconfig_settings_change", args=[prompt.pk])
        if prompt.key not in DEFAULT_BIO_PROMPTS:
            self.message_user(request, f"{prompt.key} has no default text.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        (outcome,) = reseed_prompts(force=True, platforms=[platform_of(prompt.key)])
        if outcome.action == "replaced":
            self.message_user(request, f"Restored the default text of {prompt.key}.", messages.SUCCESS)
        else:
            self.message_user(request, f"{prompt.key} already had its default text.", messages.INFO)
        return HttpResponseRedirect(change_url)

    @admin.display(description="prompt")
    def preview(self, obj: Settings) -> str:
        return Truncator(obj.value).chars(90)

    @admin.display(description="characters")
    def length(self, obj: Settings) -> int:
        return len(obj.value)

    @admin.display(description="messages of one batch")
    def model_preview(self, obj: Settings) -> str:
        """The chat messages a batch of personas is asked with, built by the pipeline's own code from the prompts as
        saved, for a sample request: what this prompt reads like in place, beside the others and the framing."""
        if obj.pk is None:
            return "—"
        people = tuple(
            Skeleton(n, "fm"[n % 2], 30 + n, *SAMPLE_NAMES[n % 2]) for n in range(settings.PERSONAS_PER_BATCH)
        )
        request = PersonaRequest(
            description=SAMPLE_DESCRIPTION,
            language=SAMPLE_LANGUAGE,
            count=settings.PERSONAS_PER_BATCH,
            bio_prompts=bio_prompts(),
            people=people,
            country="France",
            photo_ideas=4,
        )
        system, user = persona_messages(request)
        return format_html(
            '<p style="margin:0 0 4px">For a sample request: “{}”, bios in {}, a batch of {} personas. The answer is '
            "held to a JSON schema (one object per persona: its name, gender and age as drawn, its profile, look, "
            "interests, four photo ideas and a bio per platform).</p>"
            '<p style="margin:0"><strong>System</strong></p><pre style="{}">{}</pre>'
            '<p style="margin:0"><strong>User</strong></p><pre style="{}">{}</pre>',
            SAMPLE_DESCRIPTION, SAMPLE_LANGUAGE, request.count, PREVIEW_STYLE, system["content"], PREVIEW_STYLE,
            user["content"],
        )  # fmt: skip

    @admin.action(permissions=["change"], description="Restore the default text of the selected prompts")
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
    list_display = ("key", "value", "explanation", "updated_at")
    list_editable = ("value",)
    list_filter = ("value",)
    search_fields = ("key",)
    readonly_fields = ("created_at", "updated_at")
    actions = ("turn_on", "turn_off")

    def get_readonly_fields(self, request: HttpRequest, obj: Config | None = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "key") if obj else self.readonly_fields

    def get_form(self, request: HttpRequest, obj: Config | None = None, change: bool = False, **kwargs):
        """The flag's explanation as the help text of its box on the change page."""
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and "value" in form.base_fields:
            form.base_fields["value"].help_text = CONFIG_FLAG_HELP.get(obj.key, "")
        return form

    def get_changelist_form(self, request: HttpRequest, **kwargs):
        """Each row's tick box is named after its flag, for screen readers (the list shows no label beside it)."""
        base = super().get_changelist_form(request, **kwargs)

        class FlagRowForm(base):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, **form_kwargs)
                if self.instance.pk:
                    self.fields["value"].widget.attrs["aria-label"] = f"{self.instance.key}: on"

        return FlagRowForm

    @admin.display(description="what it does")
    def explanation(self, obj: Config) -> str:
        return CONFIG_FLAG_HELP.get(obj.key, "—")

    @admin.action(permissions=["change"], description="Turn selected flags on")
    def turn_on(self, request: HttpRequest, queryset: QuerySet[Config]) -> None:
        self._set(request, queryset, True)

    @admin.action(permissions=["change"], description="Turn selected flags off")
    def turn_off(self, request: HttpRequest, queryset: QuerySet[Config]) -> None:
        self._set(request, queryset, False)

    def _set(self, request: HttpRequest, queryset: QuerySet[Config], value: bool) -> None:
        count = queryset.update(value=value, updated_at=timezone.now())
        self.message_user(request, f"Turned {count} flag(s) {'on' if value else 'off'}.", messages.SUCCESS)


class IntConfigForm(forms.ModelForm):
    """A value outside its setting's range is refused with the range named, never stored."""

    class Meta:
        model = IntConfig
        fields = ("key", "value")

    def clean(self) -> dict:
        cleaned = super().clean()
        key = cleaned.get("key") or self.instance.key
        value = cleaned.get("value")
        if value is not None and key in INT_CONFIG_RANGES:
            low, high = INT_CONFIG_RANGES[key]
            if not low <= value <= high:
                self.add_error("value", f"{key} must be a whole number from {low} to {high}.")
        return cleaned


@admin.register(IntConfig)
class IntConfigAdmin(admin.ModelAdmin):
    """Whole-number settings (`int_config`). Their keys are the ones the code reads, so they are edited, not added:
    a new key would be read by nothing."""

    form = IntConfigForm
    list_display = ("key", "value", "allowed", "explanation", "updated_at")
    list_editable = ("value",)
    search_fields = ("key",)
    readonly_fields = ("created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: IntConfig | None = None) -> bool:
        return obj is not None and obj.key not in INT_CONFIG_RANGES and super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: IntConfig | None = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "key") if obj else self.readonly_fields

    def get_form(self, request: HttpRequest, obj: IntConfig | None = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and "value" in form.base_fields:
            form.base_fields["value"].help_text = INT_CONFIG_HELP.get(obj.key, "")
        return form

    def get_changelist_form(self, request: HttpRequest, **kwargs):
        """The list's boxes are checked as the change page's are, and named after their setting for screen readers."""
        base = super().get_changelist_form(request, form=IntConfigForm, **kwargs)

        class IntConfigRowForm(base):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, **form_kwargs)
                if self.instance.pk:
                    self.fields["value"].widget.attrs["aria-label"] = f"{self.instance.key}: value"

        return IntConfigRowForm

    @admin.display(description="allowed")
    def allowed(self, obj: IntConfig) -> str:
        low, high = INT_CONFIG_RANGES.get(obj.key, (None, None))
        return f"{low} to {high}" if low is not None else "any whole number"

    @admin.display(description="what it does")
    def explanation(self, obj: IntConfig) -> str:
        return INT_CONFIG_HELP.get(obj.key, "—")
