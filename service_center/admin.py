"""The admin stays inside its center.

A manager (role `manager`, `is_staff`, a StaffProfile) sees and changes only the rows of their own
center; a superuser sees every center. `CenterScopedAdmin` does it once for every admin class:
each says how its rows reach a center (`center_lookup`), and the mixin filters the change list,
checks every object it is asked about (so another center's object opened by URL is "not found"),
narrows foreign-key choices to what the same user may see, and keeps the center itself out of a
manager's hands. The catalogue shared by all centers (product models, parts) is not scoped.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, ValidationFailed, translated
from service_center.models import (
    Customer,
    Device,
    ProductModel,
    Role,
    ServiceCenter,
    StaffProfile,
    normalize_serial,
)
from service_center.services import center_code_clean, center_create, staff_create

admin.site.site_header = _("Repair desk administration")
admin.site.site_title = _("Repair desk administration")

NO_CENTER = 0  # a staff user without a profile: no center has this pk, so they see nothing


def center_scope(request) -> int | None:
    """The center whose rows this admin user may see, or None for a superuser (every center)."""
    if not hasattr(request, "_admin_center_scope"):
        user = request.user
        if user.is_superuser:
            scope = None
        else:
            profile = StaffProfile.objects.filter(user_id=user.pk).only("center_id").first()
            scope = profile.center_id if profile else NO_CENTER
        request._admin_center_scope = scope
    return request._admin_center_scope


def apply_service_errors(form: forms.Form, exc: DomainError) -> None:
    """Put a service's ValidationFailed messages beside the form fields they name."""
    errors = getattr(exc, "errors", None) or {None: [exc.detail]}
    for field, problems in errors.items():
        form.add_error(field if field in form.fields else None, [translated(p) for p in problems])


