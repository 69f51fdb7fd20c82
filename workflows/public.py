"""The customer's side, without a login: find a repair by ticket number + the last 4 digits of the
phone (or the claim ticket's secret token), with throttles kept in the shared cache.

- Per client IP: PUBLIC_LOOKUP_RATE_PER_IP attempts a minute, whatever they ask.
- Per ticket: PUBLIC_LOOKUP_FAILURES_PER_TICKET wrong phone guesses in an hour lock the ticket,
  whatever the IP. The attempt is counted *before* the digits are compared (and given back when
  they match), so processes racing on one ticket can't squeeze in extra guesses.
- An unknown ticket and a wrong phone take the same path (one query, one compare of keyed hashes
  of the digits, one failure counted) and give the same 404 body. On Redis, a repeat lookup's
  counting, compare, give-back and cached answer are one script (one round trip).

The API (`workflows.api`) and the /status/ pages both call `public_find` and `public_status`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from core import cache as shared_cache
from core import net
from core.errors import DomainError, NotFound, ValidationFailed
from core.roles import staff_name
from workflows import gate, public_cache, selectors, timeline
from workflows.choices import COURIER_REQUEST_STATES, State
from workflows.models import AppointmentStatus, Repair

NOT_FOUND_DETAIL = "No repair matches this ticket number and phone number."
TICKET_WINDOW = 3600
IP_WINDOW = 60
_TICKET_SHAPE = re.compile(r"^[A-Z0-9-]{1,24}$")


class PublicThrottled(DomainError):
    """Too many attempts; `retry_after` (seconds) also goes out as the Retry-After header."""

    code = "throttled"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many attempts; try again later.", retry_after=max(int(retry_after), 1)
        )


def lookup_not_found() -> NotFound:
    return NotFound(NOT_FOUND_DETAIL)


def client_ip(request: Any) -> str:
    """What the per-address limit counts against: `core.net.client_bucket` (the client address
    decided in one place, honouring NUM_PROXIES; an IPv6 client's /64)."""
    return net.client_bucket(request)


def _count(key: str, window: int) -> tuple[int, int]:
    """Count one attempt in a window that starts at the first one: (attempts, seconds left).

    On Redis: INCR, EXPIRE NX and TTL in one pipelined round trip. Elsewhere (the in-process
    cache of a single-process install, or the per-process stand-in while Redis is unreachable):
    add + incr, with the window start kept beside it.
    """

    def run(client: Any) -> tuple[int, int]:
        full = cache.make_and_validate_key(key)
        pipe = client.pipeline(transaction=False)
        pipe.incr(full)
        pipe.expire(full, window, nx=True)
        pipe.ttl(full)
        count, _set, left = pipe.execute()
        return int(count), max(int(left), 1)

    counted = shared_cache.pipelined(run)
    if counted is not None:
        return counted
    cache.add(key + ":t", time.time(), window)
    for _attempt in range(3):
        cache.add(key, 0, window)
        try:
            count = cache.incr(key)
            break
        except ValueError:  # expired between add and incr
            continue
    else:
        count = 1
    started = cache.get(key + ":t") or time.time()
    return count, max(window - int(time.time() - started), 1)


def _ip_key(ip: str) -> str:
    return "pub:ip:" + hashlib.sha256(ip.encode()).hexdigest()[:32]


def check_ip_rate(ip: str) -> None:
    """At most PUBLIC_LOOKUP_RATE_PER_IP attempts in the minute after an address's first one."""
    count, left = _count(_ip_key(ip), IP_WINDOW)
    if count > shared_cache.limit_now(settings.PUBLIC_LOOKUP_RATE_PER_IP):
        raise PublicThrottled(left)


def _ticket_key(ticket_number: str) -> str:
    return "pub:ticket:" + hashlib.sha256(ticket_number.encode()).hexdigest()[:32]


# A window that ended meanwhile is not recreated at -1 (without an expiry: a free guess).
_DECR_IF_EXISTS = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end"
)


def _give_back(key: str) -> None:
    def run(client: Any) -> bool:  # one round trip; the cache API's decr is EXISTS, then INCRBY
        client.eval(_DECR_IF_EXISTS, 1, cache.make_and_validate_key(key))
        return True

    if shared_cache.pipelined(run):
        return
    try:
        cache.decr(key)
    except ValueError:
        pass


