"""Staff inbox benchmark: a nurse's inbox page at an organization with 100,000 threads.

One database (portal_bench_inbox, kept between runs and loaded again only when the generator or the schema
changed; BENCH_INBOX_RELOAD=1 forces it) with two organizations: a large one with 100,000 threads across
five care teams (pools) and 20,000 patients, and a small one with 1,000 threads, the same nurse working at
both. Threads are spread over the statuses as a clinic's inbox is (most closed, some waiting on the patient,
the rest waiting on the care team, some of those past their reply date), some assigned, some read.

For the default view (open threads), the overdue filter and a search by family name, at both sizes: the
number of queries (the same at 1,000 and 100,000 threads) and the server time, p50 and p95 over
BENCH_REQUESTS requests (default 200), through the whole Django stack in process (django.test.Client signed
in as the nurse, past two-step verification): middleware, session, the view, its queries (the page of 50 and
its audit rows, written in one statement), the template. Not the network or the WSGI server.

Run alone: DATABASE_URL=postgres://root@127.0.0.1:5432/portal_bench .venv/bin/python bench/staff_inbox.py
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "portal_bench_inbox"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
WARMUP = 10
TARGET_P95_MS = 30.0
DATA_VERSION = 1  # bump when the generator below changes
SIZES = {"large": (100_000, 20_000), "small": (1_000, 200)}  # threads, patients
POOLS = ("Diabetes care team", "Heart care team", "Front desk", "Pediatric nurses", "Women's health")
NURSE_EMAIL = "bench.nurse@example.test"
SEARCH = "Nakamura"  # a family name about 1 patient in 100 has
FAMILY_NAMES = (
    "Garcia", "Smith", "Johnson", "Lee", "Brown", "Lopez", "Nguyen", "Patel", "Kim", "Okafor",
    "Rossi", "Silva", "Novak", "Cohen", "Ali", "Khan", "Martin", "Young", "Walker", "Hall",
)  # fmt: skip
GIVEN_NAMES = ("Ana", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena")
SUBJECTS = (
    "Question about my dose", "Swollen ankles", "Form for school", "Blood sugar readings", "Side effects",
    "Test results", "Billing question", "Letter for work", "Dizzy in the morning", "Refill question",
)  # fmt: skip


def data_key() -> str:
    digest = hashlib.sha256(f"{DATA_VERSION} {SIZES}".encode())
    # Other apps' new migrations are applied to the kept database (main), not a reason to load it again.
    for path in sorted((ROOT / "messaging" / "migrations").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/portal_bench")
    if not url.startswith("postgres"):
        raise SystemExit("The staff inbox benchmark needs Postgres: set DATABASE_URL=postgres://…")
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + DATABASE
    import django

    django.setup()


def admin_connection() -> Any:
    import psycopg2
    from django.conf import settings

    database = settings.DATABASES["default"]
    admin = psycopg2.connect(
        dbname="postgres",
        user=database["USER"],
        password=database["PASSWORD"] or None,
        host=database["HOST"],
        port=database["PORT"] or 5432,
    )
    admin.autocommit = True
    return admin


def loaded_key() -> str | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_inbox_key')")
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute("SELECT key FROM bench_inbox_key")
        row = cursor.fetchone()
    return row[0] if row else None


def load() -> float:
    """A new database: two organizations, their pools, patients, enrollments, threads and read markers."""
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Enrollment, Membership, Organization, Patient, Role, TOTPDevice, User
    from messaging.models import Pool, Thread, ThreadRead, ThreadStatus, Topic

    connection.close()
    admin = admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        cursor.execute(f"CREATE DATABASE {DATABASE}")
    admin.close()
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    rng = random.Random(10)  # noqa: S311 (synthetic data)
    now = datetime.now(UTC)
    nurse = User.objects.create_user(email=NURSE_EMAIL, password=None, full_name="Bench Nurse")
    TOTPDevice.objects.create(user=nurse, name="bench", key="3132333435363738393031323334353637383930", confirmed=True)
    colleagues = [
        User.objects.create_user(email=f"colleague{n}@example.test", password=None, full_name=f"Colleague {n}")
        for n in range(8)
    ]
    topics = [choice for choice in Topic.values if choice != Topic.REFILL]
    for slug, (thread_count, patient_count) in SIZES.items():
        organization = Organization.objects.create(name=f"Bench {slug} clinic", slug=f"bench-{slug}")
        Membership.objects.create(user=nurse, organization=organization, role=Role.NURSE)
        Membership.objects.bulk_create(
            Membership(user=person, organization=organization, role=Role.NURSE) for person in colleagues
        )
        pools = Pool.objects.bulk_create(Pool(organization=organization, name=name) for name in POOLS)
        for pool in pools:
            pool.members.add(nurse, *colleagues[:4])
        patients = Patient.objects.bulk_create(
            (
                Patient(
                    given_name=rng.choice(GIVEN_NAMES),
                    family_name=SEARCH if n % 100 == 7 else rng.choice(FAMILY_NAMES),
                    birth_date=f"{rng.randint(1930, 2020)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                )
                for n in range(patient_count)
            ),
            batch_size=5000,
        )
        Enrollment.objects.bulk_create(
            (
                Enrollment(patient=patient, organization=organization, mrn=f"{slug[0].upper()}{n:07}")
                for n, patient in enumerate(patients)
            ),
            batch_size=5000,
        )
        threads = []
        for n in range(thread_count):
            started_at = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
            roll = rng.random()
            if roll < 0.75:
                status, due, closed = ThreadStatus.CLOSED, None, started_at + timedelta(days=2)
            elif roll < 0.88:
                status, due, closed = ThreadStatus.WAITING_ON_PATIENT, None, None
            else:  # waiting on the care team: a third of them past their reply date
                status, closed = ThreadStatus.WAITING_ON_STAFF, None
                due = now + timedelta(hours=rng.randint(-72, 96))
            assigned = None if rng.random() < 0.4 else (nurse if rng.random() < 0.15 else rng.choice(colleagues))
            threads.append(
                Thread(
                    organization=organization,
                    pool=pools[n % len(pools)],
                    patient=patients[rng.randrange(len(patients))],
                    topic=rng.choice(topics),
                    subject=rng.choice(SUBJECTS),
                    status=status,
                    assigned_to=assigned,
                    created_at=started_at,
                    last_message_at=started_at + timedelta(hours=rng.randint(0, 48)),
                    last_patient_message_at=started_at,
                    reply_due_at=due,
                    closed_at=closed,
                )
            )
        created = Thread.objects.bulk_create(threads, batch_size=5000)
        ThreadRead.objects.bulk_create(
            (ThreadRead(thread=thread, user=nurse, read_at=now) for thread in created if rng.random() < 0.3),
            batch_size=5000,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CREATE TABLE bench_inbox_key (key text)")
        cursor.execute("INSERT INTO bench_inbox_key VALUES (%s)", [data_key()])
    return round(time.perf_counter() - started, 1)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def signed_in_client() -> Any:
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.models import User

    nurse = User.objects.get(email=NURSE_EMAIL)
    client = Client()
    client.force_login(nurse)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = nurse.totpdevice_set.get().persistent_id
    session.save()
    return client


def measure() -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = signed_in_client()
    views = {"open": "", "overdue": "?view=overdue", "search": f"?q={SEARCH}"}
    sql_time: list[float] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        begun = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[-1] += time.perf_counter() - begun

    out: dict[str, Any] = {"pages": {}, "load_average_before": [round(v, 1) for v in os.getloadavg()]}
    with connection.cursor() as cursor:
        cursor.execute("SELECT o.slug, count(*) FROM messaging_thread t JOIN accounts_organization o "
                       "ON o.id = t.organization_id GROUP BY o.slug")  # fmt: skip
        out["threads"] = dict(cursor.fetchall())
    for size in SIZES:
        for view, query in views.items():
            url = reverse("messaging:staff_inbox", kwargs={"org_slug": f"bench-{size}"}) + query
            for _ in range(WARMUP):
                assert client.get(url).status_code == 200, url
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert response.status_code == 200, url
            queries = len(captured.captured_queries)
            rows = response.content.decode().count("<tr class=")
            if size != "large":
                out["pages"][f"{view} ({size})"] = {"queries": queries, "rows": rows}
                continue
            times: list[float] = []
            cpu: list[float] = []
            sql_time.clear()
            with connection.execute_wrapper(timed):
                for _ in range(REQUESTS):
                    sql_time.append(0.0)
                    begun, begun_cpu = time.perf_counter(), time.thread_time()
                    response = client.get(url)
                    times.append((time.perf_counter() - begun) * 1000)
                    cpu.append((time.thread_time() - begun_cpu) * 1000)
                    assert response.status_code == 200
            out["pages"][view] = {
                "queries": queries,
                "rows": rows,
                "p50_ms": round(percentile(times, 0.5), 1),
                "p95_ms": round(percentile(times, 0.95), 1),
                "sql_p50_ms": round(statistics.median(sql_time) * 1000, 1),
                "cpu_p50_ms": round(percentile(cpu, 0.5), 1),
                "cpu_p95_ms": round(percentile(cpu, 0.95), 1),
            }
    out["load_average_after"] = [round(v, 1) for v in os.getloadavg()]
    return out


def write_report(results: dict[str, Any]) -> None:
    """The inbox's section of bench/REPORT.md (replaced on each run)."""
    from bench.report_sections import replace_section

    lines = [
        "Written by `bench/staff_inbox.py` (run by `make bench`). A nurse's inbox page at an organization with "
        f"{results['threads'].get('bench-large', 0):,} threads in 5 care teams (20,000 patients), and at one with "
        f"{results['threads'].get('bench-small', 0):,}; {REQUESTS} requests per view after {WARMUP} warm-up "
        "requests, in process through the whole Django stack (signed in, past two-step verification). Load "
        f"average {results['load_average_before'][0]} before, {results['load_average_after'][0]} after.",
        "",
        "| view (100,000 threads) | queries | queries at 1,000 | p50 ms | p95 ms | SQL p50 ms | CPU p50 ms | "
        "p95 ≤ 30 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for view in ("open", "overdue", "search"):
        page = results["pages"][view]
        small = results["pages"][f"{view} (small)"]
        verdict = "meets" if page["p95_ms"] <= TARGET_P95_MS else "MISSES"
        lines.append(
            f"| {view} | {page['queries']} | {small['queries']} | {page['p50_ms']} | {page['p95_ms']} | "
            f"{page['sql_p50_ms']} | {page['cpu_p50_ms']} | {verdict} |"
        )
    lines += [
        "",
        "Each page reads its 50 rows in one query in the order of an index (no count of the whole inbox: the page "
        "links to the next one when there is a 51st row); every listed thread is written to the audit log in one "
        "statement.",
    ]
    replace_section("Staff inbox", lines)


def main() -> None:
    setup_django()
    from django.db import connection

    try:
        connection.ensure_connection()
        fresh = os.environ.get("BENCH_INBOX_RELOAD") == "1" or loaded_key() != data_key()
    except Exception:  # noqa: BLE001  (no database yet)
        fresh = True
    load_seconds = None
    if fresh:
        print(f"  loading {sum(t for t, _p in SIZES.values()):,} threads into {DATABASE}…", file=sys.stderr, flush=True)
        load_seconds = load()
    else:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # the other apps' tables, as the code now has them
    results = measure()
    results["load_seconds"] = load_seconds
    results["requests"] = REQUESTS
    for view, page in results["pages"].items():
        print(f"{view:<18} " + " ".join(f"{key}={value}" for key, value in page.items()))
    for view in ("open", "overdue", "search"):
        same = results["pages"][view]["queries"] == results["pages"][f"{view} (small)"]["queries"]
        print(f"{view}: the same number of queries at 1,000 and 100,000 threads: {same}")
    out = ROOT / "bench" / "results.json"
    existing = json.loads(out.read_text()) if out.exists() else {}
    existing["staff_inbox"] = results
    out.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    write_report(results)


if __name__ == "__main__":
    main()
