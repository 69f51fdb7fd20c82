"""Times promised to the customer (an invitation's `ready_by`, a promise's `due_at`) must lie
ahead, read in the center's time zone (Asia/Seoul): 400 naming the field at the API, a message
beside the field on the page; nothing promised, nothing sent."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.hostile_support import refused_by_api, refused_by_page, transition_refused_by_page
from tests.test_api_support import client_for, post
from workflows import services as s
from workflows.models import Notification, Promise

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
PAST_KO = "약속 시각은 지금 이후여야 합니다."


@pytest.fixture(autouse=True)
def _seoul(settings):
    settings.TIME_ZONE = "Asia/Seoul"


@pytest.fixture
def to_invite(make_repair, desk, tech, in_warranty):
    """A warranty repair, nothing to order, the device still with the customer: it may be
    invited."""
    repair = make_repair(serial_number=in_warranty.serial_number, device_in_shop=False)
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    return s.repair_diagnose(repair=repair, actor=tech, findings="스프링 교체")


def invite(user, repair, ready_by):
    path = f"/repairs/{repair.ticket_number}/transitions/invite_for_repair/"
    return post(client_for(user), path, {"ready_by": ready_by})


def seoul(when: dt.datetime) -> str:
    """A time as a datetime-local box sends it: Seoul's wall clock, no offset."""
    return f"{when.astimezone(SEOUL):%Y-%m-%dT%H:%M}"


def test_an_invitation_ready_by_2020_is_refused_and_nothing_is_sent(to_invite, desk, outbox):
    # Issue 11: "accepted and texted to the customer (늦어도 2020-01-01 10:00까지)".
    path = f"/repairs/{to_invite.ticket_number}/transitions/invite_for_repair/"

    body = refused_by_api(desk, path, {"ready_by": "2020-01-01T10:00"}, "ready_by")

    assert body["errors"]["ready_by"]
    to_invite.refresh_from_db()
    assert to_invite.invited_at is None and to_invite.promised_ready_by is None
    assert not Promise.objects.exists()
    assert not Notification.objects.filter(kind="invite_for_repair").exists()
    assert outbox == []


def test_the_invite_form_says_beside_the_field_that_the_time_has_passed(client, to_invite, desk):
    client.force_login(desk)
    path = f"/desk/repairs/{to_invite.ticket_number}/transitions/invite_for_repair/"
    earlier = seoul(timezone.now() - dt.timedelta(minutes=5))  # today, a time already past

    html = transition_refused_by_page(
        client, path, {"ready_by": earlier}, "invite_for_repair", "ready_by"
    )

    assert PAST_KO in html
    assert not Promise.objects.filter(kind="ready_by").exists()


def test_a_time_later_today_is_a_promise_that_can_be_kept(to_invite, desk):
    later = timezone.now() + dt.timedelta(hours=2)

    response = invite(desk, to_invite, seoul(later))

    assert response.status_code == 200, response.json()
    promise = Promise.objects.get(repair=to_invite, kind="ready_by")
    assert promise.due_at == later.replace(second=0, microsecond=0)
    assert Notification.objects.filter(kind="invite_for_repair").count() == 1


def test_a_time_without_an_offset_is_read_on_seouls_clock(to_invite, desk):
    # One hour ahead on a UTC clock is eight hours ago in Seoul (UTC+9).
    utc_wall = f"{(timezone.now() + dt.timedelta(hours=1)).astimezone(dt.UTC):%Y-%m-%dT%H:%M}"

    refused_by_api(
        desk,
        f"/repairs/{to_invite.ticket_number}/transitions/invite_for_repair/",
        {"ready_by": utc_wall},
        "ready_by",
    )
    assert invite(desk, to_invite, utc_wall + "+00:00").status_code == 200


def test_without_a_ready_by_the_invitation_promises_a_day_from_now(to_invite, desk):
    response = invite(desk, to_invite, None)

    assert response.status_code == 200, response.json()
    due = Promise.objects.get(repair=to_invite).due_at
    assert dt.timedelta(hours=23) < due - timezone.now() <= dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("now", "typed", "accepted"),
    [
        ("2030-03-10T17:00", "2030-03-10", True),  # today, before 18:00
        ("2030-03-10T19:00", "2030-03-10", False),  # today, 18:00 has passed
        ("2030-03-10T19:00", "2030-03-11", True),
        ("2030-03-10T19:00", "2030-03-10T18:59", False),
        ("2030-03-10T19:00", "2030-03-10T19:01", True),
    ],
)
def test_a_bare_date_means_18_00_that_day_in_seoul(
    make_repair, desk, monkeypatch, now, typed, accepted
):
    repair = make_repair()
    frozen = dt.datetime.fromisoformat(now).replace(tzinfo=SEOUL)
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    data = {"kind": "callback", "due_at": typed}

    response = post(client_for(desk), f"/repairs/{repair.ticket_number}/promises/", data)

    assert response.status_code == (201 if accepted else 400), response.json()
    assert Promise.objects.exists() == accepted


@pytest.mark.parametrize("due_at", ["2020-01-01T10:00", "2000-01-01", "2025-12-31T23:59+09:00"])
def test_a_promise_due_in_the_past_is_refused_at_the_api(make_repair, desk, due_at):
    repair = make_repair()
    data = {"kind": "callback", "due_at": due_at}

    refused_by_api(desk, f"/repairs/{repair.ticket_number}/promises/", data, "due_at")


def test_the_promise_form_says_beside_the_field_that_the_time_has_passed(client, make_repair, desk):
    repair = make_repair()
    client.force_login(desk)
    data = {"kind": "part_eta", "due_at": seoul(timezone.now() - dt.timedelta(hours=1))}

    html = refused_by_page(client, f"/desk/repairs/{repair.ticket_number}/promise/", data, "due_at")

    assert PAST_KO in html


def test_the_promise_form_speaks_english_too(client, make_repair, desk):
    repair = make_repair()
    client.force_login(desk)
    client.cookies["django_language"] = "en"
    data = {"kind": "callback", "due_at": "2020-01-01T10:00", "note": ""}

    html = refused_by_page(client, f"/desk/repairs/{repair.ticket_number}/promise/", data, "due_at")

    assert "A promised time must lie in the future." in html
