"""/v1/accounts, /v1/account_links and login links."""

from typing import Any

from stripe_sim.api.endpoint import ApiCall, Operation
from stripe_sim.protocol import resource_missing
from stripe_sim.services import accounts
from stripe_sim.services.listing import paginate
from stripe_sim.store import Record


def _visible_account(call: ApiCall) -> Record:
    """A platform sees all its connected accounts; a call made as a connected account
    (Stripe-Account) sees only that account."""
    account_id = call.path_params["account"]
    if call.account is not None and call.account != account_id:
        raise resource_missing("account", account_id, param="account")
    return accounts.account_record(call.sim, account_id)


def create_account(call: ApiCall) -> dict[str, Any]:
    return accounts.create_account(call.sim, call.params).body


def list_accounts(call: ApiCall) -> dict[str, Any]:
    found = [] if call.account else call.sim.store.records("account", None)
    return paginate([record.body for record in found], call.params, call.path, "account")


def retrieve_account(call: ApiCall) -> dict[str, Any]:
    return _visible_account(call).body


def update_account(call: ApiCall) -> dict[str, Any]:
    return accounts.update_account(call.sim, _visible_account(call), call.params, call.origin)


def delete_account(call: ApiCall) -> dict[str, Any]:
    return accounts.delete_account(call.sim, _visible_account(call))


def create_account_link(call: ApiCall) -> dict[str, Any]:
    return accounts.create_account_link(call.sim, call.params, call.base_url)


def create_login_link(call: ApiCall) -> dict[str, Any]:
    return accounts.create_login_link(call.sim, _visible_account(call), call.base_url)


OPERATIONS = [
    Operation("POST", "/v1/accounts", create_account),
    Operation("GET", "/v1/accounts", list_accounts),
    Operation("GET", "/v1/accounts/{account}", retrieve_account),
    Operation("POST", "/v1/accounts/{account}", update_account),
    Operation("DELETE", "/v1/accounts/{account}", delete_account),
    Operation("POST", "/v1/account_links", create_account_link),
    Operation("POST", "/v1/accounts/{account}/login_links", create_login_link),
]
