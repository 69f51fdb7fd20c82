"""The board's kept cards (workflows/board_cards.py) end on a change, not on a clock: an admin's
edit of what a card shows (the customer, the technician's name, the model's name) draws the card
again at once, a sign-in does not, and a card untouched for an hour is still the kept one. On
Redis the board asks for its cards in one script; the card rows carry `overdue_since` exactly."""

from __future__ import annotations

import datetime as dt

import pytest
import redis
from django.core.cache import caches
from django.utils import timezone

from core.cache import PooledRedisCache
from tests import test_public_round_trip_redis as redis_support
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, get
from tests.test_board_sql import _card, _page_queries, _promise
from workflows import board_cards
from workflows import page_selectors as sel

pytestmark = pytest.mark.django_db
round_trips = redis_support.round_trips  # a fixture: one entry per Redis round trip


@pytest.fixture
def board(client, desk):
    """board() -> the desk board's HTML (Korean), as the desk sees it."""
    client.force_login(desk)

    def look() -> str:
        response = client.get("/desk/", headers={"accept-language": "ko"})
        assert response.status_code == 200
        return response.content.decode()

    return look


def test_a_renamed_customer_shows_on_the_board_at_once(make_repair, board, client):
    repair = make_repair(customer={"name": "김옛이름", "phone": "010-2222-3333"})
    assert "김옛이름" in _card(board(), repair)
    warm = _page_queries(client, "/desk/")
    customer = repair.customer
    customer.name, customer.phone = "박새이름", "010-2222-4444"
    customer.save()  # what the admin's form does
    card = _card(board(), repair)
    assert "박새이름" in card and "김옛이름" not in card
    assert "4444" in card and "3333" not in card
    assert _page_queries(client, "/desk/") == warm  # kept again


def test_a_technician_renamed_shows_on_the_board_at_once(make_repair, board, desk, tech):
    from workflows import services

    repair = services.repair_assign(repair=make_repair(), actor=desk, technician=tech)
    profile = tech.staff_profile
    profile.display_name = "이기사"
    profile.save()
    assert "이기사" in _card(board(), repair)
    profile.display_name = "최기사"
    profile.save()
    card = _card(board(), repair)
    assert "최기사" in card and "이기사" not in card


def test_a_renamed_model_shows_on_the_board_at_once(make_repair, board, headset):
    repair = make_repair()
    assert headset.name in _card(board(), repair)
    headset.name = "HBS-1100 (2세대)"
    headset.save()
    assert "HBS-1100 (2세대)" in _card(board(), repair)


def test_a_sign_in_draws_no_card_again(make_repair, board, client, desk, tech):
    from workflows import services

    services.repair_assign(repair=make_repair(), actor=desk, technician=tech)
    board()
    warm = _page_queries(client, "/desk/")
    tech.last_login = timezone.now()
    tech.save(update_fields=["last_login"])  # what a sign-in saves
    assert _page_queries(client, "/desk/") == warm
    tech.first_name = "길동"
    tech.save()  # a name may have changed: the technician's cards are drawn again
    assert _page_queries(client, "/desk/") == warm + 2


def test_a_card_untouched_for_an_hour_is_still_the_kept_one(
    make_repair, board, client, monkeypatch
):
    repair = make_repair()
    _promise(repair, 5)
    board()
    warm = _page_queries(client, "/desk/")
    later = timezone.now() + dt.timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert _page_queries(client, "/desk/") == warm
    assert repair.ticket_number in board()


def test_the_card_rows_carry_the_first_late_promise_to_the_microsecond(make_repair, center):
    repair = make_repair()
    due = timezone.now().replace(microsecond=123457) - dt.timedelta(hours=3)
    from workflows.models import Promise

    Promise.objects.create(repair=repair, kind="callback", due_at=due)
    Promise.objects.create(repair=repair, kind="callback", due_at=due + dt.timedelta(hours=1))
    calm = make_repair()
    rows = {r.pk: r for r in sel.desk_board(center_id=center.pk).overdue}
    assert rows[repair.pk].overdue_since == due
    assert calm.pk not in rows
    columns = [r for _st, _label, rs, _n in sel.desk_board(center_id=center.pk).columns for r in rs]
    assert {r.pk: r.overdue_us for r in columns}[calm.pk] is None


# --- on Redis: one script for the cards --------------------------------------------------------


def _scripts(trips):
    return [t for t in trips if t.upper().startswith(("EVAL", "SCRIPT"))]


def test_on_redis_a_kept_board_asks_for_its_cards_in_one_script(
    make_repair,
    board,
    round_trips,
):
    assert isinstance(caches["default"], PooledRedisCache)
    repairs = [make_repair() for _ in range(4)]
    _promise(repairs[0], -2)
    board()  # draws and keeps them
    round_trips.clear()
    html = board()
    assert all(r.ticket_number in html for r in repairs)
    assert _scripts(round_trips) == ["EVALSHA"]
    assert "pipeline" not in round_trips  # nothing drawn, so nothing stored


def test_on_redis_a_lost_script_is_loaded_again(make_repair, board, round_trips):
    repair = make_repair()
    board()
    redis.Redis.from_url(caches["default"]._cache._servers[0]).script_flush()
    round_trips.clear()
    assert repair.ticket_number in board()
    assert _scripts(round_trips)[:3] == ["EVALSHA", "SCRIPT LOAD", "EVALSHA"]


def test_on_redis_a_card_kept_under_an_old_stamp_is_drawn_again(
    make_repair,
    board,
    client,
    round_trips,
    desk,
):
    """The comparison inside the script: an event replaces the stamp, so the kept entry (still
    in Redis) is not answered, and the card is read and drawn again."""
    from workflows import services

    repair = make_repair()
    board()
    warm = _page_queries(client, "/desk/")
    services.repair_add_note(repair=repair, actor=desk, text="뒷면 긁힘", customer_visible=False)
    assert _page_queries(client, "/desk/") == warm + 2
    assert _page_queries(client, "/desk/") == warm


def test_the_cache_api_path_decides_as_the_script_does():
    stamp = b"12345"
    entry = b"12345|2000|<article>" + board_cards._SINCE + b"</article>"
    assert (
        board_cards._kept(entry, stamp, 1999) == b"<article>" + board_cards._SINCE + b"</article>"
    )
    assert board_cards._kept(entry, stamp, 2000) is None  # the next promise fell due
    assert board_cards._kept(entry, b"1234", 1999) is None  # another stamp (a prefix of it)
    assert board_cards._kept(entry, None, 1999) is None  # no stamp: nothing is current
    assert board_cards._kept(b"12345|-|<p>", stamp, 10**17) == b"<p>"  # no promise ahead
    assert board_cards._kept(("12345", None, "<p>"), stamp, 0) is None  # an older entry's shape


def test_a_customer_edit_drops_the_cached_detail_body(make_repair, desk):
    repair = make_repair(customer={"name": "김옛이름", "phone": "010-2222-3333"})
    client = client_for(desk)
    assert get(client, f"/repairs/{repair.ticket_number}/").json()["customer"]["name"] == "김옛이름"
    customer = repair.customer
    customer.name = "박새이름"
    customer.save()
    assert get(client, f"/repairs/{repair.ticket_number}/").json()["customer"]["name"] == "박새이름"
