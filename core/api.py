"""The API's shared plumbing: authentication, permissions, body limits, pagination, documented
errors. Every app's API views derive from `BaseAPIView`."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.authentication import StaffTokenAuthentication
from core.errors import BoundedJSONParser, PayloadTooLarge, PermissionDenied
from core.roles import may_act, user_center_id, user_roles
from core.validation import validated

# --- authentication and permissions -------------------------------------------------------


class IsStaff(BasePermission):
    """A signed-in member of staff: has a role and belongs to a center (or is a superuser)."""

    message = "Only staff of a service center may use this endpoint."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        return bool(user_roles(user)) and (user.is_superuser or user_center_id(user) is not None)


class RenderedJSONResponse(Response):
    """A JSON answer whose body is already rendered (a cached one): DRF's finalising runs as for
    any Response (headers, content type), its rendering does not. `.data` parses the body."""

    def __init__(self, body: bytes, status: int = 200) -> None:
        self._rendered_body = body
        super().__init__(status=status)

    @property
    def data(self) -> Any:
        return json.loads(self._rendered_body)

    @data.setter
    def data(self, value: Any) -> None:  # Response.__init__ sets it; the body is the data
        pass

    @property
    def rendered_content(self) -> bytes:
        self["Content-Type"] = JSONRenderer.media_type
        return self._rendered_body


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class BlockerSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """Every error: a stable `code`, a human `detail`, and what else helps (errors, blockers)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    blockers = BlockerSerializer(many=True, required=False)
    retry_after = serializers.IntegerField(required=False)


STAFF_ERRORS = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429)
PUBLIC_ERRORS = (400, 404, 405, 409, 413, 415, 422, 429)


def responses(ok: dict[int, Any], errors: tuple[int, ...] = STAFF_ERRORS) -> dict[int, Any]:
    """extend_schema responses: the success answers plus the documented JSON errors."""
    return {**ok, **{code: ErrorSerializer for code in errors}}


class BaseAPIView(GenericAPIView):
    # JSON only, bounded bodies, staff only. Subclasses pick serializers and document schemas.

    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [IsStaff]
    pagination_class = Pagination
    metadata_class = None  # OPTIONS answers 405 JSON; the schema at /api/schema/ documents us

    def initialize_request(self, request, *args, **kwargs):
        self.http_request = request  # Django's request, for what needs it rather than DRF's
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                self.http_request.body  # noqa: B018 - reading it enforces DATA_UPLOAD_MAX_MEMORY_SIZE
            except RequestDataTooBig:
                raise PayloadTooLarge() from None

    def input(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        """The request body, checked for shape and types (the services check meaning)."""
        return validated(serializer_class, self.request.data, self.get_serializer_context())

    def paginated(self, queryset, serializer_class, **context) -> Response:
        page = self.paginate_queryset(queryset)
        items = serializer_class(
            page, many=True, context={**self.get_serializer_context(), **context}
        )
        return self.get_paginated_response(items.data)

    # GenericAPIView wants these for the schema; our views pick serializers explicitly.
    def get_queryset(self):  # pragma: no cover - not used for object lookup
        return []


def staff_center_id(user: Any) -> int | None:
    """The center a staff member works at (None: a superuser without one sees every center)."""
    return user_center_id(user)


def require_action(user: Any, name: str, center_id: int | None = None) -> None:
    """403 unless the user's role may do `name` (an ACTION_ACTORS entry) at their center."""
    center = center_id if center_id is not None else staff_center_id(user)
    if not may_act(user, name, center):
        raise PermissionDenied("Your role may not do this.")
