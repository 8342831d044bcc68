from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from generation import selectors, services


class Command(BaseCommand):
    help = (
        "Operator actions on a task: new photos, one new photo or new bios of a persona, delete a persona, or "
        "generate the personas a task that came out short is missing. The workers run them."
    )

    def add_arguments(self, parser):
        parser.add_argument("task_code", help="The task's 8-character code.")
        parser.add_argument("--persona", type=int, help="The persona's result id (as the admin and exports show).")
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--photos", action="store_true", help="A new base and grids for the persona.")
        what.add_argument("--image", type=int, metavar="N", help="Photo N of the persona made again.")
        what.add_argument("--bios", action="store_true", help="New bios for the persona.")
        what.add_argument("--delete", action="store_true", help="Delete the persona and its files.")
        what.add_argument("--missing", action="store_true", help="Generate the missing personas of the task.")

    def handle(self, *args, task_code, persona, photos, image, bios, delete, missing, **options):
        task = selectors.task_by_code(task_code)
        if task is None:
            raise CommandError(f"No task {task_code}.")
        try:
            if missing:
                count = services.generate_missing(task)
                self.stdout.write(f"Task {task.task_code}: {count} missing persona(s) queued." if count else
                                  f"Task {task.task_code}: no persona is missing.")  # fmt: skip
                return
            result = task.results.filter(pk=persona).first() if persona is not None else None
            if result is None:
                raise CommandError(f"Task {task.task_code} has no persona {persona}: pass --persona RESULT_ID.")
            if delete:
                removed = services.delete_persona(result)
                self.stdout.write(f"Deleted {result.full_name} with {removed} file(s).")
                return
            if photos:
                services.regenerate_photos(result)
            elif bios:
                services.regenerate_bios(result)
            else:
                services.regenerate_image(result, image)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(f"Task {task.task_code}: queued for {result.full_name}; the workers will run it.")
