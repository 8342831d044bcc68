"""The staff web app. Views stay thin: reads come from selectors, writes go through services."""

from __future__ import annotations

import uuid
from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import staff_required
from generation import exports, selectors, services
from generation.forms import TaskForm
from generation.models import GenerationTask
from generation.pipeline import lifecycle

TASKS_PER_PAGE = 25
PERSONAS_PER_PAGE = 24
SUBMITTED_TOKENS = "submitted_task_tokens"


@require_GET
@staff_required
def task_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    page = Paginator(selectors.task_list(request.user, status), TASKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "generation/task_list.html",
        {"page": page, "status": status, "statuses": GenerationTask.Status.choices},
    )


@require_http_methods(["GET", "POST"])
@staff_required
def task_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = TaskForm(request.POST)
        if form.is_valid():
            return submit(request, form)
        form.renew_token_if_lost()
    else:
        form = TaskForm(
            initial={
                "bio_language": selectors.last_language(request.user) or "English",
                "submission_token": uuid.uuid4(),
            }
        )
    return render(request, "generation/task_new.html", {"form": form})


def submit(request: HttpRequest, form: TaskForm) -> HttpResponse:
    token = str(form.cleaned_data["submission_token"])
    already = request.session.get(SUBMITTED_TOKENS, {}).get(token)
    if already:
        return redirect("task_detail", task_code=already)
    values = {k: v for k, v in form.cleaned_data.items() if k != "submission_token"}
    try:
        task = services.submit_task(user=request.user, **values)
    except ValidationError as error:
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
        return render(request, "generation/task_new.html", {"form": form})
    tokens = request.session.get(SUBMITTED_TOKENS, {})
    tokens[token] = task.task_code
    request.session[SUBMITTED_TOKENS] = dict(list(tokens.items())[-50:])
    messages.success(request, f"Task {task.task_code} submitted: {task.number_to_generate} persona(s) on their way.")
    return redirect("task_detail", task_code=task.task_code)


@require_GET
@staff_required
def task_detail(request: HttpRequest, task_code: str) -> HttpResponse:
    task = selectors.task_for(request.user, task_code)
    return render(
        request,
        "generation/task_detail.html",
        {
            "task": task,
            "progress": selectors.task_progress(task.pk),
            "summary": selectors.task_summary(task),
            "face_summary": selectors.face_summary(task),
            "page": gallery_page(request, task),
            "can_retry": task.status == GenerationTask.Status.FAILED or lifecycle.is_stalled(task),
        },
    )


def gallery_page(request: HttpRequest, task: GenerationTask):
    return Paginator(task.results.order_by("id"), PERSONAS_PER_PAGE).get_page(request.GET.get("page"))


@require_GET
@staff_required
def task_gallery(request: HttpRequest, task_code: str) -> HttpResponse:
    """The gallery alone, for the task page to refresh it in place."""
    task = selectors.task_for(request.user, task_code)
    return render(request, "generation/_gallery.html", {"task": task, "page": gallery_page(request, task)})


@require_GET
@staff_required
def task_progress(request: HttpRequest, task_code: str) -> JsonResponse:
    task = selectors.task_for(request.user, task_code)
    progress = selectors.task_progress(task.pk)
    summary = selectors.task_summary(task)
    return JsonResponse(
        {
            "status": progress.status,
            "status_label": GenerationTask.Status(progress.status).label,
            "asked": progress.asked,
            "with_data": progress.with_data,
            "with_images": progress.with_images,
            "failed_units": progress.failed_units,
            "finished": progress.finished,
            "duration": summary.duration,
            "duration_label": "Elapsed" if summary.running else "Duration",
            "women": summary.genders["Women"],
            "men": summary.genders["Men"],
        }
    )


def act_on_task(request: HttpRequest, task_code: str, action, done: str) -> HttpResponse:
    """Run a service on the user's task and report back in a message; a refusal is shown, not raised."""
    task = selectors.task_for(request.user, task_code)
    try:
        outcome = action(task)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done.format(task=task, outcome=outcome))
    return redirect("task_detail", task_code=task.task_code)


@require_POST
@staff_required
def task_retry(request: HttpRequest, task_code: str) -> HttpResponse:
    retry = partial(services.retry_task, by=request.user)
    return act_on_task(request, task_code, retry, "Retrying: {outcome} unit(s) queued again. Finished work is kept.")


@require_POST
@staff_required
def task_cancel(request: HttpRequest, task_code: str) -> HttpResponse:
    cancel = partial(services.cancel_task, by=request.user)
    return act_on_task(request, task_code, cancel, "Task {task.task_code} cancelled.")


@require_http_methods(["GET", "POST"])
@staff_required
def task_delete(request: HttpRequest, task_code: str) -> HttpResponse:
    task = selectors.task_for(request.user, task_code)
    if request.method == "POST":
        removed = services.delete_task(task)
        messages.success(request, f"Task {task_code} deleted, with its personas and {removed} file(s).")
        return redirect("task_list")
    return render(request, "generation/task_confirm_delete.html", {"task": task, "count": task.results.count()})


def streamed(chunks, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@staff_required
def export_csv(request: HttpRequest, task_code: str) -> StreamingHttpResponse:
    task = selectors.task_for(request.user, task_code)
    return streamed(exports.csv_rows(task), "text/csv; charset=utf-8", exports.export_filename(task, "csv"))


@require_GET
@staff_required
def export_json(request: HttpRequest, task_code: str) -> StreamingHttpResponse:
    task = selectors.task_for(request.user, task_code)
    return streamed(exports.json_document(task), "application/json", exports.export_filename(task, "json"))


@require_GET
@staff_required
def export_zip(request: HttpRequest, task_code: str) -> StreamingHttpResponse:
    task = selectors.task_for(request.user, task_code)
    return streamed(exports.zip_archive(task), "application/zip", exports.export_filename(task, "zip"))
