from django import template
from django.utils.html import format_html

from events.money import format_money
from events.times import format_event_time, same_local_day, zone_of

register = template.Library()


@register.filter
def money(amount_minor: int, currency: str) -> str:
    """{{ ticket_type.price_minor|money:event.currency }} → "£12.50" or "Free"."""
    return format_money(amount_minor, currency)


@register.filter
def money_times(amount_minor: int, quantity: int) -> int:
    """{{ unit_minor|money_times:quantity|money:currency }}: a line total in minor units."""
    return int(amount_minor) * int(quantity)


@register.simple_tag
def event_time(moment, event, after=None):
    """{% event_time event.starts_at event %} → <time datetime="2027-06-12T19:30:00+01:00"
    data-zone="Europe/London">Sat 12 Jun 2027, 19:30 BST (Europe/London)</time>.

    ``event`` is an event or a zone name. With ``after`` (the start, for an end time), a
    time on the same local day shows only its clock time. static/js/viewer-time.js adds the
    viewer's own time beside it where their browser's zone differs.
    """
    if not moment:
        return ""
    zone = zone_of(event)
    time_only = after is not None and same_local_day(after, moment, zone)
    return format_html(
        '<time datetime="{}" data-zone="{}">{}</time>',
        moment.astimezone(zone).isoformat(),
        zone.key,
        format_event_time(moment, zone, time_only=time_only),
    )


@register.filter
def in_event_zone(moment, event) -> str:
    """{{ entry.expires_at|in_event_zone:event }} for plain text (e-mails): "Sat 12 Jun
    2027, 19:30 BST (Europe/London)"."""
    return format_event_time(moment, event) if moment else ""
