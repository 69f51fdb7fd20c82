"""Coverage reasons and the system's timeline lines become a code with params (workflows/texts.py).

Existing prose is converted where it is recognised: the reasons intake wrote (in English), the
fixed timeline lines (in English or Korean) and the lines whose facts the event's data holds.
A coverage reason that is not recognised was typed by staff and is kept as typed (code `staff`);
a timeline text that is not recognised stays in `text`, shown as it is.
"""

import re

import django_fsm
from django.db import migrations, models

REASONS = [
    ("serial_unknown", re.compile(r"^Serial unknown\b|^시리얼 모름")),
    ("in_warranty", re.compile(r"^Serial (?P<serial>\S+): in warranty until (?P<date>[\d-]+)\.$")),
    ("warranty_ended", re.compile(r"^Serial (?P<serial>\S+): warranty ended (?P<date>[\d-]+)\.$")),
    ("parallel_import", re.compile(r"^Serial (?P<serial>\S+): parallel import, no warranty\.$")),
]

# Lines with no facts, as they were written in either language.
FIXED = {
    "device_received": ("Device received at the counter.", "창구에서 기기를 받았습니다."),
    "repair_started": ("Repair started.", "수리를 시작했습니다."),
    "repair_completed": ("Repair completed.", "수리를 완료했습니다."),
    "ready_for_pickup": ("Ready for pickup.", "수령 가능."),
    "handed_over": ("Handed over to the customer.", "고객에게 전달했습니다."),
    "delivered": ("Delivered.", "배송 완료."),
    "all_parts_here": ("All parts are here.", "부품이 모두 도착했습니다."),
    "courier_requested": ("Courier return requested.", "택배 반환을 요청했습니다."),
}
FIXED_BY_TEXT = {text: code for code, texts in FIXED.items() for text in texts}


def reason_code(text):
    for code, pattern in REASONS:
        match = pattern.match(text or "")
        if match:
            return code, match.groupdict()
    return ("staff", {"text": text}) if text else ("", {})


def event_code(event, promise_notes):
    """(code, params, typed text left) for an old row, or None to leave it as it is."""
    data = event.data or {}
    text = (event.text or "").strip()
    if text in FIXED_BY_TEXT:
        return FIXED_BY_TEXT[text], {}, ""
    if event.kind == "notification" and data.get("notification"):
        return "message_sent", {"kind": data["notification"]}, ""
    if event.kind == "promise_fulfilled" and data.get("kind"):
        return "promise_kept", {"kind": data["kind"]}, ""
    if event.kind == "promise" and data.get("kind") and data.get("due_at"):
        note = promise_notes.get(data.get("promise"), "")
        return "promise_made", {"kind": data["kind"], "due": data["due_at"]}, note
    if event.kind == "parts" and data.get("eta"):
        return "part_shipped", {"eta": data["eta"]}, ""
    if event.kind != "transition":
        return None
    if event.transition == "assign" and "technician_name" in data:
        return "technician_assigned", {"name": data["technician_name"]}, ""
    if event.transition == "ship" and "carrier" in data:
        params = {"carrier": data["carrier"], "tracking": data.get("tracking_number", "")}
        return "shipped", params, ""
    if event.transition == "record_deposit" and "amount" in data:
        return "deposit_received", {"amount": data["amount"]}, ""
    if event.transition == "approve" and "total" in data:
        return "quote_approved", {"total": data["total"]}, ""
    if event.transition == "invite_for_repair" and "promised_price" in data:
        return "customer_invited", {"price": data["promised_price"]}, ""
    return None


