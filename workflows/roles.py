"""Who may do what to a repair. Transitions take their roles from `workflows/registry.py`, the
other actions from `core/roles.py` (ACTION_ACTORS). The FSM's `permission=`, the API and the
pages all ask `actor_may`."""

from __future__ import annotations

from typing import Any

from core.roles import (
    ACTION_ACTORS,
    CUSTOMER,
    MANAGER,
    OWNER,
    SYSTEM,
    TECH,
    as_actor,
    same_center,
    user_roles,
)
from workflows.registry import TRANSITIONS


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
