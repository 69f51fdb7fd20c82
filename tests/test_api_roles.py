"""The role matrix through HTTP: every persona x every endpoint and transition. Allowed personas
succeed; the others get 401 (anonymous), 404 (staff of another center) or 403 — never a 2xx."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.roles import DESK, MANAGER, OWNER
from parts.models import PartsOrder
from tests.conftest import stock
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, get, post, transition
from workflows import services as s
from workflows.registry import STAFF_TRANSITIONS, TRANSITIONS

pytestmark = pytest.mark.django_db

PERSONAS = ["desk", "tech", "other_tech", "manager", "anonymous", "foreign"]


@pytest.fixture
def clients(desk, tech, other_tech, manager, foreign_desk):
    return {
        "desk": client_for(desk),
        "tech": client_for(tech),
        "other_tech": client_for(other_tech),
        "manager": client_for(manager),
        "anonymous": client_for(None),
        "foreign": client_for(foreign_desk),
    }


def _assigned(make_repair, desk, tech, **fields):
    repair = make_repair(**fields)
    return s.repair_assign(repair=repair, actor=desk, technician=tech)


def _ready(make_repair, desk, tech, in_warranty, **fields):
    repair = _assigned(make_repair, desk, tech, serial_number=in_warranty.serial_number, **fields)
    return s.repair_diagnose(repair=repair, actor=tech, findings="ok")


def _repaired(make_repair, desk, tech, in_warranty, **fields):
    repair = _ready(make_repair, desk, tech, in_warranty, **fields)
    s.repair_start(repair=repair, actor=tech)
    return s.repair_complete(repair=repair, actor=tech)


def _awaiting_approval(make_repair, desk, tech, in_warranty):
    repair = _assigned(make_repair, desk, tech)
    s.repair_set_coverage(repair=repair, actor=desk, coverage="paid", reason="agreed")
    return s.repair_diagnose(repair=repair, actor=tech, findings="x", labor_fee=1000)


def _setup(name, make_repair, desk, tech, in_warranty):
    """A repair in which `name` may run, and a valid body for it."""
    away = {"device_in_shop": False, "intake_channel": "phone"}
    courier = {"return_method": "courier", "courier_address": "서울 서초구 1"}
    if name == "assign":
        return make_repair(), {"technician": "tech"}
    if name in ("diagnose", "report_unrepairable"):
        return _assigned(make_repair, desk, tech), {"findings": "x", "reason": "x"}
    if name == "set_coverage":
        return make_repair(), {"coverage": "paid", "reason": "agreed"}
    if name in ("record_deposit", "approve", "decline"):
        return _awaiting_approval(make_repair, desk, tech, in_warranty), {"amount": 1000}
    if name == "invite_for_repair":
        return _ready(make_repair, desk, tech, in_warranty, **away), {}
    if name in ("check_in_device", "cancel"):
        return make_repair(**away), {"reason": "customer cancelled"}
    if name == "start_repair":
        return _ready(make_repair, desk, tech, in_warranty), {}
    if name == "complete":
        repair = _ready(make_repair, desk, tech, in_warranty)
        return s.repair_start(repair=repair, actor=tech), {}
    if name == "requote":
        repair = _ready(make_repair, desk, tech, in_warranty)
        return s.repair_start(repair=repair, actor=tech), {"findings": "more", "reason": "board"}
    if name == "notify_ready_for_pickup":
        return _repaired(make_repair, desk, tech, in_warranty), {}
    if name == "ship":
        return _repaired(make_repair, desk, tech, in_warranty, **courier), {
            "carrier": "CJ",
            "tracking_number": "1",
        }
    if name == "hand_over":
        repair = _repaired(make_repair, desk, tech, in_warranty)
        return s.repair_notify_ready_for_pickup(repair=repair, actor=desk), {"amount_paid": 0}
    if name == "confirm_delivery":
        repair = _repaired(make_repair, desk, tech, in_warranty, **courier)
        return s.repair_ship(repair=repair, actor=desk, carrier="CJ", tracking_number="1"), {}
    raise AssertionError(name)


def _allowed(persona: str, name: str) -> bool:
    actors = TRANSITIONS[name].roles
    return (
        (persona == "desk" and DESK in actors)
        or (persona == "manager" and MANAGER in actors)
        or (persona == "tech" and OWNER in actors)
    )


DENIED = {"anonymous": 401, "foreign": 404}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", STAFF_TRANSITIONS)
def test_transition_is_open_exactly_to_its_roles(
    name, persona, clients, make_repair, desk, tech, in_warranty
):
    repair, body = _setup(name, make_repair, desk, tech, in_warranty)
    repair.refresh_from_db()
    before = (repair.state, repair.version)
    response = transition(clients[persona], repair.ticket_number, name, body)
    if _allowed(persona, name):
        assert response.status_code == 200, response.json()
    else:
        assert response.status_code == DENIED.get(persona, 403), response.json()
        assert response.json()["code"] in ("permission_denied", "not_found", "not_authenticated")
        repair.refresh_from_db()
        assert (repair.state, repair.version) == before


def test_the_table_knows_who_may_do_what():
    """A spot check of the matrix itself, independent of roles.py."""
    assert _allowed("desk", "assign") and not _allowed("tech", "assign")
    assert _allowed("tech", "diagnose") and not _allowed("desk", "diagnose")
    assert _allowed("tech", "notify_ready_for_pickup") and _allowed("desk", "hand_over")
    assert not _allowed("other_tech", "start_repair") and not _allowed("tech", "ship")


def test_a_denied_transition_changes_nothing(clients, make_repair, desk, tech, in_warranty):
    repair = _ready(make_repair, desk, tech, in_warranty)
    for persona in ("desk", "other_tech", "manager", "anonymous", "foreign"):
        assert transition(clients[persona], repair.ticket_number, "start_repair").status_code in (
            401,
            403,
            404,
        )
    repair.refresh_from_db()
    assert repair.state == "ready_to_repair"


def _expect(persona: str, allowed: set[str], ok: int, *, foreign: int = 404) -> int:
    if persona in allowed:
        return ok
    if persona == "anonymous":
        return 401
    if persona == "foreign":
        return foreign
    return 403


STAFF = {"desk", "tech", "other_tech", "manager"}
ALL_STAFF = STAFF | {"foreign"}


@pytest.fixture
def world(make_repair, desk, tech, center, spring, in_warranty):
    stock(center, spring, 5)
    repair = s.repair_assign(repair=make_repair(), actor=desk, technician=tech)
    promise = s.repair_record_promise(
        repair=repair, actor=desk, kind="callback", due_at=timezone.now() + dt.timedelta(days=1)
    )
    return {"repair": repair, "promise": promise}


def _new_order(center, spring):
    from parts import services as ps

    return ps.parts_order_request(center_id=center.pk, lines=[(spring, 1, None)])


ENDPOINTS = [
    # (name, method, path template, body, allowed personas, success status, foreign status)
    ("repair list", "get", "/repairs/", None, ALL_STAFF, 200, 200),
    ("repair detail", "get", "/repairs/{t}/", None, STAFF, 200, 404),
    ("intake", "post", "/repairs/", "intake", {"desk", "manager"}, 201, 201),
    ("note", "post", "/repairs/{t}/notes/", {"text": "n"}, STAFF, 201, 404),
    ("call", "post", "/repairs/{t}/calls/", {"text": "c"}, STAFF, 201, 404),
    ("promise", "post", "/repairs/{t}/promises/", "promise", STAFF, 201, 404),
    ("fulfil", "post", "/repairs/{t}/promises/{p}/fulfil/", {}, STAFF, 200, 404),
    (
        "courier",
        "post",
        "/repairs/{t}/courier-return/",
        {"recipient_name": "a", "address": "b"},
        {"desk", "manager"},
        200,
        404,
    ),
    ("customers", "get", "/customers/?phone=010-2345-6789", None, ALL_STAFF, 200, 200),
    ("serial", "get", "/serials/HBS1100K7Q2/", None, ALL_STAFF, 200, 200),
    ("parts", "get", "/parts/?product_model=HBS-1100", None, ALL_STAFF, 200, 200),
    ("stock", "get", "/stock/", None, ALL_STAFF, 200, 200),
    ("orders", "get", "/parts-orders/", None, ALL_STAFF, 200, 200),
    (
        "order create",
        "post",
        "/parts-orders/",
        {"lines": [{"part_number": "CLIP-SPRING-01", "quantity": 1}]},
        ALL_STAFF,
        201,
        201,
    ),
    # Technicians and the desk request parts; only a manager records the warehouse's dispatch;
    # the desk or a manager receives and cancels (DESIGN.md, contract additions v1.1).
    (
        "order ship",
        "post",
        "/parts-orders/{o}/transitions/ship/",
        {"carrier": "a", "tracking_number": "b"},
        {"manager"},
        200,
        404,
    ),
    (
        "order receive",
        "post",
        "/parts-orders/{o}/transitions/receive/",
        {},
        {"desk", "manager"},
        200,
        404,
    ),
    (
        "order cancel",
        "post",
        "/parts-orders/{o}/transitions/cancel/",
        {"reason": "x"},
        {"desk", "manager"},
        200,
        404,
    ),
    ("product models", "get", "/product-models/", None, ALL_STAFF, 200, 200),
    (
        "product model create",
        "post",
        "/product-models/",
        {"code": "NEW-1", "name": "n"},
        {"manager"},
        201,
        403,
    ),
    (
        "device create",
        "post",
        "/devices/",
        {"serial_number": "NEWSERIAL1", "product_model": "HBS-1100", "purchase_date": "2026-01-02"},
        {"manager"},
        201,
        403,
    ),
    (
        "part create",
        "post",
        "/parts/",
        {"part_number": "NEW-P", "name": "n", "unit_price": 10, "compatible_models": ["HBS-1100"]},
        {"manager"},
        201,
        403,
    ),
    (
        "stock adjust",
        "post",
        "/stock/adjust/",
        {"part_number": "CLIP-SPRING-01", "delta": 1, "reason": "count"},
        {"manager"},
        200,
        403,
    ),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_endpoint_is_open_exactly_to_its_roles(endpoint, persona, clients, world, center, spring):
    name, method, template, body, allowed, ok, foreign = endpoint
    repair = world["repair"]
    order = _new_order(center, spring)
    path = template.format(t=repair.ticket_number, p=world["promise"].pk, o=order.pk)
    if body == "intake":
        body = {
            "customer": {"name": "a", "phone": "010-1111-2222"},
            "symptom": "s",
            "product_model": "HBS-1100",
        }
    if body == "promise":
        body = {"kind": "callback", "due_at": "2030-01-01T10:00:00+09:00"}
    client = clients[persona]
    response = get(client, path) if method == "get" else post(client, path, body)
    assert response.status_code == _expect(persona, allowed, ok, foreign=foreign), response.json()
    assert response["Content-Type"] == "application/json"


def test_staff_of_another_center_see_none_of_its_repairs_or_orders(clients, world, center, spring):
    _new_order(center, spring)
    assert get(clients["foreign"], "/repairs/").json()["count"] == 0
    assert get(clients["foreign"], "/parts-orders/").json()["count"] == 0
    assert get(clients["foreign"], "/customers/", phone="010-2345-6789").json()["count"] == 0
    assert get(clients["desk"], "/repairs/").json()["count"] == 1


def test_status_token_is_shown_only_to_staff_of_the_repairs_center(clients, world, anon_api):
    ticket = world["repair"].ticket_number
    assert get(clients["desk"], f"/repairs/{ticket}/").json()["status_token"]
    assert get(clients["foreign"], f"/repairs/{ticket}/").status_code == 404
    public = post(anon_api, "/public/status/", {"ticket_number": ticket, "phone_last4": "6789"})
    assert "status_token" not in public.json() and world["repair"].status_token not in str(
        public.json()
    )


def test_available_transitions_are_those_of_this_user(
    clients, make_repair, desk, tech, in_warranty
):
    ticket = _ready(make_repair, desk, tech, in_warranty).ticket_number

    def available(persona):
        return get(clients[persona], f"/repairs/{ticket}/").json()["available_transitions"]

    assert "start_repair" in available("tech")
    assert "start_repair" not in available("other_tech")
    assert "start_repair" not in available("desk")
    assert "cancel" not in available("desk")  # the device is in the shop: blocked
    assert "set_coverage" not in available("desk") and "set_coverage" in available("manager")


def test_parts_orders_of_another_center_are_not_found(clients, center, spring):
    order = _new_order(center, spring)
    response = post(clients["foreign"], f"/parts-orders/{order.pk}/transitions/receive/")
    assert response.status_code == 404
    assert PartsOrder.objects.get(pk=order.pk).state == "requested"
