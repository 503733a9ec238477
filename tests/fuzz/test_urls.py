"""Every URL pattern, GET and POST, as anonymous, buyer and organiser, with generated paths,
query parameters, form fields, bodies and headers. For every request: no 5xx (but the 503
of an explicit Busy), no traceback, and a refusal (4xx) changes nothing in the database.

FUZZ_EXAMPLES (default 20) examples per pattern, method and role of the site's own apps;
the admin's and allauth's patterns get a quarter of that per pattern, the role and method
drawn. FUZZ_SEED reproduces a run (without it every test is derandomised: the same examples
on every run).
"""

import json
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.fuzz import world
from tests.fuzz.strategies import awkward_text, field_values

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
SEED = os.environ.get("FUZZ_SEED")
ENDPOINTS = world.endpoints()
METHODS = ("GET", "POST")
OWN = [
    pytest.param(endpoint, method, role, id=f"{endpoint.test_id}-{method}-{role}")
    for endpoint in ENDPOINTS
    if not endpoint.third_party
    for method in METHODS
    for role in world.ROLES
]
THIRD_PARTY = [pytest.param(e, id=e.test_id) for e in ENDPOINTS if e.third_party]


def fuzz_settings(examples: int):
    def decorate(test):
        test = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=SEED is None,
            suppress_health_check=list(HealthCheck),
        )(test)
        return seed(int(SEED))(test) if SEED is not None else test

    return decorate


class Checker:
    """The checks every answer must pass. The fingerprint before a request is the one after
    the previous request: nothing else writes in between."""

    def __init__(self):
        self.state = world.fingerprint()

    def check(self, response, description: str) -> None:
        status = response.status_code
        assert status < 500 or status == 503, f"{status} for {description}"
        if not getattr(response, "streaming", False):
            assert b"Traceback (most recent call last)" not in response.content, description
        after = world.fingerprint()
        if 400 <= status < 500:
            changed = world.changed_tables(self.state, after)
            assert not changed, f"{status} for {description} changed {changed}"
        self.state = after


@st.composite
def requests_for(draw, endpoint, method, site, sources):
    """One request: path, parameters or body, and headers."""
    generated = world.path_strategy(endpoint, site.ids)
    real = site.path_of(endpoint)
    path = draw(st.one_of(st.just(real), generated) if real else generated)
    forms = [form for form in sources if form.method == method.lower()]
    fields: dict[str, list[str]] = {}
    if forms:
        fields = {key: list(values) for key, values in draw(st.sampled_from(forms)).fields.items()}
        for key in draw(st.lists(st.sampled_from(sorted(fields) or ["x"]), max_size=4)):
            fields[key] = draw(field_values())
        if fields and draw(st.booleans()):
            del fields[draw(st.sampled_from(sorted(fields)))]
    for _ in range(draw(st.integers(0, 2 if forms else 4))):
        fields[draw(world.query_keys())] = draw(field_values())
    headers = {}
    if draw(st.booleans()):
        headers["HX-Request"] = draw(st.sampled_from(["true", "false", ""]))
        targets = st.sampled_from(["main", "search-results", "x"]) | awkward_text()
        headers["HX-Target"] = draw(targets)
        urls = st.sampled_from(["http://testserver/search", "/search?q=a", "://"]) | awkward_text()
        headers["HX-Current-URL"] = draw(urls)
        if draw(st.booleans()):
            headers["HX-History-Restore-Request"] = "true"
    body = draw(st.sampled_from(["form", "form", "form", "json", "raw", "file"]))
    return path, fields, headers, body


def _latin1_safe(headers: dict) -> dict:
    # A header travels as Latin-1 bytes without line breaks; anything else cannot be sent.
    return {
        key: value.encode("utf-8", "surrogatepass").decode("latin-1")
        for key, value in headers.items()
        if not any(c in value for c in "\r\n\x00")
    }


def send(client: Client, method: str, path: str, fields: dict, headers: dict, body: str):
    headers = _latin1_safe(headers)
    if method == "GET":
        return client.get(path, fields, headers=headers)
    if body == "json":
        payload = {key: values[0] if len(values) == 1 else values for key, values in fields.items()}
        text = json.dumps(payload)
        return client.post(path, text, content_type="application/json", headers=headers)
    if body == "raw":
        pairs = (f"{key}={values[0]}" for key, values in fields.items())
        raw = "&".join(pairs).encode("utf-8", "surrogatepass")
        form_type = "application/x-www-form-urlencoded"
        return client.post(path, raw, content_type=form_type, headers=headers)
    if body == "file":
        data: dict = dict(fields)
        upload = SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
        data["image" if "image" not in fields else "upload"] = upload
        return client.post(path, data, headers=headers)
    return client.post(path, fields, headers=headers)


def run(site, endpoint, method_strategy, role_strategy, examples: int) -> None:
    sources = {role: site.forms_for(endpoint, role) for role in world.ROLES}
    for role in world.ROLES:
        site.client_for(role)
    checker = Checker()  # after the sign-ins (they update last_login)

    @fuzz_settings(examples)
    @given(data=st.data())
    def check(data):
        method, role = data.draw(method_strategy), data.draw(role_strategy)
        request = data.draw(requests_for(endpoint, method, site, sources[role]))
        path, fields, headers, body = request
        response = send(site.client_for(role), method, path, fields, headers, body)
        checker.check(response, f"{method} {path} as {role} with {fields!r:.3000} {headers!r}")

    check()


@pytest.mark.parametrize(("endpoint", "method", "role"), OWN)
def test_no_request_crashes_or_changes_anything_when_refused(fuzz_site, endpoint, method, role):
    run(fuzz_site, endpoint, st.just(method), st.just(role), EXAMPLES)


@pytest.mark.parametrize("endpoint", THIRD_PARTY)
def test_no_request_to_the_admin_or_allauth_crashes(fuzz_site, endpoint):
    examples = max(3, EXAMPLES // 4)
    run(fuzz_site, endpoint, st.sampled_from(METHODS), st.sampled_from(world.ROLES), examples)
