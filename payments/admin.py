from django.contrib import admin

from payments.models import ConnectedAccount, Order, Refund, StripeEvent

admin.site.register(ConnectedAccount)
admin.site.register(Order)


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("stripe_event_id", "type", "received_at", "processed_at", "unprocessable")
    list_filter = ("unprocessable", "type")
    search_fields = ("stripe_event_id", "account")
    readonly_fields = ("last_error",)


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ("pk", "order", "amount_minor", "currency", "status", "failed_after_success")
    list_filter = ("status", "failed_after_success")
    search_fields = ("stripe_refund_id", "idempotency_key")
