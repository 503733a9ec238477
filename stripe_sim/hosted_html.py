"""HTML of the hosted pages: plain, accessible, self-contained (no external assets)."""

from html import escape
from typing import Any

from stripe_sim.objects.common import format_money

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;
color:#1a1a1a;line-height:1.5}
header{border-bottom:2px solid #635bff;margin-bottom:1.5rem}
header h1{font-size:1.1rem;color:#3d36c4;margin:.5rem 0}
label{display:block;font-weight:600;margin-top:1rem}
input,select{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;border:1px solid #555;
border-radius:4px}
input[type=checkbox]{width:auto;margin-right:.5rem}
.check label{display:inline;font-weight:400}
button{font:inherit;margin-top:1.5rem;padding:.6rem 1.5rem;background:#3d36c4;color:#fff;
border:0;border-radius:4px;cursor:pointer}
button:focus,a:focus,input:focus,select:focus{outline:3px solid #f5a623;outline-offset:2px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem;
border-bottom:1px solid #ccc}td.amount,th.amount{text-align:right}
.error{color:#a30000;font-weight:600;border-left:4px solid #a30000;padding-left:.5rem}
.hint{color:#444;font-size:.9rem}
"""


def page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Stripe simulator</title><style>{_STYLE}</style></head>"
        "<body><header><h1>Stripe simulator — TEST MODE</h1></header>"
        f"<main><h2>{escape(title)}</h2>{body}</main></body></html>"
    )


def message_page(title: str, message: str) -> str:
    return page(title, f"<p>{escape(message)}</p>")


def _error(message: str | None) -> str:
    return f'<p class="error" role="alert">{escape(message)}</p>' if message else ""


def _field(label: str, name: str, value: str = "", **attributes: str) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{escape(val)}"' for key, val in attributes.items())
    return (
        f'<label for="{name}">{escape(label)}</label>'
        f'<input id="{name}" name="{name}" value="{escape(value)}"{extra}>'
    )


def checkout_page(
    session: dict[str, Any],
    line_items: list[dict[str, Any]],
    merchant: str,
    error: str | None = None,
) -> str:
    currency = session["currency"]
    rows = "".join(
        f"<tr><td>{escape(item['description'])}</td><td>{item['quantity']}</td>"
        f'<td class="amount">{format_money(item["price"]["unit_amount"], currency)}</td>'
        f'<td class="amount">{format_money(item["amount_total"], currency)}</td></tr>'
        for item in line_items
    )
    total = format_money(session["amount_total"], currency)
    cancel = (
        f'<p><a href="{escape(session["cancel_url"])}">Cancel</a></p>'
        if session.get("cancel_url")
        else ""
    )
    total_row = (
        '<tfoot><tr><th scope="row" colspan="3">Total</th>'
        f'<td class="amount" id="total">{total}</td></tr></tfoot>'
    )
    body = f"""
<table><caption>Order summary</caption>
<thead><tr><th scope="col">Item</th><th scope="col">Quantity</th>
<th scope="col" class="amount">Unit price</th>
<th scope="col" class="amount">Amount</th></tr></thead>
<tbody>{rows}</tbody>
{total_row}
</table>
{_error(error)}
<form method="post" novalidate>
{_field("Email", "email", session.get("customer_email") or "", type="email", autocomplete="email")}
{
        _field(
            "Card number",
            "card_number",
            inputmode="numeric",
            autocomplete="cc-number",
            aria_describedby="card-hint",
        )
    }
<p class="hint" id="card-hint">Test cards: 4242 4242 4242 4242 pays; 4000 0000 0000 0002 is
declined; 4000 0000 0000 9995 has insufficient funds.</p>
{_field("Expiry date (MM / YY)", "expiry", "12 / 34", autocomplete="cc-exp")}
{_field("CVC", "cvc", "123", inputmode="numeric", autocomplete="cc-csc")}
{_field("Name on card", "name", "", autocomplete="cc-name")}
<button type="submit">Pay</button>
</form>
{cancel}"""
    return page(f"Pay {merchant}: {total}", body)


def onboarding_page(account: dict[str, Any], form_token: str, error: str | None = None) -> str:
    profile = account["business_profile"]
    body = f"""
<p>Account <code>{escape(account["id"])}</code>. Fill in the details Stripe collects from a
new connected account; everything is prefilled with test values.</p>
{_error(error)}
<form method="post">
<input type="hidden" name="form_token" value="{escape(form_token)}">
{
        _field(
            "Business name",
            "business_name",
            profile.get("name") or "Test Events Ltd",
            autocomplete="organization",
        )
    }
<label for="business_type">Business type</label>
<select id="business_type" name="business_type">
<option value="individual" selected>Individual or sole trader</option>
<option value="company">Company</option><option value="non_profit">Non-profit</option>
</select>
{_field("Email", "email", account.get("email") or "organiser@example.com", type="email")}
{_field("Website", "website", profile.get("url") or "https://example.com", type="url")}
{_field("Sort code", "sort_code", "10-88-00")}
{_field("Account number", "account_number", "00012345", inputmode="numeric")}
<p class="check"><input type="checkbox" id="tos" name="tos" value="accepted" checked>
<label for="tos">I accept the Stripe Connected Account Agreement</label></p>
<button type="submit">Submit</button>
</form>"""
    return page("Set up payouts with Stripe", body)


def express_dashboard_page(
    account: dict[str, Any], balance: dict[str, Any], charges: list[dict[str, Any]]
) -> str:
    pending = ", ".join(
        format_money(entry["amount"], entry["currency"]) for entry in balance["pending"]
    )
    rows = "".join(
        f"<tr><td><code>{escape(charge['id'])}</code></td><td>{escape(charge['status'])}</td>"
        f'<td class="amount">{format_money(charge["amount"], charge["currency"])}</td>'
        f'<td class="amount">{format_money(charge["amount_refunded"], charge["currency"])}</td>'
        "</tr>"
        for charge in charges
    )
    name = account["business_profile"].get("name") or account["id"]
    body = f"""
<dl><dt>Account</dt><dd><code>{escape(account["id"])}</code></dd>
<dt>Email</dt><dd>{escape(account.get("email") or "—")}</dd>
<dt>Payments</dt><dd>{"enabled" if account["charges_enabled"] else "not enabled"}</dd>
<dt>Payouts</dt><dd>{"enabled" if account["payouts_enabled"] else "not enabled"}</dd>
<dt>Pending balance</dt><dd>{escape(pending)}</dd></dl>
<table><caption>Recent payments</caption>
<thead><tr><th scope="col">Charge</th><th scope="col">Status</th>
<th scope="col" class="amount">Amount</th><th scope="col" class="amount">Refunded</th></tr></thead>
<tbody>{rows}</tbody></table>"""
    return page(f"Express dashboard: {name}", body)
