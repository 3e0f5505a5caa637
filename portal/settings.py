"""The portal's one settings module, driven by the environment.

Every value that differs between a laptop, CI and production comes from an
environment variable (or a `.env` file beside manage.py, which `make run`
writes on first start). Production secrets have no default: with DEBUG off, a
missing SECRET_KEY, FIELD_ENCRYPTION_KEYS, ALLOWED_HOSTS, EMAIL_URL or
AUDIT_CHECKPOINT_KEY stops the process at start-up with a message naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = Path(env.str("PORTAL_ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.is_file():
    env.read_env(str(ENV_FILE), overwrite=False)
# The demo's SQLite database, task queue and uploads (a test of `make run` points it at a folder of its own).
VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)


def required(name: str, *, dev_default: str | None = None) -> str:
    """An environment value production cannot run without."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG and dev_default is not None:
        return dev_default
    raise ImproperlyConfigured(
        f"The environment variable {name} is required when DEBUG is off. See README.md, 'Production settings'."
    )


SECRET_KEY = required("SECRET_KEY", dev_default="insecure-development-key-" + "x" * 40)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("The environment variable ALLOWED_HOSTS is required when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Field encryption: comma-separated Fernet keys, newest first. The newest key
# encrypts; every key decrypts, so a key can be rotated in without downtime.
FIELD_ENCRYPTION_KEYS = [
    key.strip()
    for key in required(
        "FIELD_ENCRYPTION_KEYS",
        # A fixed key for local development only; never used with DEBUG off.
        dev_default="ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZC11c2U=",
    ).split(",")
    if key.strip()
]

INSTALLED_APPS = [
    "accounts.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "django_otp",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "accounts",
    "proxy",
    "records",
    "messaging",
    "scheduling",
    "billing",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accounts.middleware.PageMethodsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.MFAVerificationMiddleware",
    "proxy.middleware.ActorMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# Database: Postgres in production and CI; SQLite only for the one-command demo.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process, the worker and beat share the demo database.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # No JIT compiling: the portal's queries are short reads of a page, and on a large record the planner's
    # cost estimate crossed jit_above_cost, so that compiling took longer (18 ms) than running the query.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = " ".join(filter(None, [options.get("options", ""), "-c jit=off"]))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="portal"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: Redis in production; the demo uses kombu's filesystem transport so
# that `make run` needs no broker.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    _processed_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "store_processed": False,
        # Broadcasts (worker control, shutdown) too, or kombu writes them to ./control of whatever directory.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Seconds a stopping worker lets running tasks finish before cancelling them (`make run` sets it, with
# REMAP_SIGTERM=SIGQUIT, so that a SIGTERM stops the demo's worker in seconds).
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=0.0)
# A stopping worker is gone this many seconds after its shutdown began, whatever its pool does (billiard can
# hang at exit on a queue lock a killed child held); a task cut short is delivered again (acks late).
WORKER_EXIT_DEADLINE_SECONDS = env.float("WORKER_EXIT_DEADLINE_SECONDS", default=30.0)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celery" / "beat-schedule")
)
AUDIT_SEAL_INTERVAL_SECONDS = env.int("AUDIT_SEAL_INTERVAL_SECONDS", default=15)
# Checkpoints of the audit chain's head, kept outside the database (see README, "The audit log"):
# HMAC-SHA256 signed with AUDIT_CHECKPOINT_KEY (comma-separated, newest first: the first signs, any verifies).
AUDIT_CHECKPOINT_KEY = required("AUDIT_CHECKPOINT_KEY", dev_default="insecure-development-audit-checkpoint-key")
AUDIT_CHECKPOINT_FILE = Path(env.str("AUDIT_CHECKPOINT_FILE", default=str(VAR_DIR / "audit" / "checkpoints.jsonl")))
AUDIT_CHECKPOINT_INTERVAL_SECONDS = env.int("AUDIT_CHECKPOINT_INTERVAL_SECONDS", default=60)
PROXY_TRANSITIONS_HOUR_UTC = env.int("PROXY_TRANSITIONS_HOUR_UTC", default=6)

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "proxy.backends.ModelBackend",
    "proxy.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        # Our User has full_name and email (Django's default list names fields it does not have).
        # Sign-up has no user yet: accounts.forms.SignupDetailsForm compares the name typed there.
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ["full_name", "email"]},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.RepetitivePasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth: email is the login; verification is mandatory.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupDetailsForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Family Health Portal] "
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, named here so that the policy is visible in one place.
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reset_password": "20/m/ip,5/m/key",
    "reauthenticate": "10/m/user",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "confirm_email": "1/3m/key",
}
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300

