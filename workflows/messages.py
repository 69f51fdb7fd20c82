"""The message catalogue: for every notification kind, the placeholders it may use and the
default subject and body in each language; `validate` checks a center's own wording and
`render` fills in the center's template (or the default) for one message.

Placeholders are written `{name}` and nothing else: rendering is one regex substitution, not
`str.format`, so a template can never reach an attribute or an index of what it is given.
`{{` and `}}` write a literal brace. A placeholder some messages leave empty (a visit not yet
booked, a quote not yet due) holds a whole sentence, so the text reads well without it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone, translation
from django.utils.functional import Promise as LazyText
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ValidationFailed
from core.validation import has_control_characters
from workflows.choices import NotificationKind as K
from workflows.models import MessageTemplate

SUBJECT_MAX = 200
BODY_MAX = 2000

# What each placeholder stands for, shown beside the editor.
PLACEHOLDERS: dict[str, LazyText] = {
    "center": gettext_lazy("the service center's name"),
    "ticket": gettext_lazy("the ticket number"),
    "customer": gettext_lazy("the customer's name"),
    "link": gettext_lazy("the link to the repair's status page"),
    "phone": gettext_lazy("the service center's phone number"),
    "total": gettext_lazy("the quoted total"),
    "old_total": gettext_lazy("the previous quoted total (a new quote only)"),
    "reason": gettext_lazy("the reason given"),
    "requote": gettext_lazy("a sentence about the previous quote (a new quote only, else empty)"),
    "coverage": gettext_lazy("the coverage"),
    "quote": gettext_lazy("a sentence with the quote to approve (when one waits, else empty)"),
    "price": gettext_lazy("the price of the repair"),
    "when": gettext_lazy("the date and time"),
    "tech": gettext_lazy("the technician"),
    "visit": gettext_lazy("a sentence with the booked visit (when one is booked, else empty)"),
    "amount": gettext_lazy("the amount to pay"),
    "carrier": gettext_lazy("the courier"),
    "tracking": gettext_lazy("the tracking number"),
    "why": gettext_lazy("why the visit cannot go ahead"),
    "promise": gettext_lazy("what was promised"),
    "due": gettext_lazy("when it was due"),
    "staff": gettext_lazy("the staff member's name"),
}

CUSTOMER = ("center", "ticket", "customer", "link", "phone")


@dataclass(frozen=True)
class Entry:
    """One kind of message: the placeholders it may use and its defaults (lazy, so they speak
    the language active when they are read)."""

    placeholders: tuple[str, ...]
    subject: LazyText
    body: LazyText


CATALOGUE: dict[str, Entry] = {
    K.RECEIVED: Entry(
        CUSTOMER,
        gettext_lazy("[{center}] {ticket}: repair received"),
        gettext_lazy("[{center}] {ticket} received. Follow your repair: {link}"),
    ),
    K.QUOTE: Entry(
        (*CUSTOMER, "total", "old_total", "reason", "requote"),
        gettext_lazy("[{center}] {ticket}: a quote to approve"),
        gettext_lazy(
            "[{center}] {ticket}: diagnosis done. Quote {total}. {requote} "
            "Approve or decline: {link}"
        ),
    ),
    K.COVERAGE_CHANGED: Entry(
        (*CUSTOMER, "coverage", "reason", "total", "quote"),
        gettext_lazy("[{center}] {ticket}: coverage changed"),
        gettext_lazy("[{center}] {ticket}: coverage is now “{coverage}” ({reason}). {quote}"),
    ),
    K.INVITE_FOR_REPAIR: Entry(
        (*CUSTOMER, "when", "price", "tech", "visit"),
        gettext_lazy("[{center}] {ticket}: come in for the repair"),
        gettext_lazy(
            "[{center}] {ticket}: everything for your repair is ready. Come in from now on; it "
            "is done while you wait (by {when} at the latest). Price: {price}. "
            "Technician: {tech}. {visit}"
        ),
    ),
    K.READY_FOR_PICKUP: Entry(
        (*CUSTOMER, "amount"),
        gettext_lazy("[{center}] {ticket}: ready for pickup"),
        gettext_lazy(
            "[{center}] {ticket}: your device is ready for pickup. Amount to pay: {amount}."
        ),
    ),
    K.SHIPPED: Entry(
        (*CUSTOMER, "carrier", "tracking"),
        gettext_lazy("[{center}] {ticket}: shipped"),
        gettext_lazy("[{center}] {ticket}: shipped with {carrier}, tracking number {tracking}."),
    ),
    K.PARTS_DELAYED: Entry(
        CUSTOMER,
        gettext_lazy("[{center}] {ticket}: the part is delayed"),
        gettext_lazy(
            "[{center}] {ticket}: The part's arrival date is no longer known; we will tell you "
            "as soon as it ships. {link}"
        ),
    ),
    K.APPOINTMENT_BOOKED: Entry(
        (*CUSTOMER, "when"),
        gettext_lazy("[{center}] {ticket}: visit booked"),
        gettext_lazy("[{center}] {ticket}: your visit is booked for {when}."),
    ),
    K.APPOINTMENT_WITHDRAWN: Entry(
        (*CUSTOMER, "when", "why"),
        gettext_lazy("[{center}] {ticket}: your visit cannot go ahead"),
        gettext_lazy(
            "[{center}] {ticket}: your visit on {when} can no longer go ahead: {why} We will "
            "call you back to agree a new time; or call us on {phone}."
        ),
    ),
    K.APPOINTMENT_REMINDER: Entry(
        (*CUSTOMER, "when"),
        gettext_lazy("[{center}] {ticket}: your visit tomorrow"),
        gettext_lazy("[{center}] {ticket}: a reminder of your visit tomorrow, {when}."),
    ),
    # To the staff member who made the promise, not to the customer.
    K.OVERDUE_PROMISE: Entry(
        ("center", "ticket", "promise", "due", "staff", "link"),
        gettext_lazy("[{center}] {ticket}: an overdue promise"),
        gettext_lazy(
            "[{center}] {ticket}: {staff}, your promise “{promise}” was due {due} and is still "
            "open. {link}"
        ),
    ),
}

# The optional sentences of the defaults, filled in by the services (empty when they do not apply).
SENTENCES: dict[str, LazyText] = {
    "requote": gettext_lazy("This replaces the earlier quote of {old_total} ({reason})."),
    "quote": gettext_lazy("Quote {total}. Approve or decline: {link}"),
    "visit": gettext_lazy("Your visit: {when}."),
}


# --- validation --------------------------------------------------------------------------------

# Every brace in a template is one of these: a literal pair, a placeholder, or a stray one.
_SCAN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FILL = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def allowed(kind: str) -> tuple[str, ...]:
    return CATALOGUE[kind].placeholders


def validate(kind: str, subject: str, body: str) -> dict[str, list[str]]:
    """Every problem of a center's wording of `kind`, by field (empty when it is fine), in the
    active language: NUL characters, lengths, an empty body, stray braces and placeholders the
    kind does not have (named, with the list of those it has)."""
    errors: dict[str, list[str]] = {}
    for field, text, limit in (("subject", subject, SUBJECT_MAX), ("body", body, BODY_MAX)):
        found = _problems(kind, text, limit)
        if field == "body" and not text.strip():
            found.insert(0, _("Write the message: it may not be empty."))
        if found:
            errors[field] = found
    return errors


def _problems(kind: str, text: str, limit: int) -> list[str]:
    if has_control_characters(text):  # PostgreSQL cannot store NUL; SMS gateways refuse the rest
        return [_("The text may not contain control characters such as NUL.")]
    found: list[str] = []
    if len(text) > limit:
        found.append(
            _("At most %(limit)d characters (this has %(count)d).")
            % {"limit": limit, "count": len(text)}
        )
    names = allowed(kind)
    listed = ", ".join(f"{{{n}}}" for n in names)
    for match in _SCAN.finditer(text):
        token, name = match.group(0), match.group(1)
        if token in ("{{", "}}"):
            continue
        if name is None:
            message = _(
                "Unbalanced brace: every { needs its }. Write {{ or }} for a literal brace."
            )
        elif not _NAME.fullmatch(name):
            message = _(
                "“%(token)s” is not a placeholder: write {name} with a name from the list, "
                "or {{ and }} for a literal brace."
            ) % {"token": token}
        elif name not in names:
            message = _("Unknown placeholder {%(name)s}; this message may use: %(allowed)s.") % {
                "name": name,
                "allowed": listed,
            }
        else:
            continue
        if message not in found:
            found.append(message)
    return found


# --- rendering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def fill(template: str, values: Mapping[str, Any]) -> str:
    """`template` with each `{name}` replaced by `values[name]` ("" when absent) and `{{`, `}}`
    by single braces, then tidied: the spaces an empty placeholder leaves are closed up. One pass:
    a value that itself contains braces is not read again."""

    def one(match: re.Match) -> str:
        token, name = match.group(0), match.group(1)
        if name is None:
            return token[0]
        return str(values.get(name, ""))

    return tidy(_FILL.sub(one, template))


def tidy(text: str) -> str:
    lines = [re.sub(r"[ \t]{2,}", " ", line).strip() for line in text.splitlines()]
    return "\n".join(lines).strip()


def sentence(name: str, **values: Any) -> str:
    """An optional sentence of the defaults (SENTENCES), in the active language."""
    return fill(str(SENTENCES[name]), values)


def render_text(kind: str, subject: str, body: str, context: Mapping[str, Any]) -> Rendered:
    """Fill `subject` and `body` (a template of `kind`) with `context`, in the active language;
    an empty subject falls back to the default one."""
    values = {name: str(context.get(name, "")) for name in allowed(kind)}
    subject = subject or str(CATALOGUE[kind].subject)
    return Rendered(fill(subject, values)[:SUBJECT_MAX], fill(body, values)[:BODY_MAX])


def template_for(center: Any, kind: str, language: str) -> Any:
    """The center's own template for (kind, language), or None: one query."""
    return MessageTemplate.objects.filter(center=center, kind=kind, language=language).first()


