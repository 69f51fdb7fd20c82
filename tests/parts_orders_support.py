"""Helpers for the parts-order tests: repairs that wait for a clip spring, each with the order
its diagnosis requested. (No tests here.)"""

from __future__ import annotations

from parts.models import PartsOrder, PartsOrderLine
from workflows import services as s
from workflows.models import Repair


def waiting_repair(make_repair, desk, tech, serial: str, n: int, language: str = "ko") -> Repair:
    """A warranty repair waiting for one CLIP-SPRING-01 (no stock): awaiting_parts, with the
    order its diagnosis requested. `n` makes the customer's phone (010-2345-00nn)."""
    repair = make_repair(
        customer={"name": f"고객{n}", "phone": f"010-2345-{n:04d}"},
        serial_number=serial,
        language=language,
    )
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    s.repair_diagnose(
        repair=repair, actor=tech, findings="스프링", parts=[{"part_number": "CLIP-SPRING-01"}]
    )
    repair.refresh_from_db()
    assert repair.state == "awaiting_parts"
    return repair


def order_of(repair: Repair) -> PartsOrder:
    """The order the repair's diagnosis requested."""
    return PartsOrderLine.objects.select_related("order").get(repair=repair).order
