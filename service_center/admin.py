from django.contrib import admin

from service_center.models import Customer, Device, ProductModel, ServiceCenter, StaffProfile


@admin.register(ServiceCenter)
class ServiceCenterAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "phone", "requires_deposit_for_ordered_parts")
    search_fields = ("code", "name")


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "display_name", "center")
    list_filter = ("center",)
    list_select_related = ("user", "center")


@admin.register(ProductModel)
class ProductModelAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "category", "warranty_months")
    search_fields = ("code", "name")


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("serial_number", "product_model", "purchase_date", "channel", "owner")
    list_filter = ("channel", "product_model")
    search_fields = ("serial_number",)
    list_select_related = ("product_model", "owner")
    raw_id_fields = ("owner",)

    def save_model(self, request, obj, form, change):
        from service_center.models import normalize_serial

        obj.serial_number = normalize_serial(obj.serial_number)
        super().save_model(request, obj, form, change)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "phone", "center", "created_at")
    search_fields = ("name", "phone")
    list_filter = ("center",)
