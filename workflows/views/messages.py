"""The message editor (/manager/messages/): a center's manager words each notification kind in
each language, with the placeholders it may use beside the form and a preview rendered on a
sample repair (the center's latest, else a made-up one with masked data). Superusers choose the
center with `?center=<code>`; a manager works on their own center only. Saving and resetting go
through `workflows.messages` (`template_save`, `template_reset`)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ValidationFailed
from core.pages import render_staff
from core.privacy import mask_name
from core.roles import MANAGER, staff_name, user_center_id, user_roles
from service_center.models import ServiceCenter
from workflows import messages
from workflows.choices import Coverage, NotificationKind, PromiseKind
from workflows.models import MessageTemplate, Repair
from workflows.services.core import local_slot, status_link, won

LANGUAGES = dict(settings.LANGUAGES)


def _center(request: HttpRequest) -> ServiceCenter:
    """The center whose messages the user edits: a manager's own; a superuser's `?center=`.
    403 for other roles and for a manager naming another center; 404 for an unknown code."""
    if MANAGER not in user_roles(request.user):
        raise HttpForbidden(_("This page is not for your role."))
    code = request.GET.get("center", "")
    if request.user.is_superuser:
        center = ServiceCenter.objects.filter(code=code[:8]).first() if code else None
        if center is None and not code and user_center_id(request.user) is not None:
            center = request.user.staff_profile.center
        if center is None:
            raise Http404(_("Choose a service center."))
        return center
    center = getattr(request.user, "staff_profile", None) and request.user.staff_profile.center
    if center is None or (code and code != center.code):
        raise HttpForbidden(_("This page is not for your role."))
    return center


def _kind_language(kind: str, language: str) -> tuple[str, str]:
    if kind not in NotificationKind.values or language not in LANGUAGES:
        raise Http404(_("Not found."))
    return kind, language


def _here(name: str, center: ServiceCenter, request: HttpRequest, *args: str) -> str:
    url = reverse(name, args=args)
    return f"{url}?{urlencode({'center': center.code})}" if request.user.is_superuser else url


# --- the list ----------------------------------------------------------------------------------


@login_required
def messages_list(request: HttpRequest) -> HttpResponse:
    """Every kind in every language: the center's wording or the default. Three queries."""
    centers = list(ServiceCenter.objects.order_by("code")) if request.user.is_superuser else []
    if centers and not request.GET.get("center") and user_center_id(request.user) is None:
        return render_staff(request, "manager/messages.html", {"centers": centers})
    center = _center(request)
    own = {(t.kind, t.language): t for t in MessageTemplate.objects.filter(center=center)}
    rows = []
    for kind in NotificationKind:
        for language, language_name in LANGUAGES.items():
            custom = own.get((kind.value, language))
            subject, body = messages.defaults(kind.value, language)
            rows.append(
                {
                    "kind": kind,
                    "language": language,
                    "language_name": language_name,
                    "custom": custom is not None,
                    "subject": custom.subject if custom else subject,
                    "body": custom.body if custom else body,
                    "url": _here("manager-message", center, request, kind.value, language),
                }
            )
    context = {"message_center": center, "rows": rows, "centers": centers}
    return render_staff(request, "manager/messages.html", context)


# --- one message -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def message_edit(request: HttpRequest, kind: str, language: str) -> HttpResponse:
    """The form. POST `action`: `save` (validated; every error beside its field, the typed text
    kept, nothing saved), `reset` (back to the default) or `preview` (the page again, the
    preview pane rendered from the typed text: the no-JS path of the live preview)."""
    center = _center(request)
    kind, language = _kind_language(kind, language)
    custom = messages.template_for(center, kind, language)
    default_subject, default_body = messages.defaults(kind, language)
    if request.method == "GET":
        subject = custom.subject if custom else default_subject
        body = custom.body if custom else default_body
        return _edit_page(request, center, kind, language, custom, subject, body, {})
    action = request.POST.get("action", "save")
    subject, body = _typed(request)
    if action == "reset":
        messages.template_reset(center=center, kind=kind, language=language)
        flash.success(request, _("The message is back to the default."))
        return redirect(_here("manager-message", center, request, kind, language))
    errors = messages.validate(kind, subject, body)
    if action == "preview" or errors:
        status = 400 if errors and action != "preview" else 200
        return _edit_page(request, center, kind, language, custom, subject, body, errors, status)
    try:
        messages.template_save(
            center=center,
            kind=kind,
            language=language,
            subject=subject,
            body=body,
            actor=request.user,
        )
    except ValidationFailed as exc:  # pragma: no cover - validated above
        return _edit_page(request, center, kind, language, custom, subject, body, exc.errors, 400)
    flash.success(request, _("The message is saved."))
    return redirect(_here("manager-messages", center, request))


