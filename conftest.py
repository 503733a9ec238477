"""Fixtures shared by every app's tests."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

# Playwright's sync API runs an event loop in the test thread; the ORM calls the browser
# tests make between page actions are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    """Serve static files without a collectstatic manifest and keep uploads per test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "media"


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres_only (PostgreSQL's own limits, roles, pools, lock timeouts) run
    only on PostgreSQL and tests marked sqlite_only (no database involved: they run once)
    only on SQLite; elsewhere they are deselected, not skipped, so a skip always means
    something is missing."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    other_database = "sqlite_only" if on_postgres else "postgres_only"
    deselected = [item for item in items if item.get_closest_marker(other_database)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(other_database)]


DB_FIXTURES = {"db", "transactional_db", "live_server", "asgi_server", "django_db_reset_sequences"}


@pytest.fixture(autouse=True)
def _fresh_cache(request, django_db_blocker):
    """Rate-limit counters live in the cache; each test that can reach it leaves it clean.

    Tests without a database are skipped: their cache would be the real one in var/.
    """
    yield
    uses_db = request.node.get_closest_marker("django_db") or DB_FIXTURES & set(
        request.fixturenames
    )
    if uses_db:
        from django.core.cache import cache

        # The db fixture may already be torn down (this fixture was set up before it).
        with django_db_blocker.unblock():
            cache.clear()


GUARDED_SOCKET_METHODS = ("connect", "connect_ex", "send", "sendall", "sendto")


@pytest.fixture(autouse=True)
def _no_network_under_lock(monkeypatch):
    """A socket call (Redis, Stripe, SMTP, …) inside a locked() block raises
    NetworkCallUnderLock: every buyer waiting for those rows would wait on the network too.
    Database statements are not affected (libpq and SQLite do their I/O in C)."""
    import functools
    import socket

    from tickethub.locks import NetworkCallUnderLock, lock_held

    def guarded(original, name):
        @functools.wraps(original)
        def call(*args, **kwargs):
            if lock_held():
                raise NetworkCallUnderLock(
                    f"socket {name}() inside a locked() block: move it after the commit "
                    "(transaction.on_commit) or before the transaction."
                )
            return original(*args, **kwargs)

        return call

    for name in GUARDED_SOCKET_METHODS:
        monkeypatch.setattr(socket.socket, name, guarded(getattr(socket.socket, name), name))
    monkeypatch.setattr(
        socket, "create_connection", guarded(socket.create_connection, "create_connection")
    )


@pytest.fixture
def make_user(db):
    from tests.factories import UserFactory

    return UserFactory


@pytest.fixture
def organiser(db):
    from tests.factories import UserFactory

    return UserFactory(email="organiser@example.com")


@pytest.fixture
def other_organiser(db):
    from tests.factories import EventFactory, UserFactory

    user = UserFactory(email="other-organiser@example.com")
    EventFactory(organiser=user)
    return user


@pytest.fixture
def buyer(db):
    from tests.factories import UserFactory

    return UserFactory(email="buyer@example.com")


@pytest.fixture
def staff(db):
    from tests.factories import UserFactory

    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def soon():
    return timezone.now() + timedelta(days=14)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 at full strength costs ~1 s a user on these machines; tests don't need it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class AsgiServer:
    """The site's real ASGI application (Django plus the live-update route) under uvicorn,
    in a background thread on a free 127.0.0.1 port."""

    def __init__(self):
        import threading
        import time

        import uvicorn
        from django.conf import settings

        # Tests don't run collectstatic: let whitenoise find static files where they live.
        # (Set before the ASGI application, and with it the middleware, is built.)
        settings.WHITENOISE_USE_FINDERS = True
        settings.WHITENOISE_AUTOREFRESH = True
        # Request threads close their connection after each request, so none is left open
        # when the test database is dropped at the end of the session.
        from django.db import connections

        connections["default"].settings_dict["CONN_MAX_AGE"] = 0
        from tickethub.asgi import application

        config = uvicorn.Config(
            application, host="127.0.0.1", port=0, lifespan="off", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def _asgi_server_session(django_db_setup, django_db_blocker):
    from django.db import connections

    from waitlist.live import hub

    with django_db_blocker.unblock():
        server = AsgiServer()
    yield server
    server.stop()
    # The live hub's thread keeps a connection; close it so the test database can be dropped.
    hub.database.submit(connections.close_all).result(timeout=10)


@pytest.fixture
def asgi_server(_asgi_server_session, transactional_db):
    """A running site for browser and streaming tests; data the test commits is visible."""
    import time

    from waitlist.live import hub

    yield _asgi_server_session
    # Let the server notice closed streams while the database is still open to its hub.
    deadline = time.monotonic() + 5
    while hub.stream_count and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(scope="session")
def _stripe_sim_session():
    from stripe_sim.testing import SimulatorServer

    # Fast webhook retries and expiry checks so tests never wait long on the simulator.
    server = SimulatorServer(webhook_base_delay=0.05, webhook_max_attempts=6, expiry_interval=0.2)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stripe_sim(_stripe_sim_session, settings):
    """The bundled Stripe simulator over real HTTP, emptied for each test, with the site's
    Stripe settings pointed at it (as bin/start does)."""
    sim = _stripe_sim_session
    sim.reset()
    sim.set_faults()
    settings.STRIPE_SIMULATOR = True
    settings.STRIPE_SECRET_KEY = "sk_test_simulator"
    settings.STRIPE_SIMULATOR_URL = sim.url
    settings.STRIPE_API_BASE = sim.url
    # Buy and Connect forms redirect to the simulator's pages: the CSP's form-action names it.
    settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": ["'self'", sim.url]}
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_platform"
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = "whsec_test_connect"
    yield sim
    sim.reset()


@pytest.fixture
def jobs():
    """The real Huey queue, emptied; ``jobs.run_due()`` runs what a consumer would."""
    from huey.contrib.djhuey import HUEY

    from tests.jobs import JobRunner

    HUEY.flush()
    yield JobRunner(HUEY)
    HUEY.flush()
