"""The transition registry is the one place a transition is declared; everything else agrees."""

import pytest
from django.utils import translation
from django_fsm import RETURN_VALUE

from core.roles import CUSTOMER, DESK, MANAGER, OWNER, SYSTEM
from workflows import gate, registry
from workflows import services as s
from workflows.api.serializers import RepairDetailSerializer
from workflows.models import Repair

ROLES = {DESK, MANAGER, OWNER, CUSTOMER, SYSTEM}


def _fsm_transitions() -> dict[str, list]:
    found: dict[str, list] = {}
    for t in Repair._meta.get_field("state").get_all_transitions(Repair):
        found.setdefault(t.name, []).append(t)
    return found


@pytest.mark.parametrize("name", list(registry.TRANSITIONS))
def test_every_transition_has_roles_checks_a_service_and_labels(name):
    spec = registry.TRANSITIONS[name]
    assert spec.roles and spec.roles <= ROLES
    assert all(code in gate.CHECKS or code == "wrong_return_method" for code in spec.checks)
    assert spec.clearable <= set(spec.checks) and not (spec.clearable and spec.inputless)
    if spec.staff_action:
        assert callable(getattr(s, spec.service))
    else:
        assert spec.roles == {SYSTEM} and not spec.service
    with translation.override("en"):
        english = str(spec.label)
    with translation.override("ko"):
        korean = str(spec.label)
    assert english and korean and english != korean, f"{name} has no Korean label"


def test_the_fsm_and_the_registry_declare_the_same_transitions():
    fsm = _fsm_transitions()
    assert set(fsm) == set(registry.TRANSITIONS)
    for name, spec in registry.TRANSITIONS.items():
        sources = {t.source for t in fsm[name]}
        declared = spec.source if isinstance(spec.source, list) else [spec.source]
        assert sources == {str(x) for x in declared}, name
        targets = {t.target for t in fsm[name]}
        if isinstance(spec.target, RETURN_VALUE):
            assert all(isinstance(x, RETURN_VALUE) for x in targets), name
        else:
            assert targets == {spec.target}, name


def test_the_api_offers_one_route_and_one_input_schema_per_staff_transition(client):
    from django.urls import reverse

    for name in registry.STAFF_TRANSITIONS:
        url = reverse(f"api-repair-{name}", args=["GN-2611-AAAAAA"])
        assert url.endswith(f"/transitions/{name}/")
        fields = set(registry.TRANSITIONS[name].input_serializer().fields)
        assert fields == set(registry.TRANSITIONS[name].inputs)


def test_the_detail_lists_blockers_for_exactly_the_staff_transitions(make_repair, desk):
    from rest_framework.test import APIRequestFactory

    from workflows import selectors

    ticket = make_repair().ticket_number
    repair = selectors.repair_detail_get(user=desk, ticket_number=ticket)
    request = APIRequestFactory().get("/")
    request.user = desk
    blockers = RepairDetailSerializer(repair, context={"request": request}).data["blockers"]
    assert list(blockers) == registry.STAFF_TRANSITIONS


def test_a_name_outside_the_registry_is_not_a_transition(make_repair, desk):
    from core.errors import NotFound

    with pytest.raises(NotFound):
        s.repair_transition(repair=make_repair(), name="parts_arrived", actor=desk)
    with pytest.raises(NotFound):
        s.repair_transition(repair=make_repair(), name="teleport", actor=desk)
