"""Repairs are read-only here: every state change goes through workflows/services.py."""

from django.contrib import admin

from parts.admin import ReadOnlyMixin
from workflows.models import Notification, Promise, Repair, RepairEvent


class RepairEventInline(ReadOnlyMixin, admin.TabularInline):
    model = RepairEvent
    extra = 0
    fields = (
        "at",
        "actor_name",
        "kind",
        "transition",
        "from_state",
        "to_state",
        "text",
        "customer_visible",
    )
    readonly_fields = fields


class PromiseInline(ReadOnlyMixin, admin.TabularInline):
    model = Promise
    extra = 0
    fields = ("kind", "due_at", "note", "fulfilled_at")
    readonly_fields = fields


@admin.register(Repair)
class RepairAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("ticket_number", "state", "coverage", "customer", "technician", "created_at")
    list_filter = ("state", "coverage", "center")
    search_fields = ("ticket_number", "customer__name", "reported_serial")
    list_select_related = ("customer", "technician")
    exclude = ("status_token",)
    inlines = [PromiseInline, RepairEventInline]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("repair", "kind", "channel", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "kind")
    list_select_related = ("repair",)
