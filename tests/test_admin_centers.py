"""The admin stays inside its center: a second center's manager, made with the same commands an
operator would use, sees and changes none of the first center's rows, and no page of the admin
ever shows a status token (it opens the public status page)."""

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from parts.models import PartsOrder, Reservation, Stock
from service_center.models import Customer, Device, ServiceCenter, StaffProfile
from tests.conftest import PASSWORD, stock
from workflows import services as s
from workflows.models import Notification, Promise, RepairEvent

CUSTOMER = "김민지"
PHONE = "010-2345-6789"
PHONE_FORMS = ("010-2345-6789", "01023456789", "+821023456789", "2345-6789", "23456789")


@pytest.fixture
def first(center, desk, tech, manager, headset, spring, battery, in_warranty, diagnose):
    """Center GN with one repair of every kind of row: a phoned-in repair (its message carries
    the status link), a device owned by the customer, a promise, reservations and a parts
    order, stock of two parts."""
    stock(center, battery, 5)
    repair = s.repair_intake(
        center=center,
        actor=desk,
        customer={"name": CUSTOMER, "phone": PHONE, "address": "서울 강남구 역삼로 77"},
        symptom="클립 스프링이 빠졌어요",
        serial_number=in_warranty.serial_number,
        intake_channel="phone",
        device_in_shop=False,
        return_method="pickup",
    )
    diagnose(
        repair,
        "스프링 교체",
        parts=[{"part_number": spring.part_number}, {"part_number": battery.part_number}],
    )
    s.repair_record_promise(
        repair=repair,
        actor=desk,
        kind="callback",
        due_at=timezone.now() + dt.timedelta(days=1),
        note="부품 도착하면 전화",
    )
    repair.refresh_from_db()
    return repair


@pytest.fixture
def second_manager(db):
    call_command("create_center", "sc", "--name", "서초 서비스센터", "--phone", "02-555-0200")
    call_command(
        "create_staff", "sc_manager", "--role", "manager", "--center", "SC", "--password", PASSWORD
    )
    return get_user_model().objects.get(username="sc_manager")


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)


def client_for(user, language="ko"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def first_center_strings(repair):
    """What would identify the first center's rows on any page."""
    center = repair.center
    return [
        CUSTOMER,
        *PHONE_FORMS,
        "역삼로 77",
        repair.ticket_number,
        center.name,
        center.address,
        repair.device.serial_number,
    ]


def assert_none_shown(response, strings, where):
    text = response.content.decode()
    shown = [s for s in strings if s in text]
    assert not shown, f"{where} shows {shown}"


def changelist_urls():
    urls = []
    for model in admin.site._registry:
        try:
            urls.append(
                reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            )
        except NoReverseMatch:
            continue
    return sorted(urls)


def first_center_objects(repair):
    """Every row of the first center that the admin has a page for."""
    return [
        repair.center,
        *StaffProfile.objects.filter(center=repair.center),
        repair.customer,
        repair.device,
        *Stock.objects.filter(center=repair.center),
        *PartsOrder.objects.filter(center=repair.center),
        *Reservation.objects.filter(repair=repair),
        repair,
        *Notification.objects.filter(repair=repair),
        *RepairEvent.objects.filter(repair=repair),
        *Promise.objects.filter(repair=repair),
    ]


def admin_url(obj, view):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk])


# --- the world the tests rely on -----------------------------------------------------------------


def test_the_first_center_has_a_row_of_every_kind(first):
    objects = first_center_objects(first)
    kinds = {type(o).__name__ for o in objects}
    assert kinds == {
        "ServiceCenter",
        "StaffProfile",
        "Customer",
        "Device",
        "Stock",
        "PartsOrder",
        "Reservation",
        "Repair",
        "Notification",
        "RepairEvent",
        "Promise",
    }
    assert first.device.owner == first.customer
    body = Notification.objects.get(repair=first).body
    assert f"/status/t/{first.status_token}/" in body


def test_the_manager_of_a_center_made_by_the_commands_is_at_that_center(second_manager):
    profile = second_manager.staff_profile
    assert profile.center.code == "SC"
    assert second_manager.is_staff and not second_manager.is_superuser


# --- another center's manager --------------------------------------------------------------------


