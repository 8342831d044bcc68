from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import ensure_superuser


class Command(BaseCommand):
    help = "Create (or reactivate) a staff superuser with a fresh random password, and print the credentials."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="admin@example.com")
        parser.add_argument("--password", default=None, help="Use this password instead of a random one.")

    def handle(self, *args, email, password, **options):
        try:
            user, password, created = ensure_superuser(email=email, password=password)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(f"{'Created' if created else 'Updated'} staff superuser.")
        self.stdout.write(f"  email:    {user.email}")
        self.stdout.write(f"  password: {password}")
