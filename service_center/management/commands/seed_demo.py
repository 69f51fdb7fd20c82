"""Demo data: center GN, four staff, products, a serial registry, parts, stock, repairs in several
states. Safe to run twice: reference data is upserted and demo repairs are made only once."""

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from parts import services as parts_services
from parts.models import Part, PartsOrder, Stock
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


def _ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


class Command(BaseCommand):
    help = "Create the demo center GN with staff, products, serials, parts, stock and repairs."

    def handle(self, *args, **opts):
        with transaction.atomic():
            center = self._reference_data()
        if not Repair.objects.filter(center=center).exists():
            self._repairs(center)
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

    def _reference_data(self) -> ServiceCenter:
        center, _ = ServiceCenter.objects.update_or_create(
            code="GN",
            defaults={
                "name": "강남 서비스센터",
                "address": "서울특별시 강남구 테헤란로 123",
                "phone": "02-555-0100",
                "requires_deposit_for_ordered_parts": False,
            },
        )
        for username, role, name in STAFF:
            staff_create(
                username=username, role=role, center_code="GN", password=PASSWORD, display_name=name
            )
        models = {}
        for code, name, category, months in MODELS:
            models[code], _ = ProductModel.objects.update_or_create(
                code=code, defaults={"name": name, "category": category, "warranty_months": months}
            )
        for number, name, price, compatible, on_hand in PARTS:
            part, _ = Part.objects.update_or_create(
                part_number=number, defaults={"name": name, "unit_price": price}
            )
            part.compatible_models.set([models[c] for c in compatible])
            Stock.objects.get_or_create(center=center, part=part, defaults={"on_hand": on_hand})
        kim = self._customer(center, "김민지", "010-2345-6789")
        serials = [
            # serial, model, purchased days ago, channel, owner
            ("HBS1100K7Q2", "HBS-1100", 120, Channel.OFFICIAL, kim),
            ("HBS1100OLD1", "HBS-1100", 800, Channel.OFFICIAL, None),
            ("HBS1100PAR1", "HBS-1100", 30, Channel.PARALLEL_IMPORT, None),
            ("NB15X0001", "NB-15X", 200, Channel.OFFICIAL, None),
            ("NB15X0002", "NB-15X", 1000, Channel.OFFICIAL, None),
            ("NB15XPAR01", "NB-15X", 90, Channel.PARALLEL_IMPORT, None),
            ("SMP10A0001", "SM-P10", 60, Channel.OFFICIAL, None),
            ("SMP10A0002", "SM-P10", 500, Channel.OFFICIAL, None),
            ("SMP10A0003", "SM-P10", 100, Channel.OFFICIAL, None),
            ("SMP10A0004", "SM-P10", 40, Channel.OFFICIAL, None),
        ]
        for serial, model, days, channel, owner in serials:
            Device.objects.update_or_create(
                serial_number=serial,
                defaults={
                    "product_model": models[model],
                    "purchase_date": _ago(days),
                    "channel": channel,
                    "owner": owner,
                },
            )
        return center

    def _customer(self, center, name, phone):
        found = Customer.objects.filter(center=center, name=name).first()
        return found or Customer.objects.create(center=center, name=name, phone=phone)

    def _repairs(self, center: ServiceCenter) -> None:
        from django.contrib.auth import get_user_model

        users = {
            u.username: u
            for u in get_user_model().objects.filter(
                username__in=["desk", "tech", "tech2", "manager"]
            )
        }
        desk, tech, tech2 = users["desk"], users["tech"], users["tech2"]

        def intake(name, phone, **kw):
            return s.repair_intake(
                center=center, actor=desk, customer={"name": name, "phone": phone}, **kw
            )

        # S1: the missing clip spring, phoned in, serial unknown, spring on order.
        r = intake(
            "김민지",
            "010-2345-6789",
            product_model="HBS-1100",
            intake_channel="phone",
            device_in_shop=False,
            symptom="클립의 작은 스프링이 빠졌어요.",
        )
        s.repair_assign(repair=r, actor=desk, technician=tech)
        s.repair_diagnose(
            repair=r,
            actor=tech,
            findings="클립 스프링 1개 교체 필요 (재고 없음, 주문)",
            parts=[{"part_number": "CLIP-SPRING-01", "quantity": 1}],
            labor_fee=0,
        )
        s.repair_record_promise(
            repair=r,
            actor=tech,
            kind="callback",
            due_at=timezone.now() - dt.timedelta(hours=3),
            note="부품 도착 여부 전화 드리기",
        )

        # A laptop in warranty, just received.
        intake(
            "이준호",
            "010-3456-7890",
            serial_number="NB15X0001",
            symptom="키보드 일부 키가 눌리지 않음",
            accessories="충전기",
        )

        # An expired laptop, diagnosed, waiting for the customer's approval.
        r = intake(
            "박서연", "010-4567-8901", serial_number="NB15X0002", symptom="배터리가 금방 닳음"
        )
        s.repair_assign(repair=r, actor=desk, technician=tech2)
        s.repair_diagnose(
            repair=r,
            actor=tech2,
            findings="배터리 수명 다함, 교체 필요",
            parts=[{"part_number": "NB-BATTERY", "quantity": 1}],
            labor_fee=20000,
        )

        # A phone in warranty, parts on hand, repair under way.
        r = intake("정다은", "010-5678-9012", serial_number="SMP10A0001", symptom="화면 줄무늬")
        s.repair_assign(repair=r, actor=desk, technician=tech)
        s.repair_diagnose(
            repair=r,
            actor=tech,
            findings="디스플레이 불량",
            parts=[{"part_number": "SM-SCREEN", "quantity": 1}],
            labor_fee=0,
        )
        s.repair_start(repair=r, actor=tech)

        # A paid battery swap, done and waiting at the counter.
        r = intake("최지훈", "010-6789-0123", serial_number="SMP10A0002", symptom="배터리 부풀음")
        s.repair_assign(repair=r, actor=desk, technician=tech2)
        s.repair_diagnose(
            repair=r,
            actor=tech2,
            findings="배터리 교체",
            parts=[{"part_number": "SM-BATT", "quantity": 1}],
            labor_fee=15000,
        )
        s.repair_approve(repair=r, actor=desk)
        s.repair_start(repair=r, actor=tech2)
        s.repair_complete(repair=r, actor=tech2, work_notes="배터리 교체 완료, 충전 테스트 정상")
        s.repair_notify_ready_for_pickup(repair=r, actor=desk)

        # Courier return: repaired, shipped.
        r = intake(
            "한예린",
            "010-7890-1234",
            serial_number="SMP10A0003",
            symptom="충전 불량",
            intake_channel="courier",
            return_method="courier",
            courier_address="부산광역시 해운대구 센텀로 45",
        )
        s.repair_assign(repair=r, actor=desk, technician=tech)
        s.repair_diagnose(
            repair=r,
            actor=tech,
            findings="배터리 교체 (보증)",
            parts=[{"part_number": "SM-BATT", "quantity": 1}],
            labor_fee=0,
        )
        s.repair_start(repair=r, actor=tech)
        s.repair_complete(repair=r, actor=tech, work_notes="교체 완료")
        s.repair_ship(repair=r, actor=desk, carrier="CJ대한통운", tracking_number="6543210987")

        # An older repair of the S1 customer, closed: her history is on screen when she calls.
        r = intake(
            "김민지", "010-2345-6789", serial_number="HBS1100K7Q2", symptom="배터리 빨리 닳음"
        )
        s.repair_assign(repair=r, actor=desk, technician=tech2)
        s.repair_diagnose(
            repair=r,
            actor=tech2,
            findings="배터리 교체 (보증)",
            parts=[{"part_number": "HBS-BATT", "quantity": 1}],
            labor_fee=0,
        )
        s.repair_start(repair=r, actor=tech2)
        s.repair_complete(repair=r, actor=tech2, work_notes="배터리 교체")
        s.repair_notify_ready_for_pickup(repair=r, actor=desk)
        s.repair_hand_over(repair=r, actor=desk, amount_paid=0)

        # The warehouse shipped the clip spring order; it arrives in three days.
        order = PartsOrder.objects.filter(center=center, state="requested").first()
        if order is not None:
            parts_services.parts_order_ship(
                order_id=order.pk,
                carrier="본사 물류",
                tracking_number="HQ-000123",
                eta=timezone.localdate() + dt.timedelta(days=3),
            )
