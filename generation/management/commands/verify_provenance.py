from django.core.management.base import BaseCommand, CommandError

from generation import selectors
from generation.integrations.provenance import CredentialsError
from generation.integrations.provenance.verify import verify_task


class Command(BaseCommand):
    help = (
        "Read back every image of a task (bases, photos and thumbnails) from the storage and validate its Content "
        "Credentials: the signature, the hash that binds them to the file, and that they say AI-generated. One line "
        "per file and a summary; exits non-zero if any file's are invalid or missing."
    )

    requires_system_checks = []  # a verifier needs no signing key, and old tasks outlive an expired certificate

    def add_arguments(self, parser):
        parser.add_argument("task_code", metavar="TASK_CODE", help="The task's 8-character id.")

    def handle(self, *args, task_code, **options):
        task = selectors.task_by_code(task_code)
        if task is None:
            raise CommandError(f"No task {task_code!r}.")
        if not task.is_finished:  # files are still being written, and a redo prunes what was read
            raise CommandError(f"Task {task.task_code} is still running ({task.status}); verify it once it ends.")
        try:
            checks = verify_task(task)
        except CredentialsError as error:
            raise CommandError(str(error)) from None
        if not checks:
            self.stdout.write(f"Task {task.task_code} has no stored images yet.")
            return
        for check in checks:
            if check.ok:
                reading = check.reading
                trust = "trusted" if reading.trusted else "signer not on the trust list"
                actions = ", ".join(action.removeprefix("c2pa.") for action in reading.actions)
                self.stdout.write(f"ok       {check.key}  {actions} · {trust}")
            else:
                label = "MISSING " if check.reading is None or check.reading.state is None else "INVALID "
                self.stdout.write(f"{label} {check.key}  {'; '.join(check.problems)}")
        bad = [check for check in checks if not check.ok]
        signers = sorted({check.reading.signer for check in checks if check.ok})
        if signers:
            self.stdout.write(f"Signed by: {', '.join(signers)}.")
        self.stdout.write(
            f"Task {task.task_code}: {len(checks)} files, {len(checks) - len(bad)} verified, {len(bad)} failed."
        )
        if bad:
            raise CommandError(f"{len(bad)} file(s) have invalid or missing Content Credentials (see above).")
