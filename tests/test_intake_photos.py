"""Intake photos: only images go in, they come out upright and without metadata, and only staff
of the center or a valid signed link see them."""

import io
import time
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from core.images import ImageTooLarge, clean_image
from tests.photo_support import camera_jpeg, photo_bytes, stored_files
from tests.test_api_support import *  # noqa: F403
from tests.test_api_support import V1, client_for
from workflows.models import IntakePhoto
from workflows.photo_links import signed_photo_url


def upload(client, ticket, data: bytes, name="photo.jpg", content_type="image/jpeg"):
    image = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(f"{V1}/repairs/{ticket}/photos/", {"image": image}, format="multipart")


@pytest.fixture
def ticket(make_repair):
    return make_repair().ticket_number


def fetch(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "image/jpeg"
    return b"".join(response.streaming_content)


def test_a_camera_jpeg_comes_back_without_exif_gps_or_camera_make(desk_api, ticket, media):
    original = camera_jpeg()
    assert b"SecretPhoneMaker" in original
    response = upload(desk_api, ticket, original)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= {"id", "url", "thumbnail_url"}
    for url in (body["url"], body["thumbnail_url"]):
        stored = fetch(desk_api, url)
        assert b"SecretPhoneMaker" not in stored and b"Exif" not in stored
        image = Image.open(io.BytesIO(stored))
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}
        assert not image.info.get("icc_profile") and "xmp" not in image.info


def test_the_exif_orientation_is_applied(desk_api, ticket, media):
    # 64x48, left half blue; orientation 6 says "turn 90° clockwise to view".
    response = upload(desk_api, ticket, camera_jpeg((64, 48), orientation=6))
    assert response.status_code == 201
    photo = IntakePhoto.objects.get()
    assert (photo.width, photo.height) == (48, 64)
    image = Image.open(io.BytesIO(fetch(desk_api, response.json()["url"]))).convert("RGB")
    assert image.size == (48, 64)
    red, _green, blue = image.getpixel((24, 5))  # the top is the old left half
    assert blue > 150 and red < 100


def test_a_large_photo_is_resized_to_2000_px_with_a_320_px_thumbnail(desk_api, ticket, media):
    response = upload(desk_api, ticket, photo_bytes("JPEG", (3000, 1500)))
    assert response.status_code == 201
    assert (IntakePhoto.objects.get().width, IntakePhoto.objects.get().height) == (2000, 1000)
    thumb = Image.open(io.BytesIO(fetch(desk_api, response.json()["thumbnail_url"])))
    assert thumb.size == (320, 160)


@pytest.mark.parametrize(
    ("fmt", "name", "mode"), [("PNG", "a.png", "RGBA"), ("WEBP", "a.webp", "RGB")]
)
def test_png_and_webp_are_accepted(desk_api, ticket, media, fmt, name, mode):
    image = Image.new(mode, (40, 30), (10, 200, 10) if mode == "RGB" else (10, 200, 10, 128))
    out = io.BytesIO()
    image.save(out, fmt)
    response = upload(desk_api, ticket, out.getvalue(), name=name, content_type="image/png")
    assert response.status_code == 201, response.json()
    assert Image.open(io.BytesIO(fetch(desk_api, response.json()["url"]))).size == (40, 30)


@pytest.mark.parametrize(
    "data",
    [
        b"hello, I am not a photo\n" * 10,
        b"",
        photo_bytes("JPEG")[:200],  # a truncated JPEG
        photo_bytes("GIF"),  # an image, but not one we take
    ],
)
def test_anything_but_a_jpeg_png_or_webp_is_refused_and_nothing_is_stored(
    desk_api, ticket, media, data
):
    response = upload(desk_api, ticket, data, name="photo.jpg")
    assert response.status_code == 400
    assert response.json()["code"] in ("not_an_image", "invalid")
    assert IntakePhoto.objects.count() == 0
    assert stored_files(media) == [] if media.exists() else True


def test_a_text_file_named_jpg_is_not_an_image(desk_api, ticket, media):
    response = upload(desk_api, ticket, b"just text", name="holiday.jpg")
    assert response.status_code == 400
    assert response.json()["code"] == "not_an_image"


