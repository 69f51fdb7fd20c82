"""Repairs are read-only here: every state change goes through workflows/services/. Stock is
registered here too: its "Adjust stock" form hands new units to waiting repairs, which move on
(`workflows.services.supply.stock_adjust`).

Everything is scoped to the manager's center (service_center/admin.py). A repair's status token
opens its public status page, so it is never shown: the field is left out, messages and timeline
texts that carry the status link show it as `/status/t/…/`, and no URL filter reaches them.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from parts.admin import ReadOnlyMixin
from parts.models import Part, Stock
from service_center.admin import (
    CenterScopedAdmin,
    apply_service_errors,
    center_scope,
    service_form_page,
)
from service_center.models import ServiceCenter
from workflows import notify, registry
from workflows.choices import ActorKind, State
from workflows.messages import validate
from workflows.models import MessageTemplate, Notification, Promise, Repair, RepairEvent
from workflows.services import supply

_STATUS_LINK = re.compile(r"/status/t/[^/\s]+")


def mask_status_token(text: str, token: str = "") -> str:
    """The text with every status link's token (and the repair's token anywhere) as `…`."""
    if token:
        text = text.replace(token, "…")
    return _STATUS_LINK.sub("/status/t/…", text)


# The columns `EventLabels` fills in, in the order both event views show them.
EVENT_LABEL_FIELDS = ("at", "actor_shown", "kind", "transition_shown", "from_shown", "to_shown")


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
    fields = (*EVENT_LABEL_FIELDS, "masked_text", "customer_visible")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("repair")

    @admin.display(description=_("text"))
    def masked_text(self, event):
        return mask_status_token(event.display_text, event.repair.status_token)


class PromiseInline(ReadOnlyMixin, admin.TabularInline):
    model = Promise
    extra = 0
    fields = ("kind", "due_at", "note", "fulfilled_at", "withdrawn_at")
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
    list_filter = ("status", "channel", "kind")
    list_select_related = ("repair",)
    fields = (
        "repair",
        "kind",
        "channel",
        "recipient",
        "masked_subject",
        "message",
        "status",
        "attempts",
        "created_at",
        "claimed_at",
        "next_attempt_at",
        "sent_at",
        "provider_message_id",
        "masked_error",
    )
    readonly_fields = fields
    secret_fields = ("subject", "body", "last_error", "idempotency_key")
    actions = ["send_again"]

    @admin.action(description=_("Send the failed messages again"))
    def send_again(self, request, queryset):
        # A failed row may have reached the customer (an interrupted send): staff decide.
        count = notify.requeue(queryset.values_list("pk", flat=True))
        text = gettext("%(count)s messages will be sent again.") % {"count": count}
        self.message_user(request, text)

    @admin.display(description=_("subject"))
    def masked_subject(self, notification):
        return mask_status_token(notification.subject, notification.repair.status_token)

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
    fields = ("repair", *EVENT_LABEL_FIELDS, "customer_visible", "masked_text")
    readonly_fields = fields
    secret_fields = ("text", "data")

    @admin.display(description=_("text"))
    def masked_text(self, event):
        return mask_status_token(event.display_text, event.repair.status_token)


@admin.register(Promise)
class PromiseAdmin(ReadOnlyMixin, CenterScopedAdmin):
    center_lookup = "repair__center"
    center_field = ""
    list_display = ("due_at", "repair", "kind", "note", "fulfilled_at", "withdrawn_at")
    list_filter = ("kind",)
    list_select_related = ("repair",)
    search_fields = ("repair__ticket_number",)
    fields = ("repair", "kind", "due_at", "note", "made_at", "fulfilled_at", "withdrawn_at")
    readonly_fields = fields


# --- stock ---------------------------------------------------------------------------------


class MessageTemplateForm(forms.ModelForm):
    """The same checks as the editor page (/manager/messages/): `workflows.messages.validate`."""

    class Meta:
        model = MessageTemplate
        fields = ("center", "kind", "language", "subject", "body")

    scope_center_id: int | None = None  # a manager's center (the field is read-only for them)

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind:
            found = validate(kind, data.get("subject") or "", data.get("body") or "")
            for field, problems in found.items():
                for problem in problems:
                    self.add_error(field, problem)
        # The center is not a form field for a manager, so the form's own unique check skips
        # (center, kind, language); without this a second row would be an IntegrityError.
        center_id = self.scope_center_id or getattr(data.get("center"), "pk", None)
        taken = MessageTemplate.objects.filter(
            center_id=center_id, kind=kind, language=data.get("language")
        ).exclude(pk=self.instance.pk)
        if center_id and kind and taken.exists():
            self.add_error(
                None, gettext("This center already has its wording of this message and language.")
            )
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(CenterScopedAdmin):
    """A center's own wording of a message; the editor page also previews it."""

    form = MessageTemplateForm
    list_display = ("kind", "language", "subject", "center", "updated_at", "updated_by")
    list_filter = ("kind", "language", "center")
    list_select_related = ("center", "updated_by")
    readonly_fields = ("updated_at", "updated_by")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.scope_center_id = center_scope(request)
        return form

    def save_model(self, request, obj, form, change):
        obj.updated_at, obj.updated_by = timezone.now(), request.user
        super().save_model(request, obj, form, change)


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
            stock = self._adjust(request, form)
            if stock is not None:
                self._report(request, stock, form.cleaned_data)
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

    def _adjust(self, request, form: StockAdjustForm) -> Stock | None:
        """Run the adjustment; a domain error goes beside its field and answers None."""
        data = form.cleaned_data
        try:
            return supply.stock_adjust(
                center=data["center"],
                part=data["part"],
                delta=data["delta"],
                reason=data["reason"],
                actor_user=request.user,
            )
        except DomainError as exc:
            apply_service_errors(form, exc)
            return None

    def _report(self, request, stock: Stock, data: dict) -> None:
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

    def _initial(self, request) -> dict:
        """The center and part of the row the "Adjust stock" link came from (`?stock=<pk>`)."""
        raw = request.GET.get("stock", "")
        if not re.fullmatch(r"[0-9]{1,18}", raw):
            return {}
        stock = self.get_queryset(request).filter(pk=int(raw)).first()
        return {"center": stock.center_id, "part": stock.part_id} if stock else {}
