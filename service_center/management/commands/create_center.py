from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from service_center.models import ServiceCenter
from service_center.services import center_code_clean, center_create, center_update


class Command(BaseCommand):
    help = (
        "Create a service center: CODE (2 to 8 letters A-Z and digits, starting with a letter; "
        "lower case is folded, e.g. gn -> GN) and --name. Safe to run again: when CODE exists, "
        "its name, and the address and phone if given, are updated and nothing else changes."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="center code, e.g. GN; it begins every ticket number")
        parser.add_argument("--name", required=True, help="name shown to customers")
        parser.add_argument("--address", default=None)
        parser.add_argument("--phone", default=None)

    def handle(self, *args, **opts):
        try:
            code = center_code_clean(opts["code"])
            fields = {"name": opts["name"], "address": opts["address"], "phone": opts["phone"]}
            if ServiceCenter.objects.filter(code=code).exists():
                center, verb = center_update(code=code, **fields), "updated"
            else:
                given = {k: v for k, v in fields.items() if v is not None}
                center, verb = center_create(code=code, **given), "created"
        except DomainError as exc:
            raise CommandError(_describe(exc)) from None
        self.stdout.write(f"{center.code}: {center.name} ({verb})")


def _describe(exc: DomainError) -> str:
    errors = getattr(exc, "errors", None)
    if not errors:
        return exc.detail
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
