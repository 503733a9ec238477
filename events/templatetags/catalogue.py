from django import template

from events.money import format_money

register = template.Library()


@register.filter
def money(amount_minor: int, currency: str) -> str:
    """{{ ticket_type.price_minor|money:event.currency }} → "£12.50" or "Free"."""
    return format_money(amount_minor, currency)


@register.filter
def money_times(amount_minor: int, quantity: int) -> int:
    """{{ unit_minor|money_times:quantity|money:currency }}: a line total in minor units."""
    return int(amount_minor) * int(quantity)
