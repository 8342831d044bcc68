"""How tasks and images are named and shown on the pages: people know a task by what it asked for, not its code."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from generation.models import GenerationTask
from generation.selectors.progress import headline, is_short, progress_percent

register = template.Library()

TITLE_CHARACTERS = 80


@register.filter
def task_title(task: GenerationTask, length: int = TITLE_CHARACTERS) -> str:
    """The first line of the description, cut at a word: "Beekeepers in the Jura who sell honey…"."""
    lines = (task.persona_description or "").strip().splitlines()
    first = " ".join(lines[0].split()) if lines else ""
    return Truncator(first).chars(int(length)) if first else f"Task {task.task_code}"


@register.filter
def email_breaks(email: str) -> str:
    """The address split where it may wrap (after "@" and dots), never mid-word; HTML-escaped."""
    text = escape(email or "")
    return mark_safe(text.replace("@", "@<wbr>").replace(".", ".<wbr>"))


@register.filter
def gallery_query(filters, change: str) -> str:
    """The gallery's query string with one filter changed ("gender=f"), or as it is (""). A new filter starts again
    at page 1, so the page is left out."""
    if not change:
        return filters.query()
    key, _, value = change.partition("=")
    return filters.query(**{key: value})


@register.filter
def task_percent(task: GenerationTask) -> int:
    """For a task of the list, annotated by selectors.tasks_with_progress."""
    return progress_percent(task.number_to_generate, task.personas_with_data, task.personas_done)


@register.filter
def task_is_short(task: GenerationTask) -> bool:
    return is_short(task, task.personas_done)


@register.filter
def task_headline(task: GenerationTask) -> str:
    return headline(task, task.personas_done)
