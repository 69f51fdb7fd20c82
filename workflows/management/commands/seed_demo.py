"""Demo data: center GN, four staff, products, a serial registry, parts, stock, repairs in several
states. Safe to run twice: reference data is upserted and demo repairs are made only once.
(In workflows: the repairs are the data it owns; the command is still `manage.py seed_demo`.)"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from parts.models import Part, PartsOrder, Stock
from parts.services import stock_set_count
from service_center.models import Channel, Customer, Device, ProductModel, ServiceCenter
from service_center.services import staff_create
from workflows import services as s
from workflows.models import Repair

PASSWORD = "demo12345"
STAFF = [
    ("desk", "front_desk", "이수진 (desk)"),
    ("tech", "technician", "박정호"),
    ("tech2", "technician", "최유나"),
    ("manager", "manager", "김현우 (manager)"),
]
MODELS = [
    ("HBS-1100", "블루투스 헤드셋 HBS-1100", "audio", 12),
    ("NB-15X", "노트북 NB-15X", "laptop", 24),
    ("SM-P10", "스마트폰 SM-P10", "phone", 12),
]
PARTS = [
    # part_number, name, price, models, stock at GN
    ("CLIP-SPRING-01", "클립 스프링 (헤드셋)", 100, ["HBS-1100"], 0),
    ("HBS-BATT", "헤드셋 배터리", 15000, ["HBS-1100"], 3),
    ("NB-KEYBOARD", "노트북 키보드", 89000, ["NB-15X"], 2),
    ("NB-BATTERY", "노트북 배터리", 120000, ["NB-15X"], 1),
    ("SM-SCREEN", "스마트폰 화면", 180000, ["SM-P10"], 2),
    ("SM-BATT", "스마트폰 배터리", 35000, ["SM-P10"], 5),
]
SERIALS = [
    # serial, model, purchased days ago, channel, owned by the S1 customer
    ("HBS1100K7Q2", "HBS-1100", 120, Channel.OFFICIAL, True),
    ("HBS1100OLD1", "HBS-1100", 800, Channel.OFFICIAL, False),
    ("HBS1100PAR1", "HBS-1100", 30, Channel.PARALLEL_IMPORT, False),
    ("NB15X0001", "NB-15X", 200, Channel.OFFICIAL, False),
    ("NB15X0002", "NB-15X", 1000, Channel.OFFICIAL, False),
    ("NB15XPAR01", "NB-15X", 90, Channel.PARALLEL_IMPORT, False),
    ("SMP10A0001", "SM-P10", 60, Channel.OFFICIAL, False),
    ("SMP10A0002", "SM-P10", 500, Channel.OFFICIAL, False),
    ("SMP10A0003", "SM-P10", 100, Channel.OFFICIAL, False),
    ("SMP10A0004", "SM-P10", 40, Channel.OFFICIAL, False),
]


def _ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


# --- reference data ----------------------------------------------------------------------------


def _center() -> ServiceCenter:
    center, _ = ServiceCenter.objects.update_or_create(
        code="GN",
        defaults={
            "name": "강남 서비스센터",
            "address": "서울특별시 강남구 테헤란로 123",
            "phone": "02-555-0100",
            "requires_deposit_for_ordered_parts": False,
        },
    )
    return center


def _staff() -> None:
    for username, role, name in STAFF:
        staff_create(
            username=username, role=role, center_code="GN", password=PASSWORD, display_name=name
        )


def _product_models() -> dict[str, ProductModel]:
    models = {}
    for code, name, category, months in MODELS:
        models[code], _ = ProductModel.objects.update_or_create(
            code=code, defaults={"name": name, "category": category, "warranty_months": months}
        )
    return models


def _parts_and_stock(center: ServiceCenter, models: dict[str, ProductModel]) -> None:
    for number, name, price, compatible, on_hand in PARTS:
        part, _ = Part.objects.update_or_create(
            part_number=number, defaults={"name": name, "unit_price": price}
        )
        part.compatible_models.set([models[c] for c in compatible])
        if not Stock.objects.filter(center=center, part=part).exists():
            # Through the ledger: the units arrive with their opening movement.
            stock_set_count(center_id=center.pk, part_id=part.pk, on_hand=on_hand)


def _customer(center: ServiceCenter, name: str, phone: str) -> Customer:
    found = Customer.objects.filter(center=center, name=name).first()
    return found or Customer.objects.create(center=center, name=name, phone=phone)


def _serials(models: dict[str, ProductModel], owner: Customer) -> None:
    for serial, model, days, channel, owned in SERIALS:
        Device.objects.update_or_create(
            serial_number=serial,
            defaults={
                "product_model": models[model],
                "purchase_date": _ago(days),
                "channel": channel,
                "owner": owner if owned else None,
            },
        )


def reference_data() -> ServiceCenter:
    center = _center()
    _staff()
    models = _product_models()
    _parts_and_stock(center, models)
    _serials(models, _customer(center, "김민지", "010-2345-6789"))
    return center


# --- demo repairs ------------------------------------------------------------------------------


@dataclass
class Demo:
    center: ServiceCenter
    desk: Any
    tech: Any
    tech2: Any

    def intake(self, name: str, phone: str, **kw: Any) -> Repair:
        return s.repair_intake(
            center=self.center, actor=self.desk, customer={"name": name, "phone": phone}, **kw
        )

    def diagnosed(self, repair: Repair, tech: Any, findings: str, part: str, fee: int) -> None:
        s.repair_assign(repair=repair, actor=self.desk, technician=tech)
        s.repair_diagnose(
            repair=repair,
            actor=tech,
            findings=findings,
            parts=[{"part_number": part, "quantity": 1}],
            labor_fee=fee,
        )


def _spring_on_order(d: Demo) -> None:
    """S1: the missing clip spring, phoned in, serial unknown, spring on order."""
    r = d.intake(
        "김민지",
        "010-2345-6789",
        product_model="HBS-1100",
        intake_channel="phone",
        device_in_shop=False,
        symptom="클립의 작은 스프링이 빠졌어요.",
    )
    d.diagnosed(r, d.tech, "클립 스프링 1개 교체 필요 (재고 없음, 주문)", "CLIP-SPRING-01", 0)
    s.repair_record_promise(
        repair=r,
        actor=d.tech,
        kind="callback",
        due_at=timezone.now() - dt.timedelta(hours=3),
        note="부품 도착 여부 전화 드리기",
    )


def _laptop_received(d: Demo) -> None:
    """A laptop in warranty, just received."""
    d.intake(
        "이준호",
        "010-3456-7890",
        serial_number="NB15X0001",
        symptom="키보드 일부 키가 눌리지 않음",
        accessories="충전기",
    )


def _laptop_awaiting_approval(d: Demo) -> None:
    """An expired laptop, diagnosed, waiting for the customer's approval."""
    r = d.intake("박서연", "010-4567-8901", serial_number="NB15X0002", symptom="배터리가 금방 닳음")
    d.diagnosed(r, d.tech2, "배터리 수명 다함, 교체 필요", "NB-BATTERY", 20000)


