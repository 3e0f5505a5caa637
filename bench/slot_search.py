"""Slot search benchmark: free times across 50 providers and 90 days, with a busy schedule.

One organization (Chicago) with 3 locations and 50 providers, each available Monday to Friday 08:00 to
12:00 and 13:00 to 17:00 for a 20-minute visit (in person or by video), a week of vacation each, two
closed days, and about 60% of the next 90 days' slots already booked. Measured through
scheduling.selectors (what the booking pages and API call), BENCH_REQUESTS times each after warm-up:

- first available: the soonest 10 free times with anyone;
- one provider's first available: the soonest 10 with one provider;
- one provider's week: every free time of one provider over 7 days;
- everyone, 90 days: every free time of all 50 providers over the whole horizon (the largest search).

Its own database (portal_bench_slots), loaded again on each run (a few seconds).

Run alone: DATABASE_URL=postgres://root@127.0.0.1:5432/portal_bench .venv/bin/python bench/slot_search.py
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "portal_bench_slots"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
WARMUP = 5
PROVIDERS = 50
DAYS = 90
BOOKED_SHARE = 0.6
CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=CHICAGO)  # a Monday morning, fixed so that every run is the same


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/portal_bench")
    if not url.startswith("postgres"):
        raise SystemExit("The slot search benchmark needs Postgres: set DATABASE_URL=postgres://…")
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + DATABASE
    import django

    django.setup()


def load() -> dict[str, int]:
    import psycopg2
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Enrollment, Organization, Patient
    from scheduling.models import (
        Appointment,
        AvailabilityException,
        ClosedDay,
        Location,
        Mode,
        Provider,
        SchedulingPolicy,
        VisitType,
        WeeklyAvailability,
    )
    from scheduling.slots import Window, provider_slots

    database = settings.DATABASES["default"]
    connection.close()
    admin = psycopg2.connect(
        dbname="postgres",
        user=database["USER"],
        password=database["PASSWORD"] or None,
        host=database["HOST"],
        port=database["PORT"] or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        cursor.execute(f"CREATE DATABASE {DATABASE}")
    admin.close()
    call_command("migrate", verbosity=0)
    rng = random.Random(11)  # noqa: S311 (synthetic data)
    organization = Organization.objects.create(name="Bench Clinic", slug="bench-clinic", time_zone="America/Chicago")
    SchedulingPolicy.objects.create(organization=organization, booking_horizon_days=DAYS, min_notice_minutes=120)
    locations = [Location.objects.create(organization=organization, name=f"Site {n}") for n in range(3)]
    visit = VisitType.objects.create(
        organization=organization, name="Visit", duration_minutes=20, modes=[Mode.IN_PERSON, Mode.VIDEO]
    )
    patients = Patient.objects.bulk_create(
        Patient(given_name=f"P{n}", family_name="Bench", birth_date=datetime(1980, 1, 1).date()) for n in range(500)
    )
    Enrollment.objects.bulk_create(
        Enrollment(patient=patient, organization=organization, mrn=f"B{n:05d}") for n, patient in enumerate(patients)
    )
    providers = Provider.objects.bulk_create(
        Provider(organization=organization, display_name=f"Provider {n}") for n in range(PROVIDERS)
    )
    visit.providers.set(providers)
    windows: list[WeeklyAvailability] = []
    for n, provider in enumerate(providers):
        location = locations[n % len(locations)]
        for weekday in range(1, 6):
            for starts, ends in ((clock(8), clock(12)), (clock(13), clock(17))):
                windows.append(
                    WeeklyAvailability(
                        provider=provider,
                        weekday=weekday,
                        starts=starts,
                        ends=ends,
                        location=location,
                        modes=[Mode.IN_PERSON, Mode.VIDEO],
                    )
                )
    WeeklyAvailability.objects.bulk_create(windows)
    exceptions = []
    for provider in providers:
        away = NOW + timedelta(days=rng.randrange(7, DAYS - 7))
        exceptions.append(AvailabilityException(provider=provider, starts_at=away, ends_at=away + timedelta(days=7)))
    AvailabilityException.objects.bulk_create(exceptions)
    ClosedDay.objects.bulk_create(
        ClosedDay(organization=organization, day=(NOW + timedelta(days=days)).date()) for days in (25, 60)
    )
    # About 60% of each provider's slots booked (read from the engine itself, then drawn at random).
    booked: list[Appointment] = []
    for provider in providers:
        mine = [
            Window(w.weekday, w.starts, w.ends, "America/Chicago", w.location_id, frozenset(w.modes))
            for w in windows
            if w.provider_id == provider.pk
        ]
        for slot in provider_slots(
            provider_id=provider.pk,
            windows=mine,
            length=timedelta(minutes=20),
            earliest=NOW,
            latest=NOW + timedelta(days=DAYS),
        ):
            if rng.random() < BOOKED_SHARE:
                booked.append(
                    Appointment(
                        organization=organization,
                        provider=provider,
                        patient=rng.choice(patients),
                        visit_type=visit,
                        location_id=slot.location_id,
                        mode=Mode.IN_PERSON,
                        starts_at=slot.starts_at,
                        ends_at=slot.ends_at,
                    )
                )
    Appointment.objects.bulk_create(booked, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"providers": PROVIDERS, "appointments": len(booked), "days": DAYS}


def measure() -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scheduling.models import Provider, VisitType
    from scheduling.selectors import first_available, open_slots

    visit = VisitType.objects.select_related("organization").get()
    provider = Provider.objects.order_by("pk").first()
    assert provider is not None
    searches = {
        "first available (anyone, 10)": lambda: first_available(visit, now=NOW, count=10),
        "first available (one provider, 10)": lambda: first_available(visit, now=NOW, count=10, provider=provider),
        "one provider's week": lambda: open_slots(
            visit, start=NOW, end=NOW + timedelta(days=7), now=NOW, provider=provider
        ),
        "everyone, 90 days": lambda: open_slots(visit, start=NOW, end=NOW + timedelta(days=DAYS), now=NOW),
    }
    out: dict[str, Any] = {"load_average_before": [round(v, 1) for v in os.getloadavg()], "searches": {}}
    for name, search in searches.items():
        for _ in range(WARMUP):
            search()
        with CaptureQueriesContext(connection) as captured:
            found = search()
        times: list[float] = []
        requests = REQUESTS if name != "everyone, 90 days" else max(20, REQUESTS // 10)
        for _ in range(requests):
            begun = time.perf_counter()
            search()
            times.append((time.perf_counter() - begun) * 1000)
        times.sort()
        out["searches"][name] = {
            "queries": len(captured.captured_queries),
            "slots": len(found),
            "requests": requests,
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
        }
    out["load_average_after"] = [round(v, 1) for v in os.getloadavg()]
    return out


def write_report(results: dict[str, Any]) -> None:
    """The slot search's section of bench/REPORT.md (replaced on each run)."""
    from bench.report_sections import replace_section

    data = results["data"]
    lines = [
        f"Written by `bench/slot_search.py` (run by `make bench`). {data['providers']} providers at one organization, "
        f"each free Monday to Friday 08:00–12:00 and 13:00–17:00 for a 20-minute visit, a week of vacation each, "
        f"two closed days, {data['appointments']:,} appointments already booked over the {data['days']} days "
        "(about 60% of the slots). Searched through scheduling.selectors in process (no web request). Load average "
        f"{results['load_average_before'][0]} before, {results['load_average_after'][0]} after.",
        "",
        "| search | queries | slots found | requests | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results["searches"].items():
        lines.append(
            f"| {name} | {row['queries']} | {row['slots']:,} | {row['requests']} | {row['p50_ms']} | {row['p95_ms']} |"
        )
    lines += [
        "",
        "The number of queries does not grow with the providers, the days or the appointments: a search reads the "
        "policy, the providers' windows, the closed days, and the exceptions and held appointments (four queries). "
        "First available makes each window's possible times lazily, soonest first, and reads busy time only as far "
        "as the candidates in hand need: a few hours here; up to two more reads (six queries) when the soonest "
        "free times are weeks away. A search of the whole range reads its busy time at once.",
    ]
    replace_section("Slot search", lines)


def main() -> None:
    setup_django()
    print(f"  loading {PROVIDERS} providers and {DAYS} days of appointments into {DATABASE}…", file=sys.stderr)
    started = time.perf_counter()
    data = load()
    results = measure()
    results["data"] = data
    results["load_seconds"] = round(time.perf_counter() - started, 1)
    results["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    for name, row in results["searches"].items():
        print(f"{name:<36} " + " ".join(f"{key}={value}" for key, value in row.items()))
    out = ROOT / "bench" / "results.json"
    existing = json.loads(out.read_text()) if out.exists() else {}
    existing["slot_search"] = results
    out.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    write_report(results)


if __name__ == "__main__":
    main()
