"""Who may do what to a parts order, and what an order may say (issue 11). Reproduction: "a
technician can create a parts order for 999 units, mark it shipped and receive it, taking
`on_hand` from 2 to 1001 while `stock/adjust` would have refused them". Now technicians (and the
desk) request; only a manager records the warehouse's dispatch, with an ETA of today or later;
the desk or a manager receives; a line holds 1 to 1000 units."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from parts import services as parts_services
from parts.models import PartsOrder, Stock
from tests.conftest import stock
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import post

pytestmark = pytest.mark.django_db


def _order(client, quantity: int):
    return post(
        client,
        "/parts-orders/",
        {"lines": [{"part_number": "CLIP-SPRING-01", "quantity": quantity}]},
    )


def _ship(client, order_id: int, **fields):
    body = {"carrier": "CJ", "tracking_number": "WH-1", **fields}
    return post(client, f"/parts-orders/{order_id}/transitions/ship/", body)


def test_a_technician_may_order_999_units_but_neither_ship_nor_receive_them(
    tech_api, center, spring
):
    stock(center, spring, 2)
    created = _order(tech_api, 999)
    assert created.status_code == 201, created.json()
    order_id = created.json()["id"]

    shipped = _ship(tech_api, order_id)
    received = post(tech_api, f"/parts-orders/{order_id}/transitions/receive/")
    cancelled = post(tech_api, f"/parts-orders/{order_id}/transitions/cancel/", {"reason": "x"})

    for response in (shipped, received, cancelled):
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied" and response.json()["detail"]
    assert Stock.objects.get(center=center, part=spring).on_hand == 2
    assert PartsOrder.objects.get(pk=order_id).state == "requested"


def test_the_desk_may_receive_but_not_ship(desk_api, manager_api, center, spring):
    stock(center, spring, 2)
    order_id = _order(desk_api, 3).json()["id"]
    assert _ship(desk_api, order_id).status_code == 403
    assert _ship(manager_api, order_id).status_code == 200
    assert post(desk_api, f"/parts-orders/{order_id}/transitions/receive/").status_code == 200
    assert Stock.objects.get(center=center, part=spring).on_hand == 5


@pytest.mark.parametrize("quantity", [0, -1, 1001, 10**9])
def test_an_absurd_quantity_is_refused_beside_its_field(desk_api, spring, quantity):
    response = _order(desk_api, quantity)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "lines.0.quantity" in response.json()["errors"]
    assert not PartsOrder.objects.exists()


def test_a_thousand_units_is_still_an_order(desk_api, spring):
    assert _order(desk_api, 1000).status_code == 201


# --- the ETA of a dispatch ---------------------------------------------------------------------


def _requested(center, spring) -> PartsOrder:
    return parts_services.parts_order_request(center_id=center.pk, lines=[(spring, 1, None)])


def test_a_past_eta_is_refused_with_its_field(manager_api, center, spring):
    order = _requested(center, spring)
    yesterday = timezone.localdate() - dt.timedelta(days=1)

    response = _ship(manager_api, order.pk, eta=yesterday.isoformat())

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["eta"]
    assert PartsOrder.objects.get(pk=order.pk).state == "requested"


@pytest.mark.parametrize("days", [0, 1, 30])
def test_an_eta_of_today_or_later_is_fine(manager_api, center, spring, days):
    order = _requested(center, spring)
    eta = timezone.localdate() + dt.timedelta(days=days)
    response = _ship(manager_api, order.pk, eta=eta.isoformat())
    assert response.status_code == 200, response.json()
    assert response.json()["eta"] == eta.isoformat()


def test_a_dispatch_without_an_eta_is_fine(manager_api, center, spring):
    order = _requested(center, spring)
    assert _ship(manager_api, order.pk).json()["eta"] is None


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "The expected arrival can&#x27;t be in the past."),
        ("ko", "도착 예정일은 오늘 이전일 수"),
    ],
)
def test_the_page_refuses_a_past_eta_beside_the_field_and_keeps_what_was_typed(
    client, manager, center, spring, language, said
):
    order = _requested(center, spring)
    client.force_login(manager)
    past = (timezone.localdate() - dt.timedelta(days=3)).isoformat()

    response = client.post(
        f"/desk/parts-orders/{order.pk}/ship/",
        {"carrier": "CJ대한통운", "tracking_number": "WH-77", "eta": past},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert response.status_code == 400
    html = response.content.decode()
    form = html[html.index(f'id="ship-{order.pk}"') :]
    form = form[: form.index("</form>")]
    after_eta = form[form.index('name="eta"') :]
    assert said in after_eta
    assert 'value="CJ대한통운"' in form and 'value="WH-77"' in form and f'value="{past}"' in form
    assert PartsOrder.objects.get(pk=order.pk).state == "requested"


def test_the_page_ships_with_an_eta_of_today(client, manager, center, spring):
    order = _requested(center, spring)
    client.force_login(manager)
    today = timezone.localdate()
    response = client.post(
        f"/desk/parts-orders/{order.pk}/ship/",
        {"carrier": "CJ", "tracking_number": "WH-1", "eta": today.isoformat()},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.state, order.eta) == ("shipped", today)


def test_the_page_shows_every_bad_field_of_the_dispatch_at_once(client, manager, center, spring):
    order = _requested(center, spring)
    client.force_login(manager)
    response = client.post(
        f"/desk/parts-orders/{order.pk}/ship/",
        {"carrier": "", "tracking_number": "9" * 61, "eta": "not a date"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    form = response.content.decode()
    form = form[form.index(f'id="ship-{order.pk}"') :]
    form = form[: form.index("</form>")]
    for field in ("carrier", "tracking_number", "eta"):
        after = form[form.index(f'name="{field}"') :]
        after = after[after.index("</label>") + len("</label>") :]
        assert after.lstrip().startswith('<p class="ferr"'), field


@pytest.mark.parametrize("form", ["ship", "cancel"])
def test_a_nul_byte_in_a_parts_order_form_is_a_400_not_a_500(client, manager, center, spring, form):
    order = _requested(center, spring)
    client.force_login(manager)
    body = {"carrier": "CJ\x00", "tracking_number": "1", "reason": "x\x00"}
    response = client.post(f"/desk/parts-orders/{order.pk}/{form}/", body)
    assert response.status_code == 400
    assert PartsOrder.objects.get(pk=order.pk).state == "requested"
