from django import forms


class JoinForm(forms.Form):
    ticket_type_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    quantity = forms.IntegerField(
        min_value=1,
        max_value=50,
        initial=1,
        label="Tickets",
        error_messages={"min_value": "Choose at least one ticket."},
    )
