"""Token authentication: the token, its user, the center and the roles in one query."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIRequestFactory

from core.authentication import StaffTokenAuthentication
from core.roles import DESK, MANAGER, TECH, user_center_id, user_roles
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import client_for, get

pytestmark = pytest.mark.django_db


def _authenticate(user, key: str = ""):
    key = key or Token.objects.get_or_create(user=user)[0].key
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {key}")
    return StaffTokenAuthentication().authenticate(request)


def test_the_token_its_user_center_and_roles_load_in_one_query(
    tech, center, django_assert_num_queries
):
    key = Token.objects.get_or_create(user=tech)[0].key
    with django_assert_num_queries(1):
        user, token = _authenticate(tech, key)
        assert (user_roles(user), user_center_id(user)) == (frozenset({TECH}), center.pk)
    assert token.user_id == tech.pk


def test_roles_come_from_the_users_own_groups_only(desk, manager, tech):
    Group.objects.get_or_create(name="unrelated")[0].user_set.add(desk)
    assert user_roles(_authenticate(desk)[0]) == frozenset({DESK})
    assert user_roles(_authenticate(manager)[0]) == frozenset({MANAGER})
    tech.groups.add(Group.objects.get(name=DESK))
    assert user_roles(_authenticate(tech)[0]) == frozenset({DESK, TECH})


def test_a_superuser_is_a_manager_and_a_user_without_roles_has_none(desk):
    desk.groups.clear()
    assert user_roles(_authenticate(desk)[0]) == frozenset()
    desk.is_superuser = True
    desk.save()
    assert user_roles(_authenticate(desk)[0]) == frozenset({MANAGER})


def test_a_wrong_or_inactive_token_is_refused_with_401(desk):
    client = client_for(desk)
    assert get(client, "/repairs/").status_code == 200
    desk.is_active = False
    desk.save()
    refused = get(client, "/repairs/")
    assert refused.status_code == 401 and refused.json()["code"]
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert get(client, "/repairs/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token abc\x00def")  # refused before authentication
    assert get(client, "/repairs/").status_code == 400
