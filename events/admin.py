from django.contrib import admin

from events.models import Event, TicketType


class TicketTypeInline(admin.TabularInline):
    model = TicketType
    extra = 0
    readonly_fields = ["sold_count", "held_count"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "organiser", "starts_at", "status", "currency"]
    list_filter = ["status", "currency"]
    search_fields = ["name", "venue_name", "organiser__email"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["organiser"]
    inlines = [TicketTypeInline]


@admin.register(TicketType)
class TicketTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "price_minor", "capacity", "sold_count", "held_count"]
    search_fields = ["name", "event__name"]
    raw_id_fields = ["event"]
    readonly_fields = ["sold_count", "held_count"]
