from django.conf import settings
from django.core.management.base import BaseCommand

from generation.provenance.credentials import DEV_CHAIN, DEV_KEY, write_dev_credentials


class Command(BaseCommand):
    help = (
        "Make a local CA and a C2PA signing certificate it issues, in C2PA_DEV_DIR, so that development signs "
        "every image out of the box. Validators accept the certificate but call it untrusted until the CA "
        "(ca.pem) is added as a trust anchor. Does nothing when the pair exists, unless --force."
    )
    requires_system_checks = []  # the check it would run is the one that fails until it has run

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Replace an existing pair (say, one expired).")

    def handle(self, *args, force, **options):
        directory = settings.C2PA_DEV_DIR
        if not force and (directory / DEV_CHAIN).is_file() and (directory / DEV_KEY).is_file():
            self.stdout.write(f"A development signing certificate is already in {directory}; --force replaces it.")
            return
        write_dev_credentials(directory)
        self.stdout.write(
            f"Wrote a development CA (ca.pem) and signing certificate ({DEV_CHAIN}, key {DEV_KEY}) to {directory}. "
            "Images are signed with it; verifiers trust it once ca.pem is one of their trust anchors."
        )
