"""`Idempotency-Key` on POSTs: a retried request replays the first answer instead of acting twice.

The first answer (status + JSON body) is kept in the shared cache for a day, keyed by the user
and the key, with a fingerprint of the method, path and body. The same key with a different
request is a client bug: 422 `idempotency_key_reused`. While the first request is still running,
a retry gets 409 `conflict` (it may try again a moment later and then gets the replay).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from core.errors import Conflict, DomainError

HEADER = "HTTP_IDEMPOTENCY_KEY"
REPLAY_TTL = 24 * 3600
LOCK_TTL = 60
_KEY_OK = re.compile(r"^[\x21-\x7e]{1,200}$")


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422


class IdempotencyKeyInvalid(DomainError):
    code = "invalid"
    status = 400


def _cache_key(request: Any, key: str) -> str:
    who = request.user.pk if getattr(request.user, "is_authenticated", False) else "anon"
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"idem:{who}:{digest}"


def _fingerprint(request: Any) -> str:
    body = request.body  # Django's, already read and size-checked by the view's `initial`
    return hashlib.sha256(
        request.method.encode() + b" " + request.path.encode() + b"\n" + body
    ).hexdigest()


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a view's `post`. Without the header the request runs as usual."""

    @functools.wraps(method)
    def wrapper(view: Any, request: Any, *args: Any, **kwargs: Any) -> Response:
        key = request.META.get(HEADER)
        if key is None:
            return method(view, request, *args, **kwargs)
        _check_key(key)
        store_key = _cache_key(request, key)
        fingerprint = _fingerprint(request)
        stored = cache.get(store_key)
        if stored is not None:
            return _replay(stored, fingerprint)
        lock_key = store_key + ":lock"
        if not cache.add(lock_key, 1, LOCK_TTL):
            stored = cache.get(store_key)
            if stored is not None:
                return _replay(stored, fingerprint)
            raise Conflict("A request with this Idempotency-Key is still running; retry shortly.")
        try:
            # The first request may have answered and let go of the lock between our first
            # look and taking it: look again, now that nobody else can be running.
            stored = cache.get(store_key)
            if stored is not None:
                return _replay(stored, fingerprint)
            response = _run(method, view, request, *args, **kwargs)
            _remember(store_key, fingerprint, response)
        finally:
            cache.delete(lock_key)
        return response

    return wrapper


def _check_key(key: str) -> None:
    if not _KEY_OK.match(key):
        raise IdempotencyKeyInvalid(
            "Idempotency-Key must be 1 to 200 visible ASCII characters.",
            errors={"Idempotency-Key": ["1 to 200 visible ASCII characters."]},
        )


def _run(method: Callable[..., Response], view: Any, request: Any, *args, **kwargs) -> Response:
    try:
        return method(view, request, *args, **kwargs)
    except Exception as exc:  # answered by the exception handler; remembered too
        return view.handle_exception(exc)


def _remember(store_key: str, fingerprint: str, response: Response) -> None:
    """Keep the answer for replays, unless it is one a retry should not get back."""
    if response.status_code < 500 and response.status_code not in (401, 429):
        cache.set(
            store_key,
            {
                "fingerprint": fingerprint,
                "status": response.status_code,
                "data": _plain(response.data),
            },
            REPLAY_TTL,
        )


def _plain(data: Any) -> Any:
    """JSON-safe copy (lazy strings, dates, ReturnDicts) that any cache backend can keep."""
    return json.loads(json.dumps(data, cls=JSONEncoder))


def _replay(stored: dict[str, Any], fingerprint: str) -> Response:
    if stored["fingerprint"] != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request; use a new key."
        )
    return Response(
        stored["data"], status=stored["status"], headers={"Idempotent-Replayed": "true"}
    )
