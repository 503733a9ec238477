from django import forms

from tickethub.fields import IdField, StrictIntegerField


class JoinForm(forms.Form):
    ticket_type_id = IdField()
    quantity = StrictIntegerField(
        min_value=1,
        max_value=50,
        initial=1,
        label="Tickets",
        error_messages={"min_value": "Choose at least one ticket."},
    )
