"""Repairs over the API: intake, the board, the detail with its blockers, transitions, timeline
actions, and the customer's public status / approve / decline / courier-return.

Also the parts-order and stock writes (parts_orders.py), which move repairs on too.

Views check who may act (roles.py), hand the input to one service (services/) and answer with
the detail read back through a selector. Errors are raised and answered by core.errors.
"""

from workflows.api.parts_orders import (
    ORDER_TRANSITIONS,
    PartsOrderListView,
    StockAdjustView,
    order_transition_view,
)
from workflows.api.public import (
    PublicApproveView,
    PublicCourierReturnView,
    PublicDeclineView,
    PublicStatusView,
)
from workflows.api.repairs import (
    RepairCallView,
    RepairCourierReturnView,
    RepairDetailView,
    RepairListView,
    RepairNoteView,
    RepairPromiseFulfilView,
    RepairPromiseView,
    transition_view,
)

__all__ = [
    "ORDER_TRANSITIONS",
    "PartsOrderListView",
    "StockAdjustView",
    "order_transition_view",
    "PublicApproveView",
    "PublicCourierReturnView",
    "PublicDeclineView",
    "PublicStatusView",
    "RepairCallView",
    "RepairCourierReturnView",
    "RepairDetailView",
    "RepairListView",
    "RepairNoteView",
    "RepairPromiseFulfilView",
    "RepairPromiseView",
    "transition_view",
]
