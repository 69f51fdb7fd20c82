"""Where an intake photo is seen: the staff address (the view checks the center) and a signed,
expiring address for the customer's status page (django.core.signing.TimestampSigner)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

VARIANTS = ("full", "thumb")
_SALT = "workflows.intake-photo"


def photo_url(photo_id: int, variant: str) -> str:
    return reverse("intake-photo", args=[photo_id, variant])


def signed_photo_url(photo_id: int, variant: str) -> str:
    token = signing.TimestampSigner(salt=_SALT).sign(f"{photo_id}.{variant}")
    return f"{photo_url(photo_id, variant)}?s={token}"


def signature_valid(photo_id: int, variant: str, token: str) -> bool:
    """Whether `token` signs this photo and variant and is younger than PHOTO_LINK_MAX_AGE."""
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(
            token, max_age=settings.PHOTO_LINK_MAX_AGE
        )
    except signing.BadSignature:  # SignatureExpired is one
        return False
    return value == f"{photo_id}.{variant}"