def test_no_change_list_of_another_centers_manager_shows_the_first_centers_rows(
    first, second_manager
):
    client = client_for(second_manager)
    strings = first_center_strings(first)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert_none_shown(index, strings, "/admin/")
    linked = set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/)"', index.content.decode()))
    assert "/admin/workflows/repair/" in linked and "/admin/service_center/customer/" in linked
    seen = 0
    for url in sorted(linked | set(changelist_urls())):
        response = client.get(url)
        assert response.status_code in (200, 403), url
        seen += response.status_code == 200
        assert_none_shown(response, strings, url)
        assert first.status_token not in response.content.decode(), url
        if response.status_code == 200:  # the search box echoes the term; nothing else may show
            searched = client.get(url, {"q": CUSTOMER})
            assert_none_shown(searched, [s for s in strings if s != CUSTOMER], f"{url}?q=")
    assert seen >= 12  # every list a manager works with was really opened
    for model, field, term in [
        ("repair", "customer", CUSTOMER),
        ("repair", "device", first.device.serial_number[:6]),
        ("reservation", "repair", first.ticket_number[:6]),
    ]:
        app = "parts" if model == "reservation" else "workflows"
        found = client.get(
            "/admin/autocomplete/",
            {"app_label": app, "model_name": model, "field_name": field, "term": term},
        )
        assert found.status_code in (200, 403, 404)
        assert_none_shown(found, strings, f"autocomplete {model}.{field}")


def test_another_centers_manager_can_neither_open_nor_change_the_first_centers_rows(
    first, second_manager
):
    client = client_for(second_manager)
    strings = first_center_strings(first)
    for obj in first_center_objects(first):
        for view in ("change", "history", "delete"):
            url = admin_url(obj, view)
            response = client.get(url)
            assert response.status_code in (302, 403, 404), url
            if response.status_code == 302:
                assert response["Location"] == "/admin/", url
            assert_none_shown(response, strings, url)
        posted = client.post(admin_url(obj, "change"), {"name": "바뀐 이름", "phone": "02-1"})
        assert posted.status_code in (302, 403, 404)
        gone = client.post(admin_url(obj, "delete"), {"post": "yes"})
        assert gone.status_code in (302, 403, 404)
        assert type(obj).objects.filter(pk=obj.pk).exists(), obj
    first.center.refresh_from_db()
    first.customer.refresh_from_db()
    assert first.center.name == "강남 서비스센터"
    assert first.customer.name == CUSTOMER


def test_a_redirect_away_from_another_centers_row_shows_no_data(first, second_manager):
    client = client_for(second_manager)
    response = client.get(admin_url(first.customer, "change"), follow=True)
    assert response.status_code == 200
    assert_none_shown(response, first_center_strings(first), "the page after the redirect")


def test_another_centers_manager_cannot_pick_the_first_centers_customer_as_an_owner(
    first, second_manager
):
    client = client_for(second_manager)
    response = client.post(
        reverse("admin:service_center_device_add"),
        {
            "serial_number": "SCNEW0001",
            "product_model": first.product_model_id,
            "purchase_date": "2025-01-02",
            "channel": "official",
            "owner": first.customer.pk,
        },
    )
    assert response.status_code == 200
    assert "errors" in response.content.decode()
    assert not Device.objects.filter(serial_number="SCNEW0001").exists()


def test_a_customer_added_by_a_manager_belongs_to_their_center(first, second_manager):
    client = client_for(second_manager)
    response = client.post(
        reverse("admin:service_center_customer_add"),
        {"name": "박서준", "phone": "010-9876-5432", "center": first.center.pk},
    )
    assert response.status_code == 302
    assert Customer.objects.get(name="박서준").center.code == "SC"


def test_a_manager_edits_their_own_center_but_not_its_code(first, second_manager):
    client = client_for(second_manager)
    own = ServiceCenter.objects.get(code="SC")
    response = client.post(
        admin_url(own, "change"),
        {**CENTER_SETTINGS, "code": "GN", "name": "서초 센터", "phone": "02-555-0201"},
    )
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.code, own.name, own.phone) == ("SC", "서초 센터", "02-555-0201")
    assert (own.repair_warranty_days, own.slot_minutes, own.open_weekdays) == (60, 20, "01234")
    assert client.get(reverse("admin:service_center_servicecenter_add")).status_code == 403


