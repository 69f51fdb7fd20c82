"""Repairs are read-only here: every state change goes through workflows/services.py.

Everything is scoped to the manager's center (service_center/admin.py). A repair's status token
opens its public status page, so it is never shown: the field is left out, messages and timeline
texts that carry the status link show it as `/status/t/…/`, and no URL filter reaches them.
"""

from __future__ import annotations

import re

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from parts.admin import ReadOnlyMixin
from service_center.admin import CenterScopedAdmin
from workflows import registry
from workflows.choices import ActorKind, State
from workflows.models import Notification, Promise, Repair, RepairEvent

_STATUS_LINK = re.compile(r"/status/t/[^/\s]+")


def mask_status_token(text: str, token: str = "") -> str:
    """The text with every status link's token (and the repair's token anywhere) as `…`."""
    if token:
        text = text.replace(token, "…")
    return _STATUS_LINK.sub("/status/t/…", text)


class EventLabels:
    """A timeline row's codes as words, in the admin's language."""

    @admin.display(description=_("actor"))
    def actor_shown(self, event):
        if event.actor_kind == ActorKind.STAFF:
            return event.actor_name
        return ActorKind(event.actor_kind).label if event.actor_kind in ActorKind.values else ""

    @admin.display(description=_("transition"))
    def transition_shown(self, event):
        if event.transition == "intake":
            return _("Repair taken in")
        spec = registry.TRANSITIONS.get(event.transition)
        return spec.label if spec else event.transition

    @admin.display(description=_("from state"))
    def from_shown(self, event):
        return State(event.from_state).label if event.from_state in State.values else ""

    @admin.display(description=_("to state"))
    def to_shown(self, event):
        return State(event.to_state).label if event.to_state in State.values else ""


class RepairEventInline(EventLabels, ReadOnlyMixin, admin.TabularInline):
    model = RepairEvent
    extra = 0
    fields = (
        "at",
        "actor_shown",
        "kind",
        "transition_shown",
        "from_shown",
        "to_shown",
        "masked_text",
        "customer_visible",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("repair")

    @admin.display(description=_("text"))
    def masked_text(self, event):
        return mask_status_token(event.display_text, event.repair.status_token)


class PromiseInline(ReadOnlyMixin, admin.TabularInline):
    model = Promise
    extra = 0
    fields = ("kind", "due_at", "note", "fulfilled_at")
    readonly_fields = fields


@admin.register(Repair)
class RepairAdmin(ReadOnlyMixin, CenterScopedAdmin):
    list_display = ("ticket_number", "state", "coverage", "customer", "technician", "created_at")
    list_filter = ("state", "coverage", "center")
    search_fields = ("ticket_number", "customer__name", "reported_serial")
    list_select_related = ("customer", "technician")
    exclude = ("status_token", "coverage_reason_code", "coverage_reason_params")
    secret_fields = ("status_token",)
    inlines = [PromiseInline, RepairEventInline]

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "coverage_reason_shown")

    @admin.display(description=_("coverage reason"))
    def coverage_reason_shown(self, repair):
        return repair.coverage_reason  # in the admin's language


@admin.register(Notification)
class NotificationAdmin(ReadOnlyMixin, CenterScopedAdmin):
    center_lookup = "repair__center"
    center_field = ""
    list_display = ("repair", "kind", "channel", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "kind")
    list_select_related = ("repair",)
    fields = (
        "repair",
        "kind",
        "channel",
        "recipient",
        "message",
        "status",
        "attempts",
        "created_at",
        "claimed_at",
        "sent_at",
        "masked_error",
    )
    readonly_fields = fields
    secret_fields = ("body", "last_error", "idempotency_key")

    @admin.display(description=_("message"))
    def message(self, notification):
        return mask_status_token(notification.body, notification.repair.status_token)

    @admin.display(description=_("last error"))
    def masked_error(self, notification):
        return mask_status_token(notification.last_error, notification.repair.status_token)


@admin.register(RepairEvent)
class RepairEventAdmin(EventLabels, ReadOnlyMixin, CenterScopedAdmin):
    center_lookup = "repair__center"
    center_field = ""
    list_display = ("at", "repair", "kind", "actor_shown", "masked_text", "customer_visible")
    list_filter = ("kind", "customer_visible")
    list_select_related = ("repair",)
    search_fields = ("repair__ticket_number",)
    fields = (
        "repair",
        "at",
        "actor_shown",
        "kind",
        "transition_shown",
        "from_shown",
        "to_shown",
        "customer_visible",
        "masked_text",
    )
    readonly_fields = fields
    secret_fields = ("text", "data")

    @admin.display(description=_("text"))
    def masked_text(self, event):
        return mask_status_token(event.display_text, event.repair.status_token)


@admin.register(Promise)
class PromiseAdmin(ReadOnlyMixin, CenterScopedAdmin):
    center_lookup = "repair__center"
    center_field = ""
    list_display = ("due_at", "repair", "kind", "note", "fulfilled_at")
    list_filter = ("kind",)
    list_select_related = ("repair",)
    search_fields = ("repair__ticket_number",)
    fields = ("repair", "kind", "due_at", "note", "made_at", "fulfilled_at")
    readonly_fields = fields
