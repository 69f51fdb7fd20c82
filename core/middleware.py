"""Refuse control characters at the door, before any view, form or database query sees them.

PostgreSQL cannot store NUL in a text column and raises on any query that compares with one, so a
`%00` anywhere a value reaches a filter was a 500. No legitimate client sends control characters
in a path or a query string, and none sends NUL (or most other C0 controls) in a form field: such
a request is answered 400 here (JSON under /api/, the 400 page elsewhere). Header values are
checked too (HTTP servers should refuse control characters there; not every one does).

Form bodies may carry tab, newline and carriage return (multi-line fields). Bodies under /api/
are left to DRF: its views parse JSON only (a form body is a 415 there) and its CharFields refuse
NUL; reading a multipart stream here would also leave `request.body` unreadable for them. A
cookie with a control character is dropped rather than refused, so a visitor is never locked out
by a cookie they cannot see.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template import loader
from django.utils import translation

from core.errors import database_unavailable_response, is_database_unavailable

# C0 controls and DEL. In a path or a query string every one of them is refused.
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# In a form body tab, LF and CR are ordinary (a textarea); the rest of C0 and DEL are not.
_FORM_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a header value only tab is (HTTP servers should refuse the rest; not all do).
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has(pattern: re.Pattern[str], values: Iterable[str]) -> bool:
    return any(pattern.search(v) for v in values)


def _query_has_control(request: HttpRequest) -> bool:
    return _has(_ANY_CONTROL, (s for key, vals in request.GET.lists() for s in (key, *vals)))


def _headers_have_control(request: HttpRequest) -> bool:
    # `Authorization: Token <key>` is looked up in the database: a NUL there was a 500 too.
    return _has(
        _HEADER_CONTROL,
        (v for k, v in request.META.items() if k.startswith("HTTP_") and isinstance(v, str)),
    )


def _form_has_control(request: HttpRequest) -> bool:
    if request.method != "POST" or not request.content_type.startswith(_FORM_TYPES):
        return False
    if request.path.startswith("/api/"):
        return False
    fields = (s for key, vals in request.POST.lists() for s in (key, *vals))
    names = (f.name or "" for f in request.FILES.values())
    return _has(_FORM_CONTROL, fields) or _has(_ANY_CONTROL, names)


def _drop_bad_cookies(request: HttpRequest) -> None:
    # Django unquotes octal escapes in quoted cookie values, so `"\000..."` arrives as NUL.
    bad = [k for k, v in request.COOKIES.items() if _ANY_CONTROL.search(k + v)]
    for key in bad:
        del request.COOKIES[key]


def bad_request_response(request: HttpRequest) -> HttpResponse:
    """The 400 answer: JSON under /api/, else the 400 page in the visitor's language."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "bad_request", "detail": "The request contains control characters."},
            status=400,
        )
    # This runs before LocaleMiddleware: pick the language the page would have been in.
    language = translation.get_language_from_request(request)
    with translation.override(language):
        html = loader.render_to_string("400.html", {"reason": "control_characters"})
    response = HttpResponseBadRequest(html)
    response["Content-Language"] = language
    response["Vary"] = "Accept-Language, Cookie"
    return response


class RejectControlCharactersMiddleware:
    """400 for a control character in the path, the query string, a header or a form field."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            _ANY_CONTROL.search(request.path)
            or _ANY_CONTROL.search(request.path_info)
            or _query_has_control(request)
            or _headers_have_control(request)
            or _form_has_control(request)
        ):
            return bad_request_response(request)
        _drop_bad_cookies(request)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A view that lost the database (a PostgreSQL restart, a terminated backend, the server
    down) answers 503 with Retry-After: JSON `database_unavailable` under /api/ (DRF views do it
    in core.errors.exception_handler), the "try again" page elsewhere. The transaction it was in
    never committed, so nothing was half written. Errors raised by other middleware reach
    core.errors.handler500, which gives the same answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            return database_unavailable_response(request)
        return None
