from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    """Labels in staff wording; the customer's wording is `workflows.timeline.state_label`."""

    RECEIVED = "received", _("Received")
    DIAGNOSING = "diagnosing", _("Being diagnosed")
    AWAITING_APPROVAL = "awaiting_approval", _("Waiting for the customer's approval")
    AWAITING_PARTS = "awaiting_parts", _("Waiting for parts")
    READY_TO_REPAIR = "ready_to_repair", _("Ready to repair")
    IN_REPAIR = "in_repair", _("Being repaired")
    REPAIRED = "repaired", _("Repaired")
    DECLINED = "declined", _("Not repaired")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pickup")
    SHIPPED = "shipped", _("Shipped")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATES = [s for s in State if s not in (State.CLOSED, State.CANCELLED)]
# Before the customer has agreed to a price (or, for warranty, before work was scheduled).
PRE_APPROVAL_STATES = [State.RECEIVED, State.DIAGNOSING, State.AWAITING_APPROVAL]
CANCELLABLE_STATES = [
    State.RECEIVED,
    State.DIAGNOSING,
    State.AWAITING_APPROVAL,
    State.AWAITING_PARTS,
    State.READY_TO_REPAIR,
]
# The device can come to the counter until it has been sent back.
CHECK_IN_STATES = [s for s in OPEN_STATES if s != State.SHIPPED]
COURIER_REQUEST_STATES = [
    s for s in OPEN_STATES if s not in (State.READY_FOR_PICKUP, State.SHIPPED)
]


class Coverage(models.TextChoices):
    WARRANTY = "warranty", _("Warranty (free)")
    PAID = "paid", _("Paid repair")
    UNDETERMINED = "undetermined", _("To be confirmed")


class IntakeChannel(models.TextChoices):
    WALK_IN = "walk_in", _("Walk-in")
    PHONE = "phone", _("Phone")
    COURIER = "courier", _("Courier")


class ReturnMethod(models.TextChoices):
    PICKUP = "pickup", _("Pickup at the center")
    COURIER = "courier", _("Courier return")


class EventKind(models.TextChoices):
    TRANSITION = "transition", _("State change")
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    PROMISE = "promise", _("Promise")
    PROMISE_FULFILLED = "promise_fulfilled", _("Promise kept")
    NOTIFICATION = "notification", _("Message to the customer")
    COVERAGE_CHANGE = "coverage_change", _("Coverage changed")
    PAYMENT = "payment", _("Payment")
    CHECK_IN = "check_in", _("Device checked in")
    SERIAL_MISMATCH = "serial_mismatch", _("Serial differs from the record")
    PARTS = "parts", _("Parts")
    COURIER_REQUEST = "courier_request", _("Courier return requested")


class ActorKind(models.TextChoices):
    STAFF = "staff", _("Staff")
    CUSTOMER = "customer", _("Customer")
    SYSTEM = "system", _("System")


class PromiseKind(models.TextChoices):
    CALLBACK = "callback", _("Call back")
    PART_ETA = "part_eta", _("Part arrives")
    READY_BY = "ready_by", _("Ready by")


class NotificationKind(models.TextChoices):
    INVITE_FOR_REPAIR = "invite_for_repair", _("Come in for the repair")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pickup")
    QUOTE = "quote", _("Quote to approve")
    SHIPPED = "shipped", _("Shipped")
    PARTS_DELAYED = "parts_delayed", _("Parts delayed")
    COVERAGE_CHANGED = "coverage_changed", _("Coverage changed")
    RECEIVED = "received", _("Repair received")
    APPOINTMENT_BOOKED = "appointment_booked", _("Appointment booked")
    APPOINTMENT_WITHDRAWN = "appt_withdrawn", _("Appointment withdrawn")
    APPOINTMENT_REMINDER = "appt_reminder", _("Appointment reminder")
    # To the staff member who made a promise that is now overdue (not to the customer).
    OVERDUE_PROMISE = "overdue_promise", _("Overdue promise")


class NotificationChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class PaymentKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    PAYMENT = "payment", _("Payment")
    REFUND = "refund", _("Refund")


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    CARD = "card", _("Card")
    TRANSFER = "transfer", _("Bank transfer")
