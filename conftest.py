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


DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}


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