# django-otp: TOTP devices keep their secret in an encrypted field (accounts.models).
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Family Health Portal")
OTP_TOTP_THROTTLE_FACTOR = 1

# Session policy: server-side idle expiry, independent of JavaScript.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=15 * 60)
SESSION_IDLE_WARNING = env.int("SESSION_IDLE_WARNING", default=60)
SESSION_ACTIVITY_RESOLUTION = env.int("SESSION_ACTIVITY_RESOLUTION", default=30)
SESSION_COOKIE_AGE = 12 * 60 * 60  # an absolute ceiling; idle expiry is the real limit
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # the session-warning script reads it to keep a session alive

# HTTPS: on unless explicitly turned off (local development and the test server).
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 63072000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: no inline script, no third-party origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# Internationalization: every string is marked; English and Spanish ship.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "portal_language"
LANGUAGE_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_USER_TIME_ZONE = env.str("DEFAULT_USER_TIME_ZONE", default="America/Chicago")

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default=(
                "django.contrib.staticfiles.storage.StaticFilesStorage"
                if DEBUG
                else "whitenoise.storage.CompressedManifestStaticFilesStorage"
            ),
        )
    },
}
# Uploads live outside the web root and have no MEDIA_URL: they are served only by views that check access.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
PROXY_DOCUMENT_MAX_BYTES = env.int("PROXY_DOCUMENT_MAX_BYTES", default=10 * 1024 * 1024)
MESSAGE_ATTACHMENT_MAX_BYTES = env.int("MESSAGE_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
MESSAGE_ATTACHMENTS_MAX = 5
NOTICE_SWEEP_SECONDS = env.int("NOTICE_SWEEP_SECONDS", default=60)
ESCALATION_INTERVAL_SECONDS = env.int("ESCALATION_INTERVAL_SECONDS", default=15 * 60)
# The hour (UTC) the daily staff digest leaves: counts of waiting and overdue threads and refill requests.
STAFF_DIGEST_HOUR_UTC = env.int("STAFF_DIGEST_HOUR_UTC", default=12)
# Refill reminders: sent this many days before a medicine runs out, by a daily task at this hour (UTC).
REFILL_REMINDER_DAYS = env.int("REFILL_REMINDER_DAYS", default=7)
REFILL_REMINDERS_HOUR_UTC = env.int("REFILL_REMINDERS_HOUR_UTC", default=14)
# The portal's address for links in emails sent by background tasks (no request to build it from).
PORTAL_URL = env.str("PORTAL_URL", default="http://localhost:8000").rstrip("/")
RECORDS_UPLOAD_MAX_BYTES = env.int("RECORDS_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
# SMART Health Links: requests a minute to the public manifest and file URLs, per address and per link.
SHARE_LINK_RATE_PER_ADDRESS = env.int("SHARE_LINK_RATE_PER_ADDRESS", default=60)
SHARE_LINK_RATE_PER_LINK = env.int("SHARE_LINK_RATE_PER_LINK", default=30)
FHIR_HTTP_TIMEOUT_SECONDS = env.float("FHIR_HTTP_TIMEOUT_SECONDS", default=20.0)
FHIR_RETRY_ATTEMPTS = env.int("FHIR_RETRY_ATTEMPTS", default=6)
FHIR_RETRY_BASE_SECONDS = env.float("FHIR_RETRY_BASE_SECONDS", default=0.5)
FHIR_RETRY_MAX_WAIT_SECONDS = env.float("FHIR_RETRY_MAX_WAIT_SECONDS", default=30.0)
FHIR_PAGE_SIZE = env.int("FHIR_PAGE_SIZE", default=200)
FHIR_CURSOR_SKEW_SECONDS = 60  # ask again a little before the last run began: clocks differ
FHIR_REFRESH_AHEAD_SECONDS = 120  # an access token this close to expiry is renewed (a quarter of a short one's life)
# A health system is untrusted: what one sync may cost us (docs/decisions.md, "Health records (the pipeline)").
FHIR_MAX_REFRESHES_PER_RUN = env.int("FHIR_MAX_REFRESHES_PER_RUN", default=10)
FHIR_MAX_PAGES_PER_TYPE = env.int("FHIR_MAX_PAGES_PER_TYPE", default=2000)
FHIR_MAX_PAGE_BYTES = env.int("FHIR_MAX_PAGE_BYTES", default=32 * 1024 * 1024)
FHIR_MAX_PAGE_VALUES = env.int("FHIR_MAX_PAGE_VALUES", default=250_000)  # JSON values: bounds the parsed page
FHIR_REQUEST_DEADLINE_SECONDS = env.float("FHIR_REQUEST_DEADLINE_SECONDS", default=60.0)  # one request, body included
RECORDS_SYNC_SOFT_TIME_LIMIT_SECONDS = env.int("RECORDS_SYNC_SOFT_TIME_LIMIT_SECONDS", default=20 * 60)
RECORDS_SYNC_TIME_LIMIT_SECONDS = env.int("RECORDS_SYNC_TIME_LIMIT_SECONDS", default=21 * 60)
RECORDS_SYNC_LEASE_SECONDS = 25 * 60  # longer than the hard time limit: a live sync never loses its lease
# Health-system URLs must be https on public addresses (records.safe_urls); development and tests let the
# FHIR sandbox on loopback through.
HEALTH_SYSTEMS_ALLOW_PRIVATE = env.bool("HEALTH_SYSTEMS_ALLOW_PRIVATE", default=DEBUG)
# The portal's private key for SMART confidential clients that use private_key_jwt (RFC 7523): a PEM, RSA of
# 2048 bits or more, or EC P-384 (a literal "\n" may stand for each line break). Its public half is served at
# /.well-known/jwks.json. Required when any health system uses private_key_jwt.
SMART_CLIENT_PRIVATE_KEY = env.str("SMART_CLIENT_PRIVATE_KEY", default="").replace("\\n", "\n").strip()
RECORDS_SYNC_INTERVAL_SECONDS = env.int("RECORDS_SYNC_INTERVAL_SECONDS", default=6 * 60 * 60)
RECORDS_SYNC_JITTER_SECONDS = env.int("RECORDS_SYNC_JITTER_SECONDS", default=15 * 60)

# The health-system directory: systems this deployment registered with (a JSON list in the environment:
# [{"name", "fhir_base_url", "client_id", "city", "state", "vendor"}]) plus public endpoint lists.
# In development the FHIR sandbox (started by `make run` on FHIR_SANDBOX_PORT) plays three health systems.
FHIR_SANDBOX_URL = env.str(
    "FHIR_SANDBOX_URL", default=f"http://127.0.0.1:{env.int('FHIR_SANDBOX_PORT', default=8900)}"
).rstrip("/")
SANDBOX_HEALTH_SYSTEMS = [
    {
        "name": "Riverside Family Clinic",
        "prefix": "riverside",
        "city": "Springfield",
        "state": "IL",
        "organization": "riverside",
    },
    {
        "name": "Lakeside Pediatrics",
        "prefix": "lakeside",
        "city": "Springfield",
        "state": "IL",
        "organization": "lakeside",
    },
    {"name": "St. Mary's Regional Hospital", "prefix": "outside", "city": "Decatur", "state": "IL"},
]
HEALTH_SYSTEMS: list[dict[str, Any]] = env.json(
    "HEALTH_SYSTEMS",
    default=[
        {
            **system,
            "fhir_base_url": f"{FHIR_SANDBOX_URL}/{system['prefix']}/fhir",
            "client_id": "portal-dev",
            "vendor": "FHIR sandbox (development)",
            "is_sandbox": True,
        }
        for system in SANDBOX_HEALTH_SYSTEMS
    ]
    if DEBUG
    else [],
)
if not SMART_CLIENT_PRIVATE_KEY and any(s.get("client_kind") == "private_key_jwt" for s in HEALTH_SYSTEMS):
    raise ImproperlyConfigured("SMART_CLIENT_PRIVATE_KEY is required: a system in HEALTH_SYSTEMS uses private_key_jwt.")
HEALTH_SYSTEM_ENDPOINT_LISTS = env.str(
    "HEALTH_SYSTEM_ENDPOINT_LISTS",
    default=str(BASE_DIR.parent / "shared" / "fhir" / "endpoints" / "lantern-prod-resources"),
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Email: never carries health information (see accounts.adapters).
globals().update(environ.Env.email_url_config(required("EMAIL_URL", dev_default="consolemail://")))
# Text messages (appointment reminders): the console here; a provider's backend class in production.
SMS_BACKEND = env.str("SMS_BACKEND", default="accounts.sms.ConsoleBackend")
# How often the beat looks for appointment reminders that fell due (the 2-hour one is sent within this time).
APPOINTMENT_REMINDER_SWEEP_SECONDS = env.int("APPOINTMENT_REMINDER_SWEEP_SECONDS", default=300)
# The video service a video visit's room is at (scheduling.video): the room's secret name follows this address.
VIDEO_VISIT_BASE_URL = env.str("VIDEO_VISIT_BASE_URL", default="https://meet.jit.si/")
# Card payments go through a processor speaking Stripe's API (billing.gateways): Stripe itself in production
# (https://api.stripe.com), the payment sandbox in development and tests. Its key and the webhooks' signing
# secret come from the environment; the demo's script sets the sandbox's.
PAYMENT_API_BASE = env.str("PAYMENT_API_BASE", default="https://api.stripe.com")
PAYMENT_API_KEY = required("PAYMENT_API_KEY", dev_default="sk_test_sandbox")
PAYMENT_WEBHOOK_SECRET = required("PAYMENT_WEBHOOK_SECRET", dev_default="whsec_test")
PAYMENT_API_TIMEOUT_SECONDS = env.float("PAYMENT_API_TIMEOUT_SECONDS", default=20.0)
BILLING_HOUR_UTC = env.int("BILLING_HOUR_UTC", default=14)  # plan instalments, their notices, bill reminders
PLAN_NOTICE_DAYS = env.int("PLAN_NOTICE_DAYS", default=3)  # notice before each instalment
BILL_REMINDER_DAYS = env.int("BILL_REMINDER_DAYS", default=7)  # a reminder this many days before a bill is due
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Family Health Portal <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

REST_FRAMEWORK = {
    # The bearer scheme first: a call without credentials answers 401 with `WWW-Authenticate: Bearer`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        # Every call from one address, before authentication (proxy.api.base.FloodThrottle).
        "flood": env.str("API_THROTTLE_FLOOD", default="900/min"),
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Family Health Portal API",
    "DESCRIPTION": "The portal's JSON API. Every call acts as the signed-in person.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ScopeEnum": "proxy.api.serializers.SCOPE_CHOICES",
        "RecordKindEnum": "records.api.serializers.RECORD_KIND_CHOICES",
        "TimelineKindEnum": "records.api.serializers.TIMELINE_KIND_CHOICES",
        "SourceKindEnum": "records.api.serializers.SOURCE_KIND_CHOICES",
        "ResultKindEnum": "records.api.serializers.RESULT_KIND_CHOICES",
        "CareStatusEnum": "records.api.serializers.CARE_STATUS_CHOICES",
        "DownloadFormatEnum": "records.api.serializers_writes.DOWNLOAD_FORMAT_CHOICES",
        "ShareStateEnum": "records.api.serializers_writes.SHARE_STATE_CHOICES",
        "ShareContentEnum": "records.api.serializers_writes.SHARE_CONTENT_CHOICES",
        "ShareDaysEnum": "records.api.serializers_writes.SHARE_DAYS_CHOICES",
        "ShareOutcomeEnum": "records.api.serializers_writes.SHARE_OUTCOME_CHOICES",
        "JournalKindEnum": "records.api.serializers_writes.ENTRY_KIND_CHOICES",
        "QuestionStateEnum": "records.api.serializers_writes.QUESTION_STATE_CHOICES",
        "MeasurementKindEnum": "records.api.serializers_writes.MEASUREMENT_KIND_CHOICES",
        "MeasurementUnitEnum": "records.api.serializers_writes.MEASUREMENT_UNIT_CHOICES",
        "GlucoseContextEnum": "records.api.serializers_writes.GLUCOSE_CONTEXT_CHOICES",
        "PrivateKindEnum": "records.api.serializers_writes.SENSITIVE_CATEGORY_CHOICES",
        "MessageTopicEnum": "messaging.api.serializers.TOPIC_CHOICES",
        "NewMessageTopicEnum": "messaging.api.serializers.NEW_TOPIC_CHOICES",
        "ThreadStatusEnum": "messaging.api.serializers.THREAD_STATUS_CHOICES",
        "MessageKindEnum": "messaging.api.serializers.MESSAGE_KIND_CHOICES",
        "RefillStatusEnum": "messaging.api.refills.REFILL_STATUS_CHOICES",
        "RefillDecisionEnum": "messaging.api.refills.REFILL_DECISION_CHOICES",
        "AppointmentStatusEnum": "scheduling.api.patient.APPOINTMENT_STATUS_CHOICES",
        "VisitModeEnum": "scheduling.api.patient.VISIT_MODE_CHOICES",
        "LedgerEntryKindEnum": "billing.api.views.ENTRY_KIND_CHOICES",
        "PaymentStatusEnum": "billing.api.views.PAYMENT_STATUS_CHOICES",
        "PaymentPlanStatusEnum": "billing.api.views.PLAN_STATUS_CHOICES",
    },
}

# Logs never carry health data: only request metadata and our own messages.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The PDF renderer logs its steps, and any URL it was refused, which could carry text from a record:
        # none of it reaches the logs (no health data in application logs). Font subsetting talks as much.
        "weasyprint": {"level": "CRITICAL"},
        "fontTools": {"level": "WARNING"},
    },
}

DEMO_PASSWORD = "demo-portal-2026"  # noqa: S105  (demo logins only; seed_demo refuses production)
