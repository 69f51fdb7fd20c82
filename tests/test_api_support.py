"""Shared fixtures for the API tests: token clients for every persona, and small helpers.

(No tests here; the API test modules import these fixtures.)
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from service_center.services import staff_create
from tests.conftest import PASSWORD

V1 = "/api/v1"

# Test modules `from tests.test_api_support import *` to get these fixtures (and the helpers).
__all__ = [
    "INTAKE",
    "V1",
    "anon_api",
    "client_for",
    "codes",
    "desk_api",
    "foreign_api",
    "foreign_desk",
    "foreign_manager",
    "get",
    "intake",
    "manager_api",
    "other_tech_api",
    "post",
    "tech_api",
    "transition",
]


def client_for(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def post(client: APIClient, path: str, data: Any = None, **extra: Any):
    return client.post(V1 + path, data if data is not None else {}, format="json", **extra)


def get(client: APIClient, path: str, **params: Any):
    return client.get(V1 + path, params)


def transition(client: APIClient, ticket: str, name: str, data: Any = None, **extra: Any):
    return post(client, f"/repairs/{ticket}/transitions/{name}/", data, **extra)


def codes(response) -> list[str]:
    return [b["code"] for b in response.json().get("blockers", [])]


INTAKE = {
    "customer": {"name": "김민지", "phone": "010-2345-6789"},
    "symptom": "클립 스프링이 빠졌어요",
    "product_model": "HBS-1100",
    "intake_channel": "walk_in",
    "device_in_shop": True,
    "return_method": "pickup",
}


@pytest.fixture
def foreign_desk(other_center):
    return staff_create(username="desk_sc", role="front_desk", center_code="SC", password=PASSWORD)


@pytest.fixture
def foreign_manager(other_center):
    return staff_create(username="mgr_sc", role="manager", center_code="SC", password=PASSWORD)


@pytest.fixture
def desk_api(desk):
    return client_for(desk)


@pytest.fixture
def tech_api(tech):
    return client_for(tech)


@pytest.fixture
def other_tech_api(other_tech):
    return client_for(other_tech)


@pytest.fixture
def manager_api(manager):
    return client_for(manager)


@pytest.fixture
def anon_api():
    return APIClient()


@pytest.fixture
def foreign_api(foreign_desk):
    return client_for(foreign_desk)


@pytest.fixture
def intake(desk_api, headset):
    """intake(**overrides) -> the ticket number of a repair taken in through the API."""

    def make(**fields: Any) -> str:
        body = {**INTAKE, **fields}
        response = post(desk_api, "/repairs/", body)
        assert response.status_code == 201, response.json()
        return response.json()["ticket_number"]

    return make
