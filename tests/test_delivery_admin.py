"""The admin shows a message's delivery facts and lets a manager send failed ones again."""

from django.test import Client

from tests.delivery_support import *  # noqa: F403 - the queued fixture
from workflows import notify
from workflows.choices import NotificationChannel, NotificationStatus
from workflows.models import Notification

CHANGELIST = "/admin/workflows/notification/"


def test_the_admin_shows_subject_next_attempt_and_provider_id(manager, queued):
    row = queued(NotificationChannel.EMAIL, subject="수리 완료 안내")
    notify.deliver_one(row.pk)
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    client.force_login(manager)

    page = client.get(f"{CHANGELIST}{row.pk}/change/").content.decode()

    assert "수리 완료 안내" in page
    assert f"locmem-{row.pk}" in page
    assert "다음 시도 시각" in page and "발송사 메시지 ID" in page


def test_send_again_requeues_only_the_failed_rows(manager, queued, outbox):
    failed, sent = queued(), queued()
    Notification.objects.filter(pk=failed.pk).update(
        status=NotificationStatus.FAILED, attempts=5, last_error="interrupted"
    )
    notify.deliver_one(sent.pk)
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    client.force_login(manager)

    response = client.post(
        CHANGELIST,
        {"action": "send_again", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )

    assert "메시지 1건을 다시 보냅니다." in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (
        NotificationStatus.PENDING,
        0,
        None,
    )
    assert notify.deliver_pending() == 1
    assert [n.pk for n in outbox] == [sent.pk, failed.pk]
