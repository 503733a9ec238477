"""Connected accounts: creation, updates, onboarding and the links that lead to it."""

import copy
import dataclasses
import secrets
from typing import TYPE_CHECKING, Any

from stripe_sim.objects.connect import (
    account_link_object,
    account_object,
    bank_account_object,
    business_profile_object,
    deleted_account_object,
    login_link_object,
    requirements,
)
from stripe_sim.protocol import invalid_request, parameter_missing, resource_missing
from stripe_sim.services.events import AUTOMATIC, Origin, emit, previous_attributes
from stripe_sim.services.validation import (
    check_email,
    check_metadata,
    check_url,
    merged_metadata,
    not_simulated,
)
from stripe_sim.store import Record

if TYPE_CHECKING:
    from stripe_sim.simulator import Simulator

# https://docs.stripe.com/api/account_links/object: links expire a few minutes after creation.
LINK_LIFETIME_SECONDS = 300


def create_account(sim: "Simulator", params: dict[str, Any]) -> Record:
    if "type" not in params:
        if "controller" in params:
            raise not_simulated("controller")
        raise parameter_missing("type")
    capabilities = _requested_capabilities(params.get("capabilities", {}))
    email = params.get("email")
    if email:
        check_email(email, "email")
    metadata = params.get("metadata", {})
    check_metadata(metadata)
    country = params.get("country", "GB").upper()
    if len(country) != 2 or not country.isalpha():
        raise invalid_request(f"Country '{country}' is unknown.", param="country")
    account = account_object(
        account_type=params["type"],
        created=sim.clock.timestamp(),
        country=country,
        email=email,
        business_type=params.get("business_type"),
        business_profile=params.get("business_profile", {}),
        capabilities=capabilities,
        metadata=merged_metadata({}, metadata),
    )
    if params.get("default_currency"):
        account["default_currency"] = params["default_currency"].lower()
    return sim.store.add("account", account)


def _requested_capabilities(requested: dict[str, dict[str, bool]]) -> dict[str, str]:
    names = [name for name, options in requested.items() if options.get("requested")]
    # Card payments settle into the account's balance and reach the platform only via
    # transfers, so Stripe refuses card_payments without transfers for these accounts.
    if "card_payments" in names and "transfers" not in names:
        raise invalid_request(
            "In order to request the `card_payments` capability, you must also request the "
            "`transfers` capability.",
            param="capabilities",
        )
    return {name: "inactive" for name in sorted(names)}


def account_record(sim: "Simulator", account_id: str, *, param: str | None = None) -> Record:
    """The platform's connected account; 404 when the id is in the path, 400 when it is a
    parameter (``param`` names it)."""
    record = sim.store.get("account", account_id, None)
    if record is None:
        if param:
            raise resource_missing("account", account_id, param=param, status=400)
        raise resource_missing("account", account_id, param="account")
    return record


def update_account(
    sim: "Simulator", record: Record, params: dict[str, Any], origin: Origin
) -> dict[str, Any]:
    before = copy.deepcopy(record.body)
    account = record.body
    if "metadata" in params:
        check_metadata(params["metadata"])
        account["metadata"] = merged_metadata(account["metadata"], params["metadata"])
    if params.get("email"):
        check_email(params["email"], "email")
        account["email"] = params["email"]
    if "business_type" in params:
        account["business_type"] = params["business_type"] or None
    if isinstance(params.get("business_profile"), dict):
        profile = {**account["business_profile"], **params["business_profile"]}
        account["business_profile"] = business_profile_object(profile)
    if params.get("capabilities"):
        for name in _requested_capabilities(params["capabilities"]):
            account["capabilities"].setdefault(name, "inactive")
    if params.get("default_currency"):
        account["default_currency"] = params["default_currency"].lower()
    _save_and_announce(sim, record, before, origin)
    return account


def complete_onboarding(
    sim: "Simulator", record: Record, details: dict[str, str] | None = None
) -> dict[str, Any]:
    """What Stripe does when the account holder finishes the hosted onboarding form: the
    account can take charges and receive payouts, and ``account.updated`` goes to the
    platform's Connect endpoint."""
    details = details or {}
    before = copy.deepcopy(record.body)
    account = record.body
    now = sim.clock.timestamp()
    name = details.get("business_name") or account["business_profile"]["name"] or "Test Events"
    account["business_type"] = details.get("business_type") or "individual"
    account["business_profile"] = business_profile_object(
        {
            **account["business_profile"],
            "name": name,
            "mcc": account["business_profile"]["mcc"] or "7922",  # ticket agencies
            "url": details.get("website") or account["business_profile"]["url"],
            "product_description": account["business_profile"]["product_description"],
        }
    )
    if details.get("email"):
        account["email"] = details["email"]
    account["settings"]["dashboard"]["display_name"] = name
    account["capabilities"] = {key: "active" for key in account["capabilities"]}
    account["requirements"] = requirements([])
    account["tos_acceptance"] = {"date": now, "ip": "127.0.0.1", "user_agent": "stripe_sim"}
    account["external_accounts"]["data"] = [
        bank_account_object(
            account_id=account["id"],
            country=account["country"],
            currency=account["default_currency"],
            holder_name=name,
            last4=(details.get("account_number") or "00012345")[-4:],
        )
    ]
    account.update(details_submitted=True, charges_enabled=True, payouts_enabled=True)
    _save_and_announce(sim, record, before, AUTOMATIC)
    return account


