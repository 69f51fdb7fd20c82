"""Every route under /api/: the v1 endpoints, the OpenAPI schema and the offline Swagger UI.
Anything else under /api/ answers a JSON 404 (never Django's HTML page)."""

from collections.abc import Callable, Iterable

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.errors import api_not_found
from parts import api as parts_api
from service_center import api as center_api
from workflows import api
from workflows.api import appointments as appointments_api
from workflows.api import payments as payments_api
from workflows.api import photos as photos_api
from workflows.api import reports as reports_api
from workflows.api import stock as stock_api
from workflows.registry import STAFF_TRANSITIONS

V1 = "api/v1/"
REPAIR = V1 + "repairs/<str:ticket_number>/"
ORDER = V1 + "parts-orders/<int:order_id>/"


def transition_routes(
    prefix: str, names: Iterable[str], view_for: Callable[[str], type], route_name: str
) -> list:
    """`POST {prefix}transitions/{name}/` for each name, served by `view_for(name)`."""
    return [
        path(
            prefix + f"transitions/{name}/",
            view_for(name).as_view(),
            name=f"{route_name}-{name}",
        )
        for name in names
    ]


urlpatterns = [
    # First: the lookup a whole country's customers make after an SMS resolves at once.
    path(V1 + "public/status/", api.PublicStatusView.as_view(), name="api-public-status"),
    path(V1 + "auth/token/", center_api.TokenView.as_view(), name="api-token"),
    path(V1 + "serials/<str:serial>/", center_api.SerialView.as_view(), name="api-serial"),
    path(V1 + "customers/", center_api.CustomerListView.as_view(), name="api-customers"),
    path(
        V1 + "product-models/", center_api.ProductModelListView.as_view(), name="api-product-models"
    ),
    path(V1 + "devices/", center_api.DeviceCreateView.as_view(), name="api-devices"),
    path(V1 + "repairs/", api.RepairListView.as_view(), name="api-repairs"),
    path(REPAIR, api.RepairDetailView.as_view(), name="api-repair"),
    *transition_routes(REPAIR, STAFF_TRANSITIONS, api.transition_view, "api-repair"),
    path(REPAIR + "slots/", appointments_api.RepairSlotsView.as_view(), name="api-repair-slots"),
    path(REPAIR + "notes/", api.RepairNoteView.as_view(), name="api-repair-notes"),
    path(REPAIR + "calls/", api.RepairCallView.as_view(), name="api-repair-calls"),
    path(REPAIR + "promises/", api.RepairPromiseView.as_view(), name="api-repair-promises"),
    path(
        REPAIR + "promises/<int:promise_id>/fulfil/",
        api.RepairPromiseFulfilView.as_view(),
        name="api-repair-promise-fulfil",
    ),
    path(
        REPAIR + "courier-return/",
        api.RepairCourierReturnView.as_view(),
        name="api-repair-courier-return",
    ),
    path(REPAIR + "photos/", photos_api.RepairPhotosView.as_view(), name="api-repair-photos"),
    path(
        REPAIR + "payments/", payments_api.RepairPaymentsView.as_view(), name="api-repair-payments"
    ),
    path(REPAIR + "refunds/", payments_api.RepairRefundsView.as_view(), name="api-repair-refunds"),
    path(V1 + "parts/", parts_api.PartListView.as_view(), name="api-parts"),
    path(V1 + "stock/", parts_api.StockListView.as_view(), name="api-stock"),
    path(V1 + "stock/adjust/", api.StockAdjustView.as_view(), name="api-stock-adjust"),
    path(V1 + "stock/transfer/", stock_api.StockTransferView.as_view(), name="api-stock-transfer"),
    path(
        V1 + "stock/movements/",
        parts_api.StockMovementListView.as_view(),
        name="api-stock-movements",
    ),
    path(V1 + "parts-orders/", api.PartsOrderListView.as_view(), name="api-parts-orders"),
    *transition_routes(ORDER, api.ORDER_TRANSITIONS, api.order_transition_view, "api-parts-order"),
    path(V1 + "reports/repairs.csv", reports_api.RepairsCsvView.as_view(), name="api-reports-csv"),
    path(V1 + "public/slots/", appointments_api.PublicSlotsView.as_view(), name="api-public-slots"),
    path(V1 + "public/book/", appointments_api.PublicBookView.as_view(), name="api-public-book"),
    path(V1 + "public/approve/", api.PublicApproveView.as_view(), name="api-public-approve"),
    path(V1 + "public/decline/", api.PublicDeclineView.as_view(), name="api-public-decline"),
    path(
        V1 + "public/courier-return/",
        api.PublicCourierReturnView.as_view(),
        name="api-public-courier-return",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", csrf_exempt(api_not_found), name="api-not-found"),
]
