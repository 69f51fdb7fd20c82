from django.core.management.base import BaseCommand

from workflows.services.alerts import alert_overdue_promises


class Command(BaseCommand):
    help = (
        "E-mail the staff member who made each overdue promise, once per promise (without "
        "Celery beat, run it every 15 minutes, e.g. from cron). Safe to run on several machines."
    )

    def handle(self, *args, **opts):
        self.stdout.write(f"queued {alert_overdue_promises()}")
