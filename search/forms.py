from django import forms

from search.query import MAX_QUERY_CHARS
from search.selectors import SearchFilters
from tickethub.fields import StrictIntegerField, WindowedDateField

MAX_PRICE = 1_000_000


class SearchForm(forms.Form):
    """The filters of a search. The text itself (``q``) is not a field: it is never
    refused, only cut to 200 characters (see ``query_text``)."""

    # Past events stay findable for longer than they stay editable.
    date_from = WindowedDateField(
        years_back=10,
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = WindowedDateField(
        years_back=10,
        required=False,
        label="Until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    max_price = StrictIntegerField(
        required=False,
        min_value=0,
        max_value=MAX_PRICE,
        label="Price up to",
        help_text="In the event's currency.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    free_only = forms.BooleanField(required=False, label="Free only")
    with_tickets = forms.BooleanField(required=False, label="Tickets available")
    include_past = forms.BooleanField(required=False, label="Include past events")

    def query_text(self) -> str:
        # NUL is the one character no database accepts in text; everything else is text.
        return str(self.data.get("q", "")).replace("\x00", "")[:MAX_QUERY_CHARS]

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_to < date_from:
            self.add_error("date_to", "Pick a day on or after the first one.")
        return cleaned

    def filters(self) -> SearchFilters:
        """The valid filters (call after is_valid()); an invalid one is left out, and its
        error is shown beside it."""
        cleaned = self.cleaned_data
        return SearchFilters(
            date_from=cleaned.get("date_from"),
            date_to=cleaned.get("date_to"),
            max_price=0 if cleaned.get("free_only") else cleaned.get("max_price"),
            with_tickets=bool(cleaned.get("with_tickets")),
            include_past=bool(cleaned.get("include_past")),
        )
