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


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache; each test starts from none."""
    from django.core.cache import cache

    yield
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
