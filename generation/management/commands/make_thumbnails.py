from django.core.management.base import BaseCommand, CommandError

from generation.pipeline.thumbnails import backfill


class Command(BaseCommand):
    help = (
        "Write the missing WebP thumbnails of every stored image of these tasks (of all tasks when none is named). "
        "Images that have theirs are skipped, so it can be run again at any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("task_codes", nargs="*", metavar="TASK_CODE", help="The tasks' 8-character ids.")

    def handle(self, *args, task_codes, **options):
        report = backfill(task_codes)
        for problem in report.problems:
            self.stderr.write(problem)
        self.stdout.write(
            f"{report.written} thumbnail(s) written; {report.complete} image(s) already had theirs; "
            f"{len(report.problems)} problem(s)."
        )
        if report.problems:
            raise CommandError(f"{len(report.problems)} image(s) or task(s) could not be given thumbnails (see above).")
