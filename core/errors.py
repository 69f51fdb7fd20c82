"""The one hierarchy of domain errors, and the one place that turns every error into an answer.

Domain errors keep their own code and status; DRF's errors get a stable `code`; anything
unexpected is logged and answered as JSON 500 (never an HTML page or a stack trace). The
Django-level handlers below do the same for /api/ paths that never reach DRF, and give every
other path a styled, translated error page (templates/400.html, 403.html, 404.html, 500.html).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import Http404, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils import translation
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

# --- the domain errors -----------------------------------------------------------------------


class Message(str):
    """An error message: the English text (what the API answers) that also carries its msgid and
    params, so a page renders it in the user's language (`core.pages.error_messages`).
    Mark the msgid with gettext_noop where it is raised."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Message:
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid, self.params = msgid, params
        return self

    def __reduce__(self):
        return (_message, (self.msgid, self.params))

    def translated(self) -> str:
        from django.utils.translation import gettext

        return gettext(self.msgid) % self.params if self.params else gettext(self.msgid)


def _message(msgid: str, params: dict[str, Any]) -> Message:
    return Message(msgid, **params)


def translated(message: Any) -> str:
    """A message in the active language: a Message by its msgid, a plain one as a msgid."""
    from django.utils.translation import gettext

    if isinstance(message, Message):
        return message.translated()
    return gettext(str(message))


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, **self.extra}


class ValidationFailed(DomainError):
    """Bad input. `errors` maps a field name to a list of messages."""

    code = "invalid"
    status = 400

    def __init__(self, errors: dict[str, list[str]] | str, detail: str = "") -> None:
        if isinstance(errors, str):
            errors = {"non_field_errors": [errors]}
        self.errors = errors
        first = next(iter(errors.values()))[0] if errors else "Invalid input."
        super().__init__(detail or str(first), errors=errors)


def invalid(field: str, msgid: str, **params: Any) -> ValidationFailed:
    """One field's error as a Message: `raise invalid("parts", gettext_noop("..."), n=3)`."""
    return ValidationFailed({field: [Message(msgid, **params)]})


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class TransitionBlocked(DomainError):
    """The state or the readiness gate does not allow the transition. Carries the blockers."""

    code = "transition_blocked"
    status = 409

    def __init__(self, blockers: list[dict[str, str]], transition: str = "") -> None:
        self.blockers = blockers
        self.transition = transition
        detail = " ".join(b["message"] for b in blockers) or "Transition not allowed."
        super().__init__(str(detail), blockers=blockers)


class Conflict(DomainError):
    """Somebody else changed the row first; the caller may reload and retry."""

    code = "conflict"
    status = 409


# --- the database went away -------------------------------------------------------------------

# SQLSTATEs of a connection that is gone: class 08 (connection exception) and the server shutting
# down or starting up (57P01 admin_shutdown: pg_terminate_backend or a restart, 57P02, 57P03).
_GONE_STATES = ("57P01", "57P02", "57P03")


class DatabaseUnavailable(Exception):
    """The connection to the database was lost, or none could be opened: nothing was saved.
    Not a DomainError on purpose: a page must not re-render its form (more queries) but answer
    the 503 "try again" page; the API answers 503 `database_unavailable` with Retry-After."""

    code = "database_unavailable"
    status = 503
    detail = "The database is not answering; nothing was saved. Try again in a moment."


def connection_lost(exc: BaseException) -> bool:
    """True when a database error means the connection is gone (retrying on a new one may
    work), False for errors of a live connection (deadlock, lock time-out, "database is
    locked"), which are a lost race."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None)
    if state:
        return state.startswith("08") or state in _GONE_STATES
    # No SQLSTATE: the driver itself lost the socket ("server closed the connection
    # unexpectedly", "connection refused"), or SQLite (whose connection stays).
    raw = connections[DEFAULT_DB_ALIAS].connection
    return raw is None or bool(getattr(raw, "broken", False) or getattr(raw, "closed", False))


def is_database_unavailable(exc: BaseException | None) -> bool:
    """What the answers below treat as 503: our own error, or any OperationalError or
    InterfaceError that escaped a view (the database is down, restarting or overloaded)."""
    return isinstance(exc, DatabaseUnavailable | OperationalError | InterfaceError)


def _retry_after() -> str:
    from django.conf import settings

    return str(getattr(settings, "DATABASE_RETRY_AFTER", 5))


def database_unavailable_response(request) -> HttpResponse:
    """503 with Retry-After: JSON under /api/, else the standalone "try again" page in the
    visitor's language (503.html uses neither the database nor the session)."""
    log.warning("database unavailable for %s %s", request.method, request.path)
    if _is_api(request):
        body = {"code": DatabaseUnavailable.code, "detail": DatabaseUnavailable.detail}
        response: HttpResponse = JsonResponse(body, status=503)
    else:
        # This may run before LocaleMiddleware did (the session or the user failed to load).
        language = translation.get_language_from_request(request)
        with translation.override(language):
            html = loader.render_to_string("503.html", {"retry_after": _retry_after()})
        response = HttpResponse(html, status=503)
        response["Content-Language"] = language
    response["Retry-After"] = _retry_after()
    response["Cache-Control"] = "no-store"
    return response


# --- the DRF exception handler -----------------------------------------------------------------

log = logging.getLogger(__name__)

