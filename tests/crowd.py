"""What the crowd test and bench/crowd.py share: signed-in buyers without the login form,
and a PostgreSQL role whose connection limit stands in for a small max_connections."""

from datetime import timedelta

from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.middleware.csrf import _get_new_csrf_string
from django.utils import timezone
from django.utils.crypto import get_random_string


def signed_in_cookies(users) -> list[str]:
    """A Cookie header per user: a server-side session signed in as that user (as the login
    form would leave it) and a CSRF secret, which a form posts back (``csrf_secret``)."""
    sessions, cookies = [], []
    expire_date = timezone.now() + timedelta(days=1)
    for user in users:
        session_key = get_random_string(32)
        data = {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": user.get_session_auth_hash(),
        }
        encoded = SessionStore().encode(data)
        sessions.append(
            Session(session_key=session_key, session_data=encoded, expire_date=expire_date)
        )
        cookies.append(f"sessionid={session_key}; csrftoken={_get_new_csrf_string()}")
    Session.objects.bulk_create(sessions, batch_size=1000)
    return cookies


def csrf_secret(cookie: str) -> str:
    return cookie.rpartition("csrftoken=")[2]


def create_role_statements(role: str, database: str, connection_limit: int) -> list[str]:
    """A login role that may use ``database``'s tables, at most ``connection_limit`` at once
    (roles are cluster-wide: give each a unique name)."""
    return [
        f"CREATE ROLE {role} LOGIN CONNECTION LIMIT {int(connection_limit)}",
        f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]


def drop_role_statements(role: str) -> list[str]:
    # DROP OWNED revokes the grants (the database's too), so the role can go.
    return [f"DROP OWNED BY {role}", f"DROP ROLE {role}"]
