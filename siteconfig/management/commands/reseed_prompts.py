from django.core.management.base import BaseCommand

from siteconfig.defaults import PLATFORMS
from siteconfig.services import reseed_prompts


class Command(BaseCommand):
    help = "Restore the default bio prompts. Adds missing ones; --force also overwrites edited ones."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Overwrite prompts that were edited.")
        parser.add_argument(
            "--platform", action="append", choices=PLATFORMS, dest="platforms", help="Only this platform (repeatable)."
        )

    def handle(self, *args, force, platforms, **options):
        for outcome in reseed_prompts(force=force, platforms=platforms):
            self.stdout.write(outcome.describe())
