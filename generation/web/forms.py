import uuid
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from generation.costs import budgets as costs
from generation.integrations import countries, languages
from generation.models import DEFAULT_AGES, OLDEST, YOUNGEST, GenerationTask, TaskRequest
from generation.services.requests import DESCRIPTION_MAX, MINORS_REFUSED
from siteconfig.defaults import BUDGET_DIGITS, BUDGET_PLACES, MOST_USD


def age_field(label: str, initial: int, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        initial=initial,
        min_value=YOUNGEST,
        max_value=OLDEST,
        error_messages={"min_value": MINORS_REFUSED, "invalid": "Enter a whole number."},
        help_text=help_text,
    )


class TaskForm(forms.Form):
    """The new-task form. Its values are checked again by `services.submit_task`, which is the
    single write path; this form only gives each field its widget and its message."""

    persona_description = forms.CharField(
        label="Persona description",
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 6, "data-counter": "description-counter"}),
        help_text="Who these people are: age, place, work, interests, style. The more specific, the better.",
    )
    bio_language = forms.ChoiceField(
        label="Language of the bios",
        choices=[(language.name, languages.label(language)) for language in languages.LANGUAGES],
        initial="English",
    )
    age_min = age_field("Youngest age", DEFAULT_AGES[0])
    age_max = age_field(
        "Oldest age",
        DEFAULT_AGES[1],
        help_text=f"Everyone is an adult: ages from {YOUNGEST} to {OLDEST}, spread across the range.",
    )
    gender = forms.ChoiceField(
        label="Gender",
        required=False,
        choices=TaskRequest.Gender.choices,
        initial=TaskRequest.Gender.MIXED,
        widget=forms.RadioSelect,
        help_text="A mix is as even as the number allows.",
    )
    country = forms.ChoiceField(
        label="Where they live",
        required=False,
        choices=[("", "The bio language's country"), *countries.choices()],
        help_text="Names, towns and jobs come from here.",
    )
    number_to_generate = forms.IntegerField(
        label="Number of personas",
        min_value=1,
        initial=10,
        error_messages={"min_value": "Choose at least 1 persona.", "invalid": "Enter a whole number."},
    )
    images_per_persona = forms.TypedChoiceField(
        label="Images per persona",
        choices=GenerationTask.ImagesPerPersona.choices,
        coerce=int,
        initial=4,
        widget=forms.RadioSelect,
    )
    budget_usd = forms.DecimalField(
        label="Budget for this task (USD)",
        required=False,
        min_value=Decimal(0),
        max_digits=BUDGET_DIGITS,
        decimal_places=BUDGET_PLACES,
        error_messages={
            "invalid": "Enter an amount in dollars, e.g. 12.50.",
            "min_value": "The budget cannot be negative: enter 0 or more, or leave it empty for the default.",
            "max_digits": f"The budget can be at most ${MOST_USD:,.2f} a task.",
            "max_whole_digits": f"The budget can be at most ${MOST_USD:,.2f} a task.",
        },
    )
    # One token per rendered form: a second POST of the same form (double click, reload) finds the
    # task the first one made instead of making another.
    submission_token = forms.UUIDField(widget=forms.HiddenInput)
    TOKEN_PROBLEM = (
        "This form arrived without its submission token (an old page, or something changed it on the way), so "
        "nothing was submitted. Check the values below and submit again."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        maximum = settings.MAX_PERSONAS_PER_TASK
        field = self.fields["number_to_generate"]
        field.max_value = maximum
        field.widget.attrs["max"] = maximum
        field.validators.append(MaxValueValidator(maximum, f"Choose a number of personas from 1 to {maximum}."))
        field.help_text = f"From 1 to {maximum}."
        ceiling = costs.task_ceiling()
        budget = self.fields["budget_usd"]
        budget.widget.attrs.update({"min": "0", "max": str(MOST_USD), "step": "0.01"})
        if ceiling is not None:
            budget.max_value = ceiling
            budget.validators.append(MaxValueValidator(ceiling, f"The budget can be at most ${ceiling:.2f} a task."))
            budget.widget.attrs.update({"max": str(ceiling), "placeholder": f"{ceiling:.2f}"})
            budget.help_text = (
                f"The task stops when it has spent this much. At most ${ceiling:.2f}; empty: that. 0: no paid call."
            )
        else:
            budget.help_text = "The task stops when it has spent this much. Empty: no cap. 0: no paid call."

    def clean(self):
        """Left out (an older page, a script), the people fields take their defaults."""
        cleaned = super().clean()
        for name, default in (("age_min", DEFAULT_AGES[0]), ("age_max", DEFAULT_AGES[1]), ("gender", "mixed")):
            if name in cleaned and cleaned[name] in (None, ""):
                cleaned[name] = default
        youngest, oldest = cleaned.get("age_min"), cleaned.get("age_max")
        if youngest is not None and oldest is not None and youngest > oldest:
            self.add_error("age_min", "The youngest age cannot be above the oldest.")
        return cleaned

    def renew_token_if_lost(self) -> bool:
        """When the hidden token was missing or malformed: say so where the person sees it, and give the form a new
        token, so that the next submit goes through. True when it did."""
        if "submission_token" not in self.errors:
            return False
        del self.errors["submission_token"]
        self.data = self.data.copy()
        self.data["submission_token"] = str(uuid.uuid4())
        self.add_error(None, self.TOKEN_PROBLEM)
        return True
