"""The repairs CSV export reads the same number of queries whatever the number of repairs in
the range, and writes its rows in blocks, not one write per row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.reports_support import FROM, TO, at, set_timeline
from workflows.api import reports as csv_api

pytestmark = pytest.mark.django_db
URL = f"/api/v1/reports/repairs.csv?from={FROM}&to={TO}"
WAITING = [(0, "received"), (2, "awaiting_parts"), (30, "in_repair"), (31, "awaiting_parts")]


def _export_queries(client, manager) -> tuple[int, int]:
    """(queries while answering and streaming the whole export, rows in it)."""
    client.force_login(manager)
    client.get(URL)  # warm: the session, content types
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL)
        body = b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(ctx.captured_queries), body.count(b"\n") - 1


def test_the_export_query_count_is_the_same_at_two_sizes(client, manager, make_repair):
    for day in (6, 7):
        set_timeline(make_repair(), at(day), WAITING)
    small, rows_small = _export_queries(client, manager)
    for day in range(6, 18):
        set_timeline(make_repair(), at(day), WAITING)
    large, rows_large = _export_queries(client, manager)
    assert (rows_small, rows_large) == (2, 14)
    assert small == large


def test_rows_are_written_in_blocks(client, manager, make_repair, monkeypatch):
    monkeypatch.setattr(csv_api, "BLOCK_CHARS", 300)
    for day in range(6, 18):
        set_timeline(make_repair(), at(day), WAITING)
    client.force_login(manager)
    response = client.get(URL)
    blocks = list(response.streaming_content)
    lines = b"".join(blocks).count(b"\n")
    assert lines == 13  # the header and 12 rows
    assert 1 < len(blocks) < lines  # more than one block, fewer than one per line
    assert all(block.endswith(b"\r\n") for block in blocks)  # a block holds whole lines
