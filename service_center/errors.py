"""The one hierarchy of domain errors.

`workflows.api_errors` turns each into JSON with its `code`.
"""

from __future__ import annotations

from typing import Any


class Message(str):
    """An error message: the English text (what the API answers) that also carries its msgid and
    params, so a page renders it in the user's language (`service_center.views.error_messages`).
    Mark the msgid with gettext_noop where it is raised."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Message:
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid, self.params = msgid, params
        return self

    def __reduce__(self):
        return (_message, (self.msgid, self.params))

    def translated(self) -> str:
        from django.utils.translation import gettext

        return gettext(self.msgid) % self.params if self.params else gettext(self.msgid)


def _message(msgid: str, params: dict[str, Any]) -> Message:
    return Message(msgid, **params)


def translated(message: Any) -> str:
    """A message in the active language: a Message by its msgid, a plain one as a msgid."""
    from django.utils.translation import gettext

    if isinstance(message, Message):
        return message.translated()
    return gettext(str(message))


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, **self.extra}


class ValidationFailed(DomainError):
    """Bad input. `errors` maps a field name to a list of messages."""

    code = "invalid"
    status = 400

    def __init__(self, errors: dict[str, list[str]] | str, detail: str = "") -> None:
        if isinstance(errors, str):
            errors = {"non_field_errors": [errors]}
        self.errors = errors
        first = next(iter(errors.values()))[0] if errors else "Invalid input."
        super().__init__(detail or str(first), errors=errors)


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class TransitionBlocked(DomainError):
    """The state or the readiness gate does not allow the transition. Carries the blockers."""

    code = "transition_blocked"
    status = 409

    def __init__(self, blockers: list[dict[str, str]], transition: str = "") -> None:
        self.blockers = blockers
        self.transition = transition
        detail = " ".join(b["message"] for b in blockers) or "Transition not allowed."
        super().__init__(str(detail), blockers=blockers)


class Conflict(DomainError):
    """Somebody else changed the row first; the caller may reload and retry."""

    code = "conflict"
    status = 409
