"""Staff endpoints for repairs: list, detail, transitions, notes, calls, promises."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.api import (
    BaseAPIView,
    RenderedJSONResponse,
    responses,
    staff_center_id,
)
from core.errors import PermissionDenied
from core.idempotency import idempotent
from service_center.models import ServiceCenter
from workflows import detail_cache, registry, selectors, services
from workflows.api.serializers import (
    EventSerializer,
    PromiseSerializer,
    RepairDetailSerializer,
    RepairListItemSerializer,
)
from workflows.inputs import (
    CallInSerializer,
    CourierReturnInSerializer,
    EmptyInSerializer,
    IntakeInSerializer,
    NoteInSerializer,
    PromiseInSerializer,
)
from workflows.roles import actor_may

# --- staff views ---------------------------------------------------------------------------------


class RepairViewMixin:
    def detail(self, ticket_number: str, status: int = 200) -> Response:
        repair = selectors.repair_detail_get(user=self.request.user, ticket_number=ticket_number)
        data = RepairDetailSerializer(repair, context=self.get_serializer_context()).data
        return Response(data, status=status)

    def repair_for(self, ticket_number: str, action: str):
        """The repair (404 for another center's) once the user's role may do `action` on it."""
        repair = selectors.repair_get_for_action(
            user=self.request.user, ticket_number=ticket_number
        )
        if not actor_may(self.request.user, repair, action):
            raise PermissionDenied(f"Your role may not {action.replace('_', ' ')} this repair.")
        return repair


_LIST_PARAMS = [
    OpenApiParameter("state", OpenApiTypes.STR, description="A state, or several separated by ,"),
    OpenApiParameter("technician", OpenApiTypes.STR, description="A username, `me` or `none`"),
    OpenApiParameter(
        "overdue", OpenApiTypes.BOOL, description="Only repairs with overdue promises"
    ),
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description="Search: ticket, phone digits, customer name, serial, model code or name "
        "(any state; at most 100 characters)",
    ),
]


class RepairListView(RepairViewMixin, BaseAPIView):
    @extend_schema(
        parameters=_LIST_PARAMS,
        responses=responses({200: RepairListItemSerializer(many=True)}),
        tags=["repairs"],
    )
    def get(self, request):
        query = request.query_params
        repairs = selectors.repair_list(
            user=request.user,
            state=query.get("state"),
            technician=query.get("technician"),
            overdue=query.get("overdue", "").lower() in ("true", "1", "yes"),
            query=query.get("q"),
        )
        return self.paginated(repairs, RepairListItemSerializer)

    @extend_schema(
        request=IntakeInSerializer,
        responses=responses({201: RepairDetailSerializer}),
        tags=["repairs"],
    )
    @idempotent
    def post(self, request):
        center = ServiceCenter.objects.filter(pk=staff_center_id(request.user)).first()
        if center is None:
            raise PermissionDenied("Only staff of a service center take repairs in.")
        repair = services.repair_intake(
            center=center, actor=request.user, **self.input(IntakeInSerializer)
        )
        return self.detail(repair.ticket_number, status=201)


class RepairDetailView(RepairViewMixin, BaseAPIView):
    @extend_schema(responses=responses({200: RepairDetailSerializer}), tags=["repairs"])
    def get(self, request, ticket_number: str):
        # The visibility check runs every time; only then is a cached body looked up
        # (workflows/detail_cache.py says what it is keyed by and what drops it).
        visible = selectors.repair_visible(user=request.user, ticket_number=ticket_number)
        found = detail_cache.Lookup(visible, request.user)
        if found.body is None:
            repair = selectors.repair_detail_row(user=request.user, ticket_number=ticket_number)
            selectors.repair_detail_fill(repair)
            data = RepairDetailSerializer(repair, context=self.get_serializer_context()).data
            found.body = JSONRenderer().render(data)
            found.store(found.body, detail_cache.ttl_for(repair))
        return RenderedJSONResponse(found.body)


class RepairTransitionView(RepairViewMixin, BaseAPIView):
    transition_name = ""

    @idempotent
    def post(self, request, ticket_number: str):
        name = self.transition_name
        repair = self.repair_for(ticket_number, name)
        data = self.input(registry.TRANSITIONS[name].input_serializer)
        services.repair_transition(repair=repair.pk, name=name, actor=request.user, data=data)
        return self.detail(ticket_number)


def transition_view(name: str):
    """One view class per transition, so the schema shows each transition's own fields."""

    @extend_schema(
        request=registry.TRANSITIONS[name].input_serializer,
        responses=responses({200: RepairDetailSerializer}),
        operation_id=f"repairs_transition_{name}",
        description=f"Run `{name}`. 409 `transition_blocked` lists the blockers.",
        tags=["transitions"],
    )
    def post(self, request, ticket_number: str):
        return RepairTransitionView.post(self, request, ticket_number)

    return type(
        f"Repair{name.title().replace('_', '')}View",
        (RepairTransitionView,),
        {"transition_name": name, "post": post},
    )


def action_view(
    name: str,
    action: str,
    input_serializer: type[serializers.Serializer],
    output_serializer: type[serializers.Serializer],
    status: int = 201,
) -> type[BaseAPIView]:
    """A timeline action on a repair, declared: the role check, the input checked once here (the
    pages check it with the same serializer), the service `repair_<action>` with typed values,
    the answer. URL ids (a promise's) go to the service as they are."""

    @extend_schema(
        request=input_serializer,
        responses=responses({status: output_serializer}),
        tags=["repairs"],
    )
    @idempotent
    def post(self, request, ticket_number: str, **ids: int) -> Response:
        repair = self.repair_for(ticket_number, action)
        data = self.input(input_serializer)
        result = getattr(services, f"repair_{action}")(
            repair=repair.pk, actor=request.user, **ids, **data
        )
        return Response(output_serializer(result).data, status=status)

    return type(name, (RepairViewMixin, BaseAPIView), {"post": post, "__module__": __name__})


RepairNoteView = action_view("RepairNoteView", "add_note", NoteInSerializer, EventSerializer)
RepairCallView = action_view("RepairCallView", "record_call", CallInSerializer, EventSerializer)
RepairPromiseView = action_view(
    "RepairPromiseView", "record_promise", PromiseInSerializer, PromiseSerializer
)
RepairPromiseFulfilView = action_view(
    "RepairPromiseFulfilView", "fulfil_promise", EmptyInSerializer, PromiseSerializer, status=200
)


class RepairCourierReturnView(RepairViewMixin, BaseAPIView):
    @extend_schema(
        request=CourierReturnInSerializer,
        responses=responses({200: RepairDetailSerializer}),
        tags=["repairs"],
    )
    @idempotent
    def post(self, request, ticket_number: str):
        repair = self.repair_for(ticket_number, "request_courier_return")
        services.repair_request_courier_return(
            repair=repair.pk, actor=request.user, **self.input(CourierReturnInSerializer)
        )
        return self.detail(ticket_number)
