from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from generation.faces.reference import GENDERS, import_faces


class Command(BaseCommand):
    help = "Upload the reference face images of a folder to faces/<gender>/ in the default storage."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--gender", required=True, choices=GENDERS)

    def handle(self, *args, folder: Path, gender: str, **options):
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        report = import_faces(folder, gender)
        for name in report.added:
            self.stdout.write(f"added     {name}")
        for name in report.already_there:
            self.stdout.write(f"present   {name}")
        for name, reason in report.rejected:
            self.stdout.write(f"rejected  {name}: {reason}")
        self.stdout.write(
            f"{len(report.added)} added, {len(report.already_there)} already there, {len(report.rejected)} rejected."
        )
