"""p50 and p95 latency of search.selectors.search_events for 50 realistic queries (prefixes,
typos, several words, venues and towns, description words) at 10^4, 10^5 and 10^6 events,
beside the naive ``icontains`` scan of name, place and description in the same run, on
PostgreSQL and SQLite; and the size of the index.

Events are generated from word lists (deterministic, seeded): names like "Midnight Jazz
Brunch", "Kalora Live at the Usher Hall" or "Glastonbury Weekend", with artist names made
of syllables (tens of thousands of distinct words, as real catalogues have), venues and
streets in 40 towns, two or three sentences of description, 94 % upcoming. About 97 % are
published (the rest drafts or cancelled). They are bulk-loaded (COPY on PostgreSQL,
executemany on SQLite) with one ticket type each, then indexed by rebuild_search_index().

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.search [--quick] [--db postgres|sqlite|both]
                                                           [--sizes 10000,100000,1000000]
"""

import argparse
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from bench.common import Report, database_version, percentile, run_per_database, scratch

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000)
SEED = 20_261_126
GOAL_P95_MS = 10
GOAL_SPEED_UP = 50


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


ADJECTIVES = _words(
    "Midnight Summer Winter Late Sunday Electric Golden Silver Northern Southern Little Grand"
    " Secret Candlelit Royal Velvet Neon Urban Wild Spring Autumn Early Open Big"
)
GENRES = _words(
    "Jazz Comedy Folk Rock Indie Techno House Soul Blues Opera Ballet Theatre Poetry Cinema"
    " Classical Gospel Punk Reggae Country Flamenco Tango Salsa Disco Metal Choir Piano"
    " Orchestra Cabaret Magic Swing"
)
KINDS = _words(
    "Festival Night Club Session Showcase Gala Weekend Party Concert Evening Matinee"
    " Marathon Jam Brunch Tour Quiz Workshop Masterclass Social Revue"
)
FAMOUS = _words(
    "Glastonbury Shakespeare Beethoven Mozart Tchaikovsky Vivaldi Hogmanay Wimbledon"
    " Eurovision Oktoberfest"
)
CITIES = _words(
    "London Manchester Bristol Edinburgh Glasgow Leeds Liverpool Birmingham Brighton Oxford"
    " Cambridge Cardiff Bath York Newcastle Belfast Sheffield Nottingham Norwich Aberdeen"
    " Dublin Paris Berlin Amsterdam Barcelona Madrid Lisbon Rome Milan Vienna Prague"
    " Copenhagen Stockholm Brussels Zürich Köln Munich Kraków Oslo Helsinki"
)
VENUE_WORDS = _words(
    "Royal Albert Queen's Victoria Old New Corn Town Union Empire Palace Forum Apollo"
    " Roundhouse Barbican Paradiso Usher Brixton Assembly Playhouse Lyceum Alhambra Abbey"
    " Granary Foundry Lantern Harbour Riverside Orchard Mill"
)
VENUE_TYPES = _words(
    "Hall Theatre Club Arena Rooms Ballroom Academy Chapel Cellar Warehouse Gardens Church"
    " Social Pavilion Centre"
)
STREETS = _words("High King Queen Church Market Station Mill Park Castle Bridge Canal Dock")
STREET_TYPES = _words("Street Road Lane Square Avenue Place")
SYLLABLES = _words(
    "ka lo mi ra ven tor sel dar wyn bel quin zor fen mar lis tan rho gal ber nix ost ul ae"
    " dri fal hel jor kes mon pra sil tev vor yan zel cor dun gri lan phe"
)
SENTENCES = (
    "An evening of {genre} with {artist} and friends.",
    "Doors at {hour}pm; the show starts an hour later.",
    "Expect {adjective} sets, street food and a late bar.",
    "Wheelchair accessible; under-16s with an adult.",
    "Bring your own vinyl for the swap table in the foyer.",
    "Candlelit tables, cocktails and a dance floor until late.",
    "Family friendly until nine, then the {genre} takes over.",
    "{artist} return to {city} after a sold-out tour.",
    "Tickets include a drink on arrival.",
    "Part of the {city} {genre} {kind} season.",
)

