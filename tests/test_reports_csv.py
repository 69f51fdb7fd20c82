"""GET /api/v1/reports/repairs.csv: streamed, one row per repair, formulas neutralised, UTF-8
with a BOM, a manager's own center only."""

import csv
import io

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from service_center.models import Customer, ProductModel
from service_center.services import staff_create
from tests.conftest import PASSWORD
from tests.reports_support import FROM, TO, at, build_fortnight, set_timeline
from workflows import reports
from workflows import services as s
from workflows.api.reports import HEADER, neutralised
from workflows.models import Repair

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/repairs.csv"


@pytest.fixture
def fortnight(make_repair, desk, tech, other_center):
    return build_fortnight(make_repair, desk=desk, tech=tech, other_center=other_center)


def _rows(response) -> list[dict[str, str]]:
    assert response.streaming is True
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # the BOM, so Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def _get(client, user, query=f"?from={FROM}&to={TO}"):
    token = Token.objects.get_or_create(user=user)[0].key
    return client.get(URL + query, HTTP_AUTHORIZATION=f"Token {token}")


def test_the_header_and_one_row_per_repair_of_the_range(client, manager, fortnight):
    response = _get(client, manager)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (f'attachment; filename="repairs-GN-{FROM}_{TO}.csv"')
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0] == ",".join(HEADER)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["ticket"] for r in rows] == [
        fortnight[n].ticket_number for n in ("A", "B", "C", "D", "E", "G", "H")
    ]


def test_a_rows_values(client, manager, fortnight):
    rows = {r["ticket"]: r for r in _rows(_get(client, manager))}
    a, d, e = (rows[fortnight[n].ticket_number] for n in ("A", "D", "E"))
    assert (a["intake_date"], a["closed_date"]) == ("2026-01-05", "2026-01-10")
    assert a["state"] == "closed"
    assert a["parts_waiting_days"] == "3.0" and a["comeback_of"] == ""
    assert d["comeback_of"] == fortnight["A"].ticket_number and d["parts_waiting_days"] == ""
    assert e["state"] == "awaiting_parts" and e["closed_date"] == ""
    assert a["customer"] == "김민지"  # Korean text survives
    assert a["model"] == "블루투스 헤드셋 HBS-1100"


def test_amounts_come_from_the_quote_and_the_payments_ledger(
    client, manager, desk, make_repair, diagnose, center, spring, expired
):
    from tests.conftest import stock

    stock(center, spring, 5)
    repair = diagnose(
        make_repair(serial_number=expired.serial_number),
        "스프링 교체",
        parts=[{"part_number": spring.part_number, "quantity": 2}],
        labor_fee=5000,
    )
    s.repair_approve(repair=repair, actor=desk)
    s.repair_record_payment(repair=repair, actor=desk, amount=3000, method="cash")
    repair = Repair.objects.get(pk=repair.pk)
    today = timezone.localdate(repair.created_at)  # the report's days are the center's
    (row,) = _rows(_get(client, manager, f"?from={today}&to={today}"))
    assert row["technician"] == "tech" and row["coverage"] == "paid"
    assert (row["quote_total"], row["amount_paid"], row["balance"]) == ("5200", "3000", "2200")
    assert int(row["quote_total"]) == repair.quote_total
    assert int(row["balance"]) == repair.balance_due


def test_the_balance_is_empty_while_the_amount_due_is_unknown(client, manager, make_repair):
    repair = make_repair()  # coverage undetermined, no price yet: nothing is known to be due
    assert repair.amount_due is None
    today = timezone.localdate(repair.created_at)  # the report's days are the center's
    (row,) = _rows(_get(client, manager, f"?from={today}&to={today}"))
    assert (row["amount_paid"], row["balance"]) == ("0", "")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_that_start_a_formula_are_neutralised(start):
    assert neutralised(start + "1+1") == "'" + start + "1+1"
    assert neutralised("김" + start) == "김" + start
    assert neutralised(-5) == -5  # numbers are numbers


