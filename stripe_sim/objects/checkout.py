"""Checkout Sessions and their line items."""

from typing import Any

from stripe_sim.protocol import new_id


def price_object(*, created: int, currency: str, unit_amount: int, product: str) -> dict[str, Any]:
    """The price Stripe makes from ``price_data``: inactive, one-time, per unit."""
    return {
        "id": new_id("price_"),
        "object": "price",
        "active": False,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product,
        "recurring": None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def line_item_object(
    *, created: int, currency: str, name: str, unit_amount: int, quantity: int
) -> dict[str, Any]:
    amount = unit_amount * quantity
    return {
        "id": new_id("li_"),
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": currency,
        "description": name,
        "price": price_object(
            created=created, currency=currency, unit_amount=unit_amount, product=new_id("prod_", 14)
        ),
        "quantity": quantity,
    }


def checkout_session_object(
    *,
    session_id: str,
    created: int,
    expires_at: int,
    currency: str,
    amount_total: int,
    url: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    """An open, unpaid session in payment mode; ``payment_intent`` stays null until the
    customer confirms (API versions since 2022-08-01 create the PaymentIntent lazily)."""
    return {
        "id": session_id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": params.get("billing_address_collection"),
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_creation": params.get("customer_creation", "if_required"),
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "expires_at": expires_at,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": False,
        "locale": params.get("locale"),
        "metadata": params.get("metadata", {}),
        "mode": "payment",
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_details": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": params.get("submit_type"),
        "subscription": None,
        "success_url": params.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": url,
    }


def customer_details_object(email: str | None, name: str | None) -> dict[str, Any]:
    return {
        "address": {
            "city": None,
            "country": "GB",
            "line1": None,
            "line2": None,
            "postal_code": None,
            "state": None,
        },
        "email": email,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }
