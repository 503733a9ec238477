import pytest
from django.urls import reverse

from events.forms import EventForm
from events.zones import canonical_time_zones, time_zone_choices
from tests.factories import EventFactory


def test_only_canonical_regional_zones_and_utc_are_offered():
    zones = canonical_time_zones()
    assert {"Europe/London", "America/New_York", "America/Argentina/Buenos_Aires"} <= zones
    assert {"Asia/Kolkata", "Pacific/Auckland", "UTC"} <= zones
    for not_a_place in ("localtime", "Factory", "EST5EDT", "posixrules", "Etc/GMT+5"):
        assert not_a_place not in zones
    for backward_link in ("US/Eastern", "Asia/Calcutta", "GB", "Europe/Kiev"):
        assert backward_link not in zones


def test_choices_are_grouped_by_region_with_readable_places():
    choices = time_zone_choices()
    assert choices[0] == ("UTC", "UTC")
    groups = dict(choices[1:])
    assert ("America/Argentina/Buenos_Aires", "Argentina / Buenos Aires") in groups["America"]
    assert ("Europe/London", "London") in groups["Europe"]
    assert sum(len(members) for members in groups.values()) + 1 == len(canonical_time_zones())


def test_a_new_event_form_asks_the_browser_for_its_zone_and_an_old_link_stays_selectable():
    new = EventForm()
    assert new.fields["timezone"].widget.attrs["data-preselect-browser-zone"] == "true"
    stored = EventForm(initial={"timezone": "US/Eastern"})
    assert "data-preselect-browser-zone" not in stored.fields["timezone"].widget.attrs
    assert ("Other", [("US/Eastern", "US/Eastern")]) in stored.fields["timezone"].choices


@pytest.mark.django_db
def test_the_editor_shows_zones_grouped_with_the_picker_script(client, organiser):
    client.force_login(organiser)
    html = client.get(reverse("event_create")).content.decode()
    assert '<optgroup label="Europe">' in html
    assert 'data-time-zone-picker="true"' in html
    assert "js/time-zone-picker.js" in html
    assert '<option value="localtime"' not in html


@pytest.mark.django_db
def test_an_event_in_a_legacy_zone_can_still_be_edited(client, organiser):
    event = EventFactory(organiser=organiser, timezone="US/Eastern")
    client.force_login(organiser)
    html = client.get(reverse("event_edit", args=[event.pk])).content.decode()
    assert '<option value="US/Eastern" selected>' in html
