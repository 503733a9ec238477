"""Builders of Stripe objects in the shape of the 2024-04-10 spec.

Each builder returns the full object with every field the spec lists for it (null where
Stripe would say null), so code written against real Stripe finds what it expects.
"""
