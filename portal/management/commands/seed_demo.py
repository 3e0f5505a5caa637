from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.demo import DEMO_LOGINS, DEMO_TOTP_KEY_BASE32, seed_demo_people
from billing.demo import seed_billing_demo
from messaging.demo import seed_messaging_demo
from proxy.demo import seed_proxy_demo
from scheduling.demo import seed_scheduling_demo


class Command(BaseCommand):
    help = "Load the demo organizations, people and logins (idempotent). Refused with DEBUG off unless --force."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Load demo data even with DEBUG off (never on a real deployment)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to load demo data with DEBUG off: demo logins share one known password. "
                "Pass --force only on a throwaway environment."
            )
        with transaction.atomic():
            people = seed_demo_people()
            seed_proxy_demo(patients=people.patients, users=people.users)
            seed_messaging_demo(patients=people.patients, users=people.users)
            seed_scheduling_demo(patients=people.patients, users=people.users)
            seed_billing_demo(patients=people.patients, users=people.users)
        call_command("load_health_systems", stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready: {len(people.users)} logins, {len(people.patients)} patients.")
        )
        self.stdout.write(f"Every demo login's password: {settings.DEMO_PASSWORD}")
        self.stdout.write(f"Staff and admins' authenticator key (RFC 6238 test vector): {DEMO_TOTP_KEY_BASE32}")
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.email:32} {login.what}")
