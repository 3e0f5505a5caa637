"""The record lists' parts written in Python (records/templatetags/record_values.py): escaped, and in Spanish.

And the rows they show, loaded without Model.__init__ (FhirResource.from_db).
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from django.db.models.signals import post_init, pre_init
from django.template import Context, Template
from django.utils import translation

from accounts.actors import actor_for
from records.models import FhirResource
from records.sections import RecordItem, record_rows
from tests.conftest import World
from tests.records.record_data import lab, source_for, store

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _row(**fields: object) -> FhirResource:
    values: dict[str, object] = {
        "pk": 7,
        "resource_type": "Observation",
        "kind": "lab",
        "display": HOSTILE,
        "value_number": 7.9,
        "value_text": "",
        "unit": HOSTILE,
        "ref_low": None,
        "ref_high": None,
        "ref_text": HOSTILE,
        "abnormal": True,
        "status": "corrected",
        "sensitivity": "sensitive",
        "effective_at": datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
        "details": {"interpretation": "H"},
    }
    values.update(fields)
    return FhirResource(**values)


def _render(source: str, **context: object) -> str:
    mine = SimpleNamespace(acts_for_self=True)
    return Template("{% load record_values %}" + source).render(Context({"actor": mine, **context}))


def test_every_part_escapes_what_the_record_says() -> None:
    row = _row()
    item = RecordItem(row=row, sources=[HOSTILE])
    html = _render(
        "{% result_value row %}|{% result_range row %}|{% item_sources item %}|{% item_line item %}"
        "|{% result_flag row %}",
        row=row,
        item=item,
    )
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html
    assert 'href="/records/results/7/"' in html
    assert "higher than the usual range" in html
    assert "Corrected" in html
    assert "Private" in html
    text_row = _row(value_number=None, value_text=HOSTILE, ref_low=1.5, ref_text="")
    html = _render("{% result_value row %}|{% result_range row %}", row=text_row)
    assert "<script" not in html
    assert "1.5 &lt;script&gt;" in html


def test_the_parts_speak_spanish_with_the_same_words_as_before() -> None:
    row = _row(display="Glucosa", unit="mg/dL", ref_low=70.0, ref_high=None, status="preliminary", abnormal=False)
    row.details = {}
    item = RecordItem(row=row, sources=["Clínica"])
    with translation.override("es"):
        html = _render("{% result_value row %}|{% result_range row %}|{% item_sources item %}", row=row, item=item)
        bare = _render(
            "{% result_value row %}|{% result_range row %}", row=_row(value_number=None, ref_text="", status="")
        )
    assert "7,9 mg/dL" in html
    assert "dentro del rango habitual" in html
    assert "Preliminar" in html
    assert "70 mg/dL o más" in html
    assert "Privado" in html
    assert "Sin valor" in bare
    assert "No indicado" in bare
    line = SimpleNamespace(latest=RecordItem(row=_row(display="", effective_at=None), sources=["Clínica"]), count=3)
    with translation.override("es"):
        html = _render("{% result_line line %}", line=line)
    assert "Prueba sin nombre" in html
    assert "(3 valores)" in html
    assert "Sin fecha" in html
    assert 'href="/records/results/7/"' in html


def test_rows_are_loaded_without_init_and_load_what_was_not_read_on_first_use(world: World) -> None:
    # FhirResource.from_db skips Model.__init__: nothing may listen to its signals.
    assert not pre_init.has_listeners(FhirResource)
    assert not post_init.has_listeners(FhirResource)
    source = source_for(world.patient_record, "Riverside Family Clinic")
    store(source, lab("a1c", value=7.9))
    row = record_rows(actor_for(world.user("patient"))).get(resource_id="a1c")
    assert (row._state.adding, row._state.db) == (False, "default")
    assert (row.value_number, row.unit, row.source.label) == (7.9, "%", "Riverside Family Clinic")
    assert "raw" in row.get_deferred_fields()
    assert row.raw["id"] == "a1c"  # read on first use
    row.display = "HbA1c"
    row.save(update_fields=["display"])
    assert FhirResource.objects.get(pk=row.pk).display == "HbA1c"
    assert FhirResource.objects.get(pk=row.pk) == row
