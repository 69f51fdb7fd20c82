"""Sign-in lock-out for `/login/`, `/admin/login/` and `POST /api/v1/auth/token/`.

django-axes does the wiring: its authentication backend refuses a locked client before the
password is checked, Django's `user_login_failed` / `user_logged_in` signals reach the handler
below, and its middleware turns a locked request into `lockout_response`. The counting is ours,
because axes' cache handler has one limit for every counter and we want two:

- per (username, address): AXES_FAILURE_LIMIT failures lock that username from that address;
- per address: SIGNIN_FAILURES_PER_ADDRESS failures, whatever the usernames, lock the address.

A counter's window starts at its first failure and lasts AXES_COOLOFF_TIME; reaching a limit
locks for AXES_COOLOFF_TIME from that failure, and attempts during the lock are refused without
checking the password and without extending it, so the wait shown is the wait there is. A
successful sign-in clears only its own (username, address) counter: clearing the address's would
let someone holding one account reset the counter between guesses at other accounts.

Counters live in the default cache: Redis when REDIS_URL is set, so every app process sees the
same counts. While Redis is unreachable they are kept per process with stricter limits
(`core.cache.degraded_limit`): never off. Addresses come from `core.net` (NUM_PROXIES), an IPv6
client counts per /64.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.base import AbstractAxesHandler, AxesBaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.signals import user_locked_out
from django.conf import settings
from django.core.cache import cache
from django.forms.forms import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.translation import ngettext

from core import cache as shared_cache
from core import net
from core.errors import DomainError

log = logging.getLogger(__name__)


class SignInLocked(DomainError):
    """Too many failed sign-ins from this client; `retry_after` seconds also go out as a header."""

    code = "throttled"
    status = 429

    def __init__(self, retry_after: int) -> None:
        retry_after = max(int(retry_after), 1)
        with translation.override("en"):  # the API speaks English; pages translate
            detail = wait_message(retry_after)
        super().__init__(detail, retry_after=retry_after)


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed sign-ins; try again in %(minutes)d minute.",
        "Too many failed sign-ins; try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


# --- counters --------------------------------------------------------------------------------


def _cooloff_seconds(request: Any) -> int:
    cooloff = get_cool_off(request)
    return max(int(cooloff.total_seconds()), 1) if cooloff else 15 * 60


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _name(username: Any) -> str:
    # Case-folded: "DESK" and "desk" are one guess target, whatever the backend thinks.
    return str(username).strip().casefold()[:150]


def _bucket(request: Any) -> str:
    address = getattr(request, "axes_ip_address", None) or net.client_address(request)
    return net.address_bucket(address)


def _counters(request: Any, credentials: dict | None) -> list[tuple[str, int]]:
    """(cache key, limit) of every counter this attempt counts towards; while Redis is
    unreachable the counts are this process's and the limits its stricter ones."""
    bucket = _bucket(request)
    per_address = shared_cache.limit_now(settings.SIGNIN_FAILURES_PER_ADDRESS)
    counters = [("signin:addr:" + _digest(bucket), per_address)]
    username = get_client_username(request, credentials)
    if username:
        limit = shared_cache.limit_now(get_failure_limit(request, credentials))
        counters.insert(0, ("signin:user:" + _digest(_name(username), bucket), limit))
    return counters


def _where_key(username: Any) -> str:
    """The addresses a username failed from within the cool-off (keys are digests, so a reset
    by username alone needs this list to find its counters)."""
    return "signin:where:" + _digest(_name(username))


def _remember_where(request: Any, credentials: dict | None, window: int) -> None:
    username = get_client_username(request, credentials)
    if not username:
        return
    key, bucket = _where_key(username), _bucket(request)
    buckets = cache.get(key) or []
    if bucket not in buckets:
        # A read-modify-write: two failures at once may keep one address of the two. The
        # counters and locks themselves are unaffected; only an early unlock by username alone
        # could then miss that address, whose lock still ends with the cool-off.
        cache.set(key, [*buckets, bucket][-50:], window)


def _lock_key(counter_key: str) -> str:
    return counter_key + ":locked-until"


def _count(key: str, window: int) -> int:
    """One more failure in the window that started at the first one (atomic INCR on Redis)."""
    for _attempt in range(3):
        cache.add(key, 0, window)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            continue
    return 1


