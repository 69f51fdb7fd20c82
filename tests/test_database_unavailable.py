"""The database going away answers 503 "try again" with Retry-After, never a 500: JSON
`database_unavailable` under /api/, the styled page (translated) elsewhere, and a change cut
off mid-transaction is not half written. On SQLite and PostgreSQL (tests/test_pg_faults_pg.py
cuts real PostgreSQL connections)."""

from __future__ import annotations

import contextlib

import pytest
from django.db import InterfaceError, OperationalError
from django.db.backends import utils
from django.test import Client, RequestFactory

from core import errors
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, transition
from workflows.models import Notification
from workflows.services import core

pytestmark = pytest.mark.django_db

TRY_AGAIN_KO = "잠시 후 다시 시도해 주세요"


@contextlib.contextmanager
def database_down(monkeypatch):
    """Every query fails as it does while PostgreSQL restarts."""

    def refuse(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(utils.CursorWrapper, "execute", refuse)
        patch.setattr(utils.CursorWrapper, "executemany", refuse)
        yield


@pytest.fixture
def repaired(make_repair, tech, in_warranty, diagnose):
    from workflows import services as s

    repair = make_repair(serial_number=in_warranty.serial_number)
    diagnose(repair, "ok")
    s.repair_start(repair=repair, actor=tech)
    return s.repair_complete(repair=repair, actor=tech)


def lose_connection_before_commit(monkeypatch) -> None:
    """The transition's last step, just before COMMIT, finds its connection gone."""

    def cut(name: str) -> None:
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(core, "before_commit", cut)


def written(repair) -> tuple:
    row = type(repair).objects.values_list("state", "version").get(pk=repair.pk)
    return row, repair.events.count(), Notification.objects.filter(repair=repair).count()


def test_an_api_read_while_the_database_is_down_answers_503_json_with_retry_after(
    repaired, desk, monkeypatch
):
    client = client_for(desk)
    with database_down(monkeypatch):
        response = client.get(f"/api/v1/repairs/{repaired.ticket_number}/")

    assert response.status_code == 503
    assert response.json() == {
        "code": "database_unavailable",
        "detail": "The database is not answering; nothing was saved. Try again in a moment.",
    }
    assert response["Retry-After"] == "5"


def test_a_page_while_the_database_is_down_is_the_translated_try_again_page(desk, monkeypatch):
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    client.force_login(desk)
    with database_down(monkeypatch):
        response = client.get("/desk/calls/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert TRY_AGAIN_KO in page and "503" in page


def test_an_api_transition_that_loses_its_connection_answers_503_and_writes_nothing(
    repaired, desk, monkeypatch
):
    before = written(repaired)
    lose_connection_before_commit(monkeypatch)

    response = transition(client_for(desk), repaired.ticket_number, "notify_ready_for_pickup")

    assert (response.status_code, response.json()["code"]) == (503, "database_unavailable")
    assert written(repaired) == before


def test_a_page_transition_that_loses_its_connection_is_the_503_page_not_the_form(
    repaired, desk, monkeypatch
):
    before = written(repaired)
    lose_connection_before_commit(monkeypatch)
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    client.force_login(desk)

    url = f"/desk/repairs/{repaired.ticket_number}/transitions/notify_ready_for_pickup/"
    response = client.post(url, {"confirm": "1"})

    assert response.status_code == 503
    assert TRY_AGAIN_KO in response.content.decode()
    assert written(repaired) == before


@pytest.mark.parametrize("path", ["/api/v1/repairs/", "/desk/"])
def test_a_middleware_that_loses_the_database_gets_the_same_503_from_handler500(path):
    request = RequestFactory().get(path, HTTP_ACCEPT_LANGUAGE="ko")
    try:
        raise OperationalError("the session could not be loaded")
    except OperationalError:
        response = errors.handler500(request)

    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert (b"database_unavailable" if path.startswith("/api/") else TRY_AGAIN_KO.encode()) in (
        response.content
    )


def test_other_failures_still_answer_500_from_handler500():
    request = RequestFactory().get("/desk/")
    try:
        raise ValueError("a bug")
    except ValueError:
        assert errors.handler500(request).status_code == 500


def test_a_lost_race_on_a_live_connection_is_not_mistaken_for_a_lost_connection():
    # SQLite's "database is locked" (and PostgreSQL's deadlock, which carries a SQLSTATE of
    # class 40) stay a 409 Conflict to reload and retry; the connection is still there.
    assert errors.connection_lost(OperationalError("database is locked")) is False
    assert errors.connection_lost(InterfaceError("connection already closed")) is True
