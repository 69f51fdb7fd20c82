"""Who may do what to a repair. Transitions take their roles from `workflows/registry.py`; the
actions that are not transitions are listed here. The FSM's `permission=`, the API and the pages
all ask `actor_may`."""

from __future__ import annotations

from typing import Any

from core.roles import (  # noqa: F401 (the names callers import from here)
    CUSTOMER,
    CUSTOMER_ACTOR,
    DESK,
    MANAGER,
    OWNER,
    SYSTEM,
    SYSTEM_ACTOR,
    TECH,
    Actor,
    as_actor,
    same_center,
    user_center_id,
    user_roles,
)
from workflows.registry import TRANSITIONS

# Actions on a repair that are not state transitions.
ACTION_ACTORS: dict[str, frozenset[str]] = {
    "add_note": frozenset({DESK, MANAGER, TECH}),
    "record_call": frozenset({DESK, MANAGER, TECH}),
    "record_promise": frozenset({DESK, MANAGER, TECH}),
    "fulfil_promise": frozenset({DESK, MANAGER, TECH}),
    "request_courier_return": frozenset({DESK, MANAGER, CUSTOMER}),
    "record_payment": frozenset({DESK, MANAGER}),
    "record_refund": frozenset({DESK, MANAGER}),
    "intake": frozenset({DESK, MANAGER}),
    "receive_parts": frozenset({DESK, MANAGER, TECH}),
    "order_parts": frozenset({DESK, MANAGER, TECH}),
    "reference_data": frozenset({MANAGER}),
}


def allowed_roles(name: str) -> frozenset[str]:
    spec = TRANSITIONS.get(name)
    return spec.roles if spec is not None else ACTION_ACTORS.get(name, frozenset())


def actor_may(who: Any, repair: Any, name: str) -> bool:
    """May this actor run transition or action `name` on `repair`? (No query once roles cached.)"""
    actor = as_actor(who)
    allowed = allowed_roles(name)
    if actor.kind in (CUSTOMER, SYSTEM):
        return actor.kind in allowed
    user = actor.user
    roles = user_roles(user)
    if not roles or not same_center(user, repair.center_id):
        return False
    if name == "set_coverage" and repair.coverage_locked:
        # Once the customer approved a price, only a manager may change what it is based on.
        return MANAGER in roles
    if roles & allowed:
        return True
    return OWNER in allowed and TECH in roles and repair.technician_id == user.pk


def permission_for(name: str):
    def check(instance: Any, user: Any) -> bool:
        return actor_may(user, instance, name)

    check.__name__ = f"may_{name}"
    return check