def test_a_customer_name_or_model_starting_a_formula_is_exported_as_text(
    client, manager, make_repair, center
):
    repair = make_repair()
    Customer.objects.filter(pk=repair.customer_id).update(name='=HYPERLINK("http://x","y")')
    ProductModel.objects.filter(pk=repair.product_model_id).update(name="@SUM(A1:A9)")
    set_timeline(repair, at(6), [(0, "received")])
    (row,) = _rows(_get(client, manager))
    assert row["customer"] == '\'=HYPERLINK("http://x","y")'
    assert row["model"] == "'@SUM(A1:A9)"


def test_another_centers_repairs_are_not_exported(client, fortnight, other_center):
    theirs = staff_create(
        username="manager_sc", role="manager", center_code=other_center.code, password=PASSWORD
    )
    rows = _rows(_get(client, theirs))
    assert len(rows) == 1 and rows[0]["ticket"].startswith("SC-")
    answer = _get(client, theirs, f"?from={FROM}&to={TO}&center=GN")
    assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"


def test_a_superuser_names_the_center(client, fortnight, other_center):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    assert len(_rows(_get(client, root, f"?from={FROM}&to={TO}&center=SC"))) == 1
    assert len(_rows(_get(client, root, f"?from={FROM}&to={TO}&center=GN"))) == 7
    answer = _get(client, root, "?center=NOPE")
    assert answer.status_code == 400 and answer.json()["code"] == "invalid"


def test_technician_and_desk_get_403_with_a_code(client, desk, tech):
    for user in (desk, tech):
        answer = _get(client, user)
        assert answer.status_code == 403
        assert answer.json()["code"] == "permission_denied" and answer.json()["detail"]


def test_anonymous_gets_401(client, center):
    answer = client.get(URL)
    assert answer.status_code in (401, 403) and answer.json()["code"] == "not_authenticated"


def test_the_session_works_too(client, manager, center):
    client.force_login(manager)
    answer = client.get(URL)
    assert answer.status_code == 200 and answer.streaming


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?from=2026-13-01", "from"),
        ("?from=2026-02-01&to=2026-01-01", "to"),
        ("?from=2020-01-01&to=2026-01-01", "to"),
        ("?to=1999-12-31", "to"),
        ("?from=yesterday&to=x", "from"),
    ],
)
def test_bad_dates_get_400_with_the_field(client, manager, center, query, field):
    answer = _get(client, manager, query)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "invalid" and body["detail"] and field in body["errors"]


def test_nul_bytes_get_400(client, manager, center):
    assert _get(client, manager, "?from=%00").status_code == 400


def test_the_export_reads_plain_values_in_one_query(make_repair, center, django_assert_num_queries):
    for _ in range(3):
        set_timeline(make_repair(), at(6), [(0, "received"), (2, "awaiting_parts")])
    rows = reports.export_rows(reports.Period(center.pk, FROM, TO))
    with django_assert_num_queries(1):
        got = list(rows.iterator(chunk_size=2000))
    assert len(got) == 3 and all(isinstance(r, tuple) for r in got)


def test_amount_due_agrees_with_the_repair_model(
    make_repair, diagnose, desk, tech, center, expired, in_warranty
):
    paid = diagnose(make_repair(serial_number=expired.serial_number), "x", labor_fee=7000)
    declined = diagnose(make_repair(serial_number=expired.serial_number), "x", labor_fee=3000)
    s.repair_decline(repair=declined, actor=desk)
    warranty = diagnose(make_repair(serial_number=in_warranty.serial_number), "x")
    fresh = make_repair()
    today = timezone.localdate(fresh.created_at)
    by_ticket = {
        row[0]: row for row in reports.export_rows(reports.Period(center.pk, today, today))
    }
    for repair in (paid, declined, warranty, fresh):
        repair = Repair.objects.get(pk=repair.pk)
        row = dict(zip(reports.EXPORT_FIELDS, by_ticket[repair.ticket_number], strict=True))
        due = reports.amount_due(
            state=row["state"],
            coverage=row["coverage"],
            completed=row["completed_at"] is not None,
            labor_fee=row["labor_fee"],
            parts_total=row["parts_total"],
            diagnosis_fee=row["center__diagnosis_fee"],
        )
        assert due == repair.amount_due, repair.state


def test_the_csv_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/reports/repairs.csv"]["get"]
    assert "text/csv" in operation["responses"]["200"]["content"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "center"}
