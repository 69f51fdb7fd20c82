"""The API repair detail's rendered body, cached in the shared cache.

Keyed per repair and version, reader (user, roles, center, superuser) and language and time
zone: `available_transitions` depends on who asks (an owning technician may do more than another
one), and a body rendered for one reader is never looked up under another's key.

Everything else the body shows changes together with a RepairEvent of that repair, or of another
repair of the same customer (`customer_repairs`). So each entry carries two generation stamps,
the repair's and the customer's, read in the same round trip as the body; `forget` gives both new
values, and an entry whose stamps are not the current ones is a miss. `services.core.record_event`
calls it when the event is written and again after commit: the stamps a reader stores are the
ones it read *before* it read the database, so a body built from the old rows while the change
was not yet committed is stored under a stamp the commit then replaces. A rolled-back change
costs one miss, after which the body is built again from the rows as they are.

Time: a promise's `overdue` flips when its due time passes, so an entry lives no longer than the
earliest open promise still due in the future. An edit of the customer, or of an open repair's
technician or model, drops the repairs' stamps too (`workflows.signals`); the TTL bounds what
changes without either (a renamed center; a renamed technician on a closed repair).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.cache import cache
from django.utils import timezone, translation

from core import cache as shared_cache
from core.roles import user_center_id, user_roles

TTL = 120
STAMP_TTL = TTL * 10  # outlives every body stamped with it; a lost stamp is only a miss


def stamp_key(kind: str, pk: int) -> str:
    return f"repdetail:gen:{kind}:{pk}"


def new_stamp() -> int:
    """A random stamp. An int: Redis keeps it as its digits, which the board's script compares
    with the stamp written into each kept card (`board_cards`)."""
    return secrets.randbits(62)


def body_key(repair: Any, user: Any) -> str:
    roles = ",".join(sorted(user_roles(user)))
    return (
        f"repdetail:v1:{repair.pk}:{repair.version}:{user.pk}:{roles}:{user_center_id(user)}:"
        f"{int(bool(user.is_superuser))}:{translation.get_language()}:"
        f"{timezone.get_current_timezone_name()}"
    )


def forget(repair_id: int, customer_id: int | None = None) -> None:
    """New stamps for the repair (and its customer): every cached body of them is a miss."""
    forget_many([repair_id], [customer_id] if customer_id is not None else [])


def forget_many(repair_ids: Any, customer_ids: Any = ()) -> None:
    """`forget` for many repairs and customers at once (one round trip)."""
    new = {stamp_key("r", pk): new_stamp() for pk in repair_ids}
    new.update({stamp_key("c", pk): new_stamp() for pk in customer_ids})
    if new:
        cache.set_many(new, STAMP_TTL)


class Lookup:
    """One round trip: the body if its stamps are current, else what `store` needs."""

    def __init__(self, repair: Any, user: Any) -> None:
        self.key = body_key(repair, user)
        self.stamp_keys = (stamp_key("r", repair.pk), stamp_key("c", repair.customer_id))
        *stamps, entry = shared_cache.get_in_order([*self.stamp_keys, self.key])
        self.stamps = tuple(stamps)
        self.body: bytes | None = None
        if entry is not None and None not in self.stamps and entry[:2] == self.stamps:
            self.body = entry[2]

    def store(self, body: bytes, ttl: int) -> None:
        """Keep `body` under the stamps read before it was built (made now if there were none;
        if another process made one meanwhile, nothing is stored)."""
        if ttl < 1:
            return
        stamps = list(self.stamps)
        for i, (key, stamp) in enumerate(zip(self.stamp_keys, stamps, strict=True)):
            if stamp is None:
                stamps[i] = new_stamp()
                if not cache.add(key, stamps[i], STAMP_TTL):
                    return
        cache.set(self.key, (stamps[0], stamps[1], body), ttl)


def ttl_for(repair: Any) -> int:
    """TTL, cut to the seconds before the earliest open promise falls due (its `overdue`)."""
    now = timezone.now()
    due = [p.due_at for p in repair.promises.all() if p.is_open and p.due_at > now]
    if not due:
        return TTL
    return min(TTL, int((min(due) - now).total_seconds()))