CENTER_SETTINGS = {
    "address": "",
    "diagnosis_fee": "0",
    "repair_warranty_days": "60",
    "open_weekdays": "01234",
    "opens_at": "09:00",
    "closes_at": "17:30",
    "slot_minutes": "20",
}


def test_a_center_that_closes_before_it_opens_is_refused_beside_the_field(first, second_manager):
    client = client_for(second_manager)
    own = ServiceCenter.objects.get(code="SC")
    response = client.post(
        admin_url(own, "change"),
        {**CENTER_SETTINGS, "name": "서초", "opens_at": "18:00", "closes_at": "10:00"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["closes_at"]
    own.refresh_from_db()
    assert own.opens_at.hour == 10  # unchanged


def test_change_list_urls_cannot_filter_on_a_status_token(first, manager):
    client = client_for(manager)
    token = first.status_token
    probes = [
        f"/admin/workflows/repair/?status_token__startswith={token[0]}",
        f"/admin/workflows/notification/?body__contains={token[:4]}",
        f"/admin/workflows/repairevent/?text__contains={token[:4]}",
        f"/admin/parts/reservation/?repair__status_token__startswith={token[0]}",
        f"/admin/service_center/customer/?repairs__status_token__startswith={token[0]}",
        f"/admin/service_center/productmodel/?repairs__center__name={first.center.name}",
    ]
    for url in probes:
        assert client.get(url).status_code == 400, url


# --- status tokens, in the first center's own admin ----------------------------------------------


def test_no_admin_page_of_the_own_center_shows_a_status_token(first, manager, superuser):
    token = first.status_token
    for user in (manager, superuser):
        client = client_for(user)
        for url in [*changelist_urls(), "/admin/"]:
            response = client.get(url)
            assert response.status_code in (200, 403), (user, url)
            assert token not in response.content.decode(), (user, url)
        for obj in first_center_objects(first):
            for url in (admin_url(obj, "change"), admin_url(obj, "history")):
                response = client.get(url)
                assert response.status_code == 200, (user, url)  # their own rows do open
                assert token not in response.content.decode(), (user, url)
    notification = Notification.objects.get(repair=first)
    page = client_for(manager).get(admin_url(notification, "change")).content.decode()
    assert "/status/t/…/" in page  # the message is shown, its token masked
    assert first.ticket_number in page


def test_the_own_centers_manager_sees_the_own_rows(first, manager):
    client = client_for(manager)
    assert CUSTOMER in client.get("/admin/service_center/customer/").content.decode()
    assert first.ticket_number in client.get("/admin/workflows/repair/").content.decode()
    assert client.get(admin_url(first.customer, "change")).status_code == 200


def test_a_superuser_sees_every_center(first, second_manager, superuser):
    client_for(second_manager).post(
        reverse("admin:service_center_customer_add"), {"name": "박서준", "phone": "010-9876-5432"}
    )
    client = client_for(superuser)
    customers = client.get("/admin/service_center/customer/").content.decode()
    assert CUSTOMER in customers and "박서준" in customers
    centers = client.get("/admin/service_center/servicecenter/").content.decode()
    assert "강남 서비스센터" in centers and "서초 서비스센터" in centers
    assert first.ticket_number in client.get("/admin/workflows/repair/").content.decode()
    assert client.get(admin_url(first.customer, "change")).status_code == 200


# --- stock: only through the adjustment service --------------------------------------------------


def test_stock_adjust_form_changes_on_hand_through_the_service(first, manager, battery):
    row = Stock.objects.get(center=first.center, part=battery)
    before = row.on_hand
    client = client_for(manager)
    url = reverse("admin:parts_stock_adjust")
    page = client.get(url, {"stock": row.pk})
    assert page.status_code == 200
    assert f'<option value="{battery.pk}" selected>' in page.content.decode()
    response = client.post(
        url,
        {"center": first.center.pk, "part": battery.pk, "delta": "3", "reason": "재고 실사"},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.on_hand == before + 3


def test_the_stock_pages_link_to_the_adjustment_form_prefilled_from_a_row(first, manager, battery):
    row = Stock.objects.get(center=first.center, part=battery)
    client = client_for(manager)
    url = reverse("admin:parts_stock_adjust")
    listing = client.get(reverse("admin:parts_stock_changelist")).content.decode()
    assert f'<li><a href="{url}">' in listing
    change = client.get(admin_url(row, "change")).content.decode()
    assert f'<li><a href="{url}?stock={row.pk}">' in change


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        ("0", "A whole number between -100000 and 100000, not 0."),
        ("-5", "Stock can&#x27;t go below the units reserved for repairs."),
        ("두개", "Enter a whole number."),
    ],
)
def test_a_bad_stock_adjustment_shows_the_error_beside_the_field(
    first, manager, battery, delta, message
):
    row = Stock.objects.get(center=first.center, part=battery)
    before = (row.on_hand, row.reserved)
    assert row.reserved == 1  # the repair holds one battery, so -5 of 5 would break it
    client = client_for(manager, language="en")
    response = client.post(
        reverse("admin:parts_stock_adjust"),
        {"center": first.center.pk, "part": battery.pk, "delta": delta, "reason": "실사"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    field_row = html.split("field-delta", 1)[1].split("field-reason", 1)[0]
    assert message in field_row
    row.refresh_from_db()
    assert (row.on_hand, row.reserved) == before


def test_stock_cannot_be_added_edited_or_deleted_by_hand(first, manager, superuser, battery):
    row = Stock.objects.get(center=first.center, part=battery)
    for user in (manager, superuser):
        client = client_for(user)
        assert client.get(admin_url(row, "change")).status_code == 200  # a view, no form
        edited = client.post(
            admin_url(row, "change"),
            {"center": row.center_id, "part": row.part_id, "on_hand": "999", "reserved": "0"},
        )
        assert edited.status_code == 403
        assert client.post(admin_url(row, "delete"), {"post": "yes"}).status_code == 403
        assert client.get(reverse("admin:parts_stock_add")).status_code == 403
    row.refresh_from_db()
    assert (row.on_hand, row.reserved) == (5, 1)


def test_another_centers_manager_cannot_adjust_the_first_centers_stock(
    first, second_manager, battery
):
    row = Stock.objects.get(center=first.center, part=battery)
    client = client_for(second_manager)
    response = client.post(
        reverse("admin:parts_stock_adjust"),
        {"center": first.center.pk, "part": battery.pk, "delta": "50", "reason": "x"},
    )
    assert response.status_code == 200
    assert "field-center" in response.content.decode().split("errorlist", 1)[0][-400:]
    row.refresh_from_db()
    assert row.on_hand == 5
    prefilled = client.get(reverse("admin:parts_stock_adjust"), {"stock": row.pk}).content.decode()
    center_choices = prefilled.split('name="center"', 1)[1].split("</select>", 1)[0]
    assert "강남" not in center_choices and "서초" in center_choices


def test_desk_staff_get_no_admin_at_all(first, desk):
    response = client_for(desk).get(reverse("admin:parts_stock_adjust"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- staff accounts in one form ------------------------------------------------------------------


def staff_form(center, **changes):
    data = {
        "username": "newtech",
        "display_name": "새 기사",
        "role": "technician",
        "center": center.pk,
        "password": "long-enough-1",
        "password_again": "long-enough-1",
    }
    data.update(changes)
    return data


def test_a_manager_creates_a_staff_account_at_their_center(first, manager):
    client = client_for(manager)
    url = reverse("admin:service_center_staffprofile_add")
    assert client.get(url).status_code == 200
    response = client.post(url, staff_form(first.center))
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newtech")
    assert user.staff_profile.center == first.center
    assert user.staff_profile.display_name == "새 기사"
    assert [g.name for g in user.groups.all()] == ["technician"]
    assert not user.is_superuser and not user.is_staff
    assert user.check_password("long-enough-1")


def test_a_manager_cannot_create_staff_for_another_center(first, second_manager):
    client = client_for(second_manager)
    response = client.post(
        reverse("admin:service_center_staffprofile_add"), staff_form(first.center)
    )
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="newtech").exists()
    page = client.get(reverse("admin:service_center_staffprofile_add")).content.decode()
    assert "강남 서비스센터" not in page


def test_the_staff_form_refuses_an_existing_account_instead_of_taking_it_over(
    first, manager, second_manager, superuser
):
    client = client_for(second_manager)
    sc = ServiceCenter.objects.get(code="SC")
    for username in ("manager", "root", "sc_manager"):
        response = client.post(
            reverse("admin:service_center_staffprofile_add"),
            staff_form(sc, username=username, role="manager"),
        )
        assert response.status_code == 200
        assert "This username is taken." in response.content.decode() or "이미" in (
            response.content.decode()
        )
    manager.refresh_from_db()
    superuser.refresh_from_db()
    assert manager.staff_profile.center == first.center and manager.check_password(PASSWORD)
    assert superuser.is_superuser and superuser.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short", "password_again": "short"}, "password"),
        ({"password_again": "something-else"}, "password_again"),
        ({"role": "superuser"}, "role"),
        ({"username": "bad name!"}, "username"),
    ],
)
def test_the_staff_form_shows_what_is_wrong_beside_the_field(first, manager, changes, field):
    client = client_for(manager)
    response = client.post(
        reverse("admin:service_center_staffprofile_add"), staff_form(first.center, **changes)
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(rf'form-row errors field-{field}"', html), field
    assert not get_user_model().objects.filter(username="newtech").exists()


def test_a_manager_cannot_move_a_profile_to_another_center_or_user(first, second_manager):
    client = client_for(second_manager)
    own = second_manager.staff_profile
    other_user = get_user_model().objects.get(username="manager")
    response = client.post(
        admin_url(own, "change"),
        {
            "display_name": "서초 점장",
            "phone": "",
            "center": first.center.pk,
            "user": other_user.pk,
        },
    )
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.center.code, own.user_id, own.display_name) == (
        "SC",
        second_manager.pk,
        "서초 점장",
    )
    assert client.get("/admin/auth/user/").status_code == 403


# --- centers -------------------------------------------------------------------------------------


def test_create_center_validates_the_code_and_updates_on_a_second_run(db):
    call_command(
        "create_center", "bs", "--name", "부산 센터", "--address", "부산", "--phone", "051"
    )
    call_command("create_center", "BS", "--name", "부산 서비스센터", "--phone", "051-1")
    center = ServiceCenter.objects.get(code="BS")
    assert (center.name, center.address, center.phone) == ("부산 서비스센터", "부산", "051-1")
    for code in ("B", "B-S", "1BS", "TOOLONGCODE", "부산"):
        with pytest.raises(CommandError, match="letters A-Z"):
            call_command("create_center", code, "--name", "x")
    with pytest.raises(CommandError, match="name"):
        call_command("create_center", "BS", "--name", " ")
    assert ServiceCenter.objects.count() == 1


def test_a_superuser_creates_a_center_in_the_admin(superuser):
    client = client_for(superuser)
    url = reverse("admin:service_center_servicecenter_add")
    bad = client.post(url, {"code": "B-S", "name": "부산"})
    assert bad.status_code == 200 and not ServiceCenter.objects.exists()
    response = client.post(
        url, {**CENTER_SETTINGS, "code": "bs", "name": "부산 서비스센터", "phone": "051"}
    )
    assert response.status_code == 302
    created = ServiceCenter.objects.get()
    assert (created.code, created.repair_warranty_days, created.slot_minutes) == ("BS", 60, 20)
    dup = client.post(url, {**CENTER_SETTINGS, "code": "BS", "name": "또 부산"})
    assert dup.status_code == 200 and ServiceCenter.objects.count() == 1


# --- translated ----------------------------------------------------------------------------------


def test_the_admin_speaks_korean_and_english(first, manager):
    ko = client_for(manager, "ko")
    page = ko.get("/admin/service_center/customer/").content.decode()
    assert "수리 센터 관리" in page
    assert "변경할 고객 선택" in page
    assert "서비스센터" in page  # the center column
    repairs = ko.get("/admin/workflows/repair/").content.decode()
    assert "접수 번호" in repairs and "보증 구분" in repairs
    assert "볼 수리 선택" in repairs  # a view-only list (Django's own Korean garbles this one)
    form = ko.get(admin_url(first.customer, "change")).content.decode()
    assert "전화번호" in form and "등록 시각" in form
    en = client_for(manager, "en").get("/admin/service_center/customer/").content.decode()
    assert "Repair desk administration" in en and "Select customer to change" in en
