from django.contrib import admin

from tickets.models import Ticket


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["pk", "ticket_type", "owner", "status", "amount_minor", "currency", "issued_at"]
    list_filter = ["status"]
    search_fields = ["owner__email", "ticket_type__name", "ticket_type__event__name"]
    raw_id_fields = ["owner", "ticket_type"]
    readonly_fields = ["amount_minor", "currency", "issued_at"]