def _save_and_announce(
    sim: "Simulator", record: Record, before: dict[str, Any], origin: Origin
) -> None:
    sim.store.save(record)
    changed = previous_attributes(before, record.body)
    if changed:
        # account.updated is an event of the connected account itself (top-level
        # `account`), so it reaches the Connect endpoint, not the platform one.
        emit(
            sim,
            "account.updated",
            record.body,
            account=record.id,
            origin=origin,
            previous_attributes=changed,
        )


def delete_account(sim: "Simulator", record: Record) -> dict[str, Any]:
    sim.store.delete(record)
    return deleted_account_object(record.id)


def create_account_link(sim: "Simulator", params: dict[str, Any], base_url: str) -> dict[str, Any]:
    record = account_record(sim, params["account"], param="account")
    if params["type"] == "account_update" and record.body["type"] != "custom":
        # Account links docs: account_update is only for accounts whose requirements the
        # platform collects (controller.requirement_collection=application).
        raise invalid_request(
            "You cannot create `account_update` type Account Links for accounts where Stripe "
            "collects requirements, such as Express accounts. Use `account_onboarding`.",
            param="type",
        )
    for name in ("refresh_url", "return_url"):
        if not params.get(name):
            raise parameter_missing(name)
        check_url(params[name], name)
    now = sim.clock.timestamp()
    token = secrets.token_urlsafe(24)
    link = account_link_object(
        created=now,
        expires_at=now + LINK_LIFETIME_SECONDS,
        url=f"{base_url}/hosted/onboarding/{token}",
    )
    private = {
        "account": record.id,
        "type": params["type"],
        "refresh_url": params["refresh_url"],
        "return_url": params["return_url"],
        "visited": False,
        "form_token": None,
        "submitted": False,
    }
    sim.store.add("account_link", link, private=private, object_id=token)
    return link


@dataclasses.dataclass(frozen=True)
class SendAway:
    """The browser goes elsewhere (the link's ``refresh_url``)."""

    url: str


@dataclasses.dataclass(frozen=True)
class ShowForm:
    """The onboarding form for ``account``; only a POST carrying ``form_token`` counts."""

    account: dict[str, Any]
    form_token: str


def visit_onboarding_link(sim: "Simulator", token: str) -> SendAway | ShowForm | None:
    """Open a link once (None: no such link). Account links are single-use: a second visit,
    or one after ``expires_at``, goes to ``refresh_url`` so the platform makes a new link."""
    link = sim.store.get("account_link", token, None)
    if link is None:
        return None
    state = link.private
    account = sim.store.get("account", state["account"], None)
    if state["visited"] or sim.clock.timestamp() >= link.body["expires_at"] or account is None:
        return SendAway(state["refresh_url"])
    state["visited"] = True
    # The form can be sent only by the browser that opened the link.
    state["form_token"] = secrets.token_urlsafe(16)
    sim.store.save(link)
    return ShowForm(account.body, state["form_token"])


def submit_onboarding(
    sim: "Simulator", token: str, form_token: str, details: dict[str, str]
) -> str | None:
    """Finish onboarding from the form; returns where to send the browser (None: no such
    link)."""
    link = sim.store.get("account_link", token, None)
    if link is None:
        return None
    state = link.private
    account = sim.store.get("account", state["account"], None)
    valid = state["form_token"] and secrets.compare_digest(state["form_token"], form_token)
    if state["submitted"] or not valid or account is None:
        return state["refresh_url"]
    state["submitted"] = True
    sim.store.save(link)
    complete_onboarding(sim, account, details)
    return state["return_url"]


def create_login_link(sim: "Simulator", record: Record, base_url: str) -> dict[str, Any]:
    if record.body["type"] != "express":
        raise invalid_request("Login links can only be created for Express accounts.")
    if not record.body["details_submitted"]:
        raise invalid_request(
            "Cannot create a login link for an account that has not completed onboarding."
        )
    now = sim.clock.timestamp()
    token = secrets.token_urlsafe(24)
    link = login_link_object(created=now, url=f"{base_url}/hosted/express/{token}")
    private = {"account": record.id, "used": False, "expires_at": now + LINK_LIFETIME_SECONDS}
    sim.store.add("login_link", link, private=private, object_id=token)
    return link


def use_login_link(sim: "Simulator", token: str) -> Record | None:
    """The account a login link opens, once and before it expires (single-use, like
    Stripe's)."""
    link = sim.store.get("login_link", token, None)
    if link is None or link.private["used"]:
        return None
    if sim.clock.timestamp() >= link.private["expires_at"]:
        return None
    link.private["used"] = True
    sim.store.save(link)
    return sim.store.get("account", link.private["account"], None)
