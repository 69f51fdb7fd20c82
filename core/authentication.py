"""API authentication. A module of its own: the settings name it, and DRF imports it while
`rest_framework.views` is still loading, so it must not import the views (core.api does)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from core.prepared import Prepared
from core.roles import ROLE_NAMES, remember_roles

User = get_user_model()


def _token(key: str) -> QuerySet[Token]:
    memberships = User.groups.through.objects.filter(user_id=OuterRef("user_id"))
    return (
        Token.objects.select_related("user__staff_profile")
        .annotate(
            **{f"is_{role}": Exists(memberships.filter(group__name=role)) for role in ROLE_NAMES}
        )
        .filter(key=key)[:1]
    )


# Compiled once per connection: each request only binds its key (core/prepared.py).
_token_by_key = Prepared(_token, str)


class StaffTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`: the token, its user, the user's center and role groups in one
    query (one EXISTS per role instead of a second query for the groups)."""

    def authenticate_credentials(self, key):
        token = next(iter(_token_by_key(key)), None)
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        remember_roles(token.user, {role for role in ROLE_NAMES if getattr(token, f"is_{role}")})
        return token.user, token
