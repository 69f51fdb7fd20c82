from django.apps import AppConfig


class ServiceCenterConfig(AppConfig):
    name = "service_center"
    verbose_name = "Service center"
