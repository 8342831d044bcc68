from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from generation import selectors
from generation.services import retry_task


class Command(BaseCommand):
    help = "Resume a failed or stalled task from what is saved (paid calls that succeeded are not repeated)."

    def add_arguments(self, parser):
        parser.add_argument("task_code", help="The task's 8-character id.")

    def handle(self, *args, task_code, **options):
        task = selectors.task_by_code(task_code)
        if task is None:
            raise CommandError(f"No task {task_code}.")
        try:
            count = retry_task(task)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(f"Task {task.task_code}: {count} unit(s) queued again.")
