"""On Redis a repeat public lookup is one round trip (one script: both throttles, the remembered
ticket, and for the right digits the attempt given back and the cached answer), with no query.
Without REDIS_URL it uses the machine's Redis itself; skipped (saying why) only when there is none,
and failing then under CI."""

from __future__ import annotations

import os

import pytest
import redis
from django.core.cache import caches

from core.cache import PooledRedisCache
from tests.test_api_public import _redis_url
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import post
from tests.test_redis_down import _redis_caches
from workflows import public

pytestmark = pytest.mark.django_db


@pytest.fixture
def round_trips(monkeypatch, settings):
    """A list that gets one entry per Redis round trip (a command or a pipeline's execute)."""
    if not isinstance(caches["default"], PooledRedisCache):
        # No REDIS_URL (.ci/run's SQLite leg): this test brings its own Redis cache, on the
        # machine's Redis, so it runs on both legs.
        url = _redis_url()
        if url is None:
            if os.environ.get("CI"):
                pytest.fail("Redis unreachable at 127.0.0.1:6379, and CI needs it for this test")
            pytest.skip("Redis unreachable at 127.0.0.1:6379 (start redis-server to run this test)")
        settings.CACHES = _redis_caches(url)
        caches["default"].clear()
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


def test_a_repeat_lookup_is_one_round_trip_with_the_give_back(
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
    assert round_trips == ["EVALSHA"]


def test_a_wrong_phone_is_one_round_trip_and_no_give_back(make_repair, anon_api, round_trips):
    repair = make_repair()
    lookup = {"ticket_number": repair.ticket_number, "phone_last4": "0000"}
    assert post(anon_api, "/public/status/", lookup).status_code == 404
    round_trips.clear()
    assert post(anon_api, "/public/status/", lookup).status_code == 404
    assert round_trips == ["EVALSHA"]


def _redis():
    from core import compat

    return compat.redis_client(caches["default"])


def test_right_answers_are_given_back_inside_the_script(
    make_repair, anon_api, round_trips, settings
):
    settings.PUBLIC_LOOKUP_FAILURES_PER_TICKET = 3
    repair = make_repair()
    lookup = {"ticket_number": repair.ticket_number, "phone_last4": "6789"}
    for _ in range(6):  # twice the limit: a right answer is not a guess
        assert post(anon_api, "/public/status/", lookup).status_code == 200
    ticket_key = caches["default"].make_key(public._ticket_key(repair.ticket_number))
    assert int(_redis().get(ticket_key)) == 0
    for _ in range(3):
        wrong = {**lookup, "phone_last4": "0000"}
        assert post(anon_api, "/public/status/", wrong).status_code == 404
    assert post(anon_api, "/public/status/", lookup).status_code == 429  # then locked


def test_a_redis_that_lost_the_script_gets_it_again(make_repair, anon_api, round_trips):
    repair = make_repair()
    lookup = {"ticket_number": repair.ticket_number, "phone_last4": "6789"}
    first = post(anon_api, "/public/status/", lookup)
    _redis().script_flush()  # as after a Redis restart
    round_trips.clear()
    again = post(anon_api, "/public/status/", lookup)
    assert again.status_code == 200 and again.json() == first.json()
    assert round_trips == ["EVALSHA", "SCRIPT LOAD", "EVALSHA"]


def test_redis_keeps_a_keyed_hash_of_the_digits_not_the_digits(make_repair, anon_api, round_trips):
    repair = make_repair()
    lookup = {"ticket_number": repair.ticket_number, "phone_last4": "6789"}
    assert post(anon_api, "/public/status/", lookup).status_code == 200
    known_key = caches["default"].make_key(public._known_key(repair.ticket_number))
    kept = _redis().get(known_key).decode()
    assert kept.startswith(f"{repair.pk}:") and "6789" not in kept


def test_a_rotated_secret_key_still_finds_the_right_digits(
    make_repair, anon_api, round_trips, settings
):
    repair = make_repair()
    lookup = {"ticket_number": repair.ticket_number, "phone_last4": "6789"}
    assert post(anon_api, "/public/status/", lookup).status_code == 200
    settings.SECRET_KEY = "another-secret-key-after-a-rotation-0123456789"
    assert post(anon_api, "/public/status/", lookup).status_code == 200
    assert post(anon_api, "/public/status/", {**lookup, "phone_last4": "0000"}).status_code == 404
