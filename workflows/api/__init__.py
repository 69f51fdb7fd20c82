"""Repairs over the API: intake, the board, the detail with its blockers, transitions, timeline
actions, and the customer's public status / approve / decline / courier-return.

Views check who may act (roles.py), hand the input to one service (services.py) and answer with
the detail read back through a selector. Errors are raised and answered by core.errors.
"""

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