def _phone_in_repair(d: Demo) -> None:
    """A phone in warranty, parts on hand, repair under way."""
    r = d.intake("정다은", "010-5678-9012", serial_number="SMP10A0001", symptom="화면 줄무늬")
    d.diagnosed(r, d.tech, "디스플레이 불량", "SM-SCREEN", 0)
    s.repair_start(repair=r, actor=d.tech)


def _battery_ready_for_pickup(d: Demo) -> None:
    """A paid battery swap, done and waiting at the counter."""
    r = d.intake("최지훈", "010-6789-0123", serial_number="SMP10A0002", symptom="배터리 부풀음")
    d.diagnosed(r, d.tech2, "배터리 교체", "SM-BATT", 15000)
    s.repair_approve(repair=r, actor=d.desk)
    s.repair_start(repair=r, actor=d.tech2)
    s.repair_complete(repair=r, actor=d.tech2, work_notes="배터리 교체 완료, 충전 테스트 정상")
    s.repair_notify_ready_for_pickup(repair=r, actor=d.desk)


def _courier_return_shipped(d: Demo) -> None:
    """Courier return: repaired, shipped."""
    r = d.intake(
        "한예린",
        "010-7890-1234",
        serial_number="SMP10A0003",
        symptom="충전 불량",
        intake_channel="courier",
        return_method="courier",
        courier_address="부산광역시 해운대구 센텀로 45",
    )
    d.diagnosed(r, d.tech, "배터리 교체 (보증)", "SM-BATT", 0)
    s.repair_start(repair=r, actor=d.tech)
    s.repair_complete(repair=r, actor=d.tech, work_notes="교체 완료")
    s.repair_ship(repair=r, actor=d.desk, carrier="CJ대한통운", tracking_number="6543210987")


def _closed_history(d: Demo) -> None:
    """An older repair of the S1 customer, closed: her history is on screen when she calls."""
    r = d.intake("김민지", "010-2345-6789", serial_number="HBS1100K7Q2", symptom="배터리 빨리 닳음")
    d.diagnosed(r, d.tech2, "배터리 교체 (보증)", "HBS-BATT", 0)
    s.repair_start(repair=r, actor=d.tech2)
    s.repair_complete(repair=r, actor=d.tech2, work_notes="배터리 교체")
    s.repair_notify_ready_for_pickup(repair=r, actor=d.desk)
    s.repair_hand_over(repair=r, actor=d.desk, amount_paid=0)


def _spring_shipped(d: Demo) -> None:
    """The warehouse shipped the clip spring order; it arrives in three days."""
    order = PartsOrder.objects.filter(center=d.center, state="requested").first()
    if order is not None:
        s.parts_order_ship(
            order_id=order.pk,
            carrier="본사 물류",
            tracking_number="HQ-000123",
            eta=timezone.localdate() + dt.timedelta(days=3),
        )


STORIES = [
    _spring_on_order,
    _laptop_received,
    _laptop_awaiting_approval,
    _phone_in_repair,
    _battery_ready_for_pickup,
    _courier_return_shipped,
    _closed_history,
    _spring_shipped,
]


def demo_repairs(center: ServiceCenter) -> None:
    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["desk", "tech", "tech2", "manager"])
    }
    demo = Demo(center, users["desk"], users["tech"], users["tech2"])
    for story in STORIES:
        story(demo)


class Command(BaseCommand):
    help = "Create the demo center GN with staff, products, serials, parts, stock and repairs."

    def handle(self, *args, **opts):
        with transaction.atomic():
            center = reference_data()
        if not Repair.objects.filter(center=center).exists():
            demo_repairs(center)
            self.stdout.write("demo repairs created")
        else:
            self.stdout.write("demo repairs already there; left as they are")
        self.stdout.write(
            "\nDemo logins (password for all: demo12345):\n"
            "  desk     front desk   -> /desk/\n"
            "  tech     technician   -> /tech/\n"
            "  tech2    technician   -> /tech/\n"
            "  manager  manager      -> /desk/ and /admin/\n"
        )
