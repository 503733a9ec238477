"""The fuzz harness's world: every URL pattern, a small site with real objects behind the
ids, the forms its pages render, and a fingerprint of the domain tables."""

import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern
from hypothesis import strategies as st

ROLES = ("anonymous", "buyer", "organiser")
# Tables whose rows a refused request must leave alone (the session and cache tables and
# live-update rows are bookkeeping, not domain state).
FINGERPRINT_APPS = ("auth", "account", "mfa", "events", "audit", "tickets", "waitlist", "payments")
FINGERPRINT_EXCLUDED = {"waitlist.liveevent", "auth.permission", "auth.group"}
# Patterns of the libraries the site mounts (the admin, allauth): fewer examples each.
THIRD_PARTY_PREFIXES = ("admin/", "accounts/")
_ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")


# --- URL patterns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One URL pattern as the resolver holds it: its levels from the root down."""

    levels: tuple
    name: str | None

    @property
    def route(self) -> str:
        """As ResolverMatch.route spells it (a nested regex loses its "^")."""
        first, *rest = (str(level) for level in self.levels)
        return first + "".join(level.removeprefix("^") for level in rest)

    @property
    def test_id(self) -> str:
        return self.route or "<home>"

    @property
    def third_party(self) -> bool:
        return self.route.startswith(THIRD_PARTY_PREFIXES)


def endpoints() -> list[Endpoint]:
    """Every URL pattern reachable from the root URLconf (a new view is covered at once)."""

    def walk(patterns, levels):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, (*levels, pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield Endpoint((*levels, pattern.pattern), pattern.name)

    return list(walk(get_resolver().url_patterns, ()))


def _regex_body(pattern: RegexPattern) -> str:
    regex = pattern.regex.pattern
    regex = regex.removeprefix("^")
    return regex.removesuffix("\\Z").removesuffix("$")


def path_strategy(endpoint: Endpoint, real_ids: list[int]) -> st.SearchStrategy[str]:
    """Paths this pattern matches: its converters filled with real ids and with anything
    their regex allows (percent-encoded, as a browser would send them)."""
    parts: list[st.SearchStrategy[str]] = []
    for level in endpoint.levels:
        if isinstance(level, RoutePattern):
            route, position = str(level), 0
            for match in _ROUTE_PARAMETER.finditer(route):
                parts.append(st.just(route[position : match.start()]))
                converter = level.converters[match["parameter"]]
                from_regex = st.from_regex(converter.regex, fullmatch=True)
                safe = "/" if match["converter"] == "path" else ""
                values = from_regex.map(lambda value, safe=safe: quote(value, safe=safe))
                if re.fullmatch(converter.regex, "1"):  # numeric: real ids first
                    values = st.one_of(st.sampled_from(real_ids).map(str), values)
                parts.append(values)
                position = match.end()
            parts.append(st.just(route[position:]))
        else:
            generated = st.from_regex(_regex_body(level), fullmatch=True)
            parts.append(generated.map(lambda value: quote(value, safe="/")))
    return st.tuples(*parts).map(lambda pieces: "/" + "".join(pieces))


def real_path(endpoint: Endpoint, real_ids: list[int]) -> str | None:
    """The pattern with the first real id in every numeric converter, if it has no others."""
    pieces = []
    for level in endpoint.levels:
        if not isinstance(level, RoutePattern):
            return None
        route, position = str(level), 0
        for match in _ROUTE_PARAMETER.finditer(route):
            converter = level.converters[match["parameter"]]
            if not re.fullmatch(converter.regex, "1"):
                return None
            pieces.append(route[position : match.start()] + str(real_ids[0]))
            position = match.end()
        pieces.append(route[position:])
    return "/" + "".join(pieces)


# --- forms a page renders --------------------------------------------------------------------


@dataclass
class HtmlForm:
    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self, page_path: str):
        super().__init__()
        self.page_path = page_path
        self.forms: list[HtmlForm] = []
        self.loose_names: set[str] = set()
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        target = self.forms[-1].fields if self.forms else None
        if target is None:
            self.loose_names.add(name)
        else:
            target.setdefault(name, [])
            if value not in target[name]:
                target[name].append(value)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            action = urlsplit(attributes.get("action") or self.page_path).path
            self.forms.append(HtmlForm(action, (attributes.get("method") or "get").lower()))
        elif tag == "input" and attributes.get("name"):
            kind = (attributes.get("type") or "text").lower()
            value = attributes.get("value")
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    self._add(attributes["name"], value or "on")
            elif kind != "file" and "__prefix__" not in attributes["name"]:
                self._add(attributes["name"], value if value is not None else _plausible(kind))
        elif tag == "select" and attributes.get("name"):
            self._select, self._select_value = attributes["name"], None
        elif tag == "option" and self._select:
            if self._select_value is None or "selected" in attributes:
                self._select_value = attributes.get("value", "")
        elif tag == "textarea" and attributes.get("name"):
            self._textarea = attributes["name"]
            self._add(self._textarea, "Some text.")
        elif tag == "button" and attributes.get("name"):
            self._add(attributes["name"], attributes.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            self._add(self._select, self._select_value or "")
            self._select = None


def _plausible(kind: str) -> str:
    return {
        "date": "2027-06-30",
        "datetime-local": "2027-06-30T19:30",
        "number": "1",
        "email": "someone@example.com",
        "password": "correct-horse-battery-staple",
        "url": "https://example.com/",
        "hidden": "",
    }.get(kind, "Something")


def forms_in(html: str, page_path: str) -> tuple[list[HtmlForm], set[str]]:
    parser = _FormParser(page_path)
    parser.feed(html)
    return parser.forms, parser.loose_names


def route_of_path(path: str) -> str | None:
    """The route (as Endpoint.route spells it) of the pattern that serves ``path``."""
    try:
        return resolve(path).route
    except Resolver404:
        return None


def real_path_with(endpoint: Endpoint, values: dict) -> str:
    pieces = []
    for level in endpoint.levels:
        route, position = str(level), 0
        for parameter in _ROUTE_PARAMETER.finditer(route):
            pieces.append(route[position : parameter.start()] + str(values[parameter["parameter"]]))
            position = parameter.end()
        pieces.append(route[position:])
    return "/" + "".join(pieces)


# --- the database's state --------------------------------------------------------------------


def fingerprint() -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row of the domain tables (they are small here)."""
    state = {}
    for label in FINGERPRINT_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.label_lower in FINGERPRINT_EXCLUDED:
                continue
            rows = list(model._default_manager.order_by("pk").values_list())
            digest = hashlib.blake2b(repr(rows).encode(), digest_size=12).hexdigest()
            state[model._meta.label_lower] = (len(rows), digest)
    return state


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(
        label for label in before.keys() | after.keys() if before.get(label) != after.get(label)
    )


def query_keys() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(COMMON_KEYS), st.text(st.characters(codec="utf-8"), max_size=12)
    )


# Query parameter names views read, whatever page links to them.
COMMON_KEYS = [
    "q",
    "page",
    "next",
    "session_id",
    "date_from",
    "date_to",
    "max_price",
    "free_only",
    "with_tickets",
    "include_past",
    "token",
    "o",
    "p",
    "e",
    "all",
    "_changelist_filters",
    "ticket_type_id",
    "quantity",
    "process",
    "code",
    "state",
    "error",
    "key",
]
