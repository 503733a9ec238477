"""A real OpenID Connect provider for the sign-in tests, run as a subprocess on 127.0.0.1.

The provider is the Django project in ``tests/oidc_provider`` (django-oauth-toolkit); it
knows one person and one confidential client whose redirect URI is this test run's
``live_server`` callback.
"""

import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

PROJECT_DIR = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 60
SERVING_LINE = re.compile(rb"Uvicorn running on (http://127\.0\.0\.1:\d+)")


@dataclass(frozen=True)
class OidcProvider:
    url: str
    provider_id: str
    name: str
    client_id: str
    client_secret: str
    user_email: str
    user_password: str

    @property
    def issuer_url(self) -> str:
        """What an administrator puts in OIDC_PROVIDERS as server_url."""
        return f"{self.url}/o"


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("oidc_provider")
    provider_id = "test-idp"
    client_id = "tickethub"
    client_secret = secrets.token_urlsafe(32)
    user_email = "alice@example.org"
    user_password = secrets.token_urlsafe(16)
    # Only the subprocess runs with the provider's settings; this process keeps Ticket Hub's.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "OIDC_PROVIDER_DATA_DIR": str(data_dir),
        "OIDC_PROVIDER_USER_EMAIL": user_email,
        "OIDC_PROVIDER_USER_PASSWORD": user_password,
        "OIDC_PROVIDER_CLIENT_ID": client_id,
        "OIDC_PROVIDER_CLIENT_SECRET": client_secret,
        "OIDC_PROVIDER_REDIRECT_URIS": (
            f"{live_server.url}/accounts/oidc/{provider_id}/login/callback/"
        ),
    }
    log_path = data_dir / "provider.log"
    with log_path.open("wb") as log:
        # It listens on port 0: the operating system picks a free port and uvicorn logs it,
        # so no other process can take the port between choosing it and binding it.
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.oidc_provider"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base_url = _wait_until_serving(server, log_path)
        yield OidcProvider(
            url=base_url,
            provider_id=provider_id,
            name="Test Identity Provider",
            client_id=client_id,
            client_secret=client_secret,
            user_email=user_email,
            user_password=user_password,
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_serving(server: subprocess.Popen, log_path: Path) -> str:
    """The provider's base URL, once its discovery document answers."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    base_url = None
    http = requests.Session()
    http.trust_env = False  # straight to 127.0.0.1, never through a configured proxy
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"The OIDC provider exited early:\n{log_path.read_text()}")
        if base_url is None:
            serving = SERVING_LINE.search(log_path.read_bytes())
            base_url = serving and serving.group(1).decode()
        if base_url:
            try:
                # The first request imports the provider's views: slow on a busy machine.
                discovery = http.get(f"{base_url}/o/.well-known/openid-configuration", timeout=20)
                if discovery.status_code == 200:
                    return base_url
            except requests.RequestException:
                pass
        time.sleep(0.1)
    pytest.fail(
        f"The OIDC provider did not answer in {STARTUP_TIMEOUT_SECONDS}s:\n{log_path.read_text()}"
    )
