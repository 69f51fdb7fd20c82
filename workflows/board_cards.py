"""The desk board's cards, rendered once and kept in the shared cache.

A card's HTML is kept per repair, language, time zone, the minute it was drawn in (the card
shows "overdue · 3 hours, 5 minutes") and its `overdue_since` (so a repair whose promise just
fell due is drawn again at once). Each entry carries the repair's generation stamp
(`detail_cache`), which every event of that repair replaces when it is written and again when it
commits: a card whose stamp is not the current one is drawn again. The TTL bounds what changes
without an event of the repair (a renamed customer or technician).

So the board reads, per request: the column counts and the chosen cards' narrow rows (two
queries), then their entries and stamps in one cache round trip; only the cards that missed are
read with their joins and prefetches and drawn (two more queries, whatever their number).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from workflows import detail_cache

TTL = 120


def _key(row: Any, minute: str) -> str:
    since = row.overdue_since.isoformat() if row.overdue_since else "-"
    return (
        f"card:v1:{row.pk}:{translation.get_language()}:"
        f"{timezone.get_current_timezone_name()}:{minute}:{since}"
    )


def fill(rows: list[Any], read_cards: Any) -> None:
    """Give each row its `html`: from the cache where its stamp is current, else drawn from the
    repairs `read_cards(pks)` returns (with the card's joins and `overdue_since`)."""
    if not rows:
        return
    minute = timezone.now().strftime("%Y%m%d%H%M")
    keys = {row.pk: _key(row, minute) for row in rows}
    stamp_keys = {row.pk: detail_cache.stamp_key("r", row.pk) for row in rows}
    found = cache.get_many([*keys.values(), *stamp_keys.values()])
    missing = []
    for row in rows:
        entry, stamp = found.get(keys[row.pk]), found.get(stamp_keys[row.pk])
        if entry is not None and stamp is not None and entry[0] == stamp:
            row.html = mark_safe(entry[1])  # noqa: S308 - our own template's output
        else:
            missing.append(row)
    if not missing:
        return
    drawn = {r.pk: r for r in read_cards([row.pk for row in missing])}
    new_stamps, entries = {}, {}
    for row in missing:
        repair = drawn.get(row.pk)
        if repair is None:  # gone since the rows were read
            row.html = ""
            continue
        row.html = render_to_string("desk/_card.html", {"r": repair})
        # The stamp read before the repair was read; made now if there was none (if another
        # process made one meanwhile, this card is just not kept).
        stamp = found.get(stamp_keys[row.pk])
        if stamp is None:
            stamp = secrets.token_hex(8)
            new_stamps[stamp_keys[row.pk]] = stamp
        entries[keys[row.pk]] = (stamp, str(row.html))
    for key, stamp in new_stamps.items():
        if not cache.add(key, stamp, detail_cache.STAMP_TTL):
            pk = next(pk for pk, k in stamp_keys.items() if k == key)
            entries.pop(keys[pk], None)
    if entries:
        cache.set_many(entries, TTL)
