"""Intake evidence on the desk's pages: the condition checklist of the intake form (a table of
radio buttons and a note per item, for the chosen model's category) and the photo inputs."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError, ValidationFailed
from core.images import CleanImage, clean_image
from core.pages import STAFF_ROLES, error_messages, staff_area
from service_center.models import ProductModel
from workflows import condition as checklist
from workflows import services as s
from workflows.views.common import _area_of, _get_repair, _repair_url, require_role

_LINE_ERROR = re.compile(r"condition_(\d+)(?:_|$)")
MAX_FORM_PHOTOS = 10  # one intake form's photos; more are added on the repair page


def condition_from_post(post: Any) -> list[dict[str, str]]:
    """The checklist as the intake input takes it: each item whose state was sent (the rows of
    other categories are disabled, so the browser sends nothing for them)."""
    lines = []
    for item in checklist.ITEMS:
        if f"condition_{item}" in post:
            note = post.get(f"condition_{item}_note", "")
            lines.append({"item": item, "state": post.get(f"condition_{item}"), "note": note})
    return lines


def condition_errors(errors: dict[str, list[str]], lines: list[dict[str, str]]) -> None:
    """`condition_2_note` (error_messages' key for `condition.2.note`) -> `condition_<item>`,
    beside the item's row (in place)."""
    for name in [n for n in errors if _LINE_ERROR.match(n)]:
        index = int(_LINE_ERROR.match(name).group(1))
        key = f"condition_{lines[index]['item']}" if index < len(lines) else "condition"
        errors.setdefault(key, []).extend(errors.pop(name))


def checklist_context(models: list[ProductModel], code: str, post: Any) -> dict[str, Any]:
    """The rows of every item (those outside the chosen model's category hidden and disabled;
    the page's script switches them with the model), the states, and the map the script uses."""
    chosen = next((m for m in models if m.code == code), None)
    shown = checklist.items_for(chosen.category if chosen else "")
    rows = [
        {
            "item": item,
            "label": label,
            "shown": item in shown,
            "state": post.get(f"condition_{item}", checklist.DEFAULT_STATE),
            "note": post.get(f"condition_{item}_note", ""),
        }
        for item, label in checklist.ITEMS.items()
    ]
    return {
        "condition_rows": rows,
        "condition_states": list(checklist.STATES.items()),
        "condition_map": {
            "default": list(checklist.DEFAULT_ITEMS),
            **{m.code: list(checklist.items_for(m.category)) for m in models},
        },
    }


def clean_form_photos(files: list[Any]) -> list[CleanImage]:
    """The intake form's photos, decoded and cleaned before the repair is made, so a bad one is
    refused beside its field with nothing taken in. Raises ValidationFailed on `photos`."""
    if len(files) > MAX_FORM_PHOTOS:
        raise ValidationFailed(
            {"photos": [_("At most %(n)s photos here.") % {"n": MAX_FORM_PHOTOS}]}
        )
    cleaned = []
    for upload in files:
        try:
            cleaned.append(clean_image(upload))
        except DomainError as exc:
            message = error_messages(exc)["form"][0]
            raise ValidationFailed({"photos": [f"{upload.name[:80]}: {message}"]}) from None
    return cleaned


@require_POST
@staff_area(STAFF_ROLES)
def repair_add_photos(request: HttpRequest, ticket: str) -> HttpResponse:
    """The repair page's photo form: each photo added, or the reason it was not."""
    repair = _get_repair(request, ticket)
    require_role(request.user, repair, "add_photo")
    files = request.FILES.getlist("photos")
    added = 0
    for upload in files[:MAX_FORM_PHOTOS]:
        try:
            s.repair_add_photo(repair=repair.pk, actor=request.user, upload=upload)
            added += 1
        except DomainError as exc:
            messages.error(request, f"{upload.name[:80]}: {error_messages(exc)['form'][0]}")
    if not files:
        messages.error(request, _("Choose a photo first."))
    elif added:
        messages.success(request, _("%(n)s photo(s) added.") % {"n": added})
    return redirect(_repair_url(_area_of(request), repair.ticket_number) + "#photos")
