from django.core.management.base import BaseCommand, CommandError

from service_center.services import serials_import


class Command(BaseCommand):
    help = (
        "Import the serial registry from CSV: serial_number,product_model,purchase_date[,channel]. "
        "Good rows are kept; bad rows are reported with their line numbers."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, **opts):
        try:
            with open(opts["file"], encoding="utf-8-sig", errors="replace", newline="") as fh:
                report = serials_import(fh)
        except OSError as exc:
            raise CommandError(f"Cannot read {opts['file']}: {exc.strerror}") from None
        for line, message in report.errors:
            self.stderr.write(f"line {line}: {message}")
        self.stdout.write(f"imported {report.created}, rejected {len(report.errors)}")
        if report.errors and not report.created:
            raise CommandError("no row imported")
