"""The API repair detail's cached body (workflows/detail_cache.py): served at a hit with the
visibility check and nothing else, dropped by every kind of change of the repair, never served to
another reader, right after a rolled-back change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from parts.models import PartsOrderLine
from tests.appointments_support import at, bookable, open_day
from tests.parts_orders_support import order_of, waiting_repair
from tests.payments_support import *  # noqa: F403 - the ledger fixtures (walk)
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, get
from workflows import detail_cache, selectors
from workflows import services as s
from workflows.models import Repair

pytestmark = pytest.mark.django_db

# token+user+roles (1) and the narrow visible-repair row (1); no prefetch, no serializer
HIT_QUERIES = 2
MISS_QUERIES = 8  # tests/test_api_queries.py: DETAIL_QUERIES


def _detail(client, repair, django_assert_num_queries, queries: int) -> dict:
    with django_assert_num_queries(queries):
        response = get(client, f"/repairs/{repair.ticket_number}/")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def cached(django_assert_num_queries):
    """cached(client, repair) -> the body, fetched once (a miss) and once more (a hit)."""

    def fetch(client, repair) -> dict:
        first = _detail(client, repair, django_assert_num_queries, MISS_QUERIES)
        assert _detail(client, repair, django_assert_num_queries, HIT_QUERIES) == first
        return first

    return fetch


@pytest.fixture
def hit(django_assert_num_queries):
    """hit(client, repair) -> the body, asserted to come from the cache."""

    def fetch(client, repair) -> dict:
        return _detail(client, repair, django_assert_num_queries, HIT_QUERIES)

    return fetch


@pytest.fixture
def refetch(django_assert_num_queries):
    """refetch(client, repair) -> the body, asserted to be built again (a miss)."""

    def fetch(client, repair) -> dict:
        return _detail(client, repair, django_assert_num_queries, MISS_QUERIES)

    return fetch


def test_a_second_fetch_is_served_from_the_cache_with_two_queries(make_repair, desk, cached):
    repair = make_repair()
    body = cached(client_for(desk), repair)
    assert body["ticket_number"] == repair.ticket_number


def test_a_transition_drops_the_cached_body(make_repair, desk, tech, cached, refetch):
    repair = make_repair()
    client = client_for(desk)
    assert cached(client, repair)["state"] == "received"
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    body = refetch(client, repair)
    assert body["state"] != "received" and body["technician"]["username"] == tech.username


def test_a_staff_only_note_drops_the_cached_body(make_repair, desk, cached, refetch):
    repair = make_repair()
    client = client_for(desk)
    before = len(cached(client, repair)["timeline"])
    s.repair_add_note(repair=repair, actor=desk, text="뒷면 긁힘", customer_visible=False)
    timeline = refetch(client, repair)["timeline"]
    assert len(timeline) == before + 1 and timeline[-1]["text"] == "뒷면 긁힘"


def test_a_payment_drops_the_cached_body(walk, desk, cached, refetch):
    repair = walk("awaiting_approval")
    client = client_for(desk)
    assert cached(client, repair)["amount_paid"] == 0
    s.repair_record_payment(repair=repair, actor=desk, amount=5000, method="cash")
    assert refetch(client, repair)["amount_paid"] == 5000


def test_booking_an_appointment_drops_the_cached_body(
    make_repair, desk, tech, in_warranty, cached, refetch
):
    repair = bookable(make_repair, desk, tech, in_warranty.serial_number)
    client = client_for(desk)
    assert cached(client, repair)["appointment"] is None
    start = at(open_day(), 11)
    s.repair_book_appointment(repair=repair, actor=desk, start=start)
    appointment = refetch(client, repair)["appointment"]
    assert appointment is not None and appointment["status"] == "booked"


def test_a_promise_made_and_kept_drops_the_cached_body(make_repair, desk, cached, refetch, hit):
    repair = make_repair()
    client = client_for(desk)
    assert cached(client, repair)["promises"] == []
    due = timezone.now() + dt.timedelta(days=2)
    promise = s.repair_record_promise(repair=repair, actor=desk, kind="callback", due_at=due)
    assert [p["id"] for p in refetch(client, repair)["promises"]] == [promise.pk]
    assert hit(client, repair)["promises"][0]["fulfilled_at"] is None
    s.repair_fulfil_promise(repair=repair, actor=desk, promise_id=promise.pk)
    assert refetch(client, repair)["promises"][0]["fulfilled_at"] is not None


def test_a_parts_order_shipped_and_received_drops_the_cached_body(
    make_repair, desk, tech, manager, spring, in_warranty, cached, refetch, hit
):
    repair = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 11)
    client = client_for(desk)
    assert [r["status"] for r in cached(client, repair)["reservations"]] == ["waiting"]
    order = order_of(repair)
    s.parts_order_ship(order_id=order.pk, carrier="CJ", tracking_number="1", eta=open_day(3))
    assert refetch(client, repair)["timeline"][-1]["customer_visible"]
    hit(client, repair)
    s.parts_order_receive(order_id=order.pk, actor_user=manager)
    body = refetch(client, repair)
    assert [r["status"] for r in body["reservations"]] == ["reserved"]
    assert body["state"] != "awaiting_parts"


def test_a_cancelled_parts_order_drops_the_cached_body(
    make_repair, desk, tech, spring, in_warranty, cached, refetch
):
    repair = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 12)
    client = client_for(desk)
    before = len(cached(client, repair)["timeline"])
    s.parts_order_cancel(order_id=order_of(repair).pk, reason="단종")
    assert len(refetch(client, repair)["timeline"]) > before
    assert PartsOrderLine.objects.filter(repair=repair).exists()


def test_reserving_from_stock_that_arrived_drops_the_cached_body(
    make_repair, desk, tech, manager, center, spring, in_warranty, cached, refetch
):
    repair = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 13)
    client = client_for(desk)
    assert [r["status"] for r in cached(client, repair)["reservations"]] == ["waiting"]
    s.stock_adjust(center=center, part=spring, delta=1, reason="찾음", actor_user=manager)
    assert [r["status"] for r in refetch(client, repair)["reservations"]] == ["reserved"]


def test_another_repair_of_the_customer_drops_the_cached_body(make_repair, desk, cached, refetch):
    repair = make_repair()
    client = client_for(desk)
    assert cached(client, repair)["customer_repairs"] == []
    second = make_repair(symptom="배터리")  # the same customer (phone)
    assert [r["ticket_number"] for r in refetch(client, repair)["customer_repairs"]] == [
        second.ticket_number
    ]


def test_a_changed_version_is_a_miss_even_without_an_event(make_repair, desk, cached, refetch):
    repair = make_repair()
    client = client_for(desk)
    cached(client, repair)
    Repair.objects.filter(pk=repair.pk).update(symptom="관리자가 고침", version=repair.version + 1)
    assert refetch(client, repair)["symptom"] == "관리자가 고침"


def test_a_body_cached_for_a_manager_is_not_served_to_the_desk_or_the_technician(
    make_repair, desk, tech, manager, cached
):
    repair = s.repair_assign(repair=make_repair(), actor=desk, technician=tech)
    for_manager = cached(client_for(manager), repair)
    for_desk = cached(client_for(desk), repair)  # a miss first: its own key
    for_tech = cached(client_for(tech), repair)
    assert {k: v for k, v in for_desk.items() if k != "available_transitions"} == {
        k: v for k, v in for_manager.items() if k != "available_transitions"
    }
    assert len({tuple(b["available_transitions"]) for b in (for_manager, for_desk, for_tech)}) > 1


def test_another_centers_staff_get_404_while_a_body_is_cached(
    make_repair, desk, foreign_desk, cached, django_assert_num_queries
):
    repair = make_repair()
    cached(client_for(desk), repair)
    foreign = client_for(foreign_desk)
    with django_assert_num_queries(HIT_QUERIES):  # the visibility check, then no cache at all
        response = get(foreign, f"/repairs/{repair.ticket_number}/")
    assert response.status_code == 404 and "ticket_number" not in response.json()


def test_a_body_is_cached_per_language(make_repair, desk, django_assert_num_queries):
    repair = make_repair()
    client = client_for(desk)
    labels = {}
    for language in ("ko", "en", "ko", "en"):
        response = client.get(
            f"/api/v1/repairs/{repair.ticket_number}/", HTTP_ACCEPT_LANGUAGE=language
        )
        labels.setdefault(language, set()).add(response.json()["state_label"])
    assert labels["ko"] != labels["en"] and all(len(v) == 1 for v in labels.values())


def test_an_entry_lives_no_longer_than_the_next_promise_takes_to_fall_due(make_repair, desk):
    repair = make_repair()
    soon = timezone.now() + dt.timedelta(seconds=90)
    s.repair_record_promise(repair=repair, actor=desk, kind="callback", due_at=soon)
    later = timezone.now() + dt.timedelta(days=3)
    s.repair_record_promise(repair=repair, actor=desk, kind="callback", due_at=later)
    row = selectors.repair_detail_get(user=desk, ticket_number=repair.ticket_number)
    assert 80 <= detail_cache.ttl_for(row) <= 90
    s.repair_fulfil_promise(repair=repair, actor=desk, promise_id=row.promises.all()[0].pk)
    row = selectors.repair_detail_get(user=desk, ticket_number=repair.ticket_number)
    assert detail_cache.ttl_for(row) == detail_cache.TTL


@pytest.mark.django_db(transaction=True)
def test_a_body_stored_while_a_change_commits_is_not_served_after(make_repair, desk, refetch):
    repair = make_repair()
    client = client_for(desk)
    row = selectors.repair_detail_get(user=desk, ticket_number=repair.ticket_number)
    with transaction.atomic():
        s.repair_add_note(repair=repair, actor=desk, text="사이에", customer_visible=False)
        # A reader of the old rows, after the event was written and before the commit.
        with translation.override(settings.LANGUAGE_CODE):  # the request's key
            detail_cache.Lookup(row, desk).store(b'{"stale": true}', 60)
    body = refetch(client, repair)
    assert "stale" not in body and body["timeline"][-1]["text"] == "사이에"


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_the_cached_body_right(make_repair, desk, cached):
    repair = make_repair()
    client = client_for(desk)
    before = cached(client, repair)
    with pytest.raises(RuntimeError), transaction.atomic():
        s.repair_add_note(repair=repair, actor=desk, text="취소됨", customer_visible=False)
        raise RuntimeError("rolled back")
    assert get(client, f"/repairs/{repair.ticket_number}/").json() == before
    assert "취소됨" not in [e["text"] for e in before["timeline"]]
