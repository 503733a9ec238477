"""``manage.py seed_demo``: load the demo accounts and catalogue into an empty site, once."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from demo.seed import ATTENDEES, BUYER, ORGANISERS, demo_password, seed_demo


class Command(BaseCommand):
    help = (
        "Load demo accounts, about thirty upcoming events with posters, and some ticket "
        "sales. Does nothing if the demo is already loaded. Password: $DEMO_PASSWORD "
        "or 'tickethub-demo'."
    )

    def handle(self, *args, **options):
        result = seed_demo(password=demo_password())
        if not result.loaded:
            self.stdout.write("Demo data already loaded.")
            return
        drafts = result.events_created - result.events_published
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {result.events_created} events "
                f"({result.events_published} published, {drafts} drafts), "
                f"{result.tickets_issued} tickets issued."
            )
        )
        rows = [(account.role, account.email) for account in (*ORGANISERS, BUYER)]
        rows.append(("attendees", f"{ATTENDEES[0].email} … {ATTENDEES[-1].email}"))
        lines = [
            "",
            "Demo accounts",
            "=============",
            *(f"  {role:<10} {email}" for role, email in rows),
            f"  {'password':<10} {result.password}",
            f"  {'sign in':<10} {settings.SITE_URL}{reverse('account_login')}",
            "",
        ]
        self.stdout.write("\n".join(lines))
