"""The record lists' parts written in Python (records/templatetags/record_values.py): escaped, and in Spanish."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from django.template import Context, Template
from django.utils import translation

from records.models import FhirResource
from records.sections import RecordItem

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
