"""The record pages read a bounded amount of a large record: what each bound keeps, and what it leaves out."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from accounts.actors import actor_for
from records.models import FhirResource
from records.preventive_care import LATEST_PER_CODE, SERIES_PER_CODE, _rows
from records.results import TREND_CAP, history_page, result_context, result_lines
from records.sections import current_rule
from records.selectors import visible_to
from tests.conftest import World, sign_in
from tests.records.record_data import condition, immunization, lab, source_for, store


def _moment(n: int) -> str:
    return f"20{10 + n // 12:02d}-{1 + n % 12:02d}-15T09:00:00Z"


def test_results_lines_group_the_newest_results_by_test_with_copies_counted_once(world: World) -> None:
    riverside = source_for(world.patient_record, "Riverside")
    hospital = source_for(world.patient_record, "Hospital")
    glucose = [lab(f"g{n}", code="2345-7", display="Glucose", value=90 + n, when=_moment(n)) for n in range(6)]
    store(riverside, *glucose, lab("old-a1c", when="2005-01-01T09:00:00Z"))
    store(hospital, *glucose[-2:])  # the two newest values from a second system too: the same values
    actor = actor_for(world.user("patient"))

    lines = result_lines(actor, "lab")
    assert [line.latest.row.display for line in lines] == ["Glucose", "Hemoglobin A1c"]
    assert lines[0].count == 6
    assert lines[0].latest.row.value_number == 95
    assert sorted(lines[0].latest.sources) == ["Hospital", "Riverside"]

    # Only the newest `cap` results are grouped: a test seen only before them is left to its trend and the timeline.
    newest = result_lines(actor, "lab", cap=4)
    assert [line.latest.row.display for line in newest] == ["Glucose"]
    assert newest[0].count == 2  # the newest four rows: two values, each from both systems


def test_preventive_care_reads_the_newest_items_of_each_code(world: World) -> None:
    source = source_for(world.patient_record, "Riverside")
    count = SERIES_PER_CODE + 10
    pressures = [
        lab(f"bp{n}", code="8480-6", display="Systolic blood pressure", unit="mm[Hg]", value=120, when=_moment(n))
        for n in range(count)
    ]
    # A vaccine of a series (hepatitis B, CVX 08): its doses are counted, so more of them are read.
    doses = [
        immunization(f"hepb{n}", cvx="08", display="Hepatitis B vaccine", when=_moment(n)[:10]) for n in range(count)
    ]
    later = lab(
        "bp-later", code="8480-6", display="Systolic blood pressure", unit="mm[Hg]", when="2031-01-15T09:00:00Z"
    )
    store(source, *pressures, *doses, later)
    rows = _rows(visible_to(actor_for(world.user("patient"))), [world.patient_record.pk], date(2030, 1, 1))
    pressure_days = sorted(row.effective_at.date().isoformat() for row in rows if row.code == "8480-6")
    dose_days = [row for row in rows if row.code == "08"]
    assert len(pressure_days) == LATEST_PER_CODE  # a blood pressure: its newest few, not the years of them
    assert pressure_days[-1] == "2012-11-15"  # the newest up to the day asked for; the one after it is not read
    assert len(dose_days) == SERIES_PER_CODE


def test_the_timeline_pages_without_counting_the_record(client: Client, world: World) -> None:
    source = source_for(world.patient_record, "Riverside")
    store(source, *(lab(f"t{n}", code=f"1000-{n}", display=f"Test {n}", when=_moment(n)) for n in range(55)))
    sign_in(client, world, "patient")
    first = client.get(reverse("records:timeline")).content.decode()
    assert "Next page" in first
    assert "Previous page" not in first
    assert "Test 54" in first
    second = client.get(reverse("records:timeline"), {"page": "2"}).content.decode()
    assert "Test 0<" in second
    assert "Test 54" not in second
    assert "Next page" not in second
    assert "Previous page" in second
    beyond = client.get(reverse("records:timeline"), {"page": "9"}).content.decode()
    assert "Test 54" in beyond  # past the end: the first page


def test_a_results_history_table_pages_through_every_value_and_the_chart_draws_the_newest(
    client: Client, world: World
) -> None:
    source = source_for(world.patient_record, "Riverside")
    store(source, *(lab(f"a{n}", value=5 + n / 1000, when=_moment(n)) for n in range(TREND_CAP + 10)))
    newest = visible_to(actor_for(world.user("patient"))).get(resource_id=f"a{TREND_CAP + 9}")
    sign_in(client, world, "patient")
    url = reverse("records:result", args=[newest.pk])
    first = client.get(url).content.decode()
    chart, table = first.split("history-title", 1)
    assert chart.count("<circle") == TREND_CAP  # the newest values on the chart
    assert "Next page" in table
    assert "5.209 %" in table
    assert "5.159 %" not in table  # the 51st newest: on the next page
    pages = [client.get(url, {"page": str(n)}).content.decode().split("history-title", 1)[1] for n in (2, 5)]
    assert "5.159 %" in pages[0]
    assert "5.000 %" in pages[1] or "5 %" in pages[1]  # the oldest value, left off the chart, is in the table
    assert "Next page" not in pages[1]


def test_a_tests_table_cuts_its_first_pages_from_the_rows_read_for_the_chart(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    source = source_for(world.patient_record, "Riverside")
    count = TREND_CAP + 30
    store(source, *(lab(f"g{n}", code="2345-7", display="Glucose", value=n, when=_moment(n)) for n in range(count)))
    actor = actor_for(world.user("patient"))
    newest = visible_to(actor).get(resource_id=f"g{count - 1}")
    context = result_context(actor, newest)
    assert context.newest_rows is not None
    assert len(context.newest_rows) == TREND_CAP
    size = 50
    for number in range(1, count // size + 3):  # every page, and one past the end (the first page again)
        read = history_page(actor, newest, number, size)
        cut = history_page(actor, newest, number, size, newest_rows=context.newest_rows)
        assert [item.row.pk for item in cut.object_list] == [item.row.pk for item in read.object_list], number
        assert (cut.number, cut.has_next) == (read.number, read.has_next), number
    with django_assert_num_queries(0):  # the first pages: nothing read again
        page = history_page(actor, newest, 3, size, newest_rows=context.newest_rows)
    assert page.object_list[0].row.value_number == count - 1 - 2 * size
    with django_assert_num_queries(1):  # past the chart's rows: read
        page = history_page(actor, newest, 4, size, newest_rows=context.newest_rows)
    assert page.object_list[-1].row.value_number == count - 4 * size


@pytest.mark.skipif(db_connection.vendor != "postgresql", reason="the statistics are Postgres's")
def test_the_planner_knows_current_problems_are_many_among_final_results(world: World) -> None:
    """The kind and status statistics (records/migrations/0012): without them the planner, taking the two filters
    as independent, expects a handful of current problems where there are many, and sorts them all before the
    summary keeps its few instead of reading them in order."""
    source = source_for(world.patient_record, "Riverside")
    store(source, *(lab(f"lab-{n}", when=_moment(n % 120)) for n in range(1_500)))
    store(source, *(condition(f"problem-{n}", f"Problem {n}", code=str(1000 + n)) for n in range(150)))
    with db_connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {FhirResource._meta.db_table}")
    current = FhirResource.objects.filter(current_rule("problem"))
    assert current.count() == 150
    plan = json.loads(current.explain(format="json"))
    assert plan[0]["Plan"]["Plan Rows"] >= 100  # without the statistics: about 15
