"""Edits made outside a repair's own events that change what its kept board card and detail
body show: a customer's name or phone, a technician's name, a model's name (the admin's forms).
Each drops the stamps of the repairs concerned, when it is saved and again after commit (as
`services.core.record_event` does), so their cards are drawn again on the next board.

Only open repairs for a technician and a model (the board shows no other; a closed repair's
cached detail body lives its TTL, `detail_cache.TTL`); every repair of a customer (a few)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_save

from service_center.models import Customer, ProductModel, StaffProfile
from workflows import detail_cache
from workflows.choices import OPEN_STATES
from workflows.models import Repair

_NAME_FIELDS = {"username", "first_name", "last_name"}


def _forget(repairs: Any, customer_ids: tuple[int, ...] = ()) -> None:
    ids = list(repairs.values_list("pk", flat=True))
    detail_cache.forget_many(ids, customer_ids)
    transaction.on_commit(partial(detail_cache.forget_many, ids, customer_ids))


def _customer_saved(sender: Any, instance: Customer, created: bool, **kwargs: Any) -> None:
    if not created:
        _forget(Repair.objects.filter(customer_id=instance.pk), (instance.pk,))


def _technician_changed(user_id: int) -> None:
    _forget(Repair.objects.filter(technician_id=user_id, state__in=OPEN_STATES))


def _profile_saved(sender: Any, instance: StaffProfile, created: bool, **kwargs: Any) -> None:
    if not created:
        _technician_changed(instance.user_id)


def _user_saved(sender: Any, instance: Any, created: bool, update_fields: Any, **kwargs: Any):
    # A sign-in saves last_login only: no name changed.
    if not created and (update_fields is None or _NAME_FIELDS & set(update_fields)):
        _technician_changed(instance.pk)


def _model_saved(sender: Any, instance: ProductModel, created: bool, **kwargs: Any) -> None:
    if not created:
        _forget(Repair.objects.filter(product_model_id=instance.pk, state__in=OPEN_STATES))


def connect() -> None:
    post_save.connect(_customer_saved, sender=Customer, dispatch_uid="cards-customer")
    post_save.connect(_profile_saved, sender=StaffProfile, dispatch_uid="cards-profile")
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="cards-user")
    post_save.connect(_model_saved, sender=ProductModel, dispatch_uid="cards-model")
