"""The public status answer is cached per repair and forgotten as soon as the repair changes."""

from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import post
from workflows import services as s


def lookup(client, ticket):
    return post(client, "/public/status/", {"ticket_number": ticket, "phone_last4": "6789"})


def test_a_repeated_lookup_is_answered_from_the_cache_without_a_query(
    make_repair, anon_api, django_assert_num_queries
):
    repair = make_repair()
    first = lookup(anon_api, repair.ticket_number)
    assert first.status_code == 200
    with django_assert_num_queries(0):  # the ticket's digits and the answer both come from cache
        again = lookup(anon_api, repair.ticket_number)
    assert again.json() == first.json()


def test_a_transition_is_visible_at_the_next_lookup(make_repair, anon_api, desk, tech):
    repair = make_repair()
    assert lookup(anon_api, repair.ticket_number).json()["state"] == "received"
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    answer = lookup(anon_api, repair.ticket_number).json()
    assert answer["state"] == "diagnosing"
    assert answer["technician_name"]


def test_a_customer_visible_note_is_visible_at_the_next_lookup(make_repair, anon_api, desk):
    repair = make_repair()
    before = lookup(anon_api, repair.ticket_number).json()["timeline"]
    s.repair_add_note(repair=repair, actor=desk, text="부품 확인 중입니다", customer_visible=True)
    after = lookup(anon_api, repair.ticket_number).json()["timeline"]
    assert len(after) == len(before) + 1


def test_the_cached_answer_follows_the_language(make_repair, anon_api):
    repair = make_repair()
    body = {"ticket_number": repair.ticket_number, "phone_last4": "6789"}
    korean = post(anon_api, "/public/status/", body, HTTP_ACCEPT_LANGUAGE="ko").json()
    english = post(anon_api, "/public/status/", body, HTTP_ACCEPT_LANGUAGE="en").json()
    assert korean["state_label"] != english["state_label"]