@login_required
@require_POST
def message_preview(request: HttpRequest, kind: str, language: str) -> JsonResponse:
    """The live preview: the typed subject and body rendered on the sample repair, as JSON
    {subject, body, errors}. The text is rendered even with errors (what can be filled is)."""
    center = _center(request)
    kind, language = _kind_language(kind, language)
    subject, body = _typed(request)
    errors = messages.validate(kind, subject, body)
    rendered = _preview(center, kind, language, subject, body)
    return JsonResponse({"subject": rendered.subject, "body": rendered.body, "errors": errors})


def _typed(request: HttpRequest) -> tuple[str, str]:
    subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
    # Browsers send CRLF in a textarea; the message is stored with plain line breaks.
    return subject.replace("\r\n", "\n"), body.replace("\r\n", "\n")


def _edit_page(
    request: HttpRequest,
    center: ServiceCenter,
    kind: str,
    language: str,
    custom: MessageTemplate | None,
    subject: str,
    body: str,
    errors: dict[str, list[str]],
    status: int = 200,
) -> HttpResponse:
    rendered = _preview(center, kind, language, subject, body)
    context = {
        "message_center": center,
        "kind": NotificationKind(kind),
        "language": language,
        "language_name": LANGUAGES[language],
        "custom": custom,
        "subject": subject,
        "body": body,
        "errors": errors,
        "placeholders": [(n, messages.PLACEHOLDERS[n]) for n in messages.allowed(kind)],
        "preview": rendered,
        "subject_max": messages.SUBJECT_MAX,
        "body_max": messages.BODY_MAX,
        "action_url": _here("manager-message", center, request, kind, language),
        "preview_url": _here("manager-message-preview", center, request, kind, language),
        "list_url": _here("manager-messages", center, request),
    }
    return render_staff(request, "manager/messages_edit.html", context, status=status)


# --- the sample repair -------------------------------------------------------------------------


def _preview(
    center: ServiceCenter, kind: str, language: str, subject: str, body: str
) -> messages.Rendered:
    """The typed text rendered in `language` on the center's latest repair (one query), or on
    a made-up one when the center has none yet."""
    repair = (
        Repair.objects.filter(center=center)
        .select_related("center", "customer", "technician__staff_profile")
        .order_by("-created_at", "-id")
        .first()
    )
    with translation.override(language):
        return messages.render_text(kind, subject, body, sample_context(center, repair))


def sample_context(center: ServiceCenter, repair: Repair | None) -> dict[str, str]:
    """Every placeholder's value for the preview, in the active language. A real repair gives
    its ticket, amounts and technician; the customer's name is masked either way."""
    tomorrow = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    when = local_slot(tomorrow)
    total = won(repair.quote_total if repair and repair.quote_total else 25000)
    earlier = repair.previous_quote_total if repair else None
    old_total = won(earlier or 20000)
    reason = _("water damage found")
    link = status_link(repair) if repair else f"{settings.SITE_URL}/status/t/…/"
    tech = staff_name(repair.technician) if repair and repair.technician else _("Technician")
    return {
        "center": center.name,
        "ticket": repair.ticket_number if repair else f"{center.code}-000000-SAMPLE",
        "customer": mask_name(repair.customer.name if repair else _("Minji Kim")),
        "link": link,
        "phone": center.phone,
        "total": total,
        "old_total": old_total,
        "reason": reason,
        "requote": messages.sentence("requote", old_total=old_total, reason=reason),
        "coverage": str(Coverage(repair.coverage).label if repair else Coverage.PAID.label),
        "quote": messages.sentence("quote", total=total, link=link),
        "price": total,
        "when": when,
        "tech": tech,
        "visit": messages.sentence("visit", when=when),
        "amount": total,
        "carrier": _("CJ Logistics"),
        "tracking": "1234-5678-9012",
        "why": _("the part has not arrived yet."),
        "promise": str(PromiseKind.CALLBACK.label),
        "due": local_slot(timezone.now().replace(minute=0, second=0, microsecond=0)),
        "staff": tech,
    }
