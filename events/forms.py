"""Forms for the organiser's event editor: an event and its ticket types, typed in the
event's own time zone and in major currency units, handed to services as plain values."""

import zoneinfo
from datetime import UTC, datetime
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from events.images import reencode_event_image
from events.models import Event, TicketType
from events.money import (
    CURRENCY_CHOICES,
    MAX_PRICE_MINOR,
    below_card_minimum,
    format_money,
    minimum_charge_minor,
    to_major_units,
    to_minor_units,
)
from events.services import EventDetails, TicketTypeSpec
from events.times import exists, is_ambiguous, occurrence_label, occurrences
from events.zones import time_zone_choices
from tickethub.fields import (
    IdField,
    MultiLineCharField,
    SingleLineCharField,
    StrictDecimalField,
    StrictIntegerField,
    check_in_window,
)

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class WallClockDateTimeField(forms.DateTimeField):
    """A date and time as read off a clock in the event's time zone (kept naive here; the
    form attaches the event's zone, not the server's)."""

    widget = DATETIME_INPUT

    def to_python(self, value):
        # DateTimeField.to_python would read the value in the server's zone (and refuse
        # times that zone skips); parse it as a plain wall-clock time instead.
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        if not str(value).isascii():  # the parsers below read any Unicode digits
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            result = parse_datetime(str(value).strip())
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if result is None:
            result = forms.fields.BaseTemporalField.to_python(self, value)
        return result.replace(tzinfo=None)


def attach_zone(wall_clock: datetime, zone: zoneinfo.ZoneInfo, *, fold: int | None = None):
    """The instant (in UTC) a wall-clock time names in ``zone``.

    Refuses a time the clocks skip when they go forward, and a time they pass twice when
    they go back unless ``fold`` says which (0 the first, 1 the second): never a guess.
    The result is in UTC because Python compares two times of one zone by their clock
    readings alone, fold ignored (01:45 EDT would count as after 01:30 EST).
    """
    day = f"{wall_clock:%H:%M} on {wall_clock:%a} {wall_clock.day} {wall_clock:%b %Y}"
    if not exists(wall_clock, zone):
        raise ValidationError(
            f"{day} does not exist in {zone.key}: the clocks go forward then and skip it. "
            "Choose a time before or after the change.",
            code="nonexistent",
        )
    if is_ambiguous(wall_clock, zone) and fold not in (0, 1):
        raise ValidationError(
            f"{day} happens twice in {zone.key}: the clocks go back then. "
            "Choose below which one you mean.",
            code="ambiguous",
        )
    chosen = fold if fold is not None and is_ambiguous(wall_clock, zone) else 0
    return wall_clock.replace(tzinfo=zone, fold=chosen).astimezone(UTC)


class FoldField(forms.TypedChoiceField):
    """Which of the two readings of a repeated wall-clock time is meant: shown beside its
    date-time field only when that time is ambiguous (see ``WallClockTimesMixin``)."""

    widget = forms.RadioSelect

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", [(0, "the first"), (1, "the second")])
        super().__init__(coerce=int, required=False, empty_value=None, **kwargs)


class WallClockTimesMixin:
    """For a form whose date-times are typed in the event's zone: each ``<name>`` has a
    ``<name>_fold`` choice, offered (in ``ambiguous_times``) only when the time is one the
    clocks pass twice."""

    wall_clock_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ambiguous_times: set[str] = set()

    def offer_fold_choice(self, field: str, wall_clock: datetime, zone: zoneinfo.ZoneInfo):
        first, second = occurrences(wall_clock, zone)
        self.fields[f"{field}_fold"].choices = [
            (0, f"{occurrence_label(first)}, the first"),
            (1, f"{occurrence_label(second)}, the second"),
        ]
        self.ambiguous_times.add(field)

    def offer_stored_fold_choices(self, zone: zoneinfo.ZoneInfo) -> None:
        """An unbound form showing stored times: a stored repeated time shows its reading."""
        for field in self.wall_clock_fields:
            stored = self.initial.get(field)
            if stored and is_ambiguous(stored, zone):
                self.offer_fold_choice(field, stored, zone)

    def attach_wall_clock(self, field: str, zone: zoneinfo.ZoneInfo) -> datetime:
        typed = self.cleaned_data[field]
        if is_ambiguous(typed, zone):
            self.offer_fold_choice(field, typed, zone)
        return attach_zone(typed, zone, fold=self.cleaned_data.get(f"{field}_fold"))


def check_changed_date_in_window(typed: datetime, stored: datetime | None) -> None:
    # A date kept as it was saved stays acceptable (an event from last year can still have
    # its description edited); a date typed now must fall in the window.
    if stored is None or typed != stored:
        check_in_window(typed)


