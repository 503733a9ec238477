"""A small OpenID Connect provider (django-oauth-toolkit) that end-to-end tests sign in against.

It is its own Django project, run in a subprocess with ``python -m tests.oidc_provider``,
which prepares its database (``bootstrap``) and serves it with uvicorn. Everything it needs
comes from ``OIDC_PROVIDER_*`` environment variables; see ``settings`` and ``bootstrap``.
"""
