import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = _("Repairs")

    def ready(self) -> None:
        from workflows import signals

        signals.connect()  # renames elsewhere draw the repairs' board cards again
        # Load WeasyPrint, the ticket fonts and stylesheet once at start-up (so the first ticket
        # is not the slow one) and say loudly if tickets would be slow or print Korean as boxes.
        try:
            from workflows.tickets import check_pdf_environment
        except Exception:  # a PDF library problem must not keep the desk from starting
            logger.exception("Claim tickets are unavailable: WeasyPrint could not be loaded")
            return
        check_pdf_environment()
