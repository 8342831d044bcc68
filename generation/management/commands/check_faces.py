from django.core.management.base import BaseCommand, CommandError

from generation import selectors
from generation.services import check_faces


class Command(BaseCommand):
    help = (
        "Check the stored images of a task with the face model again (after a threshold change, or for a task made "
        "before the checks): every image's verdict is recorded anew. Nothing is replaced. Safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("task_code", help="The task's 8-character code.")

    def handle(self, *args, task_code, **options):
        task = selectors.task_by_code(task_code)
        if task is None:
            raise CommandError(f"No task {task_code}.")
        try:
            checked = check_faces(task)
        except (OSError, ValueError) as error:
            raise CommandError(f"Could not read the task's images: {error}") from error
        for line in checked:
            self.stdout.write(line)
        self.stdout.write(f"Task {task.task_code} faces: {selectors.face_summary(task)}.")
