from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from workflows.tickets import VARIANTS, load_repair, render_claim_ticket


class Command(BaseCommand):
    help = "Write a repair's claim ticket to a PDF file (A4, or an 80 mm receipt)."

    def add_arguments(self, parser):
        parser.add_argument("ticket_number")
        parser.add_argument("-o", "--output", help="PDF file to write (default: TICKET.pdf)")
        parser.add_argument("--variant", choices=VARIANTS, default="a4")

    def handle(self, *args, **opts):
        repair = load_repair(opts["ticket_number"].strip().upper())
        if repair is None:
            raise CommandError(f"No repair {opts['ticket_number']}.")
        output = Path(opts["output"] or f"{repair.ticket_number}.pdf")
        pdf = render_claim_ticket(repair, variant=opts["variant"])
        output.write_bytes(pdf)
        self.stdout.write(f"{output} ({len(pdf):,} bytes, {opts['variant']})")
