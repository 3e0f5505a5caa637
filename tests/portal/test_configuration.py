"""Configuration comes from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x7#kQ!2vLr9@pZ4mN8wE5tY1uI6oP3aS0dF^gH&jK*lZ(cX)vB_nM-qW+eR=tY",
    "FIELD_ENCRYPTION_KEYS": "dGVzdC1rZXktb25lLWZvci10aGUtdGVzdC1zdWl0ZSE=",
    "ALLOWED_HOSTS": "portal.example.org",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.org:587",
    "AUDIT_CHECKPOINT_KEY": "kP3vX9qL2mW7tR5yN8bC4dF6gH1jZ0sA-checkpoint-key",
    "PAYMENT_API_KEY": "sk_live_placeholder_for_the_configuration_test",
    "PAYMENT_WEBHOOK_SECRET": "whsec_placeholder_for_the_configuration_test",
    "DATABASE_URL": "postgres://portal@db.example.org:5432/portal",
    "REDIS_URL": "redis://cache.example.org:6379/0",
    "PORTAL_ENV_FILE": "/nonexistent/.env",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Only what a bare production host would have: nothing from the test environment.
    clean = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_the_documented_production_settings() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "ALLOWED_HOSTS",
        "EMAIL_URL",
        "AUDIT_CHECKPOINT_KEY",
        "PAYMENT_API_KEY",
        "PAYMENT_WEBHOOK_SECRET",
    ],
)
def test_production_refuses_to_start_without_a_secret(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert f"The environment variable {missing} is required when DEBUG is off" in result.stderr


def test_demo_data_is_refused_in_production_unless_forced() -> None:
    env = {**PRODUCTION_ENV, "DATABASE_URL": "sqlite:///:memory:"}
    result = run_manage("seed_demo", env=env)
    assert result.returncode != 0
    assert "Refusing to load demo data with DEBUG off" in result.stderr
