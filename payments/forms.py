from typing import Any

from django import forms

from tickets.models import Ticket


class RefundForm(forms.Form):
    """Which of an order's tickets to refund: all it still has, or those ticked. Only
    tickets that can be refunded now are choices; the service checks again under lock."""

    WHOLE, SELECTED = "whole", "selected"

    scope = forms.ChoiceField(choices=[(WHOLE, "The whole order"), (SELECTED, "Ticked tickets")])
    tickets = forms.TypedMultipleChoiceField(coerce=int, required=False)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, refundable: list[Ticket], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refundable = refundable
        self.fields["tickets"].choices = [
            (ticket.pk, f"Ticket {ticket.position_in_order}") for ticket in refundable
        ]

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if cleaned.get("scope") == self.WHOLE and not self.refundable:
            raise forms.ValidationError("This order has no ticket left to refund.")
        if cleaned.get("scope") == self.SELECTED and not cleaned.get("tickets"):
            raise forms.ValidationError("Tick at least one ticket to refund.")
        return cleaned

    def ticket_ids(self) -> list[int] | None:
        """The ticked tickets, or None for the whole order."""
        if self.cleaned_data["scope"] == self.WHOLE:
            return None
        return list(self.cleaned_data["tickets"])

    def chosen_tickets(self) -> list[Ticket]:
        wanted = self.ticket_ids()
        return [t for t in self.refundable if wanted is None or t.pk in wanted]

    def amount_minor(self) -> int:
        return sum(ticket.amount_minor for ticket in self.chosen_tickets())
