"""An event's times as people read them: always in the event's own zone, always naming it,
and wall-clock times typed in that zone turned into instants without guessing.

A clock time alone ("19:30") reads as the reader's own time; a buyer in Tokyo would take New
York's evening for theirs. So every time an event shows carries its zone's abbreviation and
its IANA name: "Sat 12 Jun 2027, 19:30 BST (Europe/London)".
"""

import zoneinfo
from datetime import UTC, datetime, timedelta


def zone_of(event_or_zone) -> zoneinfo.ZoneInfo:
    """The zone of an event (anything with a ``timezone`` name), or of a zone name."""
    name = getattr(event_or_zone, "timezone", event_or_zone)
    return name if isinstance(name, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(str(name))


def utc_offset_label(offset: timedelta | None) -> str:
    """ "UTC+5:45", "UTC−4" (a true minus sign), "UTC"."""
    minutes = int((offset or timedelta()).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "\u2212"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_abbreviation(local: datetime) -> str:
    """The zone's own abbreviation ("BST", "EDT"), or the offset where the tz database has
    none and only prints digits ("-03", "+0545")."""
    name = local.tzname() or ""
    if not name or name[0] in "+-" or name[0].isdigit():
        return utc_offset_label(local.utcoffset())
    return name


def format_event_time(moment: datetime, event_or_zone, *, time_only: bool = False) -> str:
    """ "Sat 12 Jun 2027, 19:30 BST (Europe/London)"; with ``time_only``, "19:30 BST
    (Europe/London)"."""
    zone = zone_of(event_or_zone)
    local = moment.astimezone(zone)
    clock = (
        f"{local:%H:%M}" if time_only else f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"
    )
    return f"{clock} {zone_abbreviation(local)} ({zone.key})"


def same_local_day(first: datetime, second: datetime, event_or_zone) -> bool:
    zone = zone_of(event_or_zone)
    return first.astimezone(zone).date() == second.astimezone(zone).date()


# --- wall-clock times typed in an event's zone ---------------------------------------------


def is_ambiguous(wall_clock: datetime, zone: zoneinfo.ZoneInfo) -> bool:
    """True where the clocks go back and this wall-clock time happens twice."""
    naive = wall_clock.replace(tzinfo=None)
    return naive.replace(tzinfo=zone, fold=0).utcoffset() != naive.replace(
        tzinfo=zone, fold=1
    ).utcoffset() and exists(naive, zone)


def exists(wall_clock: datetime, zone: zoneinfo.ZoneInfo) -> bool:
    """False where the clocks go forward and skip this wall-clock time."""
    naive = wall_clock.replace(tzinfo=None)
    for fold in (0, 1):
        aware = naive.replace(tzinfo=zone, fold=fold)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
            return True
    return False


def occurrences(wall_clock: datetime, zone: zoneinfo.ZoneInfo) -> list[datetime]:
    """The instants a wall-clock time names in ``zone``: one, two where the clocks go back
    (earlier first, ``fold`` 0 then 1), none where they go forward."""
    naive = wall_clock.replace(tzinfo=None)
    if not exists(naive, zone):
        return []
    if not is_ambiguous(naive, zone):
        return [naive.replace(tzinfo=zone, fold=0)]
    return [naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)]


def occurrence_label(aware: datetime) -> str:
    """ "01:30 EDT (UTC−4)", to tell the two halves of a repeated hour apart."""
    return f"{aware:%H:%M} {zone_abbreviation(aware)} ({utc_offset_label(aware.utcoffset())})"
