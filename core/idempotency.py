"""`Idempotency-Key` on POSTs: a retried request replays the first answer instead of acting twice.

The answer lives in the database (core.models.IdempotencyKey, unique per user and key), kept
IDEMPOTENCY_RETENTION_HOURS (24) and then pruned (`prune`, the beat task and the
`prune_idempotency_keys` command). The shared cache fronts it (read-through): a flushed or
unreachable cache costs one query, never a second action.

One transaction holds the key's row, the action and its answer:

1. BEGIN; INSERT the row (unique per user and key) with no answer yet;
2. run the view (its services' own transactions become savepoints of this one);
3. UPDATE the row with the answer; COMMIT.

So the row is committed exactly when the action is: a process that dies at any step leaves
neither (PostgreSQL rolls the open transaction back), and a retry acts as if it were the first.
There is no "in progress" row for a dead request to leave behind. A second request with the same
key while the first runs waits on the unique index (PostgreSQL makes a conflicting INSERT wait
for the first transaction; SQLite's BEGIN IMMEDIATE waits for the write lock), then either finds
the committed answer and replays it, or, if the first rolled back, acts itself. After
IDEMPOTENCY_WAIT_SECONDS it gets 409 `conflict` with Retry-After instead.

The same key with a different request (method, path or body) is a client bug: 422
`idempotency_key_reused`. An answer a retry should act again on is not stored, and its action is
rolled back so nothing acted: 5xx, 401/403/404/429, and the 400 `invalid` / 409 `conflict` that
say the input was refused or the request lost a race (Stripe likewise saves a result only once the
endpoint started executing). Business refusals such as 409 `transition_blocked` or 400
`overpayment` are stored and replayed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from core.errors import Conflict, DomainError

log = logging.getLogger(__name__)

HEADER = "HTTP_IDEMPOTENCY_KEY"
_KEY_OK = re.compile(r"^[\x21-\x7e]{1,200}$")
KEPT_HEADERS = ("Location",)
# Answers a retry should not get back (nothing acted: the transaction is rolled back).
NOT_KEPT_STATUSES = frozenset({401, 403, 404, 429})
NOT_KEPT_CODES = frozenset({"invalid", "conflict"})
_ACTING = 0  # `status` of the row while its own transaction runs the action (never committed)


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422


class IdempotencyKeyInvalid(DomainError):
    code = "invalid"
    status = 400


def retention() -> dt.timedelta:
    return dt.timedelta(hours=settings.IDEMPOTENCY_RETENTION_HOURS)


def prune(now: dt.datetime | None = None) -> int:
    """Delete the answers older than the retention; returns how many. Safe to run twice."""
    from core.models import IdempotencyKey

    cutoff = (now or timezone.now()) - retention()
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _cache_key(user_pk: Any, key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"idem:{user_pk}:{digest}"


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
        user = request.user
        if not getattr(user, "is_authenticated", False):
            # The staff-only views refused anonymous callers before this; nobody to key by.
            return method(view, request, *args, **kwargs)
        fingerprint = _fingerprint(request)
        store_key = _cache_key(user.pk, key)
        stored = _cache_get(store_key)
        if stored is not None:
            return _replay(stored, fingerprint)
        stored, response = _act_once(method, view, request, args, kwargs, key, fingerprint)
        if stored is not None:
            _cache_set(store_key, stored)
        return response if response is not None else _replay(stored, fingerprint)

    return wrapper


def _check_key(key: str) -> None:
    if not _KEY_OK.match(key):
        raise IdempotencyKeyInvalid(
            "Idempotency-Key must be 1 to 200 visible ASCII characters.",
            errors={"Idempotency-Key": ["1 to 200 visible ASCII characters."]},
        )


def _act_once(
    method: Callable[..., Response],
    view: Any,
    request: Any,
    args: tuple,
    kwargs: dict,
    key: str,
    fingerprint: str,
) -> tuple[dict[str, Any] | None, Response | None]:
    """(stored answer, our response): (theirs, None) when another request already answered
    this key, (ours, response) when we acted and stored it, (None, response) when we answered
    without storing (and rolled the action back)."""
    from core.models import IdempotencyKey

    acting = False
    try:
        with transaction.atomic():
            claimed = _claim(request, key, fingerprint)
            if isinstance(claimed, dict):
                return claimed, None
            acting = True
            response = _run(method, view, request, *args, **kwargs)
            if not _kept(response):
                transaction.set_rollback(True)
                return None, response
            stored = _answer(fingerprint, response, claimed.created_at)
            IdempotencyKey.objects.filter(pk=claimed.pk).update(
                status=stored["status"],
                body=json.dumps(stored["data"]),
                headers=json.dumps(stored["headers"]),
            )
            return stored, response
    except OperationalError:
        if acting:
            raise
        # PostgreSQL's lock_timeout or SQLite's busy timeout ran out: the first is still running.
        raise Conflict(
            "A request with this Idempotency-Key is still running; retry shortly.", retry_after=1
        ) from None


def _claim(request: Any, key: str, fingerprint: str) -> Any:
    """Inside the action's transaction: insert the key's row (ours: the model instance) or
    find the committed answer of an earlier request (theirs: a stored dict)."""
    from core.models import IdempotencyKey

    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            wait_ms = max(int(settings.IDEMPOTENCY_WAIT_SECONDS), 1) * 1000
            cursor.execute(f"SET LOCAL lock_timeout = {wait_ms}")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user=request.user,
                    key=key,
                    method=request.method[:10],
                    path=request.path[:1000],
                    fingerprint=fingerprint,
                    status=_ACTING,
                    body="",
                )
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(user=request.user, key=key).first()
            if existing is None:  # pruned since our INSERT failed: try again
                continue
            if existing.created_at < timezone.now() - retention():
                # Expired but not pruned yet: the key is free again (as after the prune).
                IdempotencyKey.objects.filter(pk=existing.pk).delete()
                continue
            return _stored_of(existing)
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = DEFAULT")
        return row
    raise Conflict(
        "A request with this Idempotency-Key is still running; retry shortly.", retry_after=1
    )


def _run(method: Callable[..., Response], view: Any, request: Any, *args, **kwargs) -> Response:
    try:
        return method(view, request, *args, **kwargs)
    except Exception as exc:  # answered by the exception handler; remembered too
        return view.handle_exception(exc)


def _kept(response: Response) -> bool:
    """Whether a retry gets this answer back (else it is rolled back and the retry acts)."""
    status = response.status_code
    if status >= 500 or status in NOT_KEPT_STATUSES:
        return False
    data = getattr(response, "data", None)
    code = data.get("code") if isinstance(data, dict) else None
    return not (status >= 400 and code in NOT_KEPT_CODES)


def _answer(fingerprint: str, response: Response, created_at: dt.datetime) -> dict[str, Any]:
    return {
        "fingerprint": fingerprint,
        "status": response.status_code,
        "data": _plain(response.data),
        "headers": {name: response[name] for name in KEPT_HEADERS if response.has_header(name)},
        "expires": (created_at + retention()).timestamp(),
    }


def _stored_of(row: Any) -> dict[str, Any]:
    return {
        "fingerprint": row.fingerprint,
        "status": row.status,
        "data": json.loads(row.body),
        "headers": json.loads(row.headers),
        "expires": (row.created_at + retention()).timestamp(),
    }


def _plain(data: Any) -> Any:
    """JSON-safe copy (lazy strings, dates, ReturnDicts) that any cache backend can keep."""
    return json.loads(json.dumps(data, cls=JSONEncoder))


def _cache_get(store_key: str) -> dict[str, Any] | None:
    try:
        stored = cache.get(store_key)
    except Exception:  # the cache only fronts the table: unreachable means ask the database
        log.warning("idempotency: cache unreachable, reading the database", exc_info=True)
        return None
    if not isinstance(stored, dict) or "expires" not in stored:
        return None
    return stored


def _cache_set(store_key: str, stored: dict[str, Any]) -> None:
    ttl = int(stored["expires"] - timezone.now().timestamp())
    if ttl <= 0:
        return
    try:
        cache.set(store_key, stored, ttl)
    except Exception:
        log.warning(
            "idempotency: cache unreachable, answer kept in the database only", exc_info=True
        )


def _replay(stored: dict[str, Any], fingerprint: str) -> Response:
    if stored["fingerprint"] != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request; use a new key."
        )
    return Response(
        stored["data"],
        status=stored["status"],
        headers={**stored.get("headers", {}), "Idempotent-Replayed": "true"},
    )