def service_form_page(modeladmin, request, *, form, title: str, submit: str, intro: str = ""):
    """The one page the admin's service-backed forms (new staff, stock adjustment) render."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "title": title,
        "form": form,
        "submit_label": submit,
        "intro": intro,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/service_form.html", context)


class SafeLookupsMixin:
    """Change-list URL filters only on the model's own columns (or its list filters), never on a
    secret. Django's admin otherwise accepts `?status_token__startswith=…`, which would let
    anyone with view access recover a token one character at a time."""

    secret_fields: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None):
        first = lookup.split("__", 1)[0]
        if first in self.secret_fields:
            return False
        try:
            field = self.model._meta.get_field(first)
        except FieldDoesNotExist:
            return super().lookup_allowed(lookup, value, request)
        if not field.concrete and first not in self._filter_names(request):
            return False  # a reverse relation would reach rows of other centers
        return super().lookup_allowed(lookup, value, request)

    def _filter_names(self, request) -> set[str]:
        names = self.get_list_filter(request) if request is not None else self.list_filter
        return {item if isinstance(item, str) else "" for item in names}


class CenterScopedAdmin(SafeLookupsMixin, admin.ModelAdmin):
    """Rows reach their center through `center_lookup` ("" for the center itself).

    `center_field` is the foreign key a manager may not choose: it is read-only for them and
    filled with their center when they add a row. `center` list filters are for superusers only
    (they would list every center's name)."""

    center_lookup = "center"
    center_field = "center"

    def center_q(self, center_id: int) -> Q:
        path = f"{self.center_lookup}__pk" if self.center_lookup else "pk"
        return Q(**{path: center_id})

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        scope = center_scope(request)
        return queryset if scope is None else queryset.filter(self.center_q(scope))

    def in_scope(self, request, obj) -> bool:
        scope = center_scope(request)
        if scope is None or obj is None:
            return True
        if obj.pk is None:
            return False
        return self.model._default_manager.filter(self.center_q(scope), pk=obj.pk).exists()

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self.in_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.in_scope(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self.in_scope(request, obj)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if center_scope(request) is None:
            return filters
        return [f for f in filters if f != "center"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if center_scope(request) is not None and self.center_field not in ("", *fields):
            fields.append(self.center_field)
        return fields

    def save_model(self, request, obj, form, change):
        scope = center_scope(request)
        if not change and scope is not None and self.center_field:
            setattr(obj, f"{self.center_field}_id", scope)
        super().save_model(request, obj, form, change)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = scoped_choices(self.admin_site, db_field.related_model, request)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        choices = scoped_choices(self.admin_site, db_field.related_model, request)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def scoped_choices(site, model, request):
    """What a manager may pick for a relation to `model`, or None when it isn't center-bound."""
    if center_scope(request) is None:
        return None
    if model is get_user_model():
        return model._default_manager.filter(staff_profile__center_id=center_scope(request))
    try:
        related = site.get_model_admin(model)
    except NotRegistered:
        return None
    return related.get_queryset(request) if isinstance(related, CenterScopedAdmin) else None


# --- centers ---------------------------------------------------------------------------------


class CenterForm(forms.ModelForm):
    class Meta:
        model = ServiceCenter
        fields = (
            "code",
            "name",
            "address",
            "phone",
            "requires_deposit_for_ordered_parts",
            "diagnosis_fee",
            "repair_warranty_days",
            "open_weekdays",
            "opens_at",
            "closes_at",
            "slot_minutes",
        )

    def clean_code(self):
        try:
            return center_code_clean(self.cleaned_data.get("code"))
        except ValidationFailed as exc:
            raise forms.ValidationError([translated(m) for m in exc.errors["code"]]) from None


@admin.register(ServiceCenter)
class ServiceCenterAdmin(CenterScopedAdmin):
    """A manager sees and edits their own center (not its code); only superusers add one."""

    form = CenterForm
    center_lookup = ""
    center_field = ""
    list_display = ("code", "name", "phone", "requires_deposit_for_ordered_parts")
    search_fields = ("code", "name")

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        # The code begins every ticket number already printed: it never changes after creation.
        return ("code",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        created = center_create(
            code=obj.code,
            name=obj.name,
            address=obj.address,
            phone=obj.phone,
            requires_deposit_for_ordered_parts=obj.requires_deposit_for_ordered_parts,
        )
        obj.pk = created.pk
        # The settings the service has no say in are saved as the form gave them.
        extra = [f for f in CenterForm.Meta.fields[5:] if f in form.cleaned_data]
        if extra:
            ServiceCenter.objects.filter(pk=obj.pk).update(**{f: getattr(obj, f) for f in extra})


# --- staff -----------------------------------------------------------------------------------


class StaffCreateForm(forms.Form):
    """One form for a new staff account; `staff_create` writes it. A manager's center list holds
    only their own center, and an existing username is refused (the service would otherwise
    reset that account, whoever's it is)."""

    username = forms.CharField(
        label=_("username"), max_length=150, validators=[UnicodeUsernameValidator()]
    )
    display_name = forms.CharField(label=_("display name"), max_length=80, required=False)
    role = forms.ChoiceField(label=_("role"), choices=Role.choices)
    center = forms.ModelChoiceField(label=_("service center"), queryset=ServiceCenter.objects)
    password = forms.CharField(
        label=_("password"), widget=forms.PasswordInput, min_length=8, strip=False
    )
    password_again = forms.CharField(
        label=_("password again"), widget=forms.PasswordInput, strip=False
    )

    def __init__(self, *args, centers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = centers
        if len(centers) == 1:
            self.fields["center"].initial = centers[0].pk

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model()._default_manager.filter(username=username).exists():
            raise forms.ValidationError(_("This username is taken."))
        return username

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data


@admin.register(StaffProfile)
class StaffProfileAdmin(CenterScopedAdmin):
    list_display = ("username", "display_name", "role", "center", "is_active")
    list_filter = ("center",)
    list_select_related = ("user", "center")
    search_fields = ("user__username", "display_name")
    fields = ("user", "role", "center", "display_name", "phone")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("user__groups")

    def get_readonly_fields(self, request, obj=None):
        # Who the profile belongs to and in which role are set when the account is created.
        return [*super().get_readonly_fields(request, obj), "user", "role"]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    @admin.display(description=_("username"), ordering="user__username")
    def username(self, profile):
        return profile.user.get_username()

    @admin.display(description=_("role"))
    def role(self, profile):
        names = {group.name for group in profile.user.groups.all()}
        return ", ".join(str(label) for value, label in Role.choices if value in names)

    @admin.display(description=_("active"), boolean=True)
    def is_active(self, profile):
        return profile.user.is_active

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        centers = self.admin_site.get_model_admin(ServiceCenter).get_queryset(request)
        form = StaffCreateForm(request.POST or None, centers=centers.order_by("code"))
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                user = staff_create(
                    username=data["username"],
                    role=data["role"],
                    center_code=data["center"].code,
                    password=data["password"],
                    display_name=data["display_name"],
                )
            except DomainError as exc:
                apply_service_errors(form, exc)
            else:
                profile = user.staff_profile
                self.log_addition(request, profile, [{"added": {}}])
                self.message_user(
                    request,
                    gettext("Staff account %(name)s created.") % {"name": user.get_username()},
                    messages.SUCCESS,
                )
                url = reverse("admin:service_center_staffprofile_change", args=[profile.pk])
                return HttpResponseRedirect(url)
        return service_form_page(
            self,
            request,
            form=form,
            title=gettext("New staff account"),
            submit=gettext("Create the account"),
        )


# --- customers and the catalogue -------------------------------------------------------------


@admin.register(Customer)
class CustomerAdmin(CenterScopedAdmin):
    list_display = ("name", "phone", "center", "created_at")
    search_fields = ("name", "phone")
    list_filter = ("center",)
    list_select_related = ("center",)
    readonly_fields = ("created_at",)
    ordering = ("-created_at", "-id")


@admin.register(ProductModel)
class ProductModelAdmin(SafeLookupsMixin, admin.ModelAdmin):
    """The catalogue every center shares."""

    list_display = ("code", "name", "category", "warranty_months")
    search_fields = ("code", "name")


@admin.register(Device)
class DeviceAdmin(CenterScopedAdmin):
    """The serial registry. A manager sees the devices whose registered owner is a customer of
    their center, and the devices nobody owns yet: those are the manufacturer's registry rows,
    shared like the catalogue (a device gets its owner at its first intake, at whichever center).
    Devices owned by another center's customers are not theirs to see. There is no "registered
    by" column, so a device a manager adds without an owner is visible to every center."""

    center_lookup = "owner__center"
    center_field = ""
    list_display = ("serial_number", "product_model", "purchase_date", "channel", "owner")
    list_filter = ("channel", "product_model")
    search_fields = ("serial_number",)
    list_select_related = ("product_model", "owner")
    raw_id_fields = ("owner",)
    ordering = ("serial_number",)

    def center_q(self, center_id: int) -> Q:
        return Q(owner__isnull=True) | Q(owner__center_id=center_id)

    def save_model(self, request, obj, form, change):
        obj.serial_number = normalize_serial(obj.serial_number)
        super().save_model(request, obj, form, change)
