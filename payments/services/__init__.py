"""Payments: organisers' Stripe Connect accounts, Checkout for offers, fulfilment exactly
once, late-payment refunds, webhook events and the reconciliation sweep.

Never inside a transaction around a Stripe call: reserve (commit), call Stripe, then lock
again and confirm, so a slow Stripe never holds a ticket type's lock.
"""
