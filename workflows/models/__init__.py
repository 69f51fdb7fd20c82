"""The repair (`repair.py`: its state machine) and what it accumulates (`records.py`: timeline,
promises, outbox, payments). Import from here: `from workflows.models import Repair`."""

from workflows.models.appointments import Appointment, AppointmentStatus
from workflows.models.messages import MessageTemplate
from workflows.models.photos import IntakePhoto
from workflows.models.records import Notification, Payment, Promise, RepairEvent
from workflows.models.repair import (
    TICKET_ALPHABET,
    UNREPAIRED_END_STATES,
    Repair,
    fsm_transition,
    new_status_token,
    new_ticket_number,
)

__all__ = [
    "Appointment",
    "AppointmentStatus",
    "TICKET_ALPHABET",
    "UNREPAIRED_END_STATES",
    "IntakePhoto",
    "MessageTemplate",
    "Notification",
    "Payment",
    "Promise",
    "Repair",
    "RepairEvent",
    "fsm_transition",
    "new_status_token",
    "new_ticket_number",
]
