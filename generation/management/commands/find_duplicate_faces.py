from django.core.management.base import BaseCommand, CommandError

from generation import selectors
from generation.models import GenerationResult
from generation.pipeline.face_index import faces_seen_before


class Command(BaseCommand):
    help = "List personas whose base face matches a persona of an earlier task (closer than DUPLICATE_FACE_THRESHOLD)."

    def add_arguments(self, parser):
        parser.add_argument("--task", help="Only this task's personas (its 8-character code).")

    def handle(self, *args, task=None, **options):
        results = GenerationResult.objects.all()
        if task:
            found = selectors.task_by_code(task)
            if found is None:
                raise CommandError(f"No task {task}.")
            results = results.filter(task=found)
        matches = faces_seen_before(results)
        for result, match in matches:
            earlier = GenerationResult.objects.select_related("task").filter(pk=match.result_pk).first()
            where = f"{earlier.full_name} of task {earlier.task.task_code}" if earlier else f"result {match.result_pk}"
            self.stdout.write(
                f"{result.full_name} (task {result.task.task_code}, result {result.pk}) has the face of {where}: "
                f"{match.distance:.2f} apart"
            )
        self.stdout.write(f"{len(matches)} persona(s) share a face with an earlier task.")
