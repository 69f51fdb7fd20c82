"""core/prepared.py: a queryset compiled once per connection answers what the ORM answers, for
each value bound, and is compiled again only on another connection."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.db.models.sql.compiler import SQLCompiler
from rest_framework.authtoken.models import Token

from core.prepared import Prepared
from service_center.models import Customer
from workflows.models import Repair

pytestmark = pytest.mark.django_db


def _tokens(key):
    memberships = Token.user.field.related_model.groups.through.objects.filter(
        user_id=OuterRef("user_id")
    )
    return (
        Token.objects.select_related("user__staff_profile")
        .annotate(is_desk=Exists(memberships.filter(group__name="front_desk")))
        .filter(key=key)
        .order_by("pk")
    )


def _fields(obj, names):
    return {name: getattr(obj, name) for name in names}


def test_model_rows_match_the_orm_with_their_joins_and_annotations(desk, tech):
    prepared = Prepared(_tokens, str)
    for user in (desk, tech):
        key = Token.objects.get_or_create(user=user)[0].key
        (orm,) = list(_tokens(key))
        (got,) = prepared(key)
        assert type(got) is Token and got.pk == orm.pk and got._state.adding is False
        assert got.is_desk is orm.is_desk and isinstance(got.is_desk, bool)  # converted
        assert got.created == orm.created  # an aware datetime on both databases
        assert _fields(got.user, ("pk", "username", "is_active", "is_superuser")) == _fields(
            orm.user, ("pk", "username", "is_active", "is_superuser")
        )
        assert got.user.staff_profile.center_id == orm.user.staff_profile.center_id
    assert prepared("no-such-key") == []


def test_values_rows_match_the_orm_per_value_bound(make_repair, center, other_center):
    def build(center_id, ticket):
        return Repair.objects.filter(center_id=center_id, ticket_number=ticket).values_list(
            "pk", "version", "customer_id"
        )

    prepared = Prepared(build, int, str)
    first, second = make_repair(), make_repair()
    for repair in (first, second):
        assert prepared(center.pk, repair.ticket_number) == list(
            build(center.pk, repair.ticket_number)
        )
        assert prepared(center.pk, repair.ticket_number) == [
            (repair.pk, repair.version, repair.customer_id)
        ]
        assert prepared(other_center.pk, repair.ticket_number) == []  # the center is bound too


@pytest.fixture
def by_ticket(make_repair, monkeypatch):
    """(a Prepared lookup by ticket number, a repair, the models of every query compiled from
    now on: the repair's own intake is not counted)."""
    prepared = Prepared(
        lambda ticket: Repair.objects.filter(ticket_number=ticket).values_list("pk"), str
    )
    repair = make_repair()
    compiled = []
    original = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        compiled.append(self.query.model)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    return prepared, repair, compiled


def test_it_compiles_once_per_connection(by_ticket):
    prepared, repair, compiled = by_ticket
    for _ in range(3):
        assert prepared(repair.ticket_number) == [(repair.pk,)]
    assert compiled.count(Repair) == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="another thread's connection to SQLite's in-memory test database sees no tables",
)
@pytest.mark.django_db(transaction=True)
def test_another_threads_connection_compiles_its_own(by_ticket):
    prepared, repair, compiled = by_ticket
    assert prepared(repair.ticket_number) == [(repair.pk,)]
    other: list = []

    def in_thread():
        try:
            other.append(prepared(repair.ticket_number))
        finally:
            connection.close()

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert other == [[(repair.pk,)]] and compiled.count(Repair) == 2


def test_a_stand_in_bound_other_than_once_is_refused_when_compiled(db):
    twice = Prepared(lambda name: Customer.objects.filter(name=name, phone=name), str)
    with pytest.raises(ValueError, match="bound 2 times"):
        twice("x")
    never = Prepared(lambda name: Customer.objects.filter(name="fixed"), str)
    with pytest.raises(ValueError, match="bound 0 times"):
        never("x")


def test_values_with_annotations_are_refused(db):
    from django.db.models import Count

    prepared = Prepared(
        lambda name: Customer.objects.filter(name=name).annotate(n=Count("pk")).values_list("n"),
        str,
    )
    with pytest.raises(ValueError, match="not prepared"):
        prepared("x")


def test_a_new_prepared_never_runs_a_collected_ones_sql(make_repair):
    """Each instance keeps its SQL under a number of its own: a new one made where a collected
    one lived (same id()) compiles its own query."""
    repair = make_repair()
    for i in range(10):
        column = "pk" if i % 2 else "version"
        prepared = Prepared(
            lambda t, column=column: Repair.objects.filter(ticket_number=t).values_list(column),
            str,
        )
        assert prepared(repair.ticket_number) == [(getattr(repair, column),)]
        del prepared
