"""Run the test OpenID Connect provider: ``python -m tests.oidc_provider [--port N]``.

It prepares its database (see ``bootstrap``) and then serves on 127.0.0.1 until it is
terminated. With the default port 0 the operating system picks a free port, which uvicorn
logs as "Uvicorn running on http://127.0.0.1:<port>".
"""

import argparse
import os

import django
import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.oidc_provider")
    parser.add_argument("--port", type=int, default=0)
    port = parser.parse_args().port

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")
    # One process for both steps: each Python start with Django costs seconds on CI.
    django.setup()
    from tests.oidc_provider.asgi import application
    from tests.oidc_provider.bootstrap import bootstrap

    bootstrap()
    uvicorn.run(application, host="127.0.0.1", port=port, lifespan="off")


if __name__ == "__main__":
    main()
