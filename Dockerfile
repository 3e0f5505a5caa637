# syntax=docker/dockerfile:1
# The portal's production image: one image for web (gunicorn), the Celery
# worker, Celery beat and the one-shot migrate job (see docker-compose.yml).
# Configuration comes only from the environment at run time; see
# .env.production.example for every variable.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user to run every process; it owns nothing but var/.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin app

WORKDIR /app

# The record's PDF summary (WeasyPrint) needs Pango, HarfBuzz's font subsetter and a font; nothing else.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Pinned runtime dependencies only (dev tooling stays out of the image).
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir -r requirements/base.txt && pip check

COPY . .

# Static files are collected at build time and served by whitenoise. The
# settings refuse to load without production secrets, so collectstatic gets
# throw-away values for this one command only; nothing here reaches the image's
# environment. DATABASE_URL and CELERY_BROKER_URL keep settings from creating
# the SQLite and filesystem-queue directories of the demo under var/.
RUN env \
        SECRET_KEY=build-only-not-a-secret \
        FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1ub3QtYS1zZWNyZXQtMDAwMDAwMDA= \
        ALLOWED_HOSTS=localhost \
        EMAIL_URL=consolemail:// \
        AUDIT_CHECKPOINT_KEY=build-only-not-a-secret \
        DATABASE_URL=sqlite://:memory: \
        CELERY_BROKER_URL=memory:// \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media /app/var/audit \
    && chown -R app:app /app/var

USER app

EXPOSE 8000

# /healthz answers without touching the database. The check sends the first
# ALLOWED_HOSTS entry as Host (anything else is a 400) and X-Forwarded-Proto
# (with HTTPS on, a plain-http request is redirected; honoured when
# TRUST_X_FORWARDED_PROTO=true, as behind the TLS proxy).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as r; hosts = [h.strip().lstrip('.') for h in os.environ.get('ALLOWED_HOSTS', '').split(',') if h.strip() not in ('', '*')]; req = r.Request('http://127.0.0.1:8000/healthz', headers={'Host': (hosts or ['localhost'])[0], 'X-Forwarded-Proto': 'https'}); sys.exit(0 if r.urlopen(req, timeout=4).status == 200 else 1)"]

CMD ["sh", "-c", "exec gunicorn portal.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --access-logfile -"]
