from django.contrib import admin

from parts.models import Part, PartsOrder, PartsOrderLine, Reservation, Stock


@admin.register(Part)
class PartAdmin(admin.ModelAdmin):
    list_display = ("part_number", "name", "unit_price")
    search_fields = ("part_number", "name")
    filter_horizontal = ("compatible_models",)


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    """Counts change through `manage.py`/API stock adjustments and receiving, never by hand here:
    a hand edit could break the link between `reserved` and the reservations."""

    list_display = ("part", "center", "on_hand", "reserved")
    list_filter = ("center",)
    list_select_related = ("part", "center")
    readonly_fields = ("center", "part", "on_hand", "reserved")

    def has_add_permission(self, request):
        return False


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
class PartsOrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "center", "state", "carrier", "tracking_number", "eta", "created_at")
    list_filter = ("state", "center")
    inlines = [PartsOrderLineInline]


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("repair", "part", "quantity", "status", "created_at")
    list_filter = ("status",)
    list_select_related = ("repair", "part")
