"""Prepare the test OpenID Connect provider before it serves: tables, one user, one client.

``python -m tests.oidc_provider`` runs it before serving, with these variables:

OIDC_PROVIDER_USER_EMAIL, OIDC_PROVIDER_USER_PASSWORD
    the person who signs in at the provider (their username is their e-mail address)
OIDC_PROVIDER_CLIENT_ID, OIDC_PROVIDER_CLIENT_SECRET, OIDC_PROVIDER_REDIRECT_URIS
    the confidential client (the site under test); redirect URIs are space-separated

Running it twice leaves one user and one client with the values last given.
"""

import os

from django.contrib.auth import get_user_model
from django.core.management import call_command
from oauth2_provider.models import get_application_model


def bootstrap() -> None:
    call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)

    email = os.environ["OIDC_PROVIDER_USER_EMAIL"]
    user, _ = get_user_model().objects.update_or_create(username=email, defaults={"email": email})
    user.set_password(os.environ["OIDC_PROVIDER_USER_PASSWORD"])
    user.save()

    application_model = get_application_model()
    application_model.objects.update_or_create(
        client_id=os.environ["OIDC_PROVIDER_CLIENT_ID"],
        defaults={
            "name": "Ticket Hub",
            "client_type": application_model.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": application_model.GRANT_AUTHORIZATION_CODE,
            "algorithm": application_model.RS256_ALGORITHM,
            # Stored hashed: ClientSecretField hashes a plain value on save.
            "client_secret": os.environ["OIDC_PROVIDER_CLIENT_SECRET"],
            "redirect_uris": os.environ["OIDC_PROVIDER_REDIRECT_URIS"],
            "skip_authorization": True,
        },
    )
