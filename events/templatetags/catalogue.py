from django import template

from events.money import format_money

register = template.Library()


@register.filter
def money(amount_minor: int, currency: str) -> str:
    """{{ ticket_type.price_minor|money:event.currency }} → "£12.50" or "Free"."""
    return format_money(amount_minor, currency)
