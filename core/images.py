"""Uploaded photos made safe to keep and show: decoded with Pillow to prove they are images
(JPEG, PNG or WebP), bounded in bytes and pixels, turned upright from their EXIF orientation,
re-encoded as JPEG with no metadata at all (no EXIF, GPS, ICC or XMP), resized, thumbnailed."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_noop
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import DomainError, Message

FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
MAX_BYTES = 10 * 1024 * 1024
# Far below Pillow's own bomb limit: a phone photo is 12-50 Mpx; decoding 50 Mpx takes ~150 MB.
MAX_PIXELS = 60_000_000
MAX_SIDE = 2000
THUMB_SIDE = 320
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError)


class NotAnImage(DomainError):
    code = "not_an_image"
    status = 400


class ImageTooLarge(DomainError):
    code = "image_too_large"
    status = 413


def not_an_image() -> NotAnImage:
    return NotAnImage(Message(gettext_noop("This file is not a JPEG, PNG or WebP photo.")))


def too_large() -> ImageTooLarge:
    return ImageTooLarge(
        Message(gettext_noop("The photo is too large (at most %(mb)s MB)."), mb=MAX_BYTES >> 20)
    )


@dataclass(frozen=True)
class CleanImage:
    image: bytes  # JPEG, at most MAX_SIDE px a side
    thumbnail: bytes  # JPEG, at most THUMB_SIDE px a side
    width: int
    height: int


def clean_image(upload: Any) -> CleanImage:
    """The upload (a Django UploadedFile or bytes) as a clean JPEG and its thumbnail. Raises
    NotAnImage or ImageTooLarge."""
    size = len(upload) if isinstance(upload, bytes) else upload.size
    if size > MAX_BYTES:
        raise too_large()
    data = upload if isinstance(upload, bytes) else b"".join(upload.chunks())
    decoded = _decode(data)
    try:
        picture = _upright_rgb(decoded)
    except (*_DECODE_ERRORS, KeyError, ZeroDivisionError):
        # A malformed EXIF block or an odd mode that decoded but cannot be turned into a photo.
        raise not_an_image() from None
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    small = picture.copy()
    small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return CleanImage(_jpeg(picture, 85), _jpeg(small, 80), picture.width, picture.height)


def _decode(data: bytes) -> Image.Image:
    """Open, check format and pixel count before decoding, verify, then decode for real."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in FORMATS:
                raise not_an_image()
            if probe.width * probe.height > MAX_PIXELS:
                raise too_large()
            probe.verify()  # checks the file's structure; the object is unusable afterwards
            picture = Image.open(io.BytesIO(data))
            picture.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large() from None
    except _DECODE_ERRORS:
        raise not_an_image() from None
    return picture


def _upright_rgb(picture: Image.Image) -> Image.Image:
    """Rotated as the camera meant it; transparency on white; a new image with no `info`."""
    picture = ImageOps.exif_transpose(picture)
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = picture.convert("RGB")
    clean = Image.new("RGB", flat.size)
    clean.paste(flat)
    return clean


def _jpeg(picture: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()
