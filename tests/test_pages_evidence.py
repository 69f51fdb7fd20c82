"""Intake evidence on the pages: the checklist and photos at intake, the repair page's panel,
the status page's signed photo links."""

import io
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.conftest import intake_form
from tests.photo_support import camera_jpeg, photo_bytes, stored_files
from workflows.models import IntakePhoto, Repair


def jpeg(name="p.jpg", data=None):
    return SimpleUploadedFile(name, data or camera_jpeg(), content_type="image/jpeg")


def test_the_intake_page_shows_the_default_checklist_and_a_camera_input(client, desk, headset):
    client.force_login(desk)
    html = client.get("/desk/intake/").content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'type="file" accept="image/*" capture="environment"' in html
    for item in ("screen", "casing", "buttons", "liquid_indicator", "power", "accessories"):
        assert f'<tr data-item="{item}">' in html  # shown, inputs enabled
    assert '<tr data-item="ear_tips" hidden>' in html
    assert 'id="condition-map"' in html


def test_the_checklist_follows_the_posted_models_category(client, desk, headset):
    headset.category = "earbuds"
    headset.save()
    client.force_login(desk)
    html = client.post("/desk/intake/", intake_form(symptom="")).content.decode()
    assert '<tr data-item="ear_tips">' in html and '<tr data-item="screen" hidden>' in html


def test_intake_with_the_checklist_and_a_photo_stores_both(client, desk, headset, media):
    client.force_login(desk)
    form = intake_form(
        condition_screen="damaged", condition_screen_note="액정 금", condition_casing="ok"
    )
    response = client.post("/desk/intake/", {**form, "photos": [jpeg()]})
    assert response.status_code == 302
    repair = Repair.objects.get()
    assert repair.condition == [
        {"item": "screen", "state": "damaged", "note": "액정 금"},
        {"item": "casing", "state": "ok", "note": ""},
    ]
    assert IntakePhoto.objects.filter(repair=repair).count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "액정 금" in page and "/photos/" in page and 'capture="environment"' in page


def test_every_intake_error_shows_at_once_with_a_bad_photo_and_nothing_is_taken_in(
    client, desk, headset, media
):
    client.force_login(desk)
    form = intake_form(
        symptom="",
        condition_screen="shattered",
        condition_casing="ok",
        condition_casing_note="x" * 301,
    )
    bad = SimpleUploadedFile("note.jpg", b"not a photo", content_type="image/jpeg")
    response = client.post("/desk/intake/", {**form, "photos": [bad]})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="symptom" name="symptom" rows="3" required aria-invalid="true"' in html
    assert "note.jpg: JPEG, PNG, WebP 사진 파일이 아닙니다." in html
    assert html.count('class="ferr"') >= 4  # symptom, screen state, casing note, the photo
    assert 'value="x' in html  # the note typed is kept
    assert not Repair.objects.exists() and stored_files(media) == [] if media.exists() else True


def test_the_english_intake_page_says_it_in_english(client, desk, headset):
    client.force_login(desk)
    client.cookies["django_language"] = "en"
    html = client.get("/desk/intake/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Condition at intake" in html and "Liquid indicator" in html


def test_the_repair_page_adds_photos_and_refuses_a_text_file_with_a_message(
    client, desk, make_repair, media
):
    repair = make_repair()
    client.force_login(desk)
    url = f"/repairs/{repair.ticket_number}/photos/"
    response = client.post(url, {"photos": [jpeg(), jpeg("b.jpg", photo_bytes("PNG"))]})
    assert response.status_code == 302
    assert IntakePhoto.objects.count() == 2
    bad = SimpleUploadedFile("x.jpg", b"text", content_type="image/jpeg")
    page = client.post(url, {"photos": [bad]}, follow=True).content.decode()
    assert "x.jpg: JPEG, PNG, WebP 사진 파일이 아닙니다." in page
    assert page.count('<img src="/photos/') == 2


def test_another_centers_desk_cannot_add_photos(client, make_repair, other_center, media):
    from service_center.services import staff_create
    from tests.conftest import PASSWORD

    repair = make_repair()
    stranger = staff_create(
        username="sc_desk", role="front_desk", center_code="SC", password=PASSWORD
    )
    client.force_login(stranger)
    response = client.post(f"/repairs/{repair.ticket_number}/photos/", {"photos": [jpeg()]})
    assert response.status_code == 404
    assert not IntakePhoto.objects.exists()


def test_the_status_page_shows_intake_photos_through_signed_links(client, desk, make_repair, media):
    from workflows import services

    repair = make_repair()
    services.repair_add_photo(repair=repair.pk, actor=desk, upload=jpeg())
    html = client.get(f"/status/t/{repair.status_token}/").content.decode()
    links = re.findall(r'src="(/photos/\d+/thumb/\?s=[^"]+)"', html)
    assert len(links) == 1
    anonymous = client.__class__()
    image = anonymous.get(links[0].replace("&amp;", "&"))
    assert image.status_code == 200
    assert Image.open(io.BytesIO(b"".join(image.streaming_content))).width <= 320
    unsigned = links[0].split("?")[0]
    assert anonymous.get(unsigned).status_code == 404
