"""Every write to a repair. Each transition is one service here, and each service reads top to
bottom with the helpers of `core.py`: in one `transaction.atomic()` it locks the repair row
(`select_for_update`) and checks the actor's role, puts its input on the row, asks the gate for
blockers, touches other rows (reservations, promises), calls the FSM transition and saves,
writes one RepairEvent, writes any Notification row, and schedules delivery with `on_commit`.
The API, the pages, the admin and the management commands all come through here.
"""

from typing import Any

from core.errors import NotFound

# One package, one name space: callers keep writing `services.repair_diagnose(...)`.
from core.roles import SYSTEM_ACTOR  # noqa: F401
from service_center.selectors import SerialLookup, serial_lookup  # noqa: F401
from workflows import registry
from workflows.models import Repair
from workflows.services.actions import (  # noqa: F401
    repair_add_note,
    repair_fulfil_promise,
    repair_record_call,
    repair_record_promise,
    repair_request_courier_return,
)
from workflows.services.appointments import (  # noqa: F401
    BOOKING_DAYS,
    AlreadyBooked,
    SlotTaken,
    free_slots,
    repair_book_appointment,
    repair_invite_for_repair,
    send_appointment_reminders,
)
from workflows.services.before_repair import (  # noqa: F401
    repair_approve,
    repair_assign,
    repair_decline,
    repair_diagnose,
    repair_record_deposit,
    repair_set_coverage,
)
from workflows.services.core import (  # noqa: F401
    WORK_STARTED_STATES,
    lock_repair,
    status_link,
)
from workflows.services.intake import (  # noqa: F401
    coverage_from_serial,
    customer_find_or_create,
    repair_intake,
)
from workflows.services.payments import (  # noqa: F401
    Overpayment,
    RefundExceedsPaid,
    ledger_total,
    repair_record_payment,
    repair_record_refund,
)
from workflows.services.photos import TooManyPhotos, repair_add_photo  # noqa: F401
from workflows.services.quote import repair_requote  # noqa: F401
from workflows.services.repair_and_return import (  # noqa: F401
    repair_cancel,
    repair_check_in_device,
    repair_complete,
    repair_confirm_delivery,
    repair_hand_over,
    repair_notify_ready_for_pickup,
    repair_report_unrepairable,
    repair_ship,
    repair_start,
)
from workflows.services.supply import (  # noqa: F401
    Served,
    allocate_waiting,
    parts_order_cancel,
    parts_order_receive,
    parts_order_ship,
    repair_part_eta_known,
    repair_part_eta_withdrawn,
    repair_parts_arrived,
    repair_parts_reserved,
    stock_adjust,
)

# Transitions that take money: a page's one-time form token (`request_key`) reaches them.
MONEY_TRANSITIONS = ("record_deposit", "hand_over")


def repair_transition(
    *,
    repair: Repair | int,
    name: str,
    actor: Any,
    data: dict | None = None,
    request_key: str = "",
) -> Repair:
    """Run a staff transition by name with a dict of its inputs (unknown keys are ignored).
    The registry says which service runs it and which inputs it takes."""
    spec = registry.TRANSITIONS.get(name)
    if spec is None or not spec.staff_action:
        raise NotFound(f"No transition {name}.")
    service = globals()[spec.service]
    data = data or {}
    inputs = {f: data[f] for f in spec.inputs if f in data}
    if request_key and name in MONEY_TRANSITIONS:
        inputs["request_key"] = request_key
    return service(repair=repair, actor=actor, **inputs)
