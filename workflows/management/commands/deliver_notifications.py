import time

from django.core.management.base import BaseCommand

from workflows.notify import deliver_pending


class Command(BaseCommand):
    help = "Send pending notifications (the outbox). Safe to run on several machines at once."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep running, polling every N s")
        parser.add_argument("--interval", type=float, default=5.0)
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, **opts):
        while True:
            sent = deliver_pending(limit=opts["limit"])
            self.stdout.write(f"sent {sent}")
            if not opts["loop"]:
                return
            time.sleep(opts["interval"])
