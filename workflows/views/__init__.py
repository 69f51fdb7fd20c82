"""The HTML pages. One module per area; this package is what `page_urls.py` imports."""

from workflows.views.desk import (
    desk_board,
    desk_calls,
    desk_intake,
    desk_repair,
    desk_repairs,
    lookup_customer,
    lookup_serial,
)
from workflows.views.parts_orders import (
    parts_order_cancel,
    parts_order_receive,
    parts_order_ship,
    parts_orders,
)
from workflows.views.status import (
    status_approve,
    status_book,
    status_courier,
    status_decline,
    status_lookup,
    status_page,
)
from workflows.views.tech import tech_home, tech_repair
from workflows.views.writes import (
    repair_call,
    repair_fulfil,
    repair_note,
    repair_promise,
    repair_transition,
)

__all__ = [
    "parts_order_cancel",
    "parts_order_receive",
    "parts_order_ship",
    "parts_orders",
    "desk_board",
    "desk_calls",
    "desk_intake",
    "desk_repair",
    "desk_repairs",
    "lookup_customer",
    "lookup_serial",
    "status_approve",
    "status_book",
    "status_courier",
    "status_decline",
    "status_lookup",
    "status_page",
    "tech_home",
    "tech_repair",
    "repair_call",
    "repair_fulfil",
    "repair_note",
    "repair_promise",
    "repair_transition",
]