def clean_ticket_number(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationFailed({"ticket_number": ["Enter the ticket number."]})
    text = re.sub(r"\s+", "", value).upper()
    if not text or len(text) > 40:
        raise ValidationFailed({"ticket_number": ["Enter the ticket number."]})
    return text


def clean_last4(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}", value.strip()):
        raise ValidationFailed({"phone_last4": ["Enter the last 4 digits of your phone number."]})
    return value.strip()


def public_find(
    *, ip: str, ticket_number: Any = None, phone_last4: Any = None, token: Any = None
) -> Repair:
    """Who may see this repair: raises PublicThrottled (429), ValidationFailed (400) or the same
    NotFound for an unknown ticket, a wrong phone and a wrong token. Returns the full repair."""
    repair_id = public_verify(
        ip=ip, ticket_number=ticket_number, phone_last4=phone_last4, token=token
    )
    return selectors.repair_for_public(repair_id=repair_id)


def public_verify(
    *, ip: str, ticket_number: Any = None, phone_last4: Any = None, token: Any = None
) -> int:
    """`public_find` without loading the repair: returns its id."""
    return public_check(
        ip=ip, ticket_number=ticket_number, phone_last4=phone_last4, token=token
    ).repair_id


class Verified(NamedTuple):
    repair_id: int
    ticket_number: str
    answer: Any  # the cached status answer in the request's language, if it was fetched


def public_check(
    *, ip: str, ticket_number: Any = None, phone_last4: Any = None, token: Any = None
) -> Verified:
    """`public_verify`, with the cached answer: on Redis a repeat lookup by ticket and phone
    costs one round trip (one script: both counters, the remembered ticket, and for the right
    digits the give-back and the cached answer) and no query."""
    if token not in (None, ""):
        check_ip_rate(ip)
        if not isinstance(token, str) or len(token) > 64:
            raise lookup_not_found()
        found = selectors.repair_public_key(token=token)
        if found is None or not hmac.compare_digest(found.status_token.encode(), token.encode()):
            raise lookup_not_found()
        return Verified(found.pk, found.ticket_number, None)
    try:
        ticket = clean_ticket_number(ticket_number)
        last4 = clean_last4(phone_last4)
    except ValidationFailed:
        check_ip_rate(ip)  # bad input still counts against the address
        raise
    ticket_key = _ticket_key(ticket)
    ip_limit = shared_cache.limit_now(settings.PUBLIC_LOOKUP_RATE_PER_IP)
    ticket_limit = shared_cache.limit_now(settings.PUBLIC_LOOKUP_FAILURES_PER_TICKET)
    digits = _digits_digest(ticket, last4)
    checked = _check_on_redis(
        (_ip_key(ip), ticket_key, _known_key(ticket), public_cache.key(ticket, _language())),
        digits,
        ip_limit,
        ticket_limit,
    )
    if checked is None:  # not on Redis, or Redis is away: the cache API, the same decisions
        (ip_count, ip_left), (count, left) = (
            _count(_ip_key(ip), IP_WINDOW),
            _count(ticket_key, TICKET_WINDOW),
        )
        # No answer from the per-process stand-in while Redis is away: a copy kept in this
        # process could not be dropped by a change made through another.
        answer_key = public_cache.key(ticket, _language())
        found = cache.get_many([_known_key(ticket), answer_key])
        known, answer = found.get(_known_key(ticket)), found.get(answer_key)
        if shared_cache.degraded():
            answer = None
        matched, given_back = None, False
        ip_limit = shared_cache.limit_now(settings.PUBLIC_LOOKUP_RATE_PER_IP)  # Redis just gone?
        ticket_limit = shared_cache.limit_now(settings.PUBLIC_LOOKUP_FAILURES_PER_TICKET)
    else:
        ip_count, ip_left, count, left, known, matched, answer = checked
        given_back = bool(matched)
    if ip_count > ip_limit:
        raise PublicThrottled(ip_left)
    if count > ticket_limit:
        raise PublicThrottled(left)
    if known is None:
        known = _recall_ticket(ticket)
        matched = None
    repair_id, _sep, stored = known.partition(":")
    if matched is None:  # compared here (the known ticket was not in the cache, or no Redis)
        matched = bool(stored) and hmac.compare_digest(stored.encode(), digits.encode())
    if not matched:
        raise lookup_not_found()
    if not given_back:
        _give_back(ticket_key)  # a right answer is not a guess
    # The answer is only taken once the digits matched (the script fetches it only then).
    return Verified(int(repair_id), ticket, answer)


def _language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


KNOWN_TTL = 600  # ticket -> its repair and phone digits; a changed phone is honoured within this


def _known_key(ticket_number: str) -> str:
    """Named by a keyed hash, like the digits it keeps: servers with another SECRET_KEY (a
    rotation, mid-deploy) keep their own, so no digest is compared under the wrong key."""
    digest = hmac.new(settings.SECRET_KEY.encode(), ticket_number.encode(), hashlib.sha256)
    return "pub:known2:" + digest.hexdigest()[:32]


def _digits_digest(ticket: str, last4: str) -> str:
    """What the cache keeps of a ticket's phone digits, and what a lookup's digits are compared
    by: a keyed hash (the digits themselves are not kept in Redis)."""
    message = f"{ticket}:{last4}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def _recall_ticket(ticket: str) -> str:
    """ "<repair id>:<digest of its phone's last 4 digits>" for a ticket, or "" if there is none.
    Unknown tickets are remembered too, so a known and an unknown ticket cost the same on a
    repeat. Kept as plain text, which the lookup's script compares inside Redis."""
    found = (
        selectors.repair_public_key(ticket_number=ticket) if _TICKET_SHAPE.match(ticket) else None
    )
    known = (
        f"{found.pk}:{_digits_digest(ticket, found.customer.phone_last4)}"
        if found is not None
        else ""
    )
    key = _known_key(ticket)

    def run(client: Any) -> bool:
        client.set(cache.make_and_validate_key(key), known.encode(), ex=KNOWN_TTL)
        return True

    if not shared_cache.pipelined(run):
        cache.set(key, known, KNOWN_TTL)
    return known


# One round trip for a lookup: both throttle counters (INCR, an expiry set once, the seconds
# left), the remembered ticket, and, only when the digits match it and neither limit is passed,
# the attempt given back and the cached answer. KEYS: ip, ticket, known, answer. ARGV: the two
# windows, the two limits, the digest of the digits asked with.
_LOOKUP_SCRIPT = """
local ip = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
local ip_left = redis.call('TTL', KEYS[1])
local n = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2], 'NX')
local left = redis.call('TTL', KEYS[2])
local known = redis.call('GET', KEYS[3])
local matched = 0
local answer = false
if known and ip <= tonumber(ARGV[3]) and n <= tonumber(ARGV[4]) then
  local sep = string.find(known, ':', 1, true)
  if sep and string.sub(known, sep + 1) == ARGV[5] then
    matched = 1
    redis.call('DECR', KEYS[2])
    answer = redis.call('GET', KEYS[4])
  end
end
return {ip, ip_left, n, left, known, matched, answer}
"""
_LOOKUP = shared_cache.Script(_LOOKUP_SCRIPT)


def _check_on_redis(keys: tuple[str, ...], digits: str, ip_limit: int, ticket_limit: int):
    """(ip attempts, seconds left, ticket attempts, seconds left, known or None, matched or None
    when there was no known ticket to compare with, answer or None), or None when not on Redis
    (the caller then takes the cache API's path)."""

    def run(client: Any) -> tuple:
        full = [cache.make_and_validate_key(key) for key in keys]
        got = _LOOKUP(client, full, [IP_WINDOW, TICKET_WINDOW, ip_limit, ticket_limit, digits])
        ip_n, ip_left, n, left, raw_known, matched, raw_answer = got
        known = None if raw_known is None else raw_known.decode(errors="replace")
        answer = None
        if raw_answer:
            answer = shared_cache.decode(raw_answer)
        return (
            int(ip_n),
            max(int(ip_left), 1),
            int(n),
            max(int(left), 1),
            known,
            bool(matched) if known is not None else None,
            answer,
        )

    return shared_cache.pipelined(run)


def public_status_data(verified: Verified, render: Any) -> bytes:
    """`render(public_status(repair))`, the answer's JSON body: the one `public_check` fetched, or
    computed and cached. While Redis is unreachable it is computed from the database every
    time."""
    if verified.answer is not None:
        return verified.answer
    body = render(public_status(selectors.repair_for_public(repair_id=verified.repair_id)))
    if not shared_cache.degraded():  # the lookup may just have found Redis gone
        cache.set(public_cache.key(verified.ticket_number, _language()), body, public_cache.TTL)
    return body


def public_status(repair: Repair) -> dict[str, Any]:
    """The honest status page as data: only recorded facts, the phone masked."""
    visit = selectors.current_appointment(repair)
    shipped = repair.state in (State.SHIPPED, State.CLOSED) and bool(repair.tracking_number)
    quote = None
    if repair.labor_fee is not None:
        quote = {
            "labor_fee": repair.labor_fee,
            "parts_total": repair.parts_total,
            "total": repair.quote_total,
            "approved": repair.quote_approved_at is not None,
            "deposit_required": repair.deposit_required,
            "deposit_paid": repair.deposit_paid,
            "previous_total": repair.previous_quote_total,
            "requote_reason": repair.requote_reason,
        }
    return {
        "ticket_number": repair.ticket_number,
        "state": repair.state,
        "state_label": timeline.state_label(repair.state),
        "center": {"name": repair.center.name, "phone": repair.center.phone},
        "product_model": repair.product_model.name if repair.product_model else None,
        "phone": repair.customer.masked_phone,
        "coverage": repair.coverage,
        "technician_name": staff_name(repair.technician) if repair.technician_id else None,
        "next_step": timeline.next_step(repair),
        "parts_eta": timeline.parts_eta(repair),
        "quote": quote,
        "amount_due": repair.amount_due,
        "balance_due": repair.balance_due,
        "amount_paid": repair.amount_paid,
        "refunded": getattr(repair, "refunded_total", 0) or 0,
        "refund_due": repair.refund_due,
        "return_method": repair.return_method,
        "carrier": repair.carrier if shipped else None,
        "tracking_number": repair.tracking_number if shipped else None,
        # Only offer what would succeed: an undetermined coverage or an unpaid deposit blocks it.
        "can_approve": not gate.transition_blockers(repair, "approve"),
        "can_request_courier_return": repair.state in COURIER_REQUEST_STATES,
        "appointment": _appointment(visit),
        "can_book": not gate.booking_blockers(repair)
        and not (visit and visit.status == AppointmentStatus.BOOKED),
        "timeline": timeline.public_timeline(repair),
    }


def _appointment(appointment: Any) -> dict[str, Any] | None:
    if appointment is None:
        return None
    return {"start": appointment.start, "end": appointment.end, "status": appointment.status}
