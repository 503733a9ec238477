"""PaymentIntents, Charges, Refunds, application fees and balances."""

from typing import Any

from stripe_sim.protocol import new_id


def payment_intent_object(
    *,
    created: int,
    amount: int,
    currency: str,
    application: str | None,
    application_fee_amount: int | None,
    description: str | None,
    metadata: dict[str, str],
    receipt_email: str | None,
) -> dict[str, Any]:
    """A PaymentIntent as Checkout creates it when the customer first confirms."""
    intent_id = new_id("pi_")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": application,
        "application_fee_amount": application_fee_amount,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": None,
        "description": description,
        "invoice": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def card_details(card: dict[str, Any], amount: int, cvc_check: str) -> dict[str, Any]:
    return {
        "card": {
            "amount_authorized": amount,
            "brand": card["brand"],
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": cvc_check,
            },
            "country": card["country"],
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "extended_authorization": {"status": "disabled"},
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": card["last4"],
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": card["brand"],
            "network_token": {"used": False},
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "three_d_secure": None,
            "wallet": None,
        },
        "type": "card",
    }


def charge_object(
    *,
    created: int,
    intent: dict[str, Any],
    card: dict[str, Any],
    payment_method: str,
    billing_email: str | None,
    billing_name: str | None,
    outcome: dict[str, Any],
    failure: tuple[str, str] | None,
) -> dict[str, Any]:
    """A card charge of ``intent``; ``failure`` is (failure_code, failure_message)."""
    succeeded = failure is None
    amount = intent["amount"]
    return {
        "id": new_id("ch_"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if succeeded else 0,
        "amount_refunded": 0,
        "application": intent["application"],
        "application_fee": None,
        "application_fee_amount": intent["application_fee_amount"] if succeeded else None,
        "balance_transaction": new_id("txn_") if succeeded else None,
        "billing_details": {
            "address": {
                "city": None,
                "country": card["country"],
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": billing_email,
            "name": billing_name,
            "phone": None,
        },
        "calculated_statement_descriptor": "TICKET HUB",
        "captured": succeeded,
        "created": created,
        "currency": intent["currency"],
        "customer": None,
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": failure[0] if failure else None,
        "failure_message": failure[1] if failure else None,
        "fraud_details": {},
        "invoice": None,
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": outcome,
        "paid": succeeded,
        "payment_intent": intent["id"],
        "payment_method": payment_method,
        "payment_method_details": card_details(card, amount, "pass" if succeeded else "fail"),
        "radar_options": {},
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": None,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded" if succeeded else "failed",
        "transfer_data": None,
        "transfer_group": None,
    }


def refund_object(
    *,
    created: int,
    charge: dict[str, Any],
    amount: int,
    reason: str | None,
    metadata: dict[str, str],
) -> dict[str, Any]:
    return {
        "id": new_id("re_"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn_"),
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "destination_details": {
            "card": {
                "reference": new_id("", 16),
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def application_fee_object(
    *, created: int, account: str, application: str, charge: dict[str, Any], amount: int
) -> dict[str, Any]:
    """The platform's cut of a direct charge; it lives on the platform, not the account."""
    fee_id = new_id("fee_")
    return {
        "id": fee_id,
        "object": "application_fee",
        "account": account,
        "amount": amount,
        "amount_refunded": 0,
        "application": application,
        "balance_transaction": new_id("txn_"),
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "fee_source": {"charge": charge["id"], "type": "charge"},
        "livemode": False,
        "originating_transaction": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/application_fees/{fee_id}/refunds",
        },
    }


def fee_refund_object(*, created: int, fee: dict[str, Any], amount: int) -> dict[str, Any]:
    return {
        "id": new_id("fr_"),
        "object": "fee_refund",
        "amount": amount,
        "balance_transaction": new_id("txn_"),
        "created": created,
        "currency": fee["currency"],
        "fee": fee["id"],
        "metadata": {},
    }


def balance_object(pending: dict[str, int], available: dict[str, int]) -> dict[str, Any]:
    """Funds by currency; card payments sit in ``pending`` until Stripe's payout delay."""

    def amounts(by_currency: dict[str, int]) -> list[dict[str, Any]]:
        return [
            {"amount": amount, "currency": currency, "source_types": {"card": amount}}
            for currency, amount in sorted(by_currency.items())
        ]

    return {
        "object": "balance",
        "available": amounts(available),
        "livemode": False,
        "pending": amounts(pending),
    }
