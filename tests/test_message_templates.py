"""Message templates per center and language: the catalogue's defaults, validation, rendering
(the center's own wording, else the default; never another center's), the outbox rows that store
the text sent (SMS, and e-mail when the customer gave an address), and the manager's editor at
/manager/messages/ (save, errors kept, reset, the JSON and no-JS previews, who may use it)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
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
from workflows.services.core import status_link

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


# --- the editor --------------------------------------------------------------------------------


def test_the_list_shows_every_kind_and_language_custom_or_default(manager, center):
    MessageTemplate.objects.create(center=center, kind="received", language="ko", body=CUSTOM)
    html = signed_in(manager).get(LIST).content.decode()
    for kind in NotificationKind.values:
        for language in ("ko", "en"):
            assert f'id="message-{kind}-{language}"' in html
    row = html.split('id="message-received-ko"', 1)[1].split("</tr>", 1)[0]
    assert "센터 문구" in row and "맡기신 기기를 잘 받았습니다" in row
    row = html.split('id="message-received-en"', 1)[1].split("</tr>", 1)[0]
    assert "기본 문구" in row and "received. Follow your repair" in row


def test_the_manager_saves_a_template_and_intake_sends_it(manager, center, make_repair):
    client = signed_in(manager)
    page = client.get(EDIT).content.decode()
    assert "{link}" in page and "진행 상황 페이지 링크" in page  # the placeholders, explained
    response = client.post(EDIT, {"subject": "{ticket} 접수", "body": CUSTOM, "action": "save"})
    assert response.status_code == 302 and response["Location"] == LIST
    template = MessageTemplate.objects.get(center=center, kind="received", language="ko")
    assert template.body == CUSTOM and template.updated_by == manager
    repair = phoned_in(make_repair)
    (row,) = Notification.objects.filter(repair=repair)
    said = "맡기신 기기를 잘 받았습니다."
    assert row.body == f"[{center.name}] {repair.ticket_number}: {said} {status_link(repair)}"
    assert row.subject == f"{repair.ticket_number} 접수"


def test_errors_are_shown_beside_each_field_all_at_once_with_the_typed_text_kept(manager):
    typed = {"subject": "{ticket} {nope}", "body": "안녕하세요 {ticket", "action": "save"}
    response = signed_in(manager).post(EDIT, typed)
    html = response.content.decode()
    assert response.status_code == 400
    subject_box = html.split('id="subject-errors"', 1)[1].split("</div>", 1)[0]
    body_box = html.split('id="body-errors"', 1)[1].split("</div>", 1)[0]
    assert "{nope}" in subject_box and "중괄호의 짝이 맞지 않습니다" in body_box
    assert 'value="{ticket} {nope}"' in html and ">안녕하세요 {ticket</textarea>" in html
    assert not MessageTemplate.objects.exists()


def test_reset_deletes_the_centers_template(manager, center):
    MessageTemplate.objects.create(center=center, kind="received", language="ko", body=CUSTOM)
    client = signed_in(manager)
    assert "기본 문구로 되돌리기" in client.get(EDIT).content.decode()
    response = client.post(EDIT, {"action": "reset", "subject": "", "body": ""})
    assert response.status_code == 302
    assert not MessageTemplate.objects.exists()
    page = client.get(EDIT).content.decode()
    assert "접수되었습니다. 진행 상황 확인: {link}</textarea>" in page


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ko", "25,000원 · 김*지"), ("en", "25,000 won · 김*지")],
)
def test_the_preview_renders_the_typed_text_on_the_latest_repair(
    manager, make_repair, language, expected
):
    make_repair()
    repair = make_repair()  # the latest
    url = f"/manager/messages/quote/{language}/preview/"
    body = "{ticket} {total} · {customer} {link}"
    answer = signed_in(manager).post(url, {"subject": "{ticket}", "body": body}).json()
    assert answer["errors"] == {}
    assert answer["subject"] == repair.ticket_number
    assert answer["body"] == f"{repair.ticket_number} {expected} {status_link(repair)}"
    assert MessageTemplate.objects.count() == 0  # a preview saves nothing


def test_the_preview_speaks_the_templates_language_and_reports_errors(manager):
    en = "/manager/messages/invite_for_repair/en/preview/"
    answer = signed_in(manager).post(en, {"subject": "", "body": "{price} {visit} {bad}"}).json()
    assert answer["subject"].endswith("come in for the repair")  # the default, in English
    assert answer["body"].startswith("25,000 won Your visit: ")  # a made-up repair, in English
    assert "{bad}" in answer["errors"]["body"][0]
    ko = "/manager/messages/invite_for_repair/ko/preview/"
    answer = signed_in(manager).post(ko, {"subject": "", "body": "{price} {customer}"}).json()
    assert answer["body"] == "25,000원 김*지"  # masked sample customer


def test_the_no_js_preview_button_renders_the_pane_on_the_server(manager):
    typed = {"subject": "", "body": "안녕하세요 {ticket}", "action": "preview"}
    response = signed_in(manager).post(EDIT, typed)
    html = response.content.decode()
    pane = html.split('id="preview-body"', 1)[1].split("</p>", 1)[0]
    assert response.status_code == 200 and "안녕하세요 GN-000000-SAMPLE" in pane
    assert not MessageTemplate.objects.exists()


def test_the_english_page_is_in_english(manager):
    client = signed_in(manager)
    client.cookies["django_language"] = "en"
    html = client.get("/manager/messages/shipped/en/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Placeholders this message may use" in html and "{tracking}" in html


@pytest.mark.parametrize("who", ["desk", "tech"])
def test_desk_and_technicians_get_403(request, who):
    client = signed_in(request.getfixturevalue(who))
    assert client.get(LIST).status_code == 403
    assert client.get(EDIT).status_code == 403
    assert client.post(EDIT, {"body": "x", "action": "save"}).status_code == 403
    assert client.post(PREVIEW, {"body": "x"}).status_code == 403
    assert not MessageTemplate.objects.exists()


def test_anonymous_is_sent_to_sign_in():
    response = Client().get(LIST)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_another_centers_manager_cannot_edit_yours(sc_manager, manager, center, other_center):
    client = signed_in(sc_manager)
    theirs = f"{EDIT}?center={center.code}"
    assert client.post(theirs, {"body": "남의 것", "action": "save"}).status_code == 403
    assert client.get(f"{LIST}?center={center.code}").status_code == 403
    # their own post goes to their own center
    assert client.post(EDIT, {"body": "서초 {ticket}", "action": "save"}).status_code == 302
    assert list(MessageTemplate.objects.values_list("center__code", flat=True)) == ["SC"]
    assert "서초 {ticket}" not in signed_in(manager).get(LIST).content.decode()


def test_a_superuser_picks_the_center(center, other_center):
    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client = signed_in(root)
    picker = client.get(LIST).content.decode()
    assert "?center=GN" in picker and "?center=SC" in picker
    response = client.post(f"{EDIT}?center=SC", {"body": "서초 {ticket}", "action": "save"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}?center=SC"
    assert MessageTemplate.objects.get().center == other_center
    assert client.get(f"{EDIT}?center=NOPE").status_code == 404


def test_unknown_kinds_and_languages_are_404(manager):
    client = signed_in(manager)
    assert client.get("/manager/messages/nope/ko/").status_code == 404
    assert client.get("/manager/messages/received/fr/").status_code == 404
    assert client.post("/manager/messages/received/fr/preview/", {"body": "x"}).status_code == 404


def test_a_nul_byte_is_refused_without_a_500(manager):
    response = signed_in(manager).post(EDIT, {"body": "a\x00b", "action": "save"})
    assert response.status_code == 400
    assert not MessageTemplate.objects.exists()


def test_the_pages_run_a_constant_number_of_queries(
    manager, center, make_repair, django_assert_num_queries
):
    client = signed_in(manager)
    with CaptureQueriesContext(connection) as empty_list:
        client.get(LIST)
    with CaptureQueriesContext(connection) as empty_edit:
        client.get(EDIT)
    with CaptureQueriesContext(connection) as empty_preview:
        client.post(PREVIEW, {"body": "{ticket}"})
    for kind in NotificationKind.values:
        MessageTemplate.objects.create(center=center, kind=kind, language="ko", body="{ticket}")
        MessageTemplate.objects.create(center=center, kind=kind, language="en", body="{ticket}")
    make_repair()
    make_repair()
    with django_assert_num_queries(len(empty_list.captured_queries)):
        client.get(LIST)
    with django_assert_num_queries(len(empty_edit.captured_queries)):
        client.get(EDIT)
    with django_assert_num_queries(len(empty_preview.captured_queries)):
        client.post(PREVIEW, {"body": "{ticket}"})


def test_the_admin_refuses_an_unknown_placeholder_and_a_second_row(manager, center):
    client = signed_in(manager)
    url = "/admin/workflows/messagetemplate/add/"
    response = client.post(url, {"kind": "received", "language": "ko", "body": "{foo}"})
    assert response.status_code == 200 and "{foo}" in response.content.decode()
    assert not MessageTemplate.objects.exists()
    ok = {"kind": "received", "language": "ko", "body": CUSTOM, "subject": ""}
    assert client.post(url, ok).status_code == 302
    assert MessageTemplate.objects.get().center == center
    again = client.post(url, ok)
    assert again.status_code == 200 and MessageTemplate.objects.count() == 1


@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_pages_speak_one_language_message_texts_marked_as_theirs(
    manager, center, make_repair, language
):
    from tests.test_languages import leaks, visible_text

    center.name = "Gangnam Service Center"  # English names, as in test_languages' world
    center.save()
    make_repair(customer={"name": "Minji Kim", "phone": "010-2345-6789"})
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(manager)
    urls = [LIST] + [
        f"/manager/messages/{k}/{lang}/" for k in ("quote", "received") for lang in ("ko", "en")
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible_text(response.content.decode(), language)
        assert not leaks(text, language), (url, leaks(text, language))
    bad = client.post(EDIT, {"subject": "", "body": "{nope", "action": "save"})
    text = visible_text(bad.content.decode(), language)
    assert bad.status_code == 400 and not leaks(text, language)
