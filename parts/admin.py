"""Parts in the admin. The catalogue is shared by every center; orders and reservations are
scoped to the manager's center (service_center/admin.py) and never edited by hand. Stock, whose
"Adjust stock" form moves waiting repairs on, is registered in workflows/admin.py."""

from django.contrib import admin

from parts.models import Part, PartsOrder, PartsOrderLine, Reservation
from service_center.admin import (
    CenterScopedAdmin,
    SafeLookupsMixin,
)


@admin.register(Part)
class PartAdmin(SafeLookupsMixin, admin.ModelAdmin):
    list_display = ("part_number", "name", "unit_price")
    search_fields = ("part_number", "name")
    filter_horizontal = ("compatible_models",)


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PartsOrderLineInline(ReadOnlyMixin, admin.TabularInline):
    model = PartsOrderLine
    extra = 0


@admin.register(PartsOrder)
class PartsOrderAdmin(ReadOnlyMixin, CenterScopedAdmin):
    list_display = ("id", "center", "state", "carrier", "tracking_number", "eta", "created_at")
    list_filter = ("state", "center")
    list_select_related = ("center",)
    inlines = [PartsOrderLineInline]


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyMixin, CenterScopedAdmin):
    list_display = ("repair", "part", "quantity", "status", "created_at")
    list_filter = ("status",)
    list_select_related = ("repair", "part")
