from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from generation.costs import budgets as costs


class Command(BaseCommand):
    help = "A month's API costs per user and per model, for invoicing (default: this month)."

    def add_arguments(self, parser):
        parser.add_argument("month", nargs="?", help="YYYY-MM (default: this month).")

    def handle(self, *args, month, **options):
        if month:
            try:
                year, number = (int(part) for part in month.split("-"))
                start = datetime(year, number, 1, tzinfo=timezone.get_current_timezone())
            except ValueError:
                raise CommandError(f"{month!r} is not a month: write it as YYYY-MM, e.g. 2026-11.") from None
        else:
            start = costs.month_start()
        report = costs.month_report(start)
        self.stdout.write(f"API costs from {report.start:%Y-%m-%d} to {report.end:%Y-%m-%d} (USD)")
        self.stdout.write("")
        self.stdout.write(f"{'user':<40} {'model':<24} {'calls':>8} {'cost':>12}")
        for line in report.lines:
            self.stdout.write(f"{line.user:<40} {line.model:<24} {line.calls:>8} {line.cost:>12.4f}")
        self.stdout.write("")
        for user, total in report.per_user.items():
            self.stdout.write(f"{user:<40} {'total':<24} {'':>8} {total:>12.4f}")
        self.stdout.write(f"{'all users':<40} {'total':<24} {report.calls:>8} {report.total:>12.4f}")
        if report.unpriced:
            self.stdout.write(f"{report.unpriced} call(s) had no price and count as 0: set OPENAI_PRICES.")
