from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """core is an app only for its one table, the stored `Idempotency-Key` answers."""

    name = "core"
    verbose_name = _("Core")
    default_auto_field = "django.db.models.BigAutoField"
