"""The HTML pages: staff sign-in, the desk, the technicians, the customers' status page."""

from django.urls import include, path

from service_center import views as staff_views
from workflows import views
from workflows.views import evidence as photo_views_page
from workflows.views import manager as manager_views
from workflows.views import messages as message_views
from workflows.views import payments as payment_views
from workflows.views import photos as photo_views
from workflows.views import stock as stock_views
from workflows.views import visits as visit_views

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", staff_views.LoginView.as_view(), name="login"),
    path("logout/", staff_views.LogoutView.as_view(), name="logout"),
    path("", staff_views.home, name="home"),
    # The desk
    path("desk/", views.desk_board, name="desk-board"),
    path("desk/intake/", views.desk_intake, name="desk-intake"),
    path("desk/lookup/serial/", views.lookup_serial, name="lookup-serial"),
    path("desk/lookup/customer/", views.lookup_customer, name="lookup-customer"),
    path("desk/calls/", views.desk_calls, name="desk-calls"),
    path("desk/parts-orders/", views.parts_orders, name="parts-orders"),
    path(
        "desk/parts-orders/<int:order_id>/receive/",
        views.parts_order_receive,
        name="parts-order-receive",
    ),
    path("desk/parts-orders/<int:order_id>/ship/", views.parts_order_ship, name="parts-order-ship"),
    path(
        "desk/parts-orders/<int:order_id>/cancel/",
        views.parts_order_cancel,
        name="parts-order-cancel",
    ),
    path("desk/stock/", stock_views.stock_page, name="desk-stock"),
    path("desk/stock/adjust/", stock_views.stock_adjust, name="desk-stock-adjust"),
    path("desk/stock/transfer/", stock_views.stock_transfer, name="desk-stock-transfer"),
    path("desk/repairs/", views.desk_repairs, name="desk-repairs"),
    path("desk/repairs/<str:ticket>/", views.desk_repair, name="desk-repair"),
    path("desk/repairs/<str:ticket>/visit/", visit_views.desk_book_visit, name="desk-book-visit"),
    path("desk/repairs/<str:ticket>/payments/", payment_views.repair_payment, name="desk-payment"),
    path("desk/repairs/<str:ticket>/refunds/", payment_views.repair_refund, name="desk-refund"),
    path(
        "repairs/<str:ticket>/photos/",
        photo_views_page.repair_add_photos,
        name="repair-photos",
    ),
    path(
        "photos/<int:photo_id>/<str:variant>/",
        photo_views.IntakePhotoFileView.as_view(),
        name="intake-photo",
    ),
    # The manager's message editor
    path("manager/messages/", message_views.messages_list, name="manager-messages"),
    path(
        "manager/messages/<str:kind>/<str:language>/",
        message_views.message_edit,
        name="manager-message",
    ),
    path(
        "manager/messages/<str:kind>/<str:language>/preview/",
        message_views.message_preview,
        name="manager-message-preview",
    ),
    # Managers
    path("manager/", manager_views.manager_reports, name="manager-reports"),
    # Technicians
    path("tech/", views.tech_home, name="tech-home"),
    path("tech/repairs/<str:ticket>/", views.tech_repair, name="tech-repair"),
    # The public status page
    path("status/", views.status_lookup, name="status-lookup"),
    path("status/t/<str:token>/", views.status_page, name="status-token"),
    path("status/t/<str:token>/approve/", views.status_approve, name="status-approve"),
    path("status/t/<str:token>/decline/", views.status_decline, name="status-decline"),
    path("status/t/<str:token>/courier/", views.status_courier, name="status-courier"),
    path("status/t/<str:token>/book/", views.status_book, name="status-book"),
]

# Writes on a repair, the same under /desk/ and /tech/ (the page they redirect back to differs).
for area in ("desk", "tech"):
    urlpatterns += [
        path(
            f"{area}/repairs/<str:ticket>/transitions/<str:name>/",
            views.repair_transition,
            name=f"{area}-transition",
        ),
        path(f"{area}/repairs/<str:ticket>/note/", views.repair_note, name=f"{area}-note"),
        path(f"{area}/repairs/<str:ticket>/call/", views.repair_call, name=f"{area}-call"),
        path(f"{area}/repairs/<str:ticket>/promise/", views.repair_promise, name=f"{area}-promise"),
        path(
            f"{area}/repairs/<str:ticket>/promises/<int:promise_id>/kept/",
            views.repair_fulfil,
            name=f"{area}-fulfil",
        ),
    ]
