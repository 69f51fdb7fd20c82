"""The desk board's cards, rendered once and kept in the shared cache.

A card's HTML is kept per repair, language, time zone and its `overdue_since` (so a repair whose
first promise just fell due is drawn again at once), until the next of its open promises falls
due (that promise then shows late: the entry says when it stops being true). The card's "overdue ·
3 hours, 5 minutes" is not kept: the entry holds a marker that each request replaces with the time
since `overdue_since`, worked out once a minute per process and language.

Each entry carries the repair's generation stamp (`detail_cache`), which every event of that
repair replaces when it is written and again when it commits; so does an edit of what a card shows
from elsewhere: the customer's name or phone, the technician's name, the model's name
(`workflows.signals`). A card whose stamp is not the current one is drawn again. So nothing but a
change ends a card: it lives as long as the stamp it was drawn under.

An entry is plain bytes, `<stamp>|<next promise due, µs since the epoch, or ->|<html>`. On Redis
the board asks for its cards with one script (one round trip): for each card it compares the
entry with the stamp and the due time inside Redis and answers only the HTML of the cards that are
current, and the stamp of those that are not. Elsewhere (no Redis, or Redis away) the cache API
reads the same entries and this module makes the same decision.

So the board reads, per request: the column counts and the chosen cards' narrow rows (two
queries), then its cards in one round trip; only the cards that missed are read with their joins
and prefetches and drawn (two more queries, whatever their number). What each card then costs is
a bytes replacement and a join.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from core import cache as shared_cache
from workflows import detail_cache

TTL = detail_cache.STAMP_TTL  # no longer than the stamp it is checked against
SINCE = "<!--overdue-since-->"  # where a kept card's "overdue · …" text goes
_SINCE = SINCE.encode()
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_since: dict[tuple[str, int], bytes] = {}  # (language, overdue µs) -> text, this minute
_since_minute = [""]

# KEYS: n entries, then their n stamps. ARGV: now (µs since the epoch). Answers 2n values: the
# HTML of each current card (else nil), then the stamp of each card that is not (else nil).
_CARDS = shared_cache.Script("""
local n = #KEYS / 2
local now = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  local entry = redis.call('GET', KEYS[i])
  local stamp = redis.call('GET', KEYS[n + i])
  local html = false
  if entry and stamp then
    local head = stamp .. '|'
    if string.sub(entry, 1, #head) == head then
      local bar = string.find(entry, '|', #head + 1, true)
      if bar then
        local due = tonumber(string.sub(entry, #head + 1, bar - 1))
        if due == nil or now < due then
          html = string.sub(entry, bar + 1)
        end
      end
    end
  end
  out[i] = html
  if html then out[n + i] = false else out[n + i] = stamp end
end
return out
""")


def _kept(entry: Any, stamp: bytes | None, now_us: int) -> bytes | None:
    """The script's decision, for the cache API's path: the entry's HTML if it is current."""
    if not isinstance(entry, bytes) or stamp is None or not entry.startswith(stamp + b"|"):
        return None
    due, bar, html = entry[len(stamp) + 1 :].partition(b"|")
    if not bar or (due != b"-" and now_us >= int(due)):
        return None
    return html


def _stamp_bytes(stamp: Any) -> bytes | None:
    """A stamp read through the cache API as the bytes Redis holds (an int is kept as digits)."""
    return None if stamp is None else str(stamp).encode()


def since_text(since_us: int, language: str, now: Any) -> bytes:
    """The card's "3 hours, 5 minutes" (escaped, as the template would), once a minute."""
    text = _since.get((language, since_us))
    if text is None:
        since = EPOCH + dt.timedelta(microseconds=since_us)
        text = _since[(language, since_us)] = escape(timesince(since, now)).encode()
    return text


def _shown(kept: bytes, row: Any, language: str, now: Any) -> bytes:
    """A kept card as shown now: its marker replaced by how late it is, if it is."""
    if row.overdue_us is None:
        return kept
    return kept.replace(_SINCE, since_text(row.overdue_us, language, now), 1)


def _look_up(keys: list[str], stamp_keys: list[str], now_us: int) -> tuple[list, list]:
    """(HTML or None per card, current stamp bytes or None per card that missed)."""
    count = len(keys)

    def run(client: Any) -> list:
        make_key = shared_cache.key_function()
        return _CARDS(client, [make_key(k) for k in (*keys, *stamp_keys)], [now_us])

    answer = shared_cache.pipelined(run)
    if answer is not None:
        return answer[:count], answer[count:]
    found = cache.get_many([*keys, *stamp_keys])
    stamps = [_stamp_bytes(found.get(k)) for k in stamp_keys]
    htmls = [_kept(found.get(k), s, now_us) for k, s in zip(keys, stamps, strict=True)]
    return htmls, [None if h is not None else s for h, s in zip(htmls, stamps, strict=True)]


def fill(rows: list[Any], read_cards: Any) -> None:
    """Give each row its `html` (UTF-8 bytes): from the cache where its stamp is current and its
    promises have not moved on, else drawn from the repairs `read_cards(pks)` returns (with the
    card's joins and `overdue_since`)."""
    if not rows:
        return
    language = translation.get_language()
    zone = timezone.get_current_timezone_name()
    now = timezone.now()
    now_us = (now - EPOCH) // dt.timedelta(microseconds=1)
    minute = now.strftime("%Y%m%d%H%M")
    if _since_minute[0] != minute:  # the "overdue · …" texts worked out again each minute
        _since.clear()
        _since_minute[0] = minute
    prefix = f"card:v3:{language}:{zone}:"
    keys = [f"{prefix}{row.pk}:{row.overdue_us}" for row in rows]
    stamp_keys = [detail_cache.stamp_key("r", row.pk) for row in rows]
    htmls, stamps = _look_up(keys, stamp_keys, now_us)
    missing = []
    for i, row in enumerate(rows):
        if htmls[i] is None:
            missing.append(i)
        else:
            row.html = _shown(htmls[i], row, language, now)
    if missing:
        _draw(rows, missing, keys, stamp_keys, stamps, read_cards, now, language)


def _draw(rows, missing, keys, stamp_keys, stamps, read_cards, now, language) -> None:
    """Draw the cards that missed and keep them, each under the stamp read before its repair
    was read (made now if there was none: if another process made one meanwhile, this card is
    just not kept)."""
    drawn = {r.pk: r for r in read_cards([rows[i].pk for i in missing])}
    new_stamps: dict[str, tuple[int, str]] = {}
    entries: dict[str, bytes] = {}
    for i in missing:
        row = rows[i]
        repair = drawn.get(row.pk)
        if repair is None:  # gone since the rows were read
            row.html = b""
            continue
        context = {"r": repair, "since_marker": mark_safe(SINCE)}
        kept = render_to_string("desk/_card.html", context).encode()
        row.html = _shown(kept, row, language, now)
        stamp = stamps[i]
        if stamp is None:
            fresh = detail_cache.new_stamp()
            new_stamps[stamp_keys[i]] = (fresh, keys[i])
            stamp = _stamp_bytes(fresh)
        later = [p.due_at for p in repair.open_promises if p.due_at > now]
        due = str((min(later) - EPOCH) // dt.timedelta(microseconds=1)) if later else "-"
        entries[keys[i]] = b"|".join((stamp, due.encode(), kept))
    if new_stamps:
        made = _add_stamps({key: stamp for key, (stamp, _entry) in new_stamps.items()})
        for key, (_stamp, entry_key) in new_stamps.items():
            if key not in made:
                entries.pop(entry_key, None)
    if entries:
        _keep(entries)


def _add_stamps(stamps: dict[str, int]) -> set[str]:
    """Add the stamps that do not exist yet (SET NX, one pipeline on Redis); the keys added."""
    names = list(stamps)

    def run(client: Any) -> list:
        make_key = shared_cache.key_function()
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.set(make_key(name), stamps[name], nx=True, ex=detail_cache.STAMP_TTL)
        return pipe.execute()

    added = shared_cache.pipelined(run)
    if added is None:
        added = [cache.add(name, stamps[name], detail_cache.STAMP_TTL) for name in names]
    return {name for name, ok in zip(names, added, strict=True) if ok}


def _keep(entries: dict[str, bytes]) -> None:
    """Store the entries as they are (raw bytes on Redis, which the script reads)."""

    def run(client: Any) -> bool:
        make_key = shared_cache.key_function()
        pipe = client.pipeline(transaction=False)
        for key, value in entries.items():
            pipe.set(make_key(key), value, ex=TTL)
        pipe.execute()
        return True

    if shared_cache.pipelined(run) is None:
        cache.set_many(entries, TTL)


def joined(rows: list[Any]) -> str:
    """The cards of `rows` as one piece of HTML (our own template's output)."""
    return mark_safe(b"".join(row.html for row in rows).decode())  # noqa: S308
