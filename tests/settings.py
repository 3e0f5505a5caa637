"""Settings for the test suite: the portal's one settings module, fed a test environment.

Only environment defaults are set here (a real DATABASE_URL or REDIS_URL from
the caller wins), plus what makes tests faster or deterministic.
"""

import os
import tempfile

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("HTTPS", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "k" * 30)
# Two fixed keys, newest first, so rotation can be tested.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1rZXktb25lLWZvci10aGUtdGVzdC1zdWl0ZSE=")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("EMAIL_URL", "memorymail://")
os.environ.setdefault("SMS_BACKEND", "accounts.sms.MemoryBackend")
# The payment sandbox (payment_sandbox, started by the tests that pay) is given the same key and secret.
os.environ.setdefault("PAYMENT_API_KEY", "sk_test_portal_tests")
os.environ.setdefault("PAYMENT_WEBHOOK_SECRET", "whsec_portal_tests")
os.environ.setdefault("PAYMENT_API_BASE", "http://127.0.0.1:9")  # nothing listens: tests that pay set their own
os.environ.setdefault("AUDIT_CHECKPOINT_KEY", "test-audit-checkpoint-key-not-for-production")
# Never the developer's var/ (tests that checkpoint the audit chain point this at their own tmp_path).
os.environ.setdefault(
    "AUDIT_CHECKPOINT_FILE",
    os.path.join(tempfile.gettempdir(), f"portal-tests-{os.getpid()}", "audit-checkpoints.jsonl"),
)
os.environ.setdefault("STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
os.environ.setdefault("PORTAL_ENV_FILE", "/nonexistent/.env")  # a developer's .env never leaks into tests
# The test health systems are FHIR sandboxes on loopback; tests of the address rule turn this off.
os.environ.setdefault("HEALTH_SYSTEMS_ALLOW_PRIVATE", "true")
# Each xdist worker gets its own cache keys, so rate limits never cross tests in parallel.
os.environ.setdefault("CACHE_KEY_PREFIX", "portal-test-" + os.environ.get("PYTEST_XDIST_WORKER", "main"))

from portal.settings import *

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The audit tables refuse TRUNCATE; this backend lets the flush between transactional tests empty them.
    DATABASES["default"]["ENGINE"] = "tests.postgres_backend"

if REDIS_URL:
    # Each parallel worker clears the cache between tests; give each its own
    # Redis database so that one worker's clear never wipes another's counters.
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "gw-1")
    _database = 1 + (int(_worker.removeprefix("gw")) + 1) % 15
    CACHES["default"]["LOCATION"] = REDIS_URL.rsplit("/", 1)[0] + f"/{_database}"

# Static files come from the finders in tests; nothing is collected first.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The public endpoint lists are loaded by the tests that are about them, not by every seed.
HEALTH_SYSTEM_ENDPOINT_LISTS = ""
