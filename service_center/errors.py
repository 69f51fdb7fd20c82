"""The one hierarchy of domain errors.

`workflows.api_errors` turns each into JSON with its `code`.
"""

from __future__ import annotations

from typing import Any


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