# DRF exception class -> our stable code.
_CODES: list[tuple[type[Exception], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
    (exceptions.ParseError, "parse_error"),
]


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class BoundedJSONParser(JSONParser):
    """JSONParser that also turns deep nesting (RecursionError) and stray bytes into a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON nested too deeply.") from None
        except RequestDataTooBig:
            raise PayloadTooLarge() from None


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested serializer errors -> {"customer.phone": ["..."]}, like the services' errors."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and prefix:
                name = prefix
            for k, v in flatten_errors(value, name).items():
                flat.setdefault(k, []).extend(v)
    elif isinstance(errors, list):
        if all(not isinstance(e, dict | list) for e in errors):
            flat[prefix or "non_field_errors"] = [str(e) for e in errors]
        else:
            for index, value in enumerate(errors):
                if value:
                    name = f"{prefix}.{index}" if prefix else str(index)
                    for k, v in flatten_errors(value, name).items():
                        flat.setdefault(k, []).extend(v)
    elif errors not in (None, ""):
        flat[prefix or "non_field_errors"] = [str(errors)]
    return flat


def _body_for(exc: Exception) -> tuple[dict[str, Any], int, dict[str, str]]:
    if is_database_unavailable(exc):
        log.warning("database unavailable: %s", exc)
        body = {"code": DatabaseUnavailable.code, "detail": DatabaseUnavailable.detail}
        return body, 503, {"Retry-After": _retry_after()}
    if isinstance(exc, DomainError):
        retry_after = exc.extra.get("retry_after")
        return exc.as_dict(), exc.status, {"Retry-After": str(retry_after)} if retry_after else {}
    if isinstance(exc, Http404):
        return {"code": "not_found", "detail": "Not found."}, 404, {}
    if isinstance(exc, DjangoPermissionDenied):
        return {"code": "permission_denied", "detail": "Permission denied."}, 403, {}
    if isinstance(exc, RequestDataTooBig):
        return {"code": "payload_too_large", "detail": PayloadTooLarge.default_detail}, 413, {}
    if isinstance(exc, SuspiciousOperation):
        return {"code": "bad_request", "detail": "Bad request."}, 400, {}
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        first = next(iter(errors.values()), ["Invalid input."])[0]
        return {"code": "invalid", "detail": first, "errors": errors}, 400, {}
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _CODES if isinstance(exc, cls)), None)
        code = code or str(getattr(exc, "default_code", "error"))
        headers: dict[str, str] = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(int(exc.wait + 0.999), 1))
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        body: dict[str, Any] = {"code": code, "detail": str(detail)}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["retry_after"] = int(headers["Retry-After"])
        return body, exc.status_code, headers
    log.error("unexpected API error", exc_info=exc)
    return {"code": "server_error", "detail": "Something went wrong on our side."}, 500, {}


def exception_handler(exc, context):
    body, status_code, headers = _body_for(exc)
    response = Response(body, status=status_code, headers=headers or None)
    auth_header = getattr(exc, "auth_header", None)
    if status_code == 401 and auth_header:
        response["WWW-Authenticate"] = auth_header
    if status_code == 405 and context.get("view") is not None:
        response["Allow"] = ", ".join(context["view"].allowed_methods)
    return response


# --- Django-level answers (service_center/urls.py handler400/403/404/500, CSRF_FAILURE_VIEW):
# JSON under /api/, a styled and translated page everywhere else.


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _page(request, template: str, status: int, context: dict[str, Any] | None = None):
    """Render an error page; if the request itself is what is broken, render it without it."""
    try:
        html = loader.render_to_string(template, context, request=request)
    except Exception:  # noqa: BLE001 - an error page must not raise in turn
        log.warning("error page %s rendered without the request", template, exc_info=True)
        html = loader.render_to_string(template, context)
    return HttpResponse(html, status=status)


def api_not_found(request, *args, **kwargs):
    """Catch-all for unknown /api/ paths: JSON 404 instead of Django's HTML page."""
    return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig) and _is_api(request):
        body = {"code": "payload_too_large", "detail": PayloadTooLarge.default_detail}
        return JsonResponse(body, status=413)
    if _is_api(request):
        return JsonResponse({"code": "bad_request", "detail": "Bad request."}, status=400)
    return _page(request, "400.html", 400)


def handler403(request, exception=None):
    if _is_api(request):
        body = {"code": "permission_denied", "detail": "Permission denied."}
        return JsonResponse(body, status=403)
    # Our own PermissionDenied carry a translated sentence for the visitor; Django's carry none.
    reason = str(exception) if exception is not None and exception.args else ""
    return _page(request, "403.html", 403, {"reason": reason})


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: a form that expired or came from another site (never a DRF view:
    those are exempt from Django's check and answer through the exception handler above)."""
    if _is_api(request):
        body = {"code": "csrf_failed", "detail": "CSRF check failed."}
        return JsonResponse(body, status=403)
    return _page(request, "403.html", 403, {"csrf_failed": True})


def handler404(request, exception=None):
    if _is_api(request):
        return api_not_found(request)
    return _page(request, "404.html", 404)


def handler500(request):
    # A middleware (the session, the user) that lost the database lands here, not in a view's
    # process_exception: the exception being handled is still current.
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable_response(request)
    if _is_api(request):
        return JsonResponse(
            {"code": "server_error", "detail": "Something went wrong on our side."}, status=500
        )
    # No request context: whatever failed (the database, a context processor) may fail again.
    try:
        html = loader.get_template("500.html").render()
    except Exception:  # noqa: BLE001 - the last resort must not raise
        log.exception("the 500 page failed to render")
        html = "<!doctype html><h1>Server Error (500)</h1>"
    return HttpResponseServerError(html)