def wall_clock(moment: datetime | None, zone: zoneinfo.ZoneInfo) -> datetime | None:
    # astimezone sets fold=1 on the second reading of a repeated hour, and replace keeps it.
    return moment.astimezone(zone).replace(tzinfo=None) if moment else None


def fold_of(moment: datetime | None, zone: zoneinfo.ZoneInfo) -> int | None:
    return moment.astimezone(zone).fold if moment else None


class EventForm(WallClockTimesMixin, forms.Form):
    wall_clock_fields = ("starts_at", "ends_at")

    name = SingleLineCharField(max_length=200)
    description = MultiLineCharField(
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Plain text; line breaks are kept.",
    )
    venue_name = SingleLineCharField(label="Venue", max_length=200)
    address = SingleLineCharField(max_length=300, required=False)
    timezone = forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        widget=forms.Select(attrs={"data-time-zone-picker": "true"}),
        initial=settings.TIME_ZONE,
        help_text="Start and end times are in this zone, and shown in it.",
    )
    starts_at = WallClockDateTimeField(label="Starts")
    ends_at = WallClockDateTimeField(label="Ends", required=False)
    starts_at_fold = FoldField(label="Which start time?")
    ends_at_fold = FoldField(label="Which end time?")
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial=settings.DEFAULT_CURRENCY)
    offer_window_minutes = StrictIntegerField(
        label="Offer window (minutes)",
        min_value=5,
        max_value=24 * 60,
        initial=30,
        help_text="How long a waiting-list offer holds its tickets: 5 minutes to 24 hours.",
    )
    image = forms.FileField(
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}
        ),
        help_text="JPEG, PNG, WebP or GIF, up to 5 MB.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored_zone = (self.initial or {}).get("timezone")
        self.fields["timezone"].choices = time_zone_choices(keep=stored_zone)
        if not stored_zone:
            # A new event: static/js/time-zone-picker.js preselects the browser's own zone.
            self.fields["timezone"].widget.attrs["data-preselect-browser-zone"] = "true"

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if not upload or not hasattr(upload, "size"):
            return None
        return reencode_event_image(upload)

    def clean(self):
        cleaned = super().clean()
        zone_name = cleaned.get("timezone")
        if not zone_name:
            return cleaned
        zone = zoneinfo.ZoneInfo(zone_name)
        for field in ("starts_at", "ends_at"):
            if cleaned.get(field):
                try:
                    check_changed_date_in_window(cleaned[field], self.initial.get(field))
                    cleaned[field] = self.attach_wall_clock(field, zone)
                except ValidationError as error:
                    self.add_error(field, error)
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "The event must end after it starts.")
        return cleaned

    def event_details(self) -> EventDetails:
        data = self.cleaned_data
        return EventDetails(
            name=data["name"],
            description=data["description"],
            venue_name=data["venue_name"],
            address=data["address"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            timezone=data["timezone"],
            currency=data["currency"],
            offer_window_minutes=data["offer_window_minutes"],
        )

    @classmethod
    def initial_for(cls, event: Event) -> dict:
        return {
            "name": event.name,
            "description": event.description,
            "venue_name": event.venue_name,
            "address": event.address,
            "timezone": event.timezone,
            "starts_at": wall_clock(event.starts_at, event.zone),
            "starts_at_fold": fold_of(event.starts_at, event.zone),
            "ends_at": wall_clock(event.ends_at, event.zone),
            "ends_at_fold": fold_of(event.ends_at, event.zone),
            "currency": event.currency,
            "offer_window_minutes": event.offer_window_minutes,
        }


class TicketTypeForm(WallClockTimesMixin, forms.Form):
    wall_clock_fields = ("sale_starts_at", "sale_ends_at")

    ticket_type_id = IdField(required=False)
    name = SingleLineCharField(max_length=100)
    price = StrictDecimalField(
        min_value=Decimal(0),
        max_digits=10,
        decimal_places=2,
        help_text="0 for a free ticket.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    capacity = StrictIntegerField(min_value=1, max_value=1_000_000)
    sale_starts_at = WallClockDateTimeField(label="On sale from", required=False)
    sale_ends_at = WallClockDateTimeField(label="On sale until", required=False)
    sale_starts_at_fold = FoldField(label="Which sale start?")
    sale_ends_at_fold = FoldField(label="Which sale end?")
    max_per_entry = StrictIntegerField(
        label="Most per request",
        min_value=1,
        max_value=50,
        initial=4,
        help_text="Tickets one waiting-list request may ask for.",
    )
    max_per_buyer = StrictIntegerField(
        label="Most per buyer",
        min_value=1,
        max_value=50,
        initial=4,
        help_text="Tickets one buyer may hold or wait for.",
    )

    def clean(self):
        cleaned = super().clean()
        per_entry, per_buyer = cleaned.get("max_per_entry"), cleaned.get("max_per_buyer")
        if per_entry and per_buyer and per_entry > per_buyer:
            self.add_error("max_per_entry", "Can't be more than the limit per buyer.")
        return cleaned

    @classmethod
    def initial_for(cls, ticket_type: TicketType, event: Event) -> dict:
        return {
            "ticket_type_id": ticket_type.pk,
            "name": ticket_type.name,
            "price": to_major_units(ticket_type.price_minor, event.currency),
            "capacity": ticket_type.capacity,
            "sale_starts_at": wall_clock(ticket_type.sale_starts_at, event.zone),
            "sale_starts_at_fold": fold_of(ticket_type.sale_starts_at, event.zone),
            "sale_ends_at": wall_clock(ticket_type.sale_ends_at, event.zone),
            "sale_ends_at_fold": fold_of(ticket_type.sale_ends_at, event.zone),
            "max_per_entry": ticket_type.max_per_entry,
            "max_per_buyer": ticket_type.max_per_buyer,
        }


class BaseTicketTypeFormSet(forms.BaseFormSet):
    default_error_messages = {
        **forms.BaseFormSet.default_error_messages,
        "too_few_forms": "An event needs at least one ticket type.",
        "too_many_forms": "An event can have at most %(num)d ticket types.",
    }


TicketTypeFormSet = forms.formset_factory(
    TicketTypeForm,
    formset=BaseTicketTypeFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=20,
    validate_max=True,
    can_delete=True,
)


class EventEditor:
    """The event form and its ticket type forms, validated together because prices and
    sale windows depend on the event's currency and time zone."""

    def __init__(self, data=None, files=None, *, event: Event | None = None):
        event_initial = EventForm.initial_for(event) if event else None
        types_initial = (
            [TicketTypeForm.initial_for(t, event) for t in event.ticket_types.all()]
            if event
            else [
                {
                    "name": "General admission",
                    "capacity": 100,
                    "price": Decimal("10.00"),
                    "max_per_entry": 4,
                    "max_per_buyer": 4,
                }
            ]
        )
        self.event_form = EventForm(data, files, initial=event_initial)
        self.ticket_type_forms = TicketTypeFormSet(data, initial=types_initial, prefix="types")
        self.ticket_type_specs: list[TicketTypeSpec] = []
        if event and data is None:
            for form in [self.event_form, *self.ticket_type_forms.forms]:
                form.offer_stored_fold_choices(event.zone)

    def is_valid(self) -> bool:
        event_ok = self.event_form.is_valid()
        types_ok = self.ticket_type_forms.is_valid()
        if not (event_ok and types_ok):
            return False
        zone = zoneinfo.ZoneInfo(self.event_form.cleaned_data["timezone"])
        currency = self.event_form.cleaned_data["currency"]
        specs = []
        for form in self.ticket_type_forms.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            spec = self._spec_from(form, zone=zone, currency=currency)
            if spec is not None:
                specs.append(spec)
        if not specs and not self.ticket_type_forms.non_form_errors():
            self.ticket_type_forms._non_form_errors = self.ticket_type_forms.error_class(
                ["An event needs at least one ticket type."]
            )
        self.ticket_type_specs = specs
        return not any(form.errors for form in self.ticket_type_forms.forms) and bool(specs)

    def _spec_from(self, form: TicketTypeForm, *, zone, currency: str) -> TicketTypeSpec | None:
        data = form.cleaned_data
        try:
            price_minor = to_minor_units(data["price"], currency)
        except ValueError as error:
            form.add_error("price", str(error))
            return None
        if price_minor > MAX_PRICE_MINOR:
            form.add_error("price", "This price is too high.")
            return None
        if below_card_minimum(price_minor, currency):
            minimum = format_money(minimum_charge_minor(currency), currency)
            form.add_error(
                "price",
                f"Card payments in {currency} start at {minimum}: "
                f"charge at least {minimum}, or 0 for a free ticket.",
            )
            return None
        window = {}
        for field in ("sale_starts_at", "sale_ends_at"):
            window[field] = None
            if data.get(field):
                try:
                    check_changed_date_in_window(data[field], form.initial.get(field))
                    window[field] = form.attach_wall_clock(field, zone)
                except ValidationError as error:
                    form.add_error(field, error)
                    return None
        starts, ends = window["sale_starts_at"], window["sale_ends_at"]
        if starts and ends and ends <= starts:
            form.add_error("sale_ends_at", "The sale must end after it starts.")
            return None
        return TicketTypeSpec(
            name=data["name"],
            price_minor=price_minor,
            capacity=data["capacity"],
            ticket_type_id=data.get("ticket_type_id"),
            max_per_entry=data["max_per_entry"],
            max_per_buyer=data["max_per_buyer"],
            **window,
        )
