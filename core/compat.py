"""Every use of a library's internals, in one place, each written for one pinned version.

`tests/test_compat.py` asserts the pinned versions below and that each internal still exists and
does what we rely on; when an upgrade changes one, that test fails first and points here.

- WeasyPrint (requirements.txt): the receipt's last page is cut below its content through the
  laid-out page box (`Page._page_box`); HarfBuzz subsetting and fontconfig matching are asked of
  `weasyprint.text.ffi` (the cffi handles WeasyPrint loaded).
- Django's Redis cache: one `redis.Redis` client per connection pool (the stock client builds a
  new one on every call) through `RedisCacheClient._get_connection_pool` / `._client`, and
  `RedisCache._class` / `._cache` to install and reach it.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

WEASYPRINT_VERSION = "70.0"  # what the WeasyPrint shims below were written for
DJANGO_VERSION = (5, 2)  # major, minor the Redis shims below were written for


# --- WeasyPrint --------------------------------------------------------------------------------


def crop_last_page(document: Any) -> None:
    """Cut the last page of a rendered document just below its content (receipt paper is
    continuous). WeasyPrint 70 draws at write time from `page.height`, after layout, so changing
    the height of the rendered page is enough; the content's bottom is read from the page box."""
    page = document.pages[-1]
    box = page._page_box
    root = next((c for c in box.children if getattr(c, "element_tag", "") == "html"), None)
    if root is None:
        return
    bottom = root.position_y + root.margin_height() + box.margin_bottom
    page.height = min(page.height, bottom)


def harfbuzz_subsetting_available() -> bool:
    """True when WeasyPrint subsets fonts with HarfBuzz's hb-subset rather than fontTools.

    WeasyPrint 70 decides in `weasyprint.pdf.fonts.Font.subset`: it dlopens
    libharfbuzz-subset.so.0 through cffi at import (`weasyprint.text.ffi.harfbuzz_subset`, None
    when missing; Debian package libharfbuzz-subset0) and needs HarfBuzz >= 4.1.0. Otherwise it
    falls back to fontTools, which is an order of magnitude slower on a 4.6 MB CJK font, and only
    says so at WARNING level on the `weasyprint` logger (which our settings silence).
    """
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return harfbuzz_subset is not None and bool(harfbuzz.hb_version_atleast(4, 1, 0))


def fontconfig_family_names(family: str) -> set[str]:
    """The family names (lower case, no spaces) of the font fontconfig matches to `family`,
    through WeasyPrint's fontconfig handle (what `fc-match` does); empty when nothing matches."""
    from weasyprint.text.ffi import ffi, fontconfig

    config = ffi.gc(fontconfig.FcInitLoadConfigAndFonts(), fontconfig.FcConfigDestroy)
    pattern = ffi.gc(fontconfig.FcPatternCreate(), fontconfig.FcPatternDestroy)
    fontconfig.FcPatternAddString(pattern, b"family", family.encode())
    fontconfig.FcConfigSubstitute(config, pattern, fontconfig.FcMatchPattern)
    fontconfig.FcDefaultSubstitute(pattern)
    result = ffi.new("FcResult *")
    match = fontconfig.FcFontMatch(config, pattern, result)
    if match == ffi.NULL:
        return set()
    match = ffi.gc(match, fontconfig.FcPatternDestroy)
    names, value, index = set(), ffi.new("FcChar8 **"), 0
    while fontconfig.FcPatternGetString(match, b"family", index, value) == 0:
        names.add(ffi.string(value[0]).decode().replace(" ", "").lower())
        index += 1
    return names


# --- Django's Redis cache ----------------------------------------------------------------------


class PooledRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one redis client per connection pool.

    The stock `get_client` builds a new `redis.Redis` for every call, and building one (its
    response-callback table) costs more CPU than the round trip itself. Clients are thread-safe
    and share the pool, so one per pool is enough."""

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(id(pool))
        if client is None:
            client = clients[id(pool)] = self._client(connection_pool=pool)
        return client


def use_pooled_clients(cache: RedisCache) -> None:
    """Make a RedisCache build its client with `PooledRedisCacheClient` (call in `__init__`)."""
    cache._class = PooledRedisCacheClient


def redis_client(cache: Any) -> Any:
    """The (pooled) redis client behind a RedisCache for writes, for commands the cache API
    lacks; None for any other backend."""
    if not isinstance(cache, RedisCache):
        return None
    return cache._cache.get_client(write=True)
