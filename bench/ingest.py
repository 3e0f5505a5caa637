"""Ingest benchmark: N synthetic patients served by the FHIR sandbox over HTTP, synced by the real engine.

Measures, in resources per second and in one run:
- first_sync_rps: every patient's first sync (fetch, hash, project, write);
- resync_rps: a forced full re-sync of the same, unchanged data (everything fetched again, nothing written);
- copy_rps: Postgres COPY of the same rows into a bare table, the floor of what writing can cost.

Run with `make bench` (Postgres required: COPY is the yardstick). It uses its own database, made anew.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PATIENTS = int(os.environ.get("BENCH_PATIENTS", "20"))
OBSERVATIONS = int(os.environ.get("BENCH_OBSERVATIONS_PER_PATIENT", "400"))


def synthetic_patient(number: int) -> list[dict[str, Any]]:
    patient = f"bench-{number}"
    subject = {"reference": f"Patient/{patient}"}
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": patient,
            "birthDate": "1970-01-01",
            "name": [{"family": "Bench", "given": [str(number)]}],
        }
    ]
    for n in range(OBSERVATIONS):
        resources.append(
            {
                "resourceType": "Observation",
                "id": f"{patient}-obs-{n}",
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "laboratory",
                            }
                        ]
                    }
                ],
                "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c"}]},
                "subject": subject,
                "effectiveDateTime": f"{2000 + n % 25}-{1 + n % 12:02d}-15T09:30:00Z",
                "valueQuantity": {"value": 5 + (n % 40) / 10, "unit": "%", "system": "http://unitsofmeasure.org"},
                "referenceRange": [{"high": {"value": 5.7, "unit": "%"}}],
            }
        )
    for n in range(OBSERVATIONS // 8):
        resources.append(
            {
                "resourceType": "Condition",
                "id": f"{patient}-cond-{n}",
                "subject": subject,
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "recordedDate": "2015-02-01",
            }
        )
        resources.append(
            {
                "resourceType": "Encounter",
                "id": f"{patient}-enc-{n}",
                "status": "finished",
                "class": {"code": "AMB"},
                "subject": subject,
                "period": {"start": "2020-01-01T10:00:00Z", "end": "2020-01-01T10:30:00Z"},
            }
        )
    return resources


def write_data(folder: Path) -> tuple[Path, int, list[dict[str, Any]]]:
    everything: list[dict[str, Any]] = []
    data = folder / "data"
    data.mkdir()
    for number in range(PATIENTS):
        resources = synthetic_patient(number)
        everything.extend(resources)
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
        (data / f"patient-{number}.json").write_text(json.dumps(bundle))
    config = folder / "config.json"
    config.write_text(
        json.dumps(
            {
                "systems": [
                    {
                        "prefix": "bench",
                        "name": "Bench",
                        "data": "data",
                        "clients": [{"client_id": "bench", "redirect_uris": ["http://127.0.0.1/cb/"]}],
                        "access_token_seconds": 3600,
                        "page_size_default": 1000,
                    }
                ]
            }
        )
    )
    return config, len(everything), everything


def start_sandbox(config: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "fhir_sandbox", "--config", str(config), "--port", "0", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"the sandbox did not start: {line!r}")
    return process, line.rsplit(" ", 1)[-1]


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("make bench needs Postgres: set DATABASE_URL=postgres://… (COPY is the yardstick).")
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/portal_bench"
    os.environ["FHIR_PAGE_SIZE"] = "1000"
    import django

    django.setup()


def main() -> None:
    setup_django()
    import psycopg2
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Patient
    from records.models import Connection, FhirResource, HealthSystem, RecordSource, SourceKind
    from records.sync import sync_connection

    database = settings.DATABASES["default"]
    admin = psycopg2.connect(
        dbname="postgres",
        user=database["USER"],
        password=database["PASSWORD"] or None,
        host=database["HOST"],
        port=database["PORT"] or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS portal_bench")
        cursor.execute("CREATE DATABASE portal_bench")
    admin.close()
    call_command("migrate", verbosity=0)

    with tempfile.TemporaryDirectory() as folder:
        config, total, everything = write_data(Path(folder))
        sandbox, url = start_sandbox(config)
        try:
            system = HealthSystem.objects.create(name="Bench", fhir_base_url=f"{url}/bench/fhir", client_id="bench")
            connections = []
            for number in range(PATIENTS):
                token = json.loads(
                    _post(
                        f"{url}/bench/_sandbox/token",
                        {"patient": f"bench-{number}", "client_id": "bench", "offline": True},
                    )
                )
                patient = Patient.objects.create(given_name="Bench", family_name=str(number), birth_date="1970-01-01")
                source = RecordSource.objects.create(
                    patient=patient, kind=SourceKind.CONNECTION, health_system=system, label="Bench"
                )
                connections.append(
                    Connection.objects.create(
                        source=source,
                        health_system=system,
                        fhir_patient_id=f"bench-{number}",
                        access_token=token["access_token"],
                        refresh_token=token.get("refresh_token", ""),
                        token_endpoint=f"{url}/bench/auth/token",
                    )
                )

            started = time.perf_counter()
            runs = [sync_connection(c.pk) for c in connections]
            first = time.perf_counter() - started
            assert all(r is not None and r.status == "succeeded" for r in runs), [r.error for r in runs if r]
            stored = FhirResource.objects.count()
            assert stored == total, (stored, total)

            started = time.perf_counter()
            again = [sync_connection(c.pk, full=True) for c in connections]
            resync = time.perf_counter() - started
            assert all(r is not None and r.unchanged == r.new + r.changed + r.unchanged for r in again)
            assert sum(r.unchanged for r in again if r) == total

            rows = io.StringIO()
            for resource in everything:
                rows.write(
                    f"{resource['resourceType']}\t{resource['id']}\t"
                    f"{json.dumps(resource).replace(chr(92), chr(92) * 2)}\n"
                )
            with connection.cursor() as cursor:
                cursor.execute("CREATE UNLOGGED TABLE bench_copy (type text, id text, raw jsonb)")
                started = time.perf_counter()
                rows.seek(0)
                cursor.cursor.copy_expert("COPY bench_copy (type, id, raw) FROM STDIN", rows)
                copy = time.perf_counter() - started
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=10)

    results = {
        "ingest": {
            "patients": PATIENTS,
            "resources": total,
            "first_sync_seconds": round(first, 3),
            "resync_seconds": round(resync, 3),
            "copy_seconds": round(copy, 3),
            "first_sync_rps": round(total / first),
            "resync_rps": round(total / resync),
            "copy_rps": round(total / copy),
            "first_sync_vs_copy": round(first / copy, 1),
            "targets": {"first_sync_rps": 2000, "resync_rps": 10000},
        }
    }
    out = ROOT / "bench"
    existing = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    existing.update(results)
    (out / "results.json").write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    write_report(out / "REPORT.md", existing)
    print(json.dumps(results, indent=2))


def _post(url: str, body: dict[str, Any]) -> str:
    import urllib.request

    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def write_report(path: Path, results: dict[str, Any]) -> None:
    ingest = results["ingest"]
    verdict = {key: "meets" if ingest[key] >= target else "BELOW" for key, target in ingest["targets"].items()}
    path.write_text(f"""# Benchmarks

Written by `make bench` (whole numbers from the latest run on the machine that ran it; compare ratios
rather than absolute figures across machines).

## Ingest

{ingest["patients"]} synthetic patients, {ingest["resources"]} resources in all, served by the FHIR sandbox in
its own process over HTTP (pages of 1,000), synced one connection after another by the sync engine into
Postgres.

| measure | seconds | resources per second | target |
|---|---|---|---|
| first sync (fetch, hash, project, write) | {ingest["first_sync_seconds"]} | {ingest["first_sync_rps"]} | ≥ 2,000 ({verdict["first_sync_rps"]}) |
| forced full re-sync of unchanged data (fetch, hash, nothing written) | {ingest["resync_seconds"]} | {ingest["resync_rps"]} | ≥ 10,000 ({verdict["resync_rps"]}) |
| Postgres COPY of the same rows into a bare table | {ingest["copy_seconds"]} | {ingest["copy_rps"]} | (the yardstick) |

The first sync takes {ingest["first_sync_vs_copy"]}× as long as the bare COPY.
""")


if __name__ == "__main__":
    main()
