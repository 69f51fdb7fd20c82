"""The detail's shortcuts say exactly what the slow way says: every transition's blockers
evaluated once, and the timeline's rows built as plain dicts."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.test_api_queries import _busy_repair
from workflows import gate, selectors
from workflows.registry import STAFF_TRANSITIONS

pytestmark = pytest.mark.django_db


def test_all_blockers_at_once_equal_each_transitions_own(
    make_repair, desk, tech, spring, battery, center
):
    busy = _busy_repair(make_repair, desk, tech, spring, battery, center)
    for made in (make_repair(symptom="fresh"), busy):
        repair = selectors.repair_detail_get(user=desk, ticket_number=made.ticket_number)
        together = gate.all_transition_blockers(repair, STAFF_TRANSITIONS)
        alone = {name: gate.transition_blockers(repair, name) for name in STAFF_TRANSITIONS}
        assert together == alone
        assert any(together.values()) and not all(together.values())


def test_a_blockers_list_can_be_changed_without_changing_anothers(make_repair, desk):
    repair = make_repair()
    together = gate.all_transition_blockers(repair, STAFF_TRANSITIONS)
    shared = [name for name, found in together.items() if found]
    first, second = together[shared[0]], together[shared[1]]
    before = [dict(b) for b in second]
    first[0]["message"] = "changed"
    assert second == before


def test_the_timelines_plain_rows_equal_what_drf_would_give(
    make_repair, desk, tech, spring, battery, center
):
    from rest_framework import serializers

    from workflows.api.serializers import EventSerializer

    busy = _busy_repair(make_repair, desk, tech, spring, battery, center)
    repair = selectors.repair_detail_get(user=desk, ticket_number=busy.ticket_number)
    events = list(repair.events.all())
    assert len({e.kind for e in events}) >= 3 and any(e.data for e in events)
    for language in ("en", "ko"):
        with translation.override(language):
            plain = EventSerializer(events, many=True).data
            drf = [serializers.Serializer.to_representation(EventSerializer(), e) for e in events]
        assert [dict(row) for row in plain] == [dict(row) for row in drf]
