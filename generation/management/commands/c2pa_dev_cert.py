from django.conf import settings
from django.core.management.base import BaseCommand

from generation.integrations.provenance.credentials import DEV_CHAIN, DEV_KEY, write_dev_credentials


class Command(BaseCommand):
    help = (
        "Make a local CA and a C2PA signing certificate it issues, in C2PA_DEV_DIR, so that development signs "
        "every image out of the box. Validators accept the certificate but call it untrusted until the CA "
        "(ca.pem) is added as a trust anchor. Does nothing when the pair exists, unless --force."
    )
    requires_system_checks = []  # the check it would run is the one that fails until it has run

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Replace an existing pair (say, one expired).")
        parser.add_argument("--quiet", action="store_true", help="Say nothing when there is nothing to do.")

    def handle(self, *args, force, quiet, **options):
        directory = settings.C2PA_DEV_DIR
        own = (str(directory / DEV_CHAIN), str(directory / DEV_KEY))
        if own != (settings.C2PA_SIGNING_CERT, settings.C2PA_SIGNING_KEY):
            if not quiet:
                self.stdout.write("C2PA_SIGNING_CERT and C2PA_SIGNING_KEY name a certificate of their own; none made.")
            return
        if not force and (directory / DEV_CHAIN).is_file() and (directory / DEV_KEY).is_file():
            if not quiet:
                self.stdout.write(f"A development signing certificate is already in {directory}; --force replaces it.")
            return
        write_dev_credentials(directory)
        self.stdout.write(
            f"setup: wrote a development CA (ca.pem) and signing certificate ({DEV_CHAIN}, key {DEV_KEY}) to "
            f"{directory}. Images are signed with it; verifiers trust it once ca.pem is one of their trust anchors."
        )
