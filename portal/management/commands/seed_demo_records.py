"""The demo's first records: Rosa's and Alex's charts from the outside hospital, as files they brought in.

    python manage.py seed_demo_records FOLDER

FOLDER is where the sandbox's demo data was written (`python -m fhir_sandbox.demo FOLDER ...`). A newcomer
then opens a real record at once; connecting Riverside in the demo adds a second source whose records merge
into the same lists. Idempotent: importing the same files again changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.demo import demo_patient
from messaging.demo import seed_refill_demo
from messaging.refills import medication_key, medicine_of
from records.actions import import_fhir_file

HOSPITAL = "St. Mary's Regional Hospital"
# The demo person, and their chart's file in the outside hospital's folder of the sandbox data.
FILES = {"rosa": "outside/rosa-lopez-smr.json", "alex": "outside/alex-rivera-smr.json"}
RIVERSIDE_ROSA = "riverside/rosa-lopez-rfc.json"


class Command(BaseCommand):
    help = "Import the demo family's outside-hospital records (idempotent). Refused with DEBUG off unless --force."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="Where python -m fhir_sandbox.demo wrote the demo data.")
        parser.add_argument("--force", action="store_true", help="Even with DEBUG off (never on a real deployment).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to load demo records with DEBUG off. Pass --force only on a throwaway environment."
            )
        folder: Path = options["folder"]
        for key, name in FILES.items():
            path = folder / name
            if not path.is_file():
                raise CommandError(f"{path} is missing: write the demo data first (python -m fhir_sandbox.demo).")
            run = import_fhir_file(
                patient=demo_patient(key), data=path.read_bytes(), filename=path.name, label=HOSPITAL
            )
            self.stdout.write(f"{key}: {run.new} new, {run.changed} changed, {run.unchanged} unchanged records")
        self._refill_request(folder)

    def _refill_request(self, folder: Path) -> None:
        """Maria's waiting refill request for one of Rosa's Riverside medicines, in Nurse Jordan's pool.

        Riverside's chart reaches the portal when Maria connects Riverside in the demo; the clinic knows its own
        prescription meanwhile, so the request names the medicine as Riverside's file does.
        """
        chart = json.loads((folder / RIVERSIDE_ROSA).read_text())
        orders = [
            entry["resource"]
            for entry in chart.get("entry", [])
            if entry.get("resource", {}).get("resourceType") == "MedicationRequest"
            and entry["resource"].get("status") == "active"
        ]
        if not orders:
            return
        system, code, name = medicine_of(orders[0])
        key = medication_key(system, code, name)
        seed_refill_demo(rosa=demo_patient("rosa"), medication_name=name or "Medicine", medication_key=key)
        self.stdout.write("rosa: a refill request waits at Riverside")
