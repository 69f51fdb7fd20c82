"""Overdue-promise alerts: each open promise past its due time e-mails the staff member who made
it, once (an idempotency key per promise), in a constant number of queries; kept, withdrawn and
future promises, and other centers' promises that are not overdue, get nothing."""

import datetime as dt
import logging

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.test_api_support import foreign_desk  # noqa: F401 - fixture
from workflows import services as s
from workflows.choices import NotificationChannel, NotificationKind, PromiseKind
from workflows.models import Notification, Promise
from workflows.services.alerts import alert_overdue_promises

HOUR = dt.timedelta(hours=1)


def promise(repair, user, *, overdue_by=HOUR, kind=PromiseKind.CALLBACK):
    """A promise made through the service, then moved to `overdue_by` in the past (negative: in
    the future): the service accepts future times only."""
    made = s.repair_record_promise(
        repair=repair, actor=user, kind=kind, due_at=timezone.now() + dt.timedelta(days=1)
    )
    Promise.objects.filter(pk=made.pk).update(due_at=timezone.now() - overdue_by)
    made.refresh_from_db()
    return made


@pytest.fixture
def emailed(desk, tech):
    for user in (desk, tech):
        user.email = f"{user.username}@gn.example.com"
        user.save(update_fields=["email"])
    return desk, tech


def alerts():
    return list(Notification.objects.filter(kind=NotificationKind.OVERDUE_PROMISE).order_by("pk"))


def test_each_overdue_promise_alerts_the_staff_member_who_made_it(
    make_repair, emailed, outbox, settings, django_capture_on_commit_callbacks
):
    desk, tech = emailed
    repair = make_repair()
    by_desk = promise(repair, desk, overdue_by=2 * HOUR)
    by_tech = promise(repair, tech, kind=PromiseKind.READY_BY)

    with django_capture_on_commit_callbacks(execute=True):
        assert alert_overdue_promises() == 2

    first, second = alerts()
    assert (first.recipient, first.recipient_user, first.channel) == (
        "desk@gn.example.com",
        desk,
        NotificationChannel.EMAIL,
    )
    assert (second.recipient, second.recipient_user) == ("tech@gn.example.com", tech)
    assert [a.idempotency_key for a in (first, second)] == [
        f"overdue:{by_desk.pk}",
        f"overdue:{by_tech.pk}",
    ]
    assert first.language == settings.LANGUAGE_CODE == "ko"
    head = f"[{repair.center.name}] {repair.ticket_number}"
    assert first.subject == f"{head}: 기한이 지난 약속"
    due = f"{timezone.localtime(by_desk.due_at):%Y-%m-%d %H:%M}"
    link = f"{settings.SITE_URL}/desk/repairs/{repair.ticket_number}/"
    assert first.body == (
        f"{head}: desk님, “다시 전화” 약속의 기한({due})이 지났지만 아직 지켜지지 않았습니다. "
        f"{link}"
    )
    assert repair.ticket_number in second.body and link in second.body
    assert second.body.startswith(f"{head}: tech님,")
    assert sorted(n.pk for n in outbox) == [first.pk, second.pk]  # delivered after commit


def test_the_alert_speaks_the_site_language(make_repair, emailed, settings):
    settings.LANGUAGE_CODE = "en"
    desk, _tech = emailed
    repair = make_repair()
    made = promise(repair, desk)
    assert alert_overdue_promises() == 1
    (alert,) = alerts()
    due = f"{timezone.localtime(made.due_at):%Y-%m-%d %H:%M}"
    assert alert.language == "en"
    head = f"[{repair.center.name}] {repair.ticket_number}"
    assert alert.subject == f"{head}: an overdue promise"
    assert alert.body == (
        f"{head}: desk, your promise “Call back” was due {due} and is still open. "
        f"{settings.SITE_URL}/desk/repairs/{repair.ticket_number}/"
    )


def test_the_alert_uses_the_centers_own_wording(make_repair, emailed, settings):
    from workflows.models import MessageTemplate

    desk, _tech = emailed
    repair = make_repair()
    promise(repair, desk)
    MessageTemplate.objects.create(
        center=repair.center,
        kind="overdue_promise",
        language="ko",
        subject="지연: {ticket}",
        body="{staff}님 확인 바랍니다 {ticket} {link}",
    )
    assert alert_overdue_promises() == 1
    (alert,) = alerts()
    assert alert.subject == f"지연: {repair.ticket_number}"
    link = f"{settings.SITE_URL}/desk/repairs/{repair.ticket_number}/"
    assert alert.body == f"desk님 확인 바랍니다 {repair.ticket_number} {link}"


def test_kept_withdrawn_and_future_promises_get_no_alert(make_repair, emailed):
    desk, tech = emailed
    repair = make_repair()
    kept = promise(repair, desk)
    s.repair_fulfil_promise(repair=repair, actor=desk, promise_id=kept.pk)
    withdrawn = promise(repair, tech, kind=PromiseKind.PART_ETA)
    Promise.objects.filter(pk=withdrawn.pk).update(withdrawn_at=timezone.now())
    promise(repair, tech, overdue_by=-HOUR)  # due in an hour

    assert alert_overdue_promises() == 0
    assert alerts() == []


