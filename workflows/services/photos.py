"""Intake evidence: adding a photo of the device to a repair."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext_noop

from core.errors import DomainError, Message
from core.images import CleanImage, clean_image
from core.roles import as_actor
from workflows.choices import EventKind
from workflows.models import IntakePhoto, Repair
from workflows.services.core import atomic_service, lock_for, record_event


class TooManyPhotos(DomainError):
    code = "too_many_photos"
    status = 409


def repair_add_photo(*, repair: Repair | int, actor: Any, upload: Any) -> IntakePhoto:
    """Decode and clean the upload unless it is a CleanImage already (core.images: NotAnImage,
    ImageTooLarge), store the photo and its thumbnail in the default storage, add the row.
    Locks the repair; raises PermissionDenied, NotFound, TooManyPhotos. The files of a refused
    or rolled-back photo are deleted again."""
    # Before any lock: decoding is the slow part (the intake page has done it already).
    clean = upload if isinstance(upload, CleanImage) else clean_image(upload)
    base = f"intake/{secrets.token_urlsafe(18)}"
    names = (
        default_storage.save(f"{base}.jpg", ContentFile(clean.image)),
        default_storage.save(f"{base}-t.jpg", ContentFile(clean.thumbnail)),
    )
    try:
        return _photo_create(repair=repair, actor=actor, clean=clean, names=names)
    except BaseException:
        for name in names:
            default_storage.delete(name)
        raise


@atomic_service
def _photo_create(
    *, repair: Repair | int, actor: Any, clean: CleanImage, names: tuple[str, str]
) -> IntakePhoto:
    locked = lock_for(repair, "add_photo", actor)
    limit = settings.PHOTOS_PER_REPAIR
    if IntakePhoto.objects.filter(repair=locked).count() >= limit:
        raise TooManyPhotos(Message(gettext_noop("At most %(n)s photos per repair."), n=limit))
    photo = IntakePhoto.objects.create(
        repair=locked,
        image=names[0],
        thumbnail=names[1],
        width=clean.width,
        height=clean.height,
        uploaded_by=as_actor(actor).user,
    )
    # The audit row, staff only (the customer sees the photos themselves on the status page).
    record_event(locked, actor, EventKind.NOTE, code="photo_added", data={"photo": photo.pk})
    return photo