# 50 queries as people type them: the number of each kind is what the report groups by.
QUERIES = {
    "prefix": _words("jaz comed fest glasto shakesp manch amster orch thea flam techn barbi"),
    "typo": _words(
        "glastonbery shakespere bethoven amsterdm edinbrugh festval comdy orchestar flamenko"
        " barcelna techo manchster"
    ),
    "words": [
        "jazz london",
        "comedy club manchester",
        "summer festival",
        "folk night bristol",
        "royal albert hall",
        "rock party berlin",
        "opera gala paris",
        "techno warehouse",
        "midnight jazz brunch",
        "indie showcase leeds",
        "tango social madrid",
        "classical piano evening",
        "open air cinema",
        "gospel choir concert",
    ],
    "place": ["barbican", "usher hall", "paradiso", "brixton academy", "cardiff", "lisbon"],
    "description": [
        "candlelit cocktails",
        "vinyl swap",
        "wheelchair accessible",
        "family friendly",
        "late bar",
        "street food",
    ],
}
ALL_QUERIES = [query for queries in QUERIES.values() for query in queries]
assert len(ALL_QUERIES) == 50


def artist(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3)))).capitalize()


def event_rows(first: int, count: int, *, organiser_id: int, now: datetime) -> Iterator[tuple]:
    """``count`` events, the i-th always the same whatever the batch (seeded by i)."""
    for number in range(first, first + count):
        rng = random.Random(SEED * 1_000_003 + number)
        city, genre, kind = rng.choice(CITIES), rng.choice(GENRES), rng.choice(KINDS)
        adjective, act = rng.choice(ADJECTIVES), artist(rng)
        venue = f"{rng.choice(VENUE_WORDS)} {rng.choice(VENUE_TYPES)}"
        roll = rng.random()
        if roll < 0.02:
            name = f"{rng.choice(FAMOUS)} {kind}"
        elif roll < 0.42:
            name = f"{adjective} {genre} {kind}"
        elif roll < 0.62:
            name = f"{act} Live at the {venue}"
        elif roll < 0.80:
            name = f"{city} {genre} {kind}"
        elif roll < 0.92:
            name = f"{act}: {adjective} {kind}"
        else:
            name = f"{genre} {kind} with {act}"
        words = {"genre": genre.lower(), "artist": act, "city": city, "kind": kind.lower()}
        words |= {"adjective": adjective.lower(), "hour": rng.randint(6, 9)}
        description = " ".join(s.format(**words) for s in rng.sample(SENTENCES, rng.randint(2, 3)))
        address = f"{rng.randint(1, 300)} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}, {city}"
        starts_at = now + timedelta(minutes=15 * rng.randint(-45 * 96, 700 * 96))
        long_event = kind in ("Festival", "Weekend", "Marathon")
        ends_at = starts_at + (timedelta(days=2) if long_event else timedelta(hours=3))
        status = rng.choices(("published", "draft", "cancelled"), (97, 2, 1))[0]
        published_at = now if status == "published" else None
        yield (
            organiser_id, name, description, venue, address, starts_at, ends_at,
            "Europe/London", "", "GBP", status, published_at, 30, now, now,
        )  # fmt: skip


EVENT_COLUMNS = (
    "organiser_id, name, description, venue_name, address, starts_at, ends_at, timezone,"
    " image, currency, status, published_at, offer_window_minutes, created_at, updated_at"
)
# One ticket type per new event: a fifth free, a tenth sold out ("%%" is "%" once bound).
TICKET_TYPES = (
    "INSERT INTO events_tickettype (event_id, name, price_minor, capacity, sold_count,"
    " held_count, max_per_entry, max_per_buyer, position)"
    " SELECT id, 'Standard', CASE WHEN id %% 5 = 0 THEN 0 ELSE 500 + (id %% 40) * 100 END, 100,"
    " CASE WHEN id %% 10 = 1 THEN 100 ELSE 0 END, 0, 4, 4, 0 FROM events_event WHERE id > %s"
)


