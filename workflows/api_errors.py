"""One exception handler: every error leaves the API as JSON {code, detail, ...}."""

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from service_center.errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
    return drf_exception_handler(exc, context)
