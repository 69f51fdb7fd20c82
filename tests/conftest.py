"""Personas and a small world: center GN, a headset model, its clip spring, serials of each kind.

Personas: `desk`, `tech` (owns repairs it is assigned), `other_tech`, `manager`, `anonymous`.
Helpers make repairs through the services, so every test walks the real workflow: `make_repair`
takes one in, `diagnose` has the desk give it to `tech`, who diagnoses it.
"""

import datetime as dt
import os

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.utils import timezone

from service_center.models import Channel
from service_center.services import staff_create
from tests.factories import (
    CenterFactory,
    DeviceFactory,
    PartFactory,
    ProductModelFactory,
    StockFactory,
)
from workflows import notify
from workflows import services as s

PASSWORD = "demo12345"


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="needs PostgreSQL: SQLite ignores select_for_update, so a pass there proves nothing "
    "(run with DATABASE_URL=postgres://...; .ci/run does)",
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Personas are real accounts; the default hasher would make creating them the slow part.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters, lock-outs and idempotent replays must not leak from one test to the next.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _locmem_outbox(settings):
    settings.NOTIFICATION_BACKEND = "workflows.notify.LocmemBackend"
    settings.NOTIFICATION_EMAIL_BACKEND = "workflows.notify.LocmemBackend"
    notify.LocmemBackend.outbox = []
    yield
    notify.LocmemBackend.outbox = []


@pytest.fixture(autouse=True)
def _ledgers_agree(request):
    """After every test that used the database, `audit_ledgers` finds nothing: each stock row is
    what its movements and reservations say, each repair's amount_paid is its payments' sum.
    Tests that tamper with the counts on purpose are marked `ledgers_tampered`."""
    marker = request.node.get_closest_marker("django_db")
    wanted = {"db", "transactional_db"} & set(request.fixturenames)
    if (marker is None and not wanted) or request.node.get_closest_marker("ledgers_tampered"):
        yield
        return
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        "transactional_db" in wanted
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    yield
    from workflows.management.commands.audit_ledgers import differences

    found = differences()
    assert not found, found


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """A fresh MEDIA_ROOT for every test, so uploads never land in the project (the default
    storage follows the setting)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def outbox():
    """Messages actually delivered by the notification backend during the test."""
    return notify.LocmemBackend.outbox


@pytest.fixture
def center(db):
    return CenterFactory()


@pytest.fixture
def other_center(db):
    return CenterFactory(code="SC", name="서초 서비스센터")


@pytest.fixture
def headset(db):
    return ProductModelFactory(code="HBS-1100", name="블루투스 헤드셋 HBS-1100", warranty_months=12)


@pytest.fixture
def spring(headset):
    return PartFactory(
        part_number="CLIP-SPRING-01",
        name="클립 스프링",
        unit_price=100,
        compatible_models=[headset],
    )


@pytest.fixture
def battery(headset):
    return PartFactory(
        part_number="HBS-BATT", name="헤드셋 배터리", unit_price=15000, compatible_models=[headset]
    )


def stock(center, part, on_hand):
    """The part's stock row at the center with `on_hand` units and their opening `adjust`
    movement (an existing row is returned unchanged)."""
    return StockFactory(center=center, part=part, on_hand=on_hand)


@pytest.fixture
def in_warranty(headset):
    return DeviceFactory(serial_number="HBS1100K7Q2", product_model=headset)


@pytest.fixture
def expired(headset):
    return DeviceFactory(
        serial_number="HBS1100OLD1",
        product_model=headset,
        purchase_date=timezone.localdate() - dt.timedelta(days=800),
    )


@pytest.fixture
def parallel(headset):
    return DeviceFactory(
        serial_number="HBS1100PAR1", product_model=headset, channel=Channel.PARALLEL_IMPORT
    )


def _staff(username, role, center_code="GN"):
    return staff_create(username=username, role=role, center_code=center_code, password=PASSWORD)


@pytest.fixture
def desk(center):
    return _staff("desk", "front_desk")


@pytest.fixture
def tech(center):
    return _staff("tech", "technician")


@pytest.fixture
def other_tech(center):
    return _staff("tech2", "technician")


@pytest.fixture
def manager(center):
    return _staff("manager", "manager")


@pytest.fixture
def anonymous():
    return AnonymousUser()


# The desk's intake page as a browser posts it: a ticked box is "on", an unticked one is not sent.
INTAKE_FORM = {
    "customer_name": "김민지",
    "customer_phone": "010-2345-6789",
    "symptom": "클립 스프링이 빠졌어요",
    "product_model": "HBS-1100",
    "intake_channel": "walk_in",
    "device_in_shop": "on",
    "return_method": "pickup",
}


def intake_form(*, unticked: tuple[str, ...] = (), **fields: str) -> dict[str, str]:
    """INTAKE_FORM with `fields` changed and the fields named in `unticked` left out."""
    form = {**INTAKE_FORM, **fields}
    for name in unticked:
        del form[name]
    return form


@pytest.fixture
def make_repair(center, desk, headset):
    """make_repair(**intake_fields) -> Repair, taken in by the desk through the intake service."""

    def make(**fields):
        data = {
            "customer": {"name": "김민지", "phone": "010-2345-6789"},
            "symptom": "클립 스프링이 빠졌어요",
            "product_model": headset.code,
            "intake_channel": "walk_in",
            "device_in_shop": True,
            "return_method": "pickup",
        }
        data.update(fields)
        return s.repair_intake(center=center, actor=desk, **data)

    return make


@pytest.fixture
def diagnose(desk, tech):
    """diagnose(repair, findings, parts=None, labor_fee=0) -> the repair, assigned by the desk to
    `tech` and diagnosed by them through the services (the first two steps of most stories)."""

    def run(repair, findings, *, parts=None, labor_fee=0):
        s.repair_assign(repair=repair, actor=desk, technician=tech)
        return s.repair_diagnose(
            repair=repair, actor=tech, findings=findings, parts=parts, labor_fee=labor_fee
        )

    return run


@pytest.fixture(scope="module")
def browser():
    """One Chromium per browser-test module (tests/browser_support.py launches it)."""
    from playwright.sync_api import sync_playwright

    from tests.browser_support import launch

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()
