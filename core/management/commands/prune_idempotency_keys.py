from django.core.management.base import BaseCommand

from core.idempotency import prune


class Command(BaseCommand):
    help = (
        "Delete stored Idempotency-Key answers older than IDEMPOTENCY_RETENTION_HOURS (24). "
        "Without Celery beat, run it hourly, e.g. from cron. Safe to run on several machines."
    )

    def handle(self, *args, **opts):
        self.stdout.write(f"deleted {prune()}")
