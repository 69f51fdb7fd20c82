"""factory_boy factories for reference data. Repairs are made through the services."""

import datetime as dt

import factory
from django.utils import timezone

from parts.models import Part, Stock
from parts.services import stock_set_count
from service_center.models import Channel, Customer, Device, ProductModel, ServiceCenter


class CenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceCenter
        django_get_or_create = ("code",)

    code = "GN"
    name = "강남 서비스센터"
    address = "서울특별시 강남구 테헤란로 123"
    phone = "02-555-0100"


class ProductModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductModel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"PM-{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Model {o.code}")
    category = "audio"
    warranty_months = 12


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    center = factory.SubFactory(CenterFactory)
    name = "김민지"
    phone = "010-2345-6789"


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    serial_number = factory.Sequence(lambda n: f"SN{n:08d}")
    product_model = factory.SubFactory(ProductModelFactory)
    purchase_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=60))
    channel = Channel.OFFICIAL


class PartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Part
        django_get_or_create = ("part_number",)
        skip_postgeneration_save = True

    part_number = factory.Sequence(lambda n: f"P-{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Part {o.part_number}")
    unit_price = 1000

    @factory.post_generation
    def compatible_models(self, create, extracted, **kwargs):
        if create and extracted:
            self.compatible_models.set(extracted)


class StockFactory(factory.django.DjangoModelFactory):
    """A stock row (or the one there already, unchanged) whose units come with their opening
    `adjust` movement, like every count: the ledger agrees from the first step of a test.
    `reserved` comes only from reservations, made through the services."""

    class Meta:
        model = Stock

    center = factory.SubFactory(CenterFactory)
    part = factory.SubFactory(PartFactory)
    on_hand = 0

    @classmethod
    def _create(cls, model_class, center, part, on_hand=0):
        found = model_class.objects.filter(center=center, part=part).first()
        if found is not None:
            return found
        return stock_set_count(center_id=center.pk, part_id=part.pk, on_hand=on_hand)
