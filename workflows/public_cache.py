"""The public status answer, cached per repair (by its ticket number, which never changes, so
the lookup fetches it in the same Redis round trip as the throttles) and language.

Anything a customer can see changes only together with a RepairEvent (transitions, parts, ETA
promises, courier requests all write one), so `services.core._event` drops the cached answer when
the event's transaction commits. The TTL bounds what slips past that (a renamed technician).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

TTL = 300


def key(ticket_number: str, language: str) -> str:
    digest = hashlib.sha256(ticket_number.encode()).hexdigest()[:32]
    return f"pubstatus:v3:{digest}:{language}"


def forget(ticket_number: str) -> None:
    cache.delete_many([key(ticket_number, code) for code, _name in settings.LANGUAGES])
