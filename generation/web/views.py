"""The staff web app. Views stay thin: reads come from selectors, writes go through services."""

from __future__ import annotations

import uuid
from functools import partial

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.static import serve

from accounts.decorators import staff_required
from generation import selectors, services
from generation.costs import budgets as costs
from generation.integrations import languages, storage
from generation.models import ExportBuild, GenerationResult, GenerationTask
from generation.selectors import people
from generation.selectors.dashboard import dashboard as dashboard_figures
from generation.services import exports
from generation.web.forms import TaskForm
from generation.web.task_display import task_title


@require_GET
@staff_required
def task_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    page = selectors.task_list_page(request.user, status, request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "statuses": GenerationTask.Status.choices,
        "live": any(not task.is_finished for task in page.object_list),
    }
    if request.htmx:
        return render(request, "generation/_task_rows.html", context)
    return render(request, "generation/task_list.html", context)


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
    return render(request, "generation/task_new.html", {"form": form, "estimate": estimate_for(form)})


def estimate_for(form: TaskForm) -> costs.Estimate | None:
    """The estimate of what the form asks for, when its numbers are valid."""
    data = form.data if form.is_bound else form.initial
    try:
        number = int(data.get("number_to_generate") or form.fields["number_to_generate"].initial)
        images = int(data.get("images_per_persona") or form.fields["images_per_persona"].initial)
    except (TypeError, ValueError):
        return None
    if not 1 <= number <= settings.MAX_PERSONAS_PER_TASK or images not in GenerationTask.ImagesPerPersona.values:
        return None
    return costs.estimate(number, images)


@require_GET
@staff_required
def task_estimate(request: HttpRequest) -> HttpResponse:
    """The new-task form's estimate, asked for as the numbers change."""
    form = TaskForm(request.GET)
    return render(request, "generation/_estimate.html", {"estimate": estimate_for(form), "form": form})


def submit(request: HttpRequest, form: TaskForm) -> HttpResponse:
    """Submit the form's task; the same form posted again (the token is the form's) opens the task it made."""
    try:
        task = services.submit_task(user=request.user, **form.cleaned_data)
    except ValidationError as error:
        by_field = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        for field, problems in by_field.items():
            form.add_error(field if field in form.fields else None, problems)
        return render(request, "generation/task_new.html", {"form": form, "estimate": estimate_for(form)})
    count = task.number_to_generate
    messages.success(request, f"Submitted: {count} persona{pluralize(count)} on their way.")
    return redirect("task_detail", task_code=task.task_code)


def live_context(request: HttpRequest, task: GenerationTask) -> dict:
    """What the live part of the task page shows: the task's state, its steps and a page of the gallery."""
    filters = selectors.GalleryFilters.from_query(request.GET)
    state = selectors.task_state(task)
    page, cards = selectors.gallery_page(task, filters, request.GET.get("page"), total=state.with_data)
    return {
        "cost": costs.task_cost(task, state.with_images),
        "credentials": selectors.credentials_summary(task, state),
        "task": task,
        "state": state,
        "filters": filters,
        "page": page,
        "cards": cards,
        "page_numbers": selectors.page_numbers(page),
        "can_retry": task.status in (GenerationTask.Status.FAILED, GenerationTask.Status.CANCELLED) or state.stalled,
        "text_direction": languages.direction(task.bio_language),
        "text_lang": languages.code(task.bio_language),
        "asked": people.asked_people(task),
        "people": people.people_summary(task) if state.with_data else None,
    }


@require_GET
@staff_required
def task_detail(request: HttpRequest, task_code: str) -> HttpResponse:
    task = selectors.task_for(request.user, task_code)
    return render(request, "generation/task_detail.html", live_context(request, task))


@require_GET
@staff_required
def task_live(request: HttpRequest, task_code: str) -> HttpResponse:
    """The live part of the task page alone, which the page asks for every two seconds and morphs in place."""
    task = selectors.task_for(request.user, task_code)
    return render(request, "generation/_task_live.html", live_context(request, task) | {"partial": True})


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
            "duration_label": "Running for" if summary.running else "Ran for",
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
    return act_on_task(request, task_code, retry, "Running again: finished work is kept; only what is missing runs.")


@require_POST
@staff_required
def task_cancel(request: HttpRequest, task_code: str) -> HttpResponse:
    cancel = partial(services.cancel_task, by=request.user)
    return act_on_task(request, task_code, cancel, "Cancelled. Finished personas are kept.")


@require_POST
@staff_required
def task_generate_missing(request: HttpRequest, task_code: str) -> HttpResponse:
    return act_on_task(request, task_code, services.generate_missing, "Making the {outcome} missing persona(s).")


@require_http_methods(["GET", "POST"])
@staff_required
def task_delete(request: HttpRequest, task_code: str) -> HttpResponse:
    task = selectors.task_for(request.user, task_code)
    if request.method == "POST":
        try:
            removed = services.delete_task(task)
        except ValidationError as error:  # it runs: back to its page, which says so
            messages.error(request, " ".join(error.messages))
            return redirect("task_detail", task_code=task.task_code)
        messages.success(request, f"Deleted “{task_title(task)}”, with its personas and {removed} file(s).")
        return redirect("task_list")
    return render(request, "generation/task_confirm_delete.html", {"task": task, "count": task.results.count()})


