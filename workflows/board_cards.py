"""The desk board's cards, rendered once and kept in the shared cache.

A card's HTML is kept per repair, language, time zone and its `overdue_since` (so a repair whose
first promise just fell due is drawn again at once), until the next of its open promises falls
due (that promise then shows late: the entry says when it stops being true). The card's "overdue ·
3 hours, 5 minutes" is not kept: the entry holds a marker that each request replaces with the time
since `overdue_since`, worked out once a minute per process and language. Each entry carries the
repair's generation stamp (`detail_cache`), which every event of that repair replaces when it is
written and again when it commits: a card whose stamp is not the current one is drawn again. The
TTL bounds what changes without an event of the repair (a renamed customer or technician).

So the board reads, per request: the column counts and the chosen cards' narrow rows (two
queries), then their entries and stamps in one cache round trip (one MGET on Redis); only the
cards that missed are read with their joins and prefetches and drawn (two more queries, whatever
their number). What each card then costs is a string replacement and a join.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from core import cache as shared_cache
from workflows import detail_cache

TTL = 120
SINCE = "<!--overdue-since-->"  # where a kept card's "overdue · …" text goes
_since: dict[tuple[str, Any], str] = {}  # (language, overdue_since) -> text, this minute
_since_minute = [""]


def _key(pk: int, since: Any, language: str, zone: str) -> str:
    return f"card:v2:{pk}:{language}:{zone}:{since.isoformat() if since else '-'}"


def since_text(since: Any, language: str, now: Any) -> str:
    """The card's "3 hours, 5 minutes" (escaped, as the template would), once a minute."""
    text = _since.get((language, since))
    if text is None:
        text = _since[(language, since)] = escape(timesince(since, now))
    return text


def fill(rows: list[Any], read_cards: Any) -> None:
    """Give each row its `html`: from the cache where its stamp is current and its promises
    have not moved on, else drawn from the repairs `read_cards(pks)` returns (with the card's
    joins and `overdue_since`)."""
    if not rows:
        return
    language = translation.get_language()
    zone = timezone.get_current_timezone_name()
    now = timezone.now()
    stamp_at = now.timestamp()
    minute = now.strftime("%Y%m%d%H%M")
    if _since_minute[0] != minute:  # the "overdue · …" texts worked out again each minute
        _since.clear()
        _since_minute[0] = minute
    keys = [_key(row.pk, row.overdue_since, language, zone) for row in rows]
    stamp_keys = [detail_cache.stamp_key("r", row.pk) for row in rows]
    found = shared_cache.get_in_order([*keys, *stamp_keys])
    count = len(rows)
    missing = []
    for i, row in enumerate(rows):
        entry, stamp = found[i], found[count + i]
        if (
            entry is not None
            and stamp is not None
            and entry[0] == stamp
            and (entry[1] is None or stamp_at < entry[1])
        ):
            row.html = _shown(entry[2], row.overdue_since, language, now)
        else:
            missing.append(i)
    if not missing:
        return
    drawn = {r.pk: r for r in read_cards([rows[i].pk for i in missing])}
    new_stamps, entries = {}, {}
    for i in missing:
        row = rows[i]
        repair = drawn.get(row.pk)
        if repair is None:  # gone since the rows were read
            row.html = ""
            continue
        kept = render_to_string("desk/_card.html", {"r": repair, "since_marker": mark_safe(SINCE)})
        row.html = _shown(kept, row.overdue_since, language, now)
        # The stamp read before the repair was read; made now if there was none (if another
        # process made one meanwhile, this card is just not kept).
        stamp = found[count + i]
        if stamp is None:
            stamp = secrets.token_hex(8)
            new_stamps[stamp_keys[i]] = (stamp, keys[i])
        later = [p.due_at for p in repair.open_promises if p.due_at > now]
        entries[keys[i]] = (stamp, min(later).timestamp() if later else None, kept)
    for key, (stamp, entry_key) in new_stamps.items():
        if not cache.add(key, stamp, detail_cache.STAMP_TTL):
            entries.pop(entry_key, None)
    if entries:
        cache.set_many(entries, TTL)


def _shown(kept: str, since: Any, language: str, now: Any) -> str:
    if since is None:
        return kept
    return kept.replace(SINCE, since_text(since, language, now))


def joined(rows: list[Any]) -> str:
    """The cards of `rows` as one piece of HTML (our own template's output)."""
    return mark_safe("".join(row.html for row in rows))  # noqa: S308
