"""Parts in the admin. The catalogue is shared by every center; stock, orders and reservations
are scoped to the manager's center (service_center/admin.py) and never edited by hand."""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from parts.models import Part, PartsOrder, PartsOrderLine, Reservation, Stock
from parts.services import stock_adjust
from service_center.admin import (
    CenterScopedAdmin,
    SafeLookupsMixin,
    apply_service_errors,
    service_form_page,
)
from service_center.models import ServiceCenter


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


class StockAdjustForm(forms.Form):
    center = forms.ModelChoiceField(label=_("service center"), queryset=ServiceCenter.objects)
    part = forms.ModelChoiceField(label=_("part"), queryset=Part.objects.order_by("part_number"))
    delta = forms.IntegerField(
        label=_("change in units on hand"),
        help_text=_("Units counted or delivered (e.g. 5), or units missing or broken (e.g. -2)."),
    )
    reason = forms.CharField(label=_("reason"), max_length=300)

    def __init__(self, *args, centers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = centers
        if len(centers) == 1:
            self.fields["center"].initial = centers[0].pk


@admin.register(Stock)
class StockAdmin(ReadOnlyMixin, CenterScopedAdmin):
    """Counts change only through `stock_adjust` (the "Adjust stock" form here, the API and
    `manage.py`) and receiving, never by hand: a hand edit could break the link between
    `reserved` and the reservations, and would leave no reason behind."""

    list_display = ("part", "center", "on_hand", "reserved", "available", "adjust_link")
    list_filter = ("center",)
    list_select_related = ("part", "center")
    search_fields = ("part__part_number", "part__name")
    readonly_fields = ("center", "part", "on_hand", "reserved")

    @admin.display(description=_("available"))
    def available(self, stock):
        return stock.available

    @admin.display(description=_("adjust"))
    def adjust_link(self, stock):
        url = reverse("admin:parts_stock_adjust")
        return format_html('<a href="{}?stock={}">{}</a>', url, stock.pk, gettext("Adjust stock"))

    def get_urls(self):
        adjust = self.admin_site.admin_view(self.adjust_view)
        return [path("adjust/", adjust, name="parts_stock_adjust"), *super().get_urls()]

    def has_adjust_permission(self, request) -> bool:
        return request.user.has_perm("parts.change_stock")

    def changelist_view(self, request, extra_context=None):
        extra = {"may_adjust_stock": self.has_adjust_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"may_adjust_stock": self.has_adjust_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    def adjust_view(self, request):
        if not self.has_adjust_permission(request):
            raise PermissionDenied
        centers = self.admin_site.get_model_admin(ServiceCenter).get_queryset(request)
        form = StockAdjustForm(
            request.POST or None,
            centers=centers.order_by("code"),
            initial=self._initial(request),
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                stock = stock_adjust(
                    center=data["center"],
                    part=data["part"],
                    delta=data["delta"],
                    reason=data["reason"],
                )
            except DomainError as exc:
                apply_service_errors(form, exc)
            else:
                self.log_change(request, stock, f"{data['delta']:+d}: {data['reason']}")
                self.message_user(
                    request,
                    gettext("%(stock)s: %(on_hand)s on hand, %(reserved)s reserved.")
                    % {
                        "stock": f"{stock.part.part_number} @ {stock.center.code}",
                        "on_hand": stock.on_hand,
                        "reserved": stock.reserved,
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:parts_stock_changelist"))
        return service_form_page(
            self,
            request,
            form=form,
            title=gettext("Adjust stock"),
            submit=gettext("Adjust stock"),
            intro=gettext(
                "The change is added to the units on hand; it can't take them below the units "
                "reserved for repairs. Waiting repairs get the new units first come, first served."
            ),
        )

    def _initial(self, request) -> dict:
        """The center and part of the row the "Adjust stock" link came from (`?stock=<pk>`)."""
        raw = request.GET.get("stock", "")
        if not re.fullmatch(r"[0-9]{1,18}", raw):
            return {}
        stock = self.get_queryset(request).filter(pk=int(raw)).first()
        return {"center": stock.center_id, "part": stock.part_id} if stock else {}


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
