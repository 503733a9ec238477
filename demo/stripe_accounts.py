"""Demo organisers' Stripe accounts, on the embedded default only.

Against the bundled simulator the demo organisers are onboarded as a person would be on
its hosted form, through the simulator's control API, so the demo's paid events are on sale
at once. With real Stripe keys nothing is created: real onboarding needs a real person.
"""

import requests
from django.conf import settings
from django.contrib.auth.models import User

from payments.models import ConnectedAccount
from payments.services.accounts import ensure_connected_account, refresh_account_status


def onboard_demo_organiser(organiser: User) -> ConnectedAccount | None:
    if not settings.STRIPE_SIMULATOR:
        return None
    account = ensure_connected_account(organiser=organiser)
    response = requests.post(
        f"{settings.STRIPE_SIMULATOR_URL}/_sim/accounts/{account.stripe_account_id}"
        "/complete_onboarding",
        timeout=10,
    )
    response.raise_for_status()
    return refresh_account_status(stripe_account_id=account.stripe_account_id)