def test_a_second_run_alerts_nobody_again(make_repair, emailed):
    desk, tech = emailed
    repair = make_repair()
    promise(repair, desk)
    assert alert_overdue_promises() == 1
    assert alert_overdue_promises() == 0
    promise(repair, tech)  # a new overdue promise since: only it
    assert alert_overdue_promises() == 1
    assert len(alerts()) == 2


def test_a_row_another_run_inserted_first_is_neither_counted_nor_duplicated(make_repair, emailed):
    desk, _tech = emailed
    made = promise(make_repair(), desk)
    later = timezone.now() + dt.timedelta(seconds=1)
    assert alert_overdue_promises(now=later) == 1
    # The other beat process had read the same promise before this row existed:
    assert alert_overdue_promises(now=later + HOUR) == 0
    assert [a.idempotency_key for a in alerts()] == [f"overdue:{made.pk}"]


def test_a_maker_without_e_mail_or_no_maker_is_skipped_with_a_log_line(
    make_repair, desk, tech, caplog
):
    repair = make_repair()
    no_email = promise(repair, desk)
    nobody = promise(repair, tech)
    Promise.objects.filter(pk=nobody.pk).update(made_by=None)

    with caplog.at_level(logging.INFO, logger="workflows.services.alerts"):
        assert alert_overdue_promises() == 0
    assert alerts() == []
    assert f"overdue promise {no_email.pk} of {repair.ticket_number}: no alert" in caplog.text
    assert "its maker has no e-mail address" in caplog.text
    assert "nobody made it" in caplog.text


def test_another_center_is_untouched_and_its_own_overdue_promise_goes_to_its_own_staff(
    make_repair,
    emailed,
    other_center,
    foreign_desk,  # noqa: F811
    headset,
):
    desk, _tech = emailed
    foreign_desk.email = "desk@sc.example.com"
    foreign_desk.save(update_fields=["email"])

    def sc_repair():
        return s.repair_intake(
            center=other_center,
            actor=foreign_desk,
            customer={"name": "이서준", "phone": "010-9876-5432"},
            symptom="전원이 안 켜져요",
            product_model=headset.code,
            intake_channel="walk_in",
            device_in_shop=True,
            return_method="pickup",
        )

    promise(sc_repair(), foreign_desk, overdue_by=-HOUR)  # not due yet
    gn = make_repair()
    promise(gn, desk)
    assert alert_overdue_promises() == 1
    assert [(a.repair, a.recipient_user) for a in alerts()] == [(gn, desk)]

    sc = sc_repair()
    promise(sc, foreign_desk)
    assert alert_overdue_promises() == 1
    last = alerts()[-1]
    assert (last.repair, last.recipient, last.recipient_user) == (
        sc,
        "desk@sc.example.com",
        foreign_desk,
    )
    assert f"/desk/repairs/{sc.ticket_number}/" in last.body


@pytest.mark.parametrize("overdue", [1, 6])
def test_the_query_count_does_not_grow_with_the_number_of_promises(
    overdue, make_repair, emailed, django_assert_num_queries
):
    desk, tech = emailed
    for n in range(overdue):
        promise(make_repair(), (desk, tech)[n % 2])
    promise(make_repair(), desk, overdue_by=-HOUR)
    # select the overdue unalerted promises (with repair, center, maker, profile); the centers' own
    # wording; savepoint; one insert; select the inserted ids; release
    with django_assert_num_queries(6):
        assert alert_overdue_promises() == overdue


def test_nothing_overdue_costs_one_query(make_repair, emailed, django_assert_num_queries):
    promise(make_repair(), emailed[0], overdue_by=-HOUR)
    with django_assert_num_queries(1):
        assert alert_overdue_promises() == 0


def test_the_management_command_queues_the_alerts(make_repair, emailed, capsys):
    promise(make_repair(), emailed[0])
    call_command("alert_overdue_promises")
    assert capsys.readouterr().out.strip() == "queued 1"
    call_command("alert_overdue_promises")
    assert capsys.readouterr().out.strip() == "queued 0"


def test_the_beat_task_runs_the_same_service(make_repair, emailed):
    from workflows import tasks

    promise(make_repair(), emailed[0])
    assert tasks.alert_overdue_promises() == 1
    assert len(alerts()) == 1


def test_the_desk_call_list_lists_customer_messages_not_staff_alerts(make_repair, emailed):
    from workflows.page_selectors import call_list

    desk, _tech = emailed
    repair = make_repair()
    promise(repair, desk)
    assert alert_overdue_promises() == 1
    to_customer = Notification.objects.create(
        repair=repair,
        kind=NotificationKind.QUOTE,
        recipient="010-0000-0000",
        body="x",
        idempotency_key="customer-message",
    )
    Notification.objects.update(status="failed")  # the alert and the customer message failed
    assert [n.pk for n in call_list(center_id=repair.center_id).to_send] == [to_customer.pk]
