"""Honest cancellation (issue 11): "Cancelling a shipped parts order leaves the customer reading
'the part left the warehouse, arriving 11-25'". Now the repairs that waited on the order lose
its date (public `parts_eta` null, `part_eta` promise withdrawn, never overdue), read one line
saying so, get one message, and what they wait for is requested again; all in one transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from parts.models import PartsOrder, PartsOrderLine
from tests.conftest import stock
from tests.parts_orders_support import order_of, waiting_repair
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import get, post
from workflows import services as s
from workflows.models import Notification, Promise, RepairEvent
from workflows.services import supply

pytestmark = pytest.mark.django_db

EN = "The part's arrival date is no longer known; we will tell you as soon as it ships."
KO = "부품 도착 날짜를 현재 알 수 없습니다. 발송되는 대로 바로 알려 드리겠습니다."


def _eta(days: int = 3) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


def _public(client, repair, language: str = "ko"):
    response = post(
        client,
        "/public/status/",
        {"ticket_number": repair.ticket_number, "phone_last4": repair.customer.phone_last4},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 200, response.json()
    return response.json()


def _ship(client, order_id: int, eta: dt.date | None = None):
    body = {"carrier": "본사 물류", "tracking_number": "HQ-1"}
    if eta is not None:
        body["eta"] = eta.isoformat()
    return post(client, f"/parts-orders/{order_id}/transitions/ship/", body)


def _cancel(client, order_id: int, reason: str = "창고 재고 없음"):
    return post(client, f"/parts-orders/{order_id}/transitions/cancel/", {"reason": reason})


@pytest.fixture
def shipped(make_repair, desk, tech, center, spring, in_warranty, manager_api):
    """A repair waiting for a spring whose order the warehouse shipped, ETA in three days."""
    stock(center, spring, 0)
    repair = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 1)
    order = order_of(repair)
    assert _ship(manager_api, order.pk, _eta()).status_code == 200
    return repair, order


def test_cancelling_a_shipped_order_withdraws_its_date_says_so_once_and_orders_again(
    shipped, desk_api, anon_api, outbox, django_capture_on_commit_callbacks
):
    repair, order = shipped
    assert _public(anon_api, repair)["parts_eta"] == _eta().isoformat()
    promise = Promise.objects.get(repair=repair, kind="part_eta")

    with django_capture_on_commit_callbacks(execute=True):
        response = _cancel(desk_api, order.pk)

    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "cancelled"
    status = _public(anon_api, repair)
    assert status["parts_eta"] is None
    assert KO in [line["label"] for line in status["timeline"]]
    promise.refresh_from_db()
    assert promise.withdrawn_at is not None and promise.fulfilled_at is None
    assert not promise.is_overdue and not promise.is_open
    events = RepairEvent.objects.filter(repair=repair, text_code="part_eta_withdrawn")
    assert events.count() == 1 and events.get().customer_visible
    assert events.get().data["order"] == order.pk
    messages = Notification.objects.filter(repair=repair, kind="parts_delayed")
    assert messages.count() == 1 and KO in messages.get().body
    assert [n.kind for n in outbox] == ["parts_delayed"]
    again = PartsOrder.objects.get(pk=response.json()["requested_again"])
    assert again.state == "requested" and again.created_by is None
    assert [(x.part.part_number, x.quantity, x.repair_id) for x in again.lines.all()] == [
        ("CLIP-SPRING-01", 1, repair.pk)
    ]


def test_a_second_cancel_is_refused_and_sends_nothing_more(shipped, desk_api, manager_api):
    repair, order = shipped
    assert _cancel(desk_api, order.pk).status_code == 200
    again = _cancel(manager_api, order.pk)
    assert again.status_code == 409 and again.json()["code"] == "transition_blocked"
    assert Notification.objects.filter(repair=repair, kind="parts_delayed").count() == 1
    assert PartsOrder.objects.filter(state="requested").count() == 1


def _overdue_calls(client) -> str:
    calls = client.get("/desk/calls/").content.decode()
    section = calls[calls.index('id="overdue-promises"') :]
    return section[: section.index("</section>")]


def test_a_withdrawn_promise_is_not_overdue_on_the_board_the_call_list_or_the_api(
    shipped, desk_api, client, desk
):
    repair, order = shipped
    # The ETA passed without the part: the promise is overdue and tops the board.
    Promise.objects.filter(repair=repair).update(due_at=timezone.now() - dt.timedelta(hours=2))
    client.force_login(desk)
    board = client.get("/desk/").content.decode()
    assert repair.ticket_number in board[board.index('id="overdue"') :]
    assert get(desk_api, "/repairs/", overdue="true").json()["count"] == 1
    assert repair.ticket_number in _overdue_calls(client)

    assert _cancel(desk_api, order.pk).status_code == 200

    board = client.get("/desk/").content.decode()
    assert 'id="overdue"' not in board
    assert get(desk_api, "/repairs/", overdue="true").json()["count"] == 0
    listed = get(desk_api, "/repairs/").json()["results"][0]
    assert listed["has_overdue_promise"] is False and listed["next_promise_due"] is None
    assert repair.ticket_number not in _overdue_calls(client)
    detail = get(desk_api, f"/repairs/{repair.ticket_number}/").json()
    assert [(p["overdue"], p["withdrawn_at"] is not None) for p in detail["promises"]] == [
        (False, True)
    ]


def test_a_withdrawn_promise_can_not_be_marked_kept(shipped, desk_api):
    repair, order = shipped
    promise = Promise.objects.get(repair=repair)
    _cancel(desk_api, order.pk)
    response = post(desk_api, f"/repairs/{repair.ticket_number}/promises/{promise.pk}/fulfil/")
    assert response.status_code == 404
    assert Promise.objects.get(pk=promise.pk).fulfilled_at is None


@pytest.mark.parametrize(("language", "said"), [("en", EN), ("ko", KO)])
def test_the_customer_reads_the_line_and_the_message_in_their_language(
    make_repair, desk, tech, center, spring, in_warranty, manager_api, anon_api, language, said
):
    stock(center, spring, 0)
    repair = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 7, language)
    order = order_of(repair)
    _ship(manager_api, order.pk, _eta())

    supply.parts_order_cancel(order_id=order.pk, reason="no stock")

    timeline = _public(anon_api, repair, language)["timeline"]
    assert said in [line["label"] for line in timeline]
    body = Notification.objects.get(repair=repair, kind="parts_delayed").body
    assert (
        said in body
        and repair.ticket_number in body
        and f"/status/t/{repair.status_token}/" in body
    )


def test_every_repair_on_the_order_is_told_once(
    make_repair, desk, tech, center, spring, in_warranty, manager_api, desk_api
):
    from parts import services as ps

    stock(center, spring, 0)
    a = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 1)
    b = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 2)
    both = ps.parts_order_request(center_id=center.pk, lines=[(spring, 1, a), (spring, 1, b)])
    _ship(manager_api, both.pk, _eta())

    assert _cancel(desk_api, both.pk).status_code == 200

    keys = sorted(
        Notification.objects.filter(kind="parts_delayed").values_list(
            "repair_id", "idempotency_key"
        )
    )
    assert keys == [
        (a.pk, f"{a.pk}:parts_delayed:order-{both.pk}"),
        (b.pk, f"{b.pk}:parts_delayed:order-{both.pk}"),
    ]


def test_a_rolled_back_cancel_leaves_no_message(
    shipped, monkeypatch, outbox, django_capture_on_commit_callbacks
):
    repair, order = shipped
    real = supply.queue_message

    def queue_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("the process died after writing the message")

    monkeypatch.setattr(supply, "queue_message", queue_then_fail)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        supply.parts_order_cancel(order_id=order.pk, reason="no stock")

    assert not Notification.objects.filter(kind="parts_delayed").exists() and outbox == []
    assert PartsOrder.objects.get(pk=order.pk).state == "shipped"
    assert Promise.objects.open().filter(repair=repair).count() == 1
    assert not RepairEvent.objects.filter(text_code="part_eta_withdrawn").exists()
    assert PartsOrder.objects.count() == 1


def test_cancelling_an_order_whose_repair_no_longer_waits_says_nothing(
    make_repair, desk, tech, center, spring, in_warranty, desk_api
):
    stock(center, spring, 0)
    a = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 1)
    b = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 2)
    s.parts_order_receive(order_id=order_of(b).pk)  # first come, first served: A got it

    response = _cancel(desk_api, order_of(a).pk)

    assert response.status_code == 200 and response.json()["requested_again"] is None
    assert not Notification.objects.filter(kind="parts_delayed").exists()
    assert not RepairEvent.objects.filter(text_code="part_eta_withdrawn").exists()


def test_cancelling_a_requested_order_also_orders_the_waiting_part_again(
    make_repair, desk, tech, center, spring, in_warranty, desk_api
):
    stock(center, spring, 0)
    repair = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 1)
    order = order_of(repair)

    again = _cancel(desk_api, order.pk).json()["requested_again"]

    line = PartsOrderLine.objects.get(order_id=again)
    assert (line.repair_id, line.part.part_number, line.quantity) == (
        repair.pk,
        "CLIP-SPRING-01",
        1,
    )
    assert RepairEvent.objects.filter(repair=repair, text_code="part_eta_withdrawn").count() == 1


def test_a_repair_whose_ordered_part_went_to_an_older_request_shows_no_date(
    make_repair, desk, tech, center, spring, in_warranty, manager_api, anon_api
):
    stock(center, spring, 0)
    a = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 1)
    b = waiting_repair(make_repair, desk, tech, in_warranty.serial_number, 2)
    _ship(manager_api, order_of(b).pk, _eta(4))
    assert _public(anon_api, b)["parts_eta"] == _eta(4).isoformat()
    assert _public(anon_api, a)["parts_eta"] is None  # its own order has not shipped

    s.parts_order_receive(order_id=order_of(b).pk)  # the spring goes to A, the older request

    assert _public(anon_api, b)["parts_eta"] is None
    assert _public(anon_api, a)["state"] == "ready_to_repair"


# --- the page ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "their parts were requested again as PO-"), ("ko", "다시 요청했습니다")],
)
def test_the_page_cancels_and_says_the_parts_were_requested_again(
    shipped, client, desk, language, said
):
    repair, order = shipped
    client.force_login(desk)
    response = client.post(
        f"/desk/parts-orders/{order.pk}/cancel/",
        {"reason": "창고 재고 없음"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 200
    assert said in response.content.decode()
    assert PartsOrder.objects.get(pk=order.pk).state == "cancelled"
    assert Notification.objects.filter(repair=repair, kind="parts_delayed").count() == 1


@pytest.mark.parametrize(
    ("language", "said"), [("en", "This field may not be blank."), ("ko", "blank일 수 없습니다")]
)
def test_the_page_wants_a_reason_to_cancel(shipped, client, desk, language, said):
    repair, order = shipped
    client.force_login(desk)
    response = client.post(
        f"/desk/parts-orders/{order.pk}/cancel/", {"reason": "  "}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 400
    form = response.content.decode()
    form = form[form.index(f'id="cancel-{order.pk}"') :]
    assert said in form[: form.index("</form>")]
    assert PartsOrder.objects.get(pk=order.pk).state == "shipped"


@pytest.mark.parametrize(
    ("language", "withdrawn", "line", "no_open"),
    [
        ("en", "withdrawn", EN.replace("'", "&#x27;"), "No open promises."),
        ("ko", "철회됨", KO, "남은 약속이 없습니다."),
    ],
)
def test_the_repair_page_shows_the_promise_withdrawn_and_the_line(
    shipped, desk_api, client, desk, language, withdrawn, line, no_open
):
    repair, order = shipped
    _cancel(desk_api, order.pk)
    client.force_login(desk)
    html = client.get(
        f"/desk/repairs/{repair.ticket_number}/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    promises = html[html.index('id="promises"') :]
    promises = promises[: promises.index("</section>")]
    assert withdrawn in promises and no_open in promises
    assert line in html[html.index('id="timeline"') :]
