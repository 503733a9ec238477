"""factory_boy factories for the models every app's tests need."""

from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from events.models import Event, TicketType
from events.services import set_seller_payments_ready
from payments.models import ConnectedAccount

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A user who can sign in with PASSWORD and whose e-mail address is verified."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.LazyAttribute(lambda user: user.email.split("@")[0][:150])

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save()
            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event
        skip_postgeneration_save = True

    organiser = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Concert {n}")
    description = "An evening of music."
    venue_name = "The Hall"
    address = "1 High Street, London"
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    timezone = "Europe/London"
    currency = "GBP"
    status = Event.Status.PUBLISHED

    @factory.post_generation
    def ticket_types(self, create, extracted, **kwargs):
        if create and extracted is None:
            TicketTypeFactory(event=self)

    @factory.post_generation
    def payments_ready(self, create, extracted, **kwargs):
        """The organiser's Stripe account can take charges (a local row only, no Stripe
        call) unless the test passes payments_ready=False."""
        if create and extracted is not False:
            ConnectedAccountFactory(organiser=self.organiser)


class ConnectedAccountFactory(factory.django.DjangoModelFactory):
    """A fully onboarded Express account as the site stores it."""

    class Meta:
        model = ConnectedAccount
        django_get_or_create = ("organiser",)

    organiser = factory.SubFactory(UserFactory)
    stripe_account_id = factory.Sequence(lambda n: f"acct_factory{n:08d}")
    country = "GB"
    details_submitted = True
    charges_enabled = True
    payouts_enabled = True

    @factory.post_generation
    def seller(self, create, extracted, **kwargs):
        """What payments.services.accounts records for the catalogue when it stores an
        account's status."""
        if create:
            set_seller_payments_ready(
                organiser_id=self.organiser_id, can_take_payments=self.charges_enabled
            )


class TicketTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketType

    event = factory.SubFactory(EventFactory, ticket_types=[])
    name = factory.Sequence(lambda n: f"Standard {n}")
    price_minor = 2500
    capacity = 100
