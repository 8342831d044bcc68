import sys
import time
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User, normalize_email
from generation.costs import budgets as costs
from generation.integrations import storage
from generation.models import GenerationTask
from generation.pipeline.stages import run_inline
from generation.selectors import task_progress
from generation.services import submit_task


class Command(BaseCommand):
    help = "Submit a generation task; --wait follows the workers until it ends, --sync runs it here with no worker."

    def add_arguments(self, parser):
        parser.add_argument("description", help="Who the personas are.")
        parser.add_argument("--count", type=int, default=5, help="How many personas (default 5).")
        parser.add_argument(
            "--images", type=int, default=4, choices=GenerationTask.ImagesPerPersona.values, help="Images per persona."
        )
        parser.add_argument("--language", default="English", help="Language of the bios (default English).")
        parser.add_argument("--ages", default="20-60", help="Age range, e.g. 25-34 (18 to 90; default 20-60).")
        parser.add_argument(
            "--gender", default="mixed", choices=["f", "m", "mixed"], help="Women, men or a mix (default mixed)."
        )
        parser.add_argument("--country", default="", help="Where they live, as a two-letter code (e.g. PT).")
        parser.add_argument("--seed", help="The seed the personas' names, genders and ages are drawn from.")
        parser.add_argument("--user", help="Email of the owner (default: the first active superuser).")
        parser.add_argument(
            "--budget", help="The task's own cap in USD (default and most: TASK_BUDGET_USD; 0: no paid call)."
        )
        parser.add_argument("--yes", action="store_true", help="Do not ask before an expensive task.")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--wait", action="store_true", help="Follow the background workers until the task ends.")
        mode.add_argument("--sync", action="store_true", help="Run the whole pipeline in this process.")

    def handle(self, *args, description, count, images, language, user, budget, yes, wait, sync, **options):
        owner = self.owner(user)
        youngest, _, oldest = options["ages"].partition("-")
        people = {"age_min": youngest, "age_max": oldest or youngest, "gender": options["gender"],
                  "country": options["country"], "seed": options["seed"]}  # fmt: skip
        if 1 <= count <= settings.MAX_PERSONAS_PER_TASK:
            guess = costs.estimate(count, images)
            self.stdout.write(
                f"Estimate: {guess.label}, about {guess.time_label} of work ({guess.calls_label or 'no call'})."
            )
            if guess.usd > Decimal(str(settings.CONFIRM_ABOVE_USD)) and not yes and sys.stdin.isatty():
                # Only a person at a terminal is asked: a script or a pipe is never blocked.
                answer = input(f"This is above ${settings.CONFIRM_ABOVE_USD:.2f}. Submit it? [y/N] ")
                if answer.strip().lower() not in ("y", "yes"):
                    raise CommandError("Not submitted.")
        try:
            task = submit_task(
                user=owner,
                persona_description=description,
                bio_language=language,
                number_to_generate=count,
                images_per_persona=images,
                budget_usd=budget,
                **people,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(f"Task {task.task_code}: {count} persona(s) x {images} images, bios in {language}.")
        if sync:
            run_inline(task)
        elif wait:
            self.follow(task)
        else:
            self.stdout.write("Queued; run `manage.py qcluster` to process it.")
            return
        task.refresh_from_db()
        self.report(task)
        if task.status in (GenerationTask.Status.FAILED, GenerationTask.Status.CANCELLED):
            sys.exit(1)

    def owner(self, email: str | None) -> User:
        users = User.objects.filter(is_active=True)
        found = users.filter(email=normalize_email(email)).first() if email else users.filter(is_superuser=True).first()
        if found is None:
            raise CommandError(
                f"No active user {email}." if email else "No active superuser: pass --user or run ensure_superuser."
            )
        if not found.is_staff:
            raise CommandError(f"{found.email} is not staff, so they could not see the task: choose a staff user.")
        return found

    def follow(self, task: GenerationTask) -> None:
        while True:
            progress = task_progress(task.pk)
            self.stdout.write("\r" + progress.bar(width=30), ending="")
            self.stdout.flush()
            if progress.finished:
                self.stdout.write("")
                return
            time.sleep(1)

    def report(self, task: GenerationTask) -> None:
        progress = task_progress(task.pk)
        self.stdout.write(f"Status: {task.status}. {progress.summary()}")
        if task.error_log:
            self.stdout.write("Log:\n  " + task.error_log.replace("\n", "\n  "))
        location = settings.STORAGES["default"]["OPTIONS"].get("bucket_name") or settings.MEDIA_ROOT
        self.stdout.write(f"Images: {location}/{storage.task_prefix(task.task_code)}")
        for result in task.results.all()[:10]:
            about = f", {result.headline}" if result.headline else ""
            self.stdout.write(f"  {result.full_name} ({result.gender}{about}): {result.base_image_url}")
            for url in result.images or []:
                self.stdout.write(f"      {url}")
