"""The public status answer, cached per repair and language in the shared cache.

Anything a customer can see changes only together with a RepairEvent (transitions, parts, ETA
promises, courier requests all write one), so `services.core._event` drops the cached answer when
the event's transaction commits. The TTL bounds what slips past that (a renamed technician).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

TTL = 300


def key(repair_id: int, language: str) -> str:
    return f"pubstatus:v1:{repair_id}:{language}"


def forget(repair_id: int) -> None:
    cache.delete_many([key(repair_id, code) for code, _name in settings.LANGUAGES])
