"""core/compat.py reaches into WeasyPrint and Django internals. Each test here fails when the
pinned library changes underneath a shim: the version it was written for, and that the internal
it touches still exists and behaves."""

import io

import django
import pytest
import weasyprint
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from pypdf import PdfReader
from weasyprint import HTML

from core import compat
from core.cache import PooledRedisCache

# --- WeasyPrint --------------------------------------------------------------------------------


def test_weasyprint_is_the_version_the_shims_were_written_for():
    assert weasyprint.__version__ == compat.WEASYPRINT_VERSION, (
        "WeasyPrint changed: check crop_last_page, harfbuzz_subsetting_available and "
        "fontconfig_family_names in core/compat.py against the new internals, then update "
        "WEASYPRINT_VERSION."
    )


RECEIPT = """<style>@page { size: 80mm 400mm; margin: 4mm } body { margin: 0 }</style>
<p style="height: 30mm; margin: 0">a short receipt</p>"""


def test_the_page_box_internals_the_receipt_trick_reads_are_there():
    page = HTML(string=RECEIPT).render().pages[-1]
    box = page._page_box
    root = next(c for c in box.children if getattr(c, "element_tag", "") == "html")
    assert isinstance(root.position_y, float) and callable(root.margin_height)
    assert isinstance(box.margin_bottom, float)


def test_the_receipt_gets_the_trimmed_height_in_the_pdf(tmp_path):
    document = HTML(string=RECEIPT).render()
    full = document.pages[-1].height
    compat.crop_last_page(document)
    trimmed = document.pages[-1].height
    # 4 mm margin + 30 mm content + 4 mm margin, in CSS px (96 per inch).
    assert trimmed == pytest.approx(38 / 25.4 * 96, abs=1)
    assert trimmed < full / 5
    # ... and WeasyPrint writes the changed height: the PDF's MediaBox is the trimmed one (pt).
    pdf = document.write_pdf()
    height_pt = float(PdfReader(io.BytesIO(pdf)).pages[-1].mediabox.height)
    assert height_pt == pytest.approx(38 / 25.4 * 72, abs=1)


def test_harfbuzz_and_fontconfig_handles_are_where_the_shims_look():
    from weasyprint.text import ffi

    assert hasattr(ffi, "harfbuzz") and hasattr(ffi, "harfbuzz_subset")
    assert hasattr(ffi.fontconfig, "FcFontMatch") and hasattr(ffi.fontconfig, "FcPatternGetString")
    assert isinstance(compat.harfbuzz_subsetting_available(), bool)
    assert "nanumgothic" in compat.fontconfig_family_names("NanumGothic")


# --- Django's Redis cache ----------------------------------------------------------------------


def test_django_is_the_version_the_redis_shims_were_written_for():
    assert django.VERSION[:2] == compat.DJANGO_VERSION, (
        "Django changed: check PooledRedisCacheClient, use_pooled_clients and redis_client in "
        "core/compat.py against django/core/cache/backends/redis.py, then update DJANGO_VERSION."
    )


def test_the_private_redis_client_api_the_shim_overrides_is_there():
    assert callable(RedisCacheClient._get_connection_pool)
    stock = RedisCache("redis://127.0.0.1:6379/15", {})
    assert stock._class is RedisCacheClient
    client = stock._cache
    assert isinstance(client, RedisCacheClient)
    # The stock client builds a new redis client per call: that is what the shim is for.
    assert client.get_client(write=True) is not client.get_client(write=True)


def test_the_pooled_cache_returns_the_same_client_twice():
    # No server needed: a redis client connects on its first command, not when built.
    pooled = PooledRedisCache("redis://127.0.0.1:6379/15", {})
    assert isinstance(pooled._cache, compat.PooledRedisCacheClient)
    first = pooled._cache.get_client(write=True)
    assert pooled._cache.get_client(write=True) is first
    assert pooled._cache.get_client("some-key", write=True) is first
    assert compat.redis_client(pooled) is first
    assert first.connection_pool is pooled._cache._get_connection_pool(True)


def test_redis_client_is_none_for_other_backends():
    assert compat.redis_client(LocMemCache("other", {})) is None
