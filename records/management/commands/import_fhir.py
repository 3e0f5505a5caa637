from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Patient
from records.actions import DEFAULT_UPLOAD_LABEL, import_fhir_file
from records.ingest import FileRejectedError


class Command(BaseCommand):
    help = "Import FHIR files (a resource, a Bundle of any type, or NDJSON) into a patient's record."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--patient", required=True, help="A patient id, or the email of a user whose own record it is."
        )
        parser.add_argument("--label", default=DEFAULT_UPLOAD_LABEL, help="The source's name in the record.")
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        patient = self._patient(options["patient"])
        failures = 0
        for path in options["files"]:
            try:
                run = import_fhir_file(
                    patient=patient, data=path.read_bytes(), filename=path.name, label=options["label"]
                )
            except (OSError, FileRejectedError) as error:
                failures += 1
                self.stderr.write(f"{path}: {error}")
                continue
            self.stdout.write(
                f"{path}: {run.new} new, {run.changed} changed, {run.unchanged} unchanged, {run.failed} failed"
            )
        if failures:
            raise CommandError(f"{failures} of {len(options['files'])} files could not be imported.")

    def _patient(self, value: str) -> Patient:
        try:
            if "@" in value:
                return Patient.objects.get(user__email=value.strip().lower())
            return Patient.objects.get(pk=value)
        except (Patient.DoesNotExist, ValidationError) as error:
            raise CommandError(
                f"No patient {value!r} (give a patient id, or the email of a user with a record)."
            ) from error