def locked_for(request: Any, credentials: dict | None = None) -> int | None:
    """Seconds until this client may try to sign in again, or None if it is not locked."""
    keys = [_lock_key(key) for key, _limit in _counters(request, credentials)]
    until = max(cache.get_many(keys).values(), default=None)
    if until is None:
        return None
    left = math.ceil(float(until) - time.time())
    return left if left > 0 else None


class SignInLockout(AbstractAxesHandler, AxesBaseHandler):
    """The axes handler (AXES_HANDLER): counts failures and locks, in the default cache."""

    def get_failures(self, request: Any, credentials: dict | None = None) -> int:
        counts = cache.get_many([key for key, _limit in _counters(request, credentials)])
        return max(counts.values(), default=0)

    def is_locked(self, request: Any, credentials: dict | None = None) -> bool:
        return locked_for(request, credentials) is not None

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        if request is None:
            return
        if getattr(request, "axes_locked_out", False):
            return  # refused by the lock, the password was never checked: not another guess
        if self.is_whitelisted(request, credentials):
            return
        window = _cooloff_seconds(request)
        _remember_where(request, credentials, window)
        locked = False
        for key, limit in _counters(request, credentials):
            if _count(key, window) >= limit:
                cache.set(_lock_key(key), time.time() + window, window)
                cache.delete(key)  # after the lock, a fresh allowance
                locked = True
        if locked:
            log.warning("sign-in locked for %s after repeated failures", request.axes_ip_address)
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )

    def user_logged_in(self, sender, request, user, **kwargs) -> None:
        if request is None or not settings.AXES_RESET_ON_SUCCESS:
            return
        for key, _limit in _counters(request, {"username": user.get_username()}):
            if key.startswith("signin:user:"):
                cache.delete(key)

    def user_logged_out(self, sender, request, user, **kwargs) -> None:
        return None

    def reset_attempts(
        self,
        *,
        ip_address: str | None = None,
        username: str | None = None,
        ip_or_username: bool = False,
    ) -> int:
        """Unlock before the cool-off, with axes' commands:
        `axes_reset_ip_username ADDRESS USERNAME`: that username at that address, and the address;
        `axes_reset_ip ADDRESS`: the address's own counter;
        `axes_reset_username USERNAME`: that username at every address it failed from."""
        keys: list[str] = []
        if ip_address is not None:
            request = HttpRequest()
            request.axes_ip_address = ip_address
            name = None if ip_or_username else username
            keys += [key for key, _limit in _counters(request, {"username": name})]
        if username is not None and (ip_address is None or ip_or_username):
            buckets = cache.get(_where_key(username)) or []
            keys += ["signin:user:" + _digest(_name(username), b) for b in buckets]
            keys.append(_where_key(username))
        keys += [_lock_key(key) for key in keys if not key.startswith("signin:where:")]
        found = len(cache.get_many(keys))
        cache.delete_many(keys)
        return found


class LockoutBackend(AxesStandaloneBackend):
    """First in AUTHENTICATION_BACKENDS: refuses a locked client before any password is checked.

    A call without a request comes from code (a shell, a management command, a test), never from
    a sign-in form or the token endpoint, which both pass theirs; it is neither refused nor
    counted, where axes' own backend would raise.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


# --- what a locked client sees ----------------------------------------------------------------


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with the wait time.

    A sign-in page (ours or the admin's) is rendered again with the message in place of the
    form's error; the API answers JSON `{code, detail, retry_after}`. The token endpoint has
    already answered that itself, so its 429 passes through.
    """
    if original_response is not None and original_response.status_code == 429:
        return original_response
    wait = locked_for(request, credentials) or _cooloff_seconds(request)
    if request.path.startswith("/api/"):
        locked = SignInLocked(wait)
        response: HttpResponse = JsonResponse(locked.as_dict(), status=429)
    else:
        response = _page_again(request, original_response, wait_message(wait))
    response["Retry-After"] = str(wait)
    response["Cache-Control"] = "no-store"
    return response


def _page_again(request: HttpRequest, original: HttpResponse | None, message: str) -> HttpResponse:
    context = getattr(original, "context_data", None)
    if isinstance(original, TemplateResponse) and context and "form" in context:
        form = context["form"]
        form.errors[NON_FIELD_ERRORS] = form.error_class([message], error_class="nonfield")
        again = TemplateResponse(
            request, original.template_name, {**context, "signin_locked": message}, status=429
        )
        return again.render()
    from django.contrib.auth.forms import AuthenticationForm

    return render(
        request,
        "registration/login.html",
        {"form": AuthenticationForm(request), "signin_locked": message},
        status=429,
    )