def forwards(apps, schema_editor):
    Repair = apps.get_model("workflows", "Repair")
    RepairEvent = apps.get_model("workflows", "RepairEvent")
    Promise = apps.get_model("workflows", "Promise")
    for repair in Repair.objects.exclude(coverage_reason="").only("pk", "coverage_reason"):
        code, params = reason_code(repair.coverage_reason)
        Repair.objects.filter(pk=repair.pk).update(
            coverage_reason_code=code, coverage_reason_params=params
        )
    notes = dict(Promise.objects.values_list("pk", "note"))
    for event in RepairEvent.objects.filter(text_code="").iterator():
        found = event_code(event, notes)
        if found is None:
            continue
        code, params, text = found
        RepairEvent.objects.filter(pk=event.pk).update(
            text_code=code, text_params=params, text=text
        )
    # The warehouse's ETA promises carried an English word as their note.
    Promise.objects.filter(kind="part_eta", note="warehouse").update(note="")


def backwards(apps, schema_editor):
    Repair = apps.get_model("workflows", "Repair")
    texts = {
        "serial_unknown": "Serial unknown — coverage to be confirmed.",
        "in_warranty": "Serial {serial}: in warranty until {date}.",
        "warranty_ended": "Serial {serial}: warranty ended {date}.",
        "parallel_import": "Serial {serial}: parallel import, no warranty.",
    }
    for repair in Repair.objects.exclude(coverage_reason_code=""):
        params = repair.coverage_reason_params or {}
        if repair.coverage_reason_code == "staff":
            text = params.get("text", "")
        else:
            text = texts[repair.coverage_reason_code].format(
                serial=params.get("serial", ""), date=params.get("date", "")
            )
        Repair.objects.filter(pk=repair.pk).update(coverage_reason=text[:300])
    # The coded lines go back into `text`, in English, before their columns are dropped.
    from django.utils import translation

    from workflows.texts import event_code_text

    RepairEvent = apps.get_model("workflows", "RepairEvent")
    with translation.override("en"):
        for event in RepairEvent.objects.exclude(text_code="").iterator():
            line = event_code_text(event.text_code, event.text_params)
            text = f"{line}\n{event.text}" if line and event.text else line or event.text
            RepairEvent.objects.filter(pk=event.pk).update(text=text[:4000])


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0003_payments_ledger"),
    ]

    operations = [
        migrations.AddField(
            model_name="repair",
            name="coverage_reason_code",
            field=models.CharField(
                blank=True,
                choices=[
                    ("serial_unknown", "serial unknown"),
                    ("in_warranty", "in warranty"),
                    ("warranty_ended", "warranty ended"),
                    ("parallel_import", "parallel import"),
                    ("staff", "given by staff"),
                ],
                max_length=20,
                verbose_name="coverage reason",
            ),
        ),
        migrations.AddField(
            model_name="repair",
            name="coverage_reason_params",
            field=models.JSONField(blank=True, default=dict, verbose_name="coverage reason facts"),
        ),
        migrations.AddField(
            model_name="repairevent",
            name="text_code",
            field=models.CharField(blank=True, max_length=30, verbose_name="text code"),
        ),
        migrations.AddField(
            model_name="repairevent",
            name="text_params",
            field=models.JSONField(blank=True, default=dict, verbose_name="text params"),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
        migrations.RemoveField(model_name="repair", name="coverage_reason"),
        # State labels are the staff's wording now (the customer's: workflows.timeline).
        migrations.AlterField(
            model_name="repair",
            name="state",
            field=django_fsm.FSMField(
                choices=[
                    ("received", "Received"),
                    ("diagnosing", "Being diagnosed"),
                    ("awaiting_approval", "Waiting for the customer's approval"),
                    ("awaiting_parts", "Waiting for parts"),
                    ("ready_to_repair", "Ready to repair"),
                    ("in_repair", "Being repaired"),
                    ("repaired", "Repaired"),
                    ("declined", "Not repaired"),
                    ("ready_for_pickup", "Ready for pickup"),
                    ("shipped", "Shipped"),
                    ("closed", "Closed"),
                    ("cancelled", "Cancelled"),
                ],
                db_index=True,
                default="received",
                max_length=50,
                protected=True,
                verbose_name="state",
            ),
        ),
    ]