def render(center: Any, kind: str, language: str, context: Mapping[str, Any]) -> Rendered:
    """The message of `kind` for `center` in `language`: the center's template when it has one
    (one query), else the default in that language; the context's lazy texts speak it too."""
    return render_with(template_for(center, kind, language), kind, language, context)


def render_with(custom: Any, kind: str, language: str, context: Mapping[str, Any]) -> Rendered:
    """The message of `kind` in `language` from a template already read (None: the default);
    for callers that read the templates of many centers in one query."""
    with translation.override(language):
        if custom is not None:
            return render_text(kind, custom.subject, custom.body, context)
        entry = CATALOGUE[kind]
        return render_text(kind, str(entry.subject), str(entry.body), context)


def defaults(kind: str, language: str) -> tuple[str, str]:
    """The default (subject, body) of `kind` in `language`."""
    with translation.override(language):
        return str(CATALOGUE[kind].subject), str(CATALOGUE[kind].body)


# --- a center's own wording --------------------------------------------------------------------


def template_save(
    *, center: Any, kind: str, language: str, subject: str, body: str, actor: Any
) -> Any:
    """Store the center's wording of (kind, language), replacing any earlier one. Raises
    ValidationFailed with every problem `validate` finds; nothing is written then."""
    errors = validate(kind, subject, body)
    if errors:
        raise ValidationFailed(errors)
    template, _created = MessageTemplate.objects.update_or_create(
        center=center,
        kind=kind,
        language=language,
        defaults={
            "subject": subject,
            "body": body,
            "updated_at": timezone.now(),
            "updated_by": actor if getattr(actor, "pk", None) else None,
        },
    )
    return template


def template_reset(*, center: Any, kind: str, language: str) -> bool:
    """Back to the default: delete the center's wording of (kind, language). True if one was."""
    deleted, _rows = MessageTemplate.objects.filter(
        center=center, kind=kind, language=language
    ).delete()
    return bool(deleted)
