import pytest
from django.test import Client

from tests.fuzz import world

# Which pages render a form that posts (or gets) to each pattern, per role: found once per
# process by visiting every page, then only those pages are fetched for each test.
_FORM_SOURCES: dict[str, dict[str, list[world.Endpoint]]] = {}


class FuzzSite:
    """A small site with real objects: an onboarded organiser with a published paid event
    (two ticket types) and a draft, a buyer holding an offer with a Checkout Session open
    (an order), another buyer waiting, and a ticket from a free event."""

    def __init__(self, stripe_sim):
        from payments.services.checkout import start_checkout
        from payments.tests.conftest import onboard
        from tests.factories import EventFactory, TicketTypeFactory, UserFactory
        from waitlist import services as waitlist

        self.organiser = UserFactory(email="fuzz-organiser@example.com")
        onboard(stripe_sim, self.organiser)
        self.buyer = UserFactory(email="fuzz-buyer@example.com")
        other = UserFactory(email="fuzz-other@example.com")
        self.event = EventFactory(
            organiser=self.organiser, ticket_types=[], payments_ready=False, name="Fuzz Night"
        )
        paid = TicketTypeFactory(event=self.event, name="Standard", price_minor=2500, capacity=2)
        free = TicketTypeFactory(event=self.event, name="Free", price_minor=0, capacity=5)
        self.draft = EventFactory(
            organiser=self.organiser, status="draft", ticket_types=[], payments_ready=False
        )
        TicketTypeFactory(event=self.draft)
        self.offer = waitlist.join_waiting_list(user=self.buyer, ticket_type_id=paid.pk, quantity=2)
        self.order = start_checkout(
            buyer=self.buyer,
            entry_id=self.offer.entry.pk,
            success_url="http://testserver/checkout/success/?session_id={CHECKOUT_SESSION_ID}",
            cancel_url="http://testserver/",
        )
        self.waiting = waitlist.join_waiting_list(user=other, ticket_type_id=paid.pk, quantity=1)
        free_offer = waitlist.join_waiting_list(user=self.buyer, ticket_type_id=free.pk, quantity=1)
        waitlist.accept_offer(user=self.buyer, entry_id=free_offer.entry.pk)
        self.by_parameter = {"event_id": self.event.pk, "entry_id": self.offer.entry.pk}
        self.ids = sorted(
            {
                self.event.pk,
                self.draft.pk,
                paid.pk,
                free.pk,
                self.offer.entry.pk,
                self.waiting.entry.pk,
                free_offer.entry.pk,
                self.order.pk,
                self.organiser.pk,
                self.buyer.pk,
            }
        )
        self.clients: dict[str, Client] = {}

    def client_for(self, role: str) -> Client:
        if role not in self.clients:
            client = Client()
            if role != "anonymous":
                client.force_login(self.organiser if role == "organiser" else self.buyer)
            self.clients[role] = client
        return self.clients[role]

    def path_of(self, endpoint: world.Endpoint) -> str | None:
        """The pattern's path with this site's real ids, if every parameter is one."""
        if world.real_path(endpoint, [1]) is None:
            return None
        for level in endpoint.levels:
            if any(name not in self.by_parameter for name in level.converters):
                return None
        return world.real_path_with(endpoint, self.by_parameter)

    def forms_for(self, endpoint: world.Endpoint, role: str) -> list[world.HtmlForm]:
        sources = _FORM_SOURCES.get(role)
        if sources is None:
            sources = _FORM_SOURCES[role] = self._find_form_sources(role)
        forms = []
        for source in sources.get(endpoint.route, [])[:3]:
            page = self.client_for(role).get(self.path_of(source))
            if page.status_code == 200 and not page.streaming:
                found, _ = world.forms_in(page.content.decode(), self.path_of(source))
                forms += [
                    form for form in found if world.route_of_path(form.action) == endpoint.route
                ]
        return forms

    def _find_form_sources(self, role: str) -> dict[str, list[world.Endpoint]]:
        sources: dict[str, list[world.Endpoint]] = {}
        client = self.client_for(role)
        for endpoint in world.endpoints():
            path = self.path_of(endpoint)
            if path is None or endpoint.route.startswith("admin/"):
                continue
            page = client.get(path)
            if page.status_code != 200 or page.streaming:
                continue
            if not page.get("Content-Type", "").startswith("text/html"):
                continue
            forms, _ = world.forms_in(page.content.decode(), path)
            for form in forms:
                target = world.route_of_path(form.action)
                if target is not None and endpoint not in sources.setdefault(target, []):
                    sources[target].append(endpoint)
        return sources


@pytest.fixture
def fuzz_site(stripe_sim, db, settings):
    return FuzzSite(stripe_sim)
