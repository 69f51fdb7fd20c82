"""`manage.py import_serials FILE.csv`: good rows are kept, bad ones reported by line number."""

import io

import pytest
from django.core.management import CommandError, call_command

from service_center.models import Channel, Device

HEADER = "serial_number,product_model,purchase_date,channel"


def run(path) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_serials", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, *lines: str, name="serials.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def errors_by_line(stderr: str) -> dict[int, str]:
    found = {}
    for row in stderr.splitlines():
        head, _, message = row.partition(": ")
        assert head.startswith("line "), row
        found[int(head.removeprefix("line "))] = message
    return found


def test_good_rows_are_kept_and_each_bad_row_is_reported_with_its_line_number(
    tmp_path, headset, in_warranty
):
    path = write(
        tmp_path,
        HEADER,  # 1
        "HBS1100NEW1,HBS-1100,2025-03-01,official",  # 2
        "HBS1100\x00NUL,HBS-1100,2025-03-01,official",  # 3
        f"{'Z' * 10_000},HBS-1100,2025-03-01,official",  # 4
        "ＨＢＳ１１００Ｋ７Ｑ２,HBS-1100,2025-03-01,official",  # 5: full-width of a registered one
        "hbs1100new1,HBS-1100,2025-03-01,official",  # 6: lower-case of line 2
        "HBS1100NEW2,HBS-1100,2025-02-30,official",  # 7
        "HBS1100NEW3,NO-SUCH-MODEL,2025-03-01,official",  # 8
        "HBS1100NEW4,HBS-1100,2025-03-01,grey_market",  # 9
        "hbs-1100 par 9,HBS-1100,2025-03-01,parallel_import",  # 10
    )

    out, err = run(path)

    assert "imported 2, rejected 7" in out
    errors = errors_by_line(err)
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9]
    assert "NUL" in errors[3]
    assert errors[4].startswith("serial_number:")
    assert errors[5] == "serial_number: Serial HBS1100K7Q2 is already registered."
    assert errors[6] == "serial_number: Serial HBS1100NEW1 is already registered."
    assert errors[7].startswith("purchase_date:")
    assert errors[8].startswith("product_model:") and "NO-SUCH-MODEL" in errors[8]
    assert errors[9].startswith("channel:")
    assert sorted(Device.objects.values_list("serial_number", "channel")) == [
        ("HBS1100K7Q2", Channel.OFFICIAL),
        ("HBS1100NEW1", Channel.OFFICIAL),
        ("HBS1100PAR9", Channel.PARALLEL_IMPORT),
    ]


def test_the_channel_column_may_be_left_out(tmp_path, headset):
    path = write(
        tmp_path, "serial_number,product_model,purchase_date", "HBS1100NEW1,HBS-1100,2025-03-01"
    )

    out, err = run(path)

    assert "imported 1, rejected 0" in out
    assert err == ""
    assert Device.objects.get().channel == Channel.OFFICIAL


def test_a_row_with_too_many_columns_is_reported(tmp_path, headset):
    path = write(
        tmp_path,
        HEADER,
        "HBS1100NEW1,HBS-1100,2025-03-01,official,extra",
        "HBS1100NEW2,HBS-1100,2025-03-01,official",
    )

    out, err = run(path)

    assert "imported 1, rejected 1" in out
    assert list(errors_by_line(err)) == [2]
    assert list(Device.objects.values_list("serial_number", flat=True)) == ["HBS1100NEW2"]


def test_a_file_with_only_bad_rows_fails_and_imports_nothing(tmp_path, headset):
    path = write(tmp_path, HEADER, "X,HBS-1100,2025-03-01,official", "HBS1100NEW1,,2025-03-01,")

    with pytest.raises(CommandError, match="no row imported"):
        run(path)

    assert not Device.objects.exists()


def test_a_file_without_the_expected_header_fails(tmp_path, headset):
    path = write(tmp_path, "serial,model,date", "HBS1100NEW1,HBS-1100,2025-03-01")

    with pytest.raises(CommandError):
        run(path)

    assert not Device.objects.exists()


def test_a_missing_file_is_a_clean_error(tmp_path, db):
    with pytest.raises(CommandError, match="Cannot read"):
        run(tmp_path / "nope.csv")


def test_a_file_that_is_not_utf8_does_not_crash(tmp_path, headset):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + "\nHBS1100NEW1,HBS-1100,2025-03-01,official\n").encode() + b"\xff\xfe,\xff,\xff\n"
    )

    out, err = run(path)

    assert "imported 1, rejected 1" in out
    assert list(errors_by_line(err)) == [3]


def test_a_spreadsheet_export_with_a_byte_order_mark_is_read(tmp_path, headset):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        ("\ufeff" + HEADER + "\r\nHBS1100NEW1,HBS-1100,2025-03-01,official\r\n").encode()
    )

    out, err = run(path)

    assert "imported 1, rejected 0" in out
    assert Device.objects.filter(serial_number="HBS1100NEW1").exists()
