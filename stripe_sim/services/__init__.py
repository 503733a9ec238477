"""What the simulator does: every change to its state, with the rules Stripe applies.

Callers hold ``sim.store.lock`` around a service call, so a service sees and leaves a
consistent state; services raise ``StripeError`` for anything Stripe would refuse.
"""
