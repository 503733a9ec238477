from django.urls import path

from payments import views

urlpatterns = [
    path("organiser/get-paid/", views.get_paid, name="payments_get_paid"),
    path("organiser/get-paid/start/", views.start_onboarding, name="payments_start_onboarding"),
    path("organiser/get-paid/return/", views.onboarding_return, name="payments_onboarding_return"),
    path(
        "organiser/get-paid/refresh/", views.onboarding_refresh, name="payments_onboarding_refresh"
    ),
    path("organiser/get-paid/dashboard/", views.express_dashboard, name="payments_dashboard"),
    path(
        "organiser/events/<id:event_id>/orders/",
        views.event_orders,
        name="payments_event_orders",
    ),
    path("organiser/events/<id:event_id>/cancel/", views.event_cancel, name="event_cancel"),
    path(
        "organiser/events/<id:event_id>/cancellation/",
        views.event_cancellation,
        name="event_cancellation",
    ),
    path(
        "organiser/events/<id:event_id>/cancellation/panel/",
        views.event_cancellation_panel,
        name="event_cancellation_panel",
    ),
    path("organiser/orders/<id:order_id>/refund/", views.refund_order, name="payments_refund"),
    path(
        "organiser/refunds/<id:refund_id>/retry/",
        views.retry_failed_refund,
        name="payments_retry_refund",
    ),
    path(
        "organiser/refunds/<id:refund_id>/settle/",
        views.settle_outside_refund_view,
        name="payments_settle_outside_refund",
    ),
    path("offers/<id:entry_id>/checkout/", views.checkout, name="checkout"),
    path(
        "offers/<id:entry_id>/checkout/cancelled/",
        views.checkout_cancelled,
        name="checkout_cancelled",
    ),
    path("checkout/success/", views.checkout_success, name="checkout_success"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
