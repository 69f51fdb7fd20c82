"""Photos for the intake evidence tests, built with Pillow."""

from __future__ import annotations

import io

from PIL import Image
from PIL.ExifTags import GPS, IFD, Base


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def photo_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))  # left half blue
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def camera_jpeg(size: tuple[int, int] = (64, 48), orientation: int = 1) -> bytes:
    """A JPEG as a phone writes it: camera make and model, GPS position, an orientation."""
    exif = Image.Exif()
    exif[Base.Make] = "SecretPhoneMaker"
    exif[Base.Model] = "Model X"
    exif[Base.Orientation] = orientation
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS.GPSLatitudeRef] = "N"
    gps[GPS.GPSLatitude] = (37.0, 30.0, 0.0)
    gps[GPS.GPSLongitudeRef] = "E"
    gps[GPS.GPSLongitude] = (127.0, 2.0, 0.0)
    return photo_bytes("JPEG", size, exif=exif.tobytes())
