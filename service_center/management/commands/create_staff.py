from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from service_center.models import Role
from service_center.services import staff_create


class Command(BaseCommand):
    help = "Create (or reset) a staff account: one role at one service center."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--center", required=True, help="service center code, e.g. GN")
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="", help="name shown to customers")

    def handle(self, *args, **opts):
        try:
            user = staff_create(
                username=opts["username"],
                role=opts["role"],
                center_code=opts["center"],
                password=opts["password"],
                display_name=opts["name"],
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"{user.username}: {opts['role']} at {opts['center']}")
