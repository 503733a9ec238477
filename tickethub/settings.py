"""Ticket Hub settings: one module, driven by environment variables.

With no variable set, the site runs in its embedded mode: SQLite (WAL) and a Huey
queue on SQLite under ``var/``, the database cache, e-mail to the console, plain HTTP on
127.0.0.1. Every variable is listed in README.md with its default.
"""

import json
import secrets
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
VAR_DIR = Path(env.str("TICKETHUB_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key() -> str:
    """A development secret, generated once into var/ so sessions survive restarts."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _embedded_secret_key()
DEBUG = env.bool("DEBUG", default=False)

# The public address of the site; https:// switches on secure cookies, HSTS and redirects.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SERVED_OVER_HTTPS = SITE_URL.startswith("https://")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "django_htmx",
    "huey.contrib.djhuey",
    "accounts",
    "events",
    "audit",
    "tickets",
    "waitlist",
    "payments",
    "search",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.csp.ContentSecurityPolicyMiddleware",  # outermost: every answer has it
    "tickethub.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tickethub.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "tickethub.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tickethub.context_processors.site",
                "django.template.context_processors.csp",
            ],
        },
    },
]

ASGI_APPLICATION = "tickethub.asgi.application"

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tickethub.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers start with BEGIN IMMEDIATE so a read never upgrades to a write mid-transaction
    # (the source of "database is locked"); WAL lets readers run beside the one writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    # Tests use a file, not :memory:, so WAL, BEGIN IMMEDIATE and several connections
    # behave as they do in the running site.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_tickethub.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Database connections under a crowd ------------------------------------------------------
# Under ASGI every request in flight runs in its own thread with its own connection, so a
# crowd once opened more connections than PostgreSQL allows ("sorry, too many clients
# already", answered as 500s). Each process now borrows from a pool of at most
# DATABASE_POOL_MAX_SIZE connections (psycopg's pool, Django's OPTIONS["pool"]), and lets at
# most MAX_CONCURRENT_REQUESTS requests into Django at once (tickethub/overload.py); the
# rest queue for up to REQUEST_QUEUE_TIMEOUT seconds, then get a 503 with Retry-After.
# The two spare connections serve the live-update hub's poller and anything else in the
# process. README, "Database connections", sizes this against max_connections.
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=10)
DATABASE_POOL_MIN_SIZE = min(env.int("DATABASE_POOL_MIN_SIZE", default=2), DATABASE_POOL_MAX_SIZE)
DATABASE_POOL_TIMEOUT = env.float("DATABASE_POOL_TIMEOUT", default=10.0)
MAX_CONCURRENT_REQUESTS = env.int(
    "MAX_CONCURRENT_REQUESTS",
    default=max(DATABASE_POOL_MAX_SIZE - 2, 1) if DATABASE_POOL_MAX_SIZE else 0,
)
REQUEST_QUEUE_TIMEOUT = env.float("REQUEST_QUEUE_TIMEOUT", default=30.0)
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    if DATABASE_POOL_MAX_SIZE:
        # Django refuses persistent connections beside a pool: closing a connection (after
        # each request) hands it back to the pool instead.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": DATABASE_POOL_MIN_SIZE,
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": DATABASE_POOL_TIMEOUT,
            "name": "tickethub",
        }
    else:
        # DATABASE_POOL_MAX_SIZE=0: no pool in the process (PgBouncer pools instead).
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and jobs ---------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Parallel test workers (pytest-xdist sets PYTEST_XDIST_WORKER) each get their own job
# queue and Redis database, so one worker never runs or wipes another's jobs and counters.
_TEST_WORKER = env.str("PYTEST_XDIST_WORKER", default="")
if REDIS_URL and _TEST_WORKER:
    _worker = int(_TEST_WORKER.removeprefix("gw"))
    _base, _, _db = REDIS_URL.rpartition("/")
    REDIS_URL = f"{_base}/{(int(_db or 0) - _worker) % 16}"
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    HUEY = {
        # Priorities (Redis >= 5): payments and offer expiry run before e-mails, which a
        # rush queues by the thousand.
        "huey_class": "huey.PriorityRedisHuey",
        "name": env.str("HUEY_NAME", default="tickethub") + _TEST_WORKER,
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"workers": env.int("HUEY_WORKERS", 4), "worker_type": "thread"},
    }
else:
    # The database cache, not local memory: rate limits must hold across web processes.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "tickethub_cache",
            # Django culls a third of the table once it holds MAX_ENTRIES (300 by default),
            # live keys included, which would silently drop rate-limit slots. Expired rows
            # are removed on writes anyway, so the table stays as small as the live keys.
            "OPTIONS": {"MAX_ENTRIES": 10_000_000},
        }
    }
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "tickethub",
        "filename": str(VAR_DIR / f"huey{_TEST_WORKER}.sqlite3"),
        "immediate": False,
        "consumer": {"workers": env.int("HUEY_WORKERS", 2), "worker_type": "thread"},
    }

# --- Auth (django-allauth) ----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Ticket Hub] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SERVED_OVER_HTTPS else "http"
# allauth's own limiter, kept in the shared cache so it holds across web processes; failed
# logins: 5 per e-mail address per 5 minutes and 10 a minute per IP.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="10/m/ip,5/5m/key"),
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/10s/key",
    "request_login_code": "20/m/ip,3/m/key",
}

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "Ticket Hub"
# WebAuthn needs a secure origin; http://127.0.0.1 of the embedded mode is allowed locally.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not SERVED_OVER_HTTPS

SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_ONLY = False


def _openid_connect_apps(raw: str) -> list[dict]:
    """OIDC_PROVIDERS is a JSON list of {id, name, client_id, secret, server_url}."""
    apps = []
    for provider in json.loads(raw or "[]"):
        apps.append(
            {
                "provider_id": provider["id"],
                "name": provider.get("name", provider["id"]),
                "client_id": provider["client_id"],
                "secret": provider.get("secret", ""),
                "settings": {
                    "server_url": provider["server_url"],
                    "token_auth_method": provider.get("token_auth_method", "client_secret_post"),
                    "oauth_pkce_enabled": provider.get("pkce", True),
                },
            }
        )
    return apps


OPENID_CONNECT_APPS = _openid_connect_apps(env.str("OIDC_PROVIDERS", default=""))
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "APPS": OPENID_CONNECT_APPS,
        "OAUTH_PKCE_ENABLED": True,
    }
}

# --- E-mail -----------------------------------------------------------------------------
# EMAIL_URL such as smtp+tls://user:password@smtp.example.com:587 (django-environ's format);
# without it, e-mails are printed to the console of the embedded site.
if env.str("EMAIL_URL", default=""):
    _email = env.email_url("EMAIL_URL")
    MAILERS = {
        "default": {
            "BACKEND": _email["EMAIL_BACKEND"],
            "OPTIONS": {
                "host": _email.get("EMAIL_HOST"),
                "port": _email.get("EMAIL_PORT"),
                "username": _email.get("EMAIL_HOST_USER") or None,
                "password": _email.get("EMAIL_HOST_PASSWORD") or None,
                "use_tls": bool(_email.get("EMAIL_USE_TLS")),
                "use_ssl": bool(_email.get("EMAIL_USE_SSL")),
                "timeout": env.int("EMAIL_TIMEOUT", 10),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Ticket Hub <tickets@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security ---------------------------------------------------------------------------
SESSION_COOKIE_SECURE = SERVED_OVER_HTTPS
CSRF_COOKIE_SECURE = SERVED_OVER_HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SERVED_OVER_HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SERVED_OVER_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Whole request bodies above this are refused with 413 before Django reads them; image
# uploads are further limited to IMAGE_MAX_BYTES by the form.
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=6 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_PIXELS = 40_000_000
IMAGE_STORED_MAX_SIDE = 1600

# --- Image processing memory ----------------------------------------------------------------
# A small upload can decode into hundreds of MB. Each image's peak memory, worked out from its
# header, is refused above IMAGE_MAX_DECODING_BYTES, and at most IMAGE_PROCESSING_CONCURRENCY
# images are processed at once per process (the others wait up to
# IMAGE_PROCESSING_WAIT_SECONDS, then get a 503): the two multiplied bound the extra memory.
IMAGE_MAX_DECODING_BYTES = env.int("IMAGE_MAX_DECODING_BYTES", default=80 * 1024 * 1024)
IMAGE_PROCESSING_CONCURRENCY = env.int("IMAGE_PROCESSING_CONCURRENCY", default=2)
IMAGE_PROCESSING_WAIT_SECONDS = env.int("IMAGE_PROCESSING_WAIT_SECONDS", default=5)

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start-up when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Uploaded images are re-encoded by us under random names, so serving them from the app is
# safe; set SERVE_MEDIA=false when a proxy or object store serves MEDIA_ROOT instead.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# --- Ticket Hub -------------------------------------------------------------------------
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="GBP")
# Joins that create a waiting-list entry, per user, across all events.
WAITLIST_JOIN_LIMIT = env.int("WAITLIST_JOIN_LIMIT", default=3)
WAITLIST_JOIN_WINDOW_SECONDS = env.int("WAITLIST_JOIN_WINDOW_SECONDS", default=30 * 60)
WAITLIST_SWEEP_SECONDS = 30
EVENTS_PER_PAGE = 12
# --- Stripe ---------------------------------------------------------------------------
# With no secret key the bundled simulator (stripe_sim, started by bin/start) stands in for
# Stripe: the same SDK calls go to STRIPE_SIMULATOR_URL, with local-only keys and secrets.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_SIMULATOR = not STRIPE_SECRET_KEY
STRIPE_SIMULATOR_URL = env.str("STRIPE_SIMULATOR_URL", default="http://127.0.0.1:12111")
if STRIPE_SIMULATOR:
    STRIPE_SECRET_KEY = "sk_test_simulator"
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_simulator")
STRIPE_WEBHOOK_SECRET = env.str(
    "STRIPE_WEBHOOK_SECRET", default="whsec_simulator_platform" if STRIPE_SIMULATOR else ""
)
STRIPE_CONNECT_WEBHOOK_SECRET = env.str(
    "STRIPE_CONNECT_WEBHOOK_SECRET", default="whsec_simulator_connect" if STRIPE_SIMULATOR else ""
)
STRIPE_API_BASE = STRIPE_SIMULATOR_URL if STRIPE_SIMULATOR else ""
STRIPE_CONNECT_COUNTRY = env.str("STRIPE_CONNECT_COUNTRY", default="GB")
# The platform's share of each payment, in percent, rounded half up to the minor unit.
PLATFORM_FEE_PERCENT = Decimal(env.str("PLATFORM_FEE_PERCENT", default="1"))
# TEST MODE is shown on every page while no live key is configured.
TEST_MODE = not STRIPE_SECRET_KEY.startswith("sk_live_")
PAYMENTS_SWEEP_SECONDS = 60

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},  # one INFO line per API call otherwise
    },
}

# --- Content-Security-Policy (Django's built-in CSP middleware) ---------------------------
# No inline script, style, event handler or javascript: URL anywhere on the site; Django's
# admin marks its few inline blocks with the per-response nonce (csp_nonce context processor),
# which is added to the header only on the responses that used it. form-action also names
# the origins our forms reach through a redirect (Chrome checks form-action on every redirect
# a form submission follows): Stripe Checkout and Connect (or the simulator), and the
# OpenID Connect providers' sign-in pages.


def _origin(url: str) -> str:
    address = urlsplit(url)
    return f"{address.scheme}://{address.netloc}"


CSP_FORM_ACTION_ORIGINS = [
    *(
        [_origin(STRIPE_SIMULATOR_URL)]
        if STRIPE_SIMULATOR
        else ["https://checkout.stripe.com", "https://connect.stripe.com"]
    ),
    *(_origin(app["settings"]["server_url"]) for app in OPENID_CONNECT_APPS),
    *env.list("CSP_EXTRA_FORM_ACTION_ORIGINS", default=[]),
]
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF, *CSP_FORM_ACTION_ORIGINS],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