def load_events(first: int, count: int, organiser_id: int, now: datetime) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM events_event")
        (last_id,) = cursor.fetchone()
        rows = event_rows(first, count, organiser_id=organiser_id, now=now)
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY events_event ({EVENT_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            values = ", ".join(["%s"] * 15)
            insert = f"INSERT INTO events_event ({EVENT_COLUMNS}) VALUES ({values})"  # noqa: S608
            batch: list[tuple] = []
            for row in rows:
                batch.append(tuple(adapt(v) if isinstance(v, datetime) else v for v in row))
                if len(batch) == 10_000:
                    cursor.executemany(insert, batch)
                    batch = []
            cursor.executemany(insert, batch)
        cursor.execute(TICKET_TYPES, [last_id])


def analyse() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def naive_search(text: str, now: datetime) -> list[int]:
    """What the seed did: a substring scan of the three fields for every typed word."""
    from django.db.models import Q

    from events.models import Event
    from search.query import query_words

    events = Event.objects.filter(status=Event.Status.PUBLISHED).filter(
        Q(ends_at__gt=now) | Q(ends_at__isnull=True, starts_at__gt=now)
    )
    for word in query_words(text):
        events = events.filter(
            Q(name__icontains=word)
            | Q(venue_name__icontains=word)
            | Q(address__icontains=word)
            | Q(description__icontains=word)
        )
    return list(events.order_by("starts_at", "pk").values_list("pk", flat=True)[:21])


def timed(call, queries: list[str], *, rounds: int, seconds: float) -> dict[str, list[float]]:
    """Latency of ``call(query)`` for each query, ``rounds`` times, until the deadline."""
    deadline = time.monotonic() + seconds
    latencies: dict[str, list[float]] = {query: [] for query in queries}
    for _ in range(rounds):
        for query in queries:
            if time.monotonic() > deadline:
                return latencies
            begun = time.perf_counter()
            call(query)
            latencies[query].append(time.perf_counter() - begun)
    return latencies


def flat(latencies: dict[str, list[float]]) -> list[float]:
    return [value for values in latencies.values() for value in values]


def ms(values: list[float], percent: float) -> float:
    return percentile(values, percent) * 1000


def measure(size: int, *, rounds: int, naive_seconds: float) -> dict:
    from search.selectors import search_events

    now = datetime.now(UTC)
    hits = {query: len(search_events(query).hits) for query in ALL_QUERIES}  # and warm-up
    selector = timed(lambda q: search_events(q), ALL_QUERIES, rounds=rounds, seconds=300)
    naive = timed(lambda q: naive_search(q, now), ALL_QUERIES, rounds=1, seconds=naive_seconds)
    return {"size": size, "hits": hits, "selector": selector, "naive": naive}


def print_measure(result: dict) -> None:
    selector, naive = result["selector"], result["naive"]
    every = flat(selector)
    print(f"  selector, all 50: p50 {ms(every, 50):.2f} ms, p95 {ms(every, 95):.2f} ms")
    for kind, queries in QUERIES.items():
        values = [value for query in queries for value in selector[query]]
        print(f"    {kind:<12} p50 {ms(values, 50):6.2f}  p95 {ms(values, 95):6.2f} ms")
    slowest = sorted(ALL_QUERIES, key=lambda query: -max(selector[query]))[:5]
    print("    slowest: " + ", ".join(f"{q!r} {max(selector[q]) * 1000:.1f} ms" for q in slowest))
    naive_done = [query for query in ALL_QUERIES if naive[query]]
    print(
        f"  naive icontains, {len(naive_done)} of 50 queries in the time allowed:"
        f" p50 {ms(flat(naive), 50):.1f} ms, p95 {ms(flat(naive), 95):.1f} ms"
    )
    empty = [query for query, count in result["hits"].items() if not count]
    print(f"  queries with no result: {empty or 'none'}", flush=True)


def explain_plans() -> None:
    """The ranked statement's plan for a prefix, a typo and a multi-word query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from search.selectors import search_events

    for query in ("jaz", "glastonbery", "jazz london"):
        with CaptureQueriesContext(connection) as captured:
            search_events(query)
        ranked = next(q["sql"] for q in captured.captured_queries if "AS ranked" in q["sql"])
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + ranked)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + ranked)
            print(f"  -- {query!r}")
            for row in cursor.fetchall():
                print("     " + " | ".join(str(column) for column in row))


def index_size() -> tuple[int, str]:
    from django.db import connection

    from search.backends import current_backend

    with connection.cursor() as cursor:
        parts = current_backend().size_bytes(cursor)
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_total_relation_size('events_event')")
        else:
            cursor.execute(
                "SELECT SUM(pgsize) FROM dbstat('main', 1) WHERE name LIKE 'events_event%'"
            )
        (events_bytes,) = cursor.fetchone()
    detail = ", ".join(
        f"{name} {size / 2**20:.1f}" for name, size in sorted(parts.items()) if size > 2**20
    )
    return sum(
        parts.values()
    ), f"{detail} MiB; events_event table itself {events_bytes / 2**20:.0f} MiB"


def run_database(database: str, sizes: tuple[int, ...], rounds: int, naive_seconds: float) -> None:
    with scratch(name="search", database=database):
        from django.contrib.auth.models import User

        from search.services import rebuild_search_index

        report = Report(f"bench/search.py on {database}")
        version = database_version()
        report.start(f"database: scratch {version}; sizes {', '.join(f'{s:,}' for s in sizes)}")
        organiser = User.objects.create(username="bench-organiser", email="o@bench.invalid")
        now = datetime.now(UTC)
        loaded = 0
        results = {}
        for size in sizes:
            begun = time.monotonic()
            load_events(loaded + 1, size - loaded, organiser.pk, now)
            loaded_at = time.monotonic()
            indexed = rebuild_search_index()
            analyse()
            indexed_at = time.monotonic()
            loaded = size
            size_bytes, size_detail = index_size()
            print(
                f"{size:,} events: loaded in {loaded_at - begun:.1f} s, {indexed:,} published"
                f" indexed in {indexed_at - loaded_at:.1f} s; index {size_bytes / 2**20:.1f} MiB"
                f" ({size_detail})",
                flush=True,
            )
            results[size] = measure(size, rounds=rounds, naive_seconds=naive_seconds)
            results[size]["index_bytes"] = size_bytes
            print_measure(results[size])
        print("\nplans of the ranked statement at the largest size:")
        explain_plans()
        print()
        for size in sizes:
            selector, naive = flat(results[size]["selector"]), flat(results[size]["naive"])
            report.figure(
                f"{database} selector p95, {size:,} events",
                ms(selector, 95),
                "ms",
                goal=GOAL_P95_MS,
                at_least=False,
                baseline=(
                    f"selector p50 {ms(selector, 50):.2f} ms; naive icontains p50"
                    f" {ms(naive, 50):.1f} / p95 {ms(naive, 95):.1f} ms;"
                    f" index {results[size]['index_bytes'] / 2**20:.1f} MiB"
                ),
                digits=2,
            )
        largest = flat(results[sizes[-1]]["selector"]), flat(results[sizes[-1]]["naive"])
        report.figure(
            f"{database} speed-up over naive at {sizes[-1]:,}",
            ms(largest[1], 95) / ms(largest[0], 95),
            "×",
            goal=GOAL_SPEED_UP,
            at_least=True,
            baseline=(
                f"naive p95 / selector p95; at p50: {ms(largest[1], 50) / ms(largest[0], 50):,.0f}×"
            ),
        )
        report.finish()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 20,000 events, 1 round")
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--sizes", help="comma-separated event counts, e.g. 10000,100000")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the 50 queries")
    args = parser.parse_args()
    sizes = tuple(int(size) for size in args.sizes.split(",")) if args.sizes else None
    sizes = sizes or (QUICK_SIZES if args.quick else SIZES)
    rounds = 1 if args.quick else args.rounds
    if args.db == "both":
        extra = ["--sizes", ",".join(map(str, sizes)), "--rounds", str(rounds)]
        extra += ["--quick"] if args.quick else []
        run_per_database("bench.search", ["postgres", "sqlite"], extra)
        return
    run_database(args.db, sizes, rounds, naive_seconds=20 if args.quick else 90)


if __name__ == "__main__":
    main()
