from django.core.management.base import BaseCommand

from workflows.services import send_appointment_reminders


class Command(BaseCommand):
    help = (
        "Queue one reminder for each visit booked for tomorrow (run daily, e.g. from cron). "
        "Safe to run again or on several machines: a visit is reminded once."
    )

    def handle(self, *args, **opts):
        queued = send_appointment_reminders()
        self.stdout.write(f"queued {queued}")