def test_a_20_mb_upload_is_refused_as_too_large_and_nothing_is_stored(desk_api, ticket, media):
    response = upload(desk_api, ticket, b"\xff\xd8\xff" + b"0" * (20 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["code"] == "image_too_large"
    assert IntakePhoto.objects.count() == 0
    assert not media.exists() or stored_files(media) == []


def test_a_file_just_over_10_mb_is_too_large_even_inside_the_envelope():
    with pytest.raises(ImageTooLarge):
        clean_image(b"0" * (10 * 1024 * 1024 + 1))


def test_a_decompression_bomb_is_refused_before_it_is_decoded(desk_api, ticket, media):
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, "PNG")  # 81 Mpx in a few kilobytes
    response = upload(desk_api, ticket, out.getvalue(), name="bomb.png")
    assert response.status_code == 413
    assert response.json()["code"] == "image_too_large"


def test_a_request_without_the_image_field_names_it(desk_api, ticket, media):
    response = desk_api.post(f"{V1}/repairs/{ticket}/photos/", {"x": "1"}, format="multipart")
    assert response.status_code == 400
    assert "image" in response.json()["errors"]


def test_only_the_owning_technician_may_add_photos(
    tech_api, other_tech_api, desk, tech, make_repair, media
):
    from workflows import services

    repair = make_repair()
    services.repair_assign(repair=repair, actor=desk, technician=tech)
    assert upload(other_tech_api, repair.ticket_number, photo_bytes()).status_code == 403
    assert upload(tech_api, repair.ticket_number, photo_bytes()).status_code == 201


def test_the_photo_limit_refuses_one_more_and_leaves_no_file(desk_api, ticket, media, settings):
    settings.PHOTOS_PER_REPAIR = 2
    for _ in range(2):
        assert upload(desk_api, ticket, photo_bytes()).status_code == 201
    response = upload(desk_api, ticket, photo_bytes())
    assert response.status_code == 409
    assert response.json()["code"] == "too_many_photos"
    assert len(stored_files(media)) == 4  # two photos, two thumbnails


def test_another_centers_staff_gets_404_for_the_list_the_upload_and_the_files(
    desk_api, foreign_api, ticket, media
):
    body = upload(desk_api, ticket, photo_bytes()).json()
    assert foreign_api.get(f"{V1}/repairs/{ticket}/photos/").status_code == 404
    assert upload(foreign_api, ticket, photo_bytes()).status_code == 404
    assert foreign_api.get(body["url"]).status_code == 404
    assert foreign_api.get(body["thumbnail_url"]).status_code == 404


def test_without_staff_or_a_signature_a_photo_is_404(desk_api, anon_api, ticket, media):
    body = upload(desk_api, ticket, photo_bytes()).json()
    assert anon_api.get(body["url"]).status_code == 404


def test_a_signed_link_works_for_anyone_until_it_expires(desk_api, anon_api, ticket, media):
    photo_id = upload(desk_api, ticket, photo_bytes()).json()["id"]
    assert fetch(anon_api, signed_photo_url(photo_id, "thumb"))
    two_hours_ago = time.time() - 7200
    with mock.patch("django.core.signing.time.time", return_value=two_hours_ago):
        old = signed_photo_url(photo_id, "thumb")
    assert anon_api.get(old).status_code == 404


def test_a_tampered_or_borrowed_signature_is_404(desk_api, anon_api, ticket, media):
    first = upload(desk_api, ticket, photo_bytes()).json()["id"]
    second = upload(desk_api, ticket, photo_bytes()).json()["id"]
    url = signed_photo_url(first, "thumb")
    assert anon_api.get(url[:-1] + ("A" if url[-1] != "A" else "B")).status_code == 404
    signature = url.split("?s=")[1]
    assert anon_api.get(f"/photos/{second}/thumb/?s={signature}").status_code == 404
    assert anon_api.get(f"/photos/{first}/full/?s={signature}").status_code == 404
    assert anon_api.get(f"/photos/{first}/other/?s={signature}").status_code == 404


def _list_queries(client, ticket) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{V1}/repairs/{ticket}/photos/")
    assert response.status_code == 200
    return len(captured), len(response.json())


def test_the_photo_list_runs_the_same_queries_for_one_photo_as_for_five(ticket, desk, media):
    client = client_for(desk)
    upload(client, ticket, photo_bytes())
    one = _list_queries(client, ticket)
    for _ in range(4):
        upload(client, ticket, photo_bytes())
    five = _list_queries(client, ticket)
    assert (one[1], five[1]) == (1, 5)
    assert one[0] == five[0] <= 5


def test_each_photo_writes_a_staff_only_timeline_row(desk_api, ticket):
    photo_id = upload(desk_api, ticket, photo_bytes()).json()["id"]
    from workflows.models import RepairEvent

    row = RepairEvent.objects.get(text_code="photo_added")
    assert row.data == {"photo": photo_id} and row.customer_visible is False
    assert row.actor.username == "desk"


def test_a_photo_with_a_broken_exif_orientation_is_refused_or_cleaned_never_a_500(desk_api, ticket):
    from PIL import Image as PILImage

    exif = PILImage.Exif()
    exif[0x0112] = 99  # no such orientation
    response = upload(desk_api, ticket, photo_bytes("JPEG", exif=exif.tobytes()))
    assert response.status_code in (201, 400)
    if response.status_code == 201:
        stored = PILImage.open(io.BytesIO(fetch(desk_api, response.json()["url"])))
        assert dict(stored.getexif()) == {}