PERSONA_ACTIONS = {
    "regenerate-photos": (services.regenerate_photos, "New photos of {name} are on their way."),
    "regenerate-bios": (services.regenerate_bios, "New bios of {name} are on their way."),
}


@require_POST
@staff_required
def persona_action(request: HttpRequest, task_code: str, result_id: int, action: str) -> HttpResponse:
    """An operator action on one persona of the gallery; back to where the user was, with what happened."""
    task = selectors.task_for(request.user, task_code)
    result = get_object_or_404(task.results, pk=result_id)
    back = back_to_gallery(request, task, result)
    try:
        if action == "delete":
            services.delete_persona(result)
            messages.success(request, f"Deleted {result.full_name} and their images.")
            return redirect(back.split("#")[0])
        if action == "regenerate-photo":
            position = int(request.POST.get("position", "0"))
            services.regenerate_image(result, position)
            messages.success(request, f"A new photo {position} of {result.full_name} is on its way.")
        elif action in PERSONA_ACTIONS:
            service, done = PERSONA_ACTIONS[action]
            service(result)
            messages.success(request, done.format(name=result.full_name))
        else:
            raise Http404("No such action.")
    except (ValidationError, ValueError) as error:
        problems = error.messages if isinstance(error, ValidationError) else ["That photo number is not valid."]
        messages.error(request, " ".join(problems))
    return redirect(back)


def back_to_gallery(request: HttpRequest, task: GenerationTask, result: GenerationResult) -> str:
    """The task page with the gallery's filters and page the form came from, at the persona's card."""
    posted = QueryDict(request.POST.get("gallery_query", ""))
    query = selectors.GalleryFilters.from_query(posted).query()
    page = posted.get("page", "")
    if page.isdigit():
        query = f"{query}&page={page}" if query else f"page={page}"
    path = reverse("task_detail", kwargs={"task_code": task.task_code})
    return f"{path}?{query}#persona-{result.pk}" if query else f"{path}#persona-{result.pk}"


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


EXPORT_RETRY_SECONDS = 2


def prepared_zip(build: ExportBuild, filename: str) -> HttpResponse | None:
    """A presigned S3 link to the prepared ZIP, or the local file; None when a newer build replaced it just now
    (the next request finds that one)."""
    link = storage.download_link(build.key, filename)
    if link:
        response = redirect(link)
    else:
        try:
            stored = storage.open_file(build.key)
        except FileNotFoundError:
            return None
        response = FileResponse(stored, as_attachment=True, filename=filename, content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@staff_required
def export_zip(request: HttpRequest, task_code: str) -> HttpResponse:
    """The ZIP once prepared (a presigned S3 link, or the local file); until then a 202 that says so, with
    Retry-After for programs, and for a browser a page that asks `export_zip_status` until a link is ready."""
    task = selectors.task_for(request.user, task_code)
    build = services.request_export(task)
    filename = exports.export_filename(task, "zip")
    if build.state == ExportBuild.State.READY and (response := prepared_zip(build, filename)):
        return response
    if "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"state": ExportBuild.State.PREPARING, "retry_after": EXPORT_RETRY_SECONDS}, status=202)
    else:
        context = {"task": task, "count": task.results.count(), "retry_after": EXPORT_RETRY_SECONDS}
        response = render(request, "generation/export_preparing.html", context, status=202)
    response["Retry-After"] = str(EXPORT_RETRY_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@staff_required
def export_zip_status(request: HttpRequest, task_code: str) -> HttpResponse:
    """What the preparing page polls: nothing to change (204) while the ZIP is prepared, then the link to it. The
    page itself stays put, so focus and a screen reader's place are kept, and its live region says "Ready"."""
    task = selectors.task_for(request.user, task_code)
    build = services.request_export(task)
    if build.state != ExportBuild.State.READY:
        response = HttpResponse(status=204)
    else:
        response = render(request, "generation/_export_ready.html", {"task": task, "build": build})
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@staff_required
def export_persona_zip(request: HttpRequest, task_code: str, result_id: int) -> StreamingHttpResponse:
    task = selectors.task_for(request.user, task_code)
    result = get_object_or_404(task.results, pk=result_id)
    return streamed(exports.persona_zip(result), "application/zip", exports.persona_filename(result))


@require_GET
@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "generation/dashboard.html", {"board": dashboard_figures(request.user)})


@require_GET
@staff_required
def media_file(request: HttpRequest, path: str) -> HttpResponse:
    """Local media served by Django itself (SERVE_MEDIA): a persona's files, to the people who may see its task.
    Nothing else under MEDIA_ROOT: a prepared ZIP goes out through its task's export view."""
    task_code = storage.task_code_of(path)
    if task_code is None:
        raise Http404("No such file.")
    selectors.task_for(request.user, task_code)
    return serve(request, path, document_root=settings.MEDIA_ROOT)
