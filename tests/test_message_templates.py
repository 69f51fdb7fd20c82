"""Message templates per center and language: the catalogue's defaults, validation, rendering
(the center's own wording, else the default; never another center's), the outbox rows that store
the text sent (SMS, and e-mail when the customer gave an address), and the manager's editor at
/manager/messages/ (save, errors kept, reset, the JSON and no-JS previews, who may use it)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from service_center.services import staff_create
from tests.conftest import PASSWORD
from workflows import messages
from workflows.choices import EventKind, NotificationKind
from workflows.messages import render, validate
from workflows.models import MessageTemplate, Notification, RepairEvent

pytestmark = pytest.mark.django_db
LIST = "/manager/messages/"
EDIT = "/manager/messages/received/ko/"
PREVIEW = "/manager/messages/received/ko/preview/"
CUSTOM = "[{center}] {ticket}: 맡기신 기기를 잘 받았습니다. {link}"


@pytest.fixture
def sc_manager(other_center):
    return staff_create(username="mgr_sc", role="manager", center_code="SC", password=PASSWORD)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def phoned_in(make_repair, **customer):
    """A repair phoned in (so the customer is sent the RECEIVED message)."""
    person = {"name": "김민지", "phone": "010-2345-6789", **customer}
    return make_repair(customer=person, intake_channel="phone", device_in_shop=False)


# --- the catalogue -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ko", "en"])
@pytest.mark.parametrize("kind", NotificationKind.values)
def test_every_kind_has_defaults_in_both_languages_that_validate(kind, language):
    subject, body = messages.defaults(kind, language)
    assert subject and body
    assert validate(kind, subject, body) == {}
    other = "en" if language == "ko" else "ko"
    assert messages.defaults(kind, other) != (subject, body)  # really translated


def test_every_placeholder_a_kind_uses_is_described():
    for entry in messages.CATALOGUE.values():
        assert set(entry.placeholders) <= set(messages.PLACEHOLDERS)
    assert set(messages.CATALOGUE) == set(NotificationKind.values)


def test_an_unknown_placeholder_is_refused_with_its_name_and_the_list():
    with translation.override("en"):
        (problem,) = validate("received", "", "[{center}] {ticket} {foo}")["body"]
    assert problem.startswith("Unknown placeholder {foo}; this message may use: {center},")
    assert "{ticket}" in problem and "{link}" in problem
    with translation.override("ko"):
        (problem,) = validate("received", "", "{foo}")["body"]
    assert problem.startswith("알 수 없는 자리 표시자 {foo}") and "{link}" in problem
    # a placeholder of another kind is unknown here too
    assert "{tracking}" in validate("received", "{tracking}", "x")["subject"][0]


def test_unbalanced_braces_and_bad_names_are_refused_and_doubled_braces_are_literal():
    assert validate("received", "", "{ticket")["body"]
    assert validate("received", "", "ticket}")["body"]
    assert "{a.b}" in validate("received", "", "{a.b} {0}")["body"][0]
    assert validate("received", "", "{{literal}} {ticket}") == {}
    rendered = messages.render_text("received", "s", "{{x}} {ticket}", {"ticket": "T-1"})
    assert rendered.body == "{x} T-1"


@translation.override("en")
def test_empty_body_nul_and_lengths_are_refused_every_error_at_once():
    errors = validate("received", "a\x00b" + "x" * 300, " ")
    assert len(errors["body"]) == 1 and "empty" in errors["body"][0]
    assert len(errors["subject"]) == 1 and "NUL" in errors["subject"][0]
    errors = validate("received", "x" * 201, "{foo} " + "y" * 2000)
    assert "201" in errors["subject"][0]
    assert len(errors["body"]) == 2  # too long and the unknown placeholder


def test_rendering_never_reaches_attributes_and_a_value_is_not_read_again():
    assert validate("received", "", "{ticket.__class__}")["body"]
    body = messages.fill("{ticket} {center}", {"ticket": "{center}", "center": "GN"})
    assert body == "{center} GN"


def test_an_empty_optional_sentence_leaves_no_double_space():
    rendered = messages.render_text("invite_for_repair", "", "A {visit} B.  C {visit}", {})
    assert rendered.body == "A B. C"


# --- render ------------------------------------------------------------------------------------


def test_render_uses_the_centers_template_else_the_default_and_never_another_centers(
    center, other_center, django_assert_num_queries
):
    context = {"center": "강남", "ticket": "GN-1", "link": "L"}
    MessageTemplate.objects.create(center=other_center, kind="received", language="ko", body="남")
    with django_assert_num_queries(1):
        default = render(center, "received", "ko", context)
    assert default.body == "[강남] GN-1 접수되었습니다. 진행 상황 확인: L"
    assert default.subject == "[강남] GN-1: 수리 접수 안내"
    MessageTemplate.objects.create(
        center=center, kind="received", language="ko", subject="", body=CUSTOM
    )
    with django_assert_num_queries(1):
        own = render(center, "received", "ko", context)
    assert own.body == "[강남] GN-1: 맡기신 기기를 잘 받았습니다. L"
    assert own.subject == default.subject  # an empty subject falls back to the default's
    english = render(center, "received", "en", context)  # no English template: the default
    assert english.body == "[강남] GN-1 received. Follow your repair: L"


# --- the outbox --------------------------------------------------------------------------------


def test_the_outbox_row_stores_the_rendered_text_in_the_repairs_language(make_repair, center):
    MessageTemplate.objects.create(
        center=center, kind="received", language="en", subject="Got it {ticket}", body="{ticket} ok"
    )
    with translation.override("ko"):
        repair = make_repair(language="en", intake_channel="phone", device_in_shop=False)
    (row,) = Notification.objects.filter(repair=repair)
    assert row.body == f"{repair.ticket_number} ok"
    assert row.subject == f"Got it {repair.ticket_number}"
    assert row.language == "en" and row.channel == "sms" and row.recipient == "010-2345-6789"


def test_a_customer_with_an_email_gets_an_email_row_too_with_one_timeline_event(
    make_repair, django_capture_on_commit_callbacks, outbox
):
    with django_capture_on_commit_callbacks(execute=True):
        repair = phoned_in(make_repair, email="minji@example.com")
    rows = list(Notification.objects.filter(repair=repair).order_by("pk"))
    assert [(n.channel, n.recipient) for n in rows] == [
        ("sms", "010-2345-6789"),
        ("email", "minji@example.com"),
    ]
    sms, email = rows
    assert email.idempotency_key == f"{sms.idempotency_key}:email"
    assert email.body == sms.body and email.subject == sms.subject and email.subject
    events = RepairEvent.objects.filter(repair=repair, kind=EventKind.NOTIFICATION)
    assert events.count() == 1 and events.get().data["channels"] == ["sms", "email"]
    assert sorted(n.channel for n in outbox) == ["email", "sms"]


def test_no_email_row_without_an_address(make_repair):
    repair = phoned_in(make_repair)
    assert list(Notification.objects.filter(repair=repair).values_list("channel", flat=True)) == [
        "sms"
    ]


def test_queueing_a_message_costs_the_same_with_or_without_a_center_template(
    make_repair, center, django_assert_num_queries
):
    with CaptureQueriesContext(connection) as default:
        phoned_in(make_repair)
    MessageTemplate.objects.create(center=center, kind="received", language="ko", body=CUSTOM)
    with django_assert_num_queries(len(default.captured_queries)):
        repair = phoned_in(make_repair, email="minji@example.com")
    assert Notification.objects.filter(repair=repair, body__contains="잘 받았습니다").count() == 2
