"""The time zones an organiser can pick: canonical IANA zones, grouped by region.

``zoneinfo.available_timezones()`` also lists files no person means: ``localtime`` (the
server's own zone), ``Factory``, POSIX rules such as ``EST5EDT``, and backward-compatible
links (``US/Eastern``, ``Asia/Calcutta``). Only the zones the tz database defines in its own
right under a geographic region are offered, plus UTC.
"""

import zoneinfo
from functools import cache
from pathlib import Path

REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
UTC = "UTC"


@cache
def canonical_time_zones() -> frozenset[str]:
    available = zoneinfo.available_timezones()
    defined = _zones_defined_in_tzdata() or available
    regional = {name for name in defined & available if name.split("/", 1)[0] in REGIONS}
    return frozenset(regional | {UTC})


def _zones_defined_in_tzdata() -> set[str]:
    """Names on the tz database's ``Z`` (zone) lines, where a compiled ``tzdata.zi`` is found
    (Debian's tzdata, most systems); links are ``L`` lines and are left out."""
    for directory in zoneinfo.TZPATH:
        source = Path(directory) / "tzdata.zi"
        if source.is_file():
            return {
                line.split()[1]
                for line in source.read_text(encoding="utf-8").splitlines()
                if line.startswith("Z ")
            }
    return set()


def _label(name: str) -> str:
    # "America/Argentina/Buenos_Aires" → "Argentina / Buenos Aires"
    return name.split("/", 1)[-1].replace("_", " ").replace("/", " / ")


def time_zone_choices(*, keep: str | None = None) -> list:
    """Choices for a select: UTC first, then one group per region, sorted by place.

    ``keep`` is a zone already stored on an event (perhaps a link from before this list
    existed); it stays selectable so the event can be edited without changing its zone.
    """
    zones = canonical_time_zones()
    choices: list = [(UTC, "UTC")]
    for region in REGIONS:
        members = sorted((name for name in zones if name.startswith(region + "/")), key=_label)
        choices.append((region, [(name, _label(name)) for name in members]))
    if keep and keep not in zones:
        choices.append(("Other", [(keep, keep.replace("_", " "))]))
    return choices
