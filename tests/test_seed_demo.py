"""`manage.py seed_demo` builds the demo center and is safe to run twice."""

import io

from django.contrib.auth import authenticate
from django.core.management import call_command

from parts.models import Part, PartsOrder, Stock
from service_center.models import Device, ProductModel, ServiceCenter
from workflows.choices import State
from workflows.models import Notification, Repair, RepairEvent

LOGINS = {"desk": "front_desk", "tech": "technician", "tech2": "technician", "manager": "manager"}


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict:
    models = [
        ServiceCenter,
        ProductModel,
        Device,
        Part,
        Stock,
        PartsOrder,
        Repair,
        RepairEvent,
        Notification,
    ]
    return {m.__name__: m.objects.count() for m in models}


def test_seed_demo_runs_twice_without_duplicating_anything(db):
    first = seed()
    after_first = counts()
    second = seed()

    assert "demo repairs created" in first
    assert "already there" in second
    assert counts() == after_first
    assert after_first["Repair"] >= 5


def test_the_demo_logins_exist_with_the_printed_password(db):
    output = seed()
    seed()

    assert "demo12345" in output
    for username, role in LOGINS.items():
        user = authenticate(username=username, password="demo12345")
        assert user is not None, username
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.staff_profile.center.code == "GN"


def test_the_demo_has_repairs_in_several_states_including_the_s1_story(db):
    seed()

    states = set(Repair.objects.values_list("state", flat=True))
    assert {
        State.RECEIVED,
        State.AWAITING_APPROVAL,
        State.IN_REPAIR,
        State.READY_FOR_PICKUP,
        State.SHIPPED,
        State.CLOSED,
    } <= states
    spring_repair = Repair.objects.get(reservations__part__part_number="CLIP-SPRING-01")
    assert spring_repair.coverage == "undetermined"
    assert spring_repair.reservations.get().status == "waiting"
    for row in Stock.objects.all():
        assert 0 <= row.reserved <= row.on_hand
