from django.core.management.base import BaseCommand, CommandError

from generation import selectors
from generation.faces.index import RECENT, faces_seen_before, newest_personas
from generation.models import GenerationResult


class Command(BaseCommand):
    help = "List personas whose base face matches a persona of an earlier task (closer than DUPLICATE_FACE_THRESHOLD)."

    def add_arguments(self, parser):
        parser.add_argument("--task", help="Only this task's personas (its 8-character code).")
        parser.add_argument("--recent", type=int, default=RECENT, help=f"The newest N personas (default {RECENT}).")

    def handle(self, *args, task=None, recent=RECENT, **options):
        results = newest_personas(recent)
        if task:
            found = selectors.task_by_code(task)
            if found is None:
                raise CommandError(f"No task {task}.")
            results = GenerationResult.objects.filter(task=found)
        matches = faces_seen_before(results)
        earlier_ones = GenerationResult.objects.select_related("task").in_bulk(
            [match.result_id for _, match in matches]
        )
        for result, match in matches:
            earlier = earlier_ones.get(match.result_id)
            where = f"{earlier.full_name} of task {earlier.task.task_code}" if earlier else f"result {match.result_id}"
            self.stdout.write(
                f"{result.full_name} (task {result.task.task_code}, result {result.pk}) has the face of {where}: "
                f"{match.distance:.2f} apart"
            )
        self.stdout.write(f"{len(matches)} persona(s) share a face with an earlier task.")
