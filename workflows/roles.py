"""Who may do what, declared once. FSM `permission=` callables, the API and the pages read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service_center.models import Role

DESK, TECH, MANAGER = Role.FRONT_DESK.value, Role.TECHNICIAN.value, Role.MANAGER.value
OWNER = "owner"  # the technician who owns the repair
CUSTOMER = "customer"  # the customer, acting online with ticket number + phone digits
SYSTEM = "system"  # receiving stock, scheduled jobs

TRANSITION_ACTORS: dict[str, frozenset[str]] = {
    "assign": frozenset({DESK, MANAGER}),
    "diagnose": frozenset({OWNER}),
    "set_coverage": frozenset({DESK, MANAGER}),
    "record_deposit": frozenset({DESK, MANAGER}),
    "approve": frozenset({DESK, MANAGER, CUSTOMER}),
    "decline": frozenset({DESK, MANAGER, CUSTOMER}),
    "parts_arrived": frozenset({SYSTEM}),
    "invite_for_repair": frozenset({DESK, MANAGER, OWNER}),
    "check_in_device": frozenset({DESK, MANAGER}),
    "start_repair": frozenset({OWNER}),
    "complete": frozenset({OWNER}),
    "report_unrepairable": frozenset({OWNER}),
    "notify_ready_for_pickup": frozenset({DESK, MANAGER, OWNER}),
    "ship": frozenset({DESK, MANAGER}),
    "hand_over": frozenset({DESK, MANAGER}),
    "confirm_delivery": frozenset({DESK, MANAGER}),
    "cancel": frozenset({DESK, MANAGER}),
}

# Actions that are not state transitions but still belong to a repair.
ACTION_ACTORS: dict[str, frozenset[str]] = {
    "add_note": frozenset({DESK, MANAGER, TECH}),
    "record_call": frozenset({DESK, MANAGER, TECH}),
    "record_promise": frozenset({DESK, MANAGER, TECH}),
    "fulfil_promise": frozenset({DESK, MANAGER, TECH}),
    "request_courier_return": frozenset({DESK, MANAGER, CUSTOMER}),
    "intake": frozenset({DESK, MANAGER}),
    "receive_parts": frozenset({DESK, MANAGER, TECH}),
    "order_parts": frozenset({DESK, MANAGER, TECH}),
    "reference_data": frozenset({MANAGER}),
}


@dataclass(frozen=True)
class Actor:
    """Whoever acts: a staff user, the customer online, or the system."""

    kind: str  # "staff" | CUSTOMER | SYSTEM
    user: Any = None

    @property
    def label(self) -> str:
        if self.kind == "staff":
            from service_center.models import staff_name

            return staff_name(self.user)
        return self.kind


CUSTOMER_ACTOR = Actor(CUSTOMER)
SYSTEM_ACTOR = Actor(SYSTEM)


def as_actor(who: Any) -> Actor:
    if isinstance(who, Actor):
        return who
    if who is None:
        return SYSTEM_ACTOR
    return Actor("staff", who)


def user_roles(user: Any) -> frozenset[str]:
    """The role group names of a user, cached on the instance (one query, or none if prefetched)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_repair_roles", None)
    if cached is None:
        cache = getattr(user, "_prefetched_objects_cache", {})
        groups = cache.get("groups")
        names = (
            [g.name for g in groups]
            if groups is not None
            else list(user.groups.values_list("name", flat=True))
        )
        roles = {n for n in names if n in (DESK, TECH, MANAGER)}
        if user.is_superuser:
            roles.add(MANAGER)
        cached = user._repair_roles = frozenset(roles)
    return cached


def user_center_id(user: Any) -> int | None:
    profile = getattr(user, "staff_profile", None) if user is not None else None
    return profile.center_id if profile is not None else None


def same_center(user: Any, center_id: int) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return user_center_id(user) == center_id


def actor_may(who: Any, repair: Any, name: str) -> bool:
    """May this actor run transition or action `name` on `repair`? (No query once roles cached.)"""
    actor = as_actor(who)
    allowed = TRANSITION_ACTORS.get(name) or ACTION_ACTORS.get(name) or frozenset()
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
