"""`manage.py audit_ledgers`: prove the stored counts against their ledgers.

Stock: every Stock row's `on_hand` and `reserved` equal the sums of its movements, and `reserved`
equals the units its RESERVED reservations hold; no movements or reservations for a (center,
part) without a Stock row. Money: every repair's `amount_paid` equals the sum of its Payment
rows. Each check is one aggregate query (plus four counts for the summary), whatever the size of
the tables. Prints one line per difference and exits 1, or one "ok" line and exits 0.
(In workflows, not parts, because it checks the repairs' money too.)
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.management.base import BaseCommand, CommandError
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from parts import selectors as parts_selectors
from parts.models import Stock, StockMovement
from workflows.models import Payment, Repair

# (stored count, what it must equal, where that comes from) for each stock row
STOCK_CHECKS = (
    ("on_hand", "ledger_on_hand", "in the ledger"),
    ("reserved", "ledger_reserved", "in the ledger"),
    ("reserved", "held", "held by reservations"),
)


def stock_differences() -> Iterator[str]:
    for row in parts_selectors.stock_rows_disagreeing().iterator():
        name = f"stock {row['center__code']} {row['part__part_number']}"
        for stored, proof, source in STOCK_CHECKS:
            if row[stored] != row[proof]:
                yield f"{name}: {stored} {row[stored]} stored, {row[proof]} {source}"


def rows_missing() -> Iterator[str]:
    for row in parts_selectors.movements_without_stock_row().iterator():
        yield (
            f"stock {row['center__code']} {row['part__part_number']}: no stock row, but "
            f"movements of on_hand {row['on_hand']:+d}, reserved {row['reserved']:+d}"
        )
    for row in parts_selectors.reservations_without_stock_row().iterator():
        yield (
            f"stock {row['center__code']} {row['part__part_number']}: no stock row, but "
            f"reservations hold {row['reserved']} units"
        )


def payment_differences() -> Iterator[str]:
    paid = (
        Payment.objects.filter(repair_id=OuterRef("pk"))
        .order_by()
        .values("repair_id")
        .annotate(t=Sum("amount"))
        .values("t")
    )
    disagreeing = (
        Repair.objects.annotate(ledger=Coalesce(Subquery(paid), 0))
        .filter(~Q(amount_paid=F("ledger")))
        .values("ticket_number", "amount_paid", "ledger")
        .order_by("ticket_number")
    )
    for row in disagreeing.iterator():
        yield (
            f"repair {row['ticket_number']}: amount_paid {row['amount_paid']} stored, "
            f"{row['ledger']} in the payments"
        )


def differences() -> list[str]:
    """Every line the audit would print, stock first, then money."""
    return [line for check in CHECKS for line in check()]


def summary() -> str:
    return (
        f"ledgers ok: {Stock.objects.count()} stock rows agree with "
        f"{StockMovement.objects.count()} movements and their reservations; "
        f"{Repair.objects.count()} repairs' amount_paid agree with "
        f"{Payment.objects.count()} payments"
    )


CHECKS = (stock_differences, rows_missing, payment_differences)


class Command(BaseCommand):
    help = (
        "Check stock rows against their movements and reservations, and repairs' amount_paid "
        "against their payments. Exits 1 and names every row that disagrees."
    )

    def handle(self, *args, **options):
        found = differences()
        for line in found:
            self.stdout.write(line)
        if found:
            raise CommandError(f"{len(found)} ledger difference(s)", returncode=1)
        self.stdout.write(summary())
