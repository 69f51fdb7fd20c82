"""On Redis a repeat public lookup is one pipelined round trip (both throttles, the remembered
ticket, the cached answer) and one more to give the right answer's attempt back, with no query.
Skipped without REDIS_URL (saying why), as on .ci/run's SQLite leg; its PostgreSQL leg sets it."""

from __future__ import annotations

import os

import pytest
import redis
from django.core.cache import caches

from core.cache import PooledRedisCache
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def round_trips(monkeypatch):
    """A list that gets one entry per Redis round trip (a command or a pipeline's execute)."""
    if not isinstance(caches["default"], PooledRedisCache):
        if os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL"):
            pytest.fail("REDIS_URL is set but the shared cache is not Redis")
        # .ci/run's SQLite leg runs without Redis on purpose; its PostgreSQL leg has it.
        pytest.skip("needs Redis: run with REDIS_URL=redis://... (the in-process cache has none)")
    trips: list[str] = []
    command, execute = redis.Redis.execute_command, redis.client.Pipeline.execute

    def one_command(self, *args, **options):
        if not isinstance(self, redis.client.Pipeline):  # a pipeline's commands are buffered
            trips.append(str(args[0]))
        return command(self, *args, **options)

    def one_pipeline(self, *args, **options):
        trips.append("pipeline")
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", one_command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", one_pipeline)
    return trips


def test_a_repeat_lookup_is_one_pipeline_and_the_give_back(
    make_repair, anon_api, round_trips, django_assert_num_queries
):
    repair = make_repair()
    lookup = {"ticket_number": repair.ticket_number, "phone_last4": "6789"}
    first = post(anon_api, "/public/status/", lookup)
    assert first.status_code == 200
    round_trips.clear()
    with django_assert_num_queries(0):
        again = post(anon_api, "/public/status/", lookup)
    assert again.json() == first.json()
    assert round_trips == ["pipeline", "EVAL"]


def test_a_wrong_phone_is_one_pipeline_and_no_give_back(make_repair, anon_api, round_trips):
    repair = make_repair()
    lookup = {"ticket_number": repair.ticket_number, "phone_last4": "0000"}
    assert post(anon_api, "/public/status/", lookup).status_code == 404
    round_trips.clear()
    assert post(anon_api, "/public/status/", lookup).status_code == 404
    assert round_trips == ["pipeline"]
