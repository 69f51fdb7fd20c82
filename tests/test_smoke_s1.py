from tests.conftest import stock
from workflows import services as s


def test_invite_is_blocked_while_coverage_is_undetermined(make_repair, desk, tech, spring, center):
    stock(center, spring, 0)
    repair = make_repair(intake_channel="phone", device_in_shop=False)
    s.repair_assign(repair=repair, actor=desk, technician=tech)
    repair = s.repair_diagnose(
        repair=repair, actor=tech, findings="spring", parts=[{"part_number": spring.part_number}]
    )
    assert repair.state == "awaiting_approval"
