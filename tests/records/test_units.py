"""Units: one canonical key per spelling, safe conversions only, a trend's unit, and how units read."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from records.units import KNOWN_UNITS, choose_unit, convert, display_unit, normalize_unit

GLUCOSE = "2345-7"
HBA1C = "4548-4"


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("mg/dL", "mg/dL"),
        ("mg/dl", "mg/dL"),
        ("MG/DL", "mg/dL"),
        (" mg/dL ", "mg/dL"),
        ("mmol/L", "mmol/L"),
        ("mmol/l", "mmol/L"),
        ("%", "%"),
        ("% of total Hgb", "%"),
        ("%{HbA1c}", "%"),
        ("% (sample/positive control)", "%"),
        ("kg", "kg"),
        ("KG", "kg"),
        ("[lb_av]", "[lb_av]"),
        ("lb", "[lb_av]"),
        ("lbs", "[lb_av]"),
        ("Cel", "Cel"),
        ("°C", "Cel"),
        ("C", "Cel"),
        ("degC", "Cel"),
        ("degrees C", "Cel"),
        ("[degF]", "[degF]"),
        ("°F", "[degF]"),
        ("degF", "[degF]"),
        ("cm", "cm"),
        ("[in_i]", "[in_i]"),
        ("in", "[in_i]"),
        ("mm[Hg]", "mm[Hg]"),
        ("mmHg", "mm[Hg]"),
        ("mm Hg", "mm[Hg]"),
        ("umol/L", "umol/L"),
        ("µmol/L", "umol/L"),  # micro sign
        ("μmol/L", "umol/L"),  # Greek mu
        ("mmol/mol", "mmol/mol"),
        ("g/dL", "g/dL"),
        ("g/dl", "g/dL"),
        ("g/L", "g/L"),
        ("10*3/uL", "10*3/uL"),
        ("K/uL", "10*3/uL"),
        ("K/ul", "10*3/uL"),
        ("10^3/uL", "10*3/uL"),
        ("x10E3/uL", "10*3/uL"),
        ("10³/µL", "10*3/uL"),
        ("x10*9/L", "10*9/L"),
        ("10^12/L", "10*12/L"),
        ("{beats}/min", "/min"),
        ("beats/minute", "/min"),
        ("breaths/minute", "/min"),
        ("mL/min/1.73m2", "mL/min/{1.73_m2}"),
        ("mL/min/{1.73_m2}", "mL/min/{1.73_m2}"),
        ("kg/m2", "kg/m2"),
        ("kg/m²", "kg/m2"),
        ("mcg/mL", "ug/mL"),
        ("IU/L", "[IU]/L"),
        ("pH", "[pH]"),
    ],
)
def test_spellings_seen_in_fhir_share_one_key(spelling: str, canonical: str) -> None:
    assert normalize_unit(spelling) == canonical


@pytest.mark.parametrize("unit", sorted(KNOWN_UNITS))
def test_a_canonical_unit_is_its_own_key(unit: str) -> None:
    assert normalize_unit(unit) == unit


@pytest.mark.parametrize(
    ("spelling", "kept"),
    [
        ("", ""),
        ("   ", ""),
        ("{score}", "{score}"),  # only an annotation: nothing stands for it
        ("furlongs/fortnight ", "furlongs/fortnight"),
        ("G/L", "G/L"),  # giga-cells per litre to some, grams per litre to others: left alone
        ("M", "M"),  # molar to some: never folded into metres
        ("<script>", "<script>"),
    ],
)
def test_unknown_or_ambiguous_spellings_come_back_as_given(spelling: str, kept: str) -> None:
    assert normalize_unit(spelling) == kept


@pytest.mark.parametrize(
    ("value", "source", "target", "loinc", "expected"),
    [
        # Hemoglobin A1c, IFCC-NGSP master equation.
        (7.9, "%", "mmol/mol", HBA1C, 62.84175),
        (7.9, "% of total Hgb", "mmol/mol", "17856-6", 62.84175),
        (53.0, "mmol/mol", "%", "59261-8", 53 / 10.929 + 2.15),
        # Mass to substance concentration, per analyte.
        (100.0, "mg/dL", "mmol/L", GLUCOSE, 5.5506),
        (90.0, "mg/dl", "mmol/l", "2339-0", 4.9956),
        (5.5, "mmol/L", "mg/dL", "15074-8", 99.088),
        (200.0, "mg/dL", "mmol/L", "2093-3", 5.1720),
        (3.0, "mmol/L", "mg/dL", "18262-6", 116.01),
        (150.0, "mg/dL", "mmol/L", "2571-8", 1.6936),
        (1.0, "mg/dL", "umol/L", "2160-0", 88.42),
        (88.42, "µmol/L", "mg/dL", "38483-4", 1.0),
        (10.0, "mg/dL", "mmol/L", "17861-6", 2.4950),
        (14.0, "mg/dL", "mmol/L", "3094-0", 4.9982),
        # By dimension, for any test.
        (98.6, "[degF]", "Cel", "", 37.0),
        (98.6, "°F", "C", "", 37.0),
        (-40.0, "Cel", "[degF]", "", -40.0),
        (70.0, "kg", "[lb_av]", "", 154.3236),
        (70.0, "kg", "lbs", "", 154.3236),
        (16.0, "[oz_av]", "g", "", 453.59237),
        (170.0, "cm", "[in_i]", "", 66.9291),
        (6.0, "ft", "m", "", 1.8288),
        (120.0, "mmHg", "kPa", "", 15.9987),
        (14.0, "g/dL", "g/L", "", 140.0),
        (14.0, "g/dL", "mg/dL", "", 14000.0),
        (5.2, "10*3/uL", "10*9/L", "", 5.2),
        (5.2, "K/uL", "x10*9/L", "", 5.2),
        (4.5, "10*6/uL", "10^12/L", "", 4.5),
        (250.0, "/uL", "10*3/uL", "", 0.25),
        (0.1, "mmol/L", "umol/L", "", 100.0),
        (1.5, "kU/L", "U/L", "", 1500.0),
        (2.0, "h", "min", "", 120.0),
    ],
)
def test_conversions(value: float, source: str, target: str, loinc: str, expected: float) -> None:
    assert convert(value, source, target, loinc) == pytest.approx(expected, rel=1e-4)


def test_hba1c_of_7_9_percent_is_about_63_mmol_per_mol() -> None:
    assert round(convert(7.9, "%", "mmol/mol", HBA1C) or 0) == 63


def test_the_same_unit_however_spelled_keeps_the_value() -> None:
    assert convert(5.25, "mg/dl", "MG/DL") == 5.25
    assert convert(3.0, "{score}", "{score}") == 3.0
    assert convert(7.0, "%", "%{HbA1c}") == 7.0


@pytest.mark.parametrize(
    ("source", "target", "loinc"),
    [
        ("mg/dL", "mmol/L", ""),  # glucose-like, but no analyte named
        ("mg/dL", "mmol/L", "718-7"),  # hemoglobin: no substance factor here
        ("%", "mmol/mol", ""),  # HbA1c's equation without an HbA1c code
        ("%", "mmol/mol", GLUCOSE),  # never across analytes
        ("mg/dL", "umol/L", HBA1C),
        ("mg/dL", "%", GLUCOSE),
        ("kg", "mmol/L", ""),
        ("kg", "mmol/L", GLUCOSE),
        ("kg", "cm", ""),
        ("Cel", "kPa", ""),
        ("mEq/L", "mmol/L", ""),  # equal only for a monovalent ion
        ("U/L", "[IU]/L", ""),
        ("mL/min", "mL/min/{1.73_m2}", ""),
        ("10*3/uL", "g/L", ""),
        ("G/L", "g/L", ""),
        ("{score}", "%", ""),
        ("furlongs", "m", ""),
        ("", "mg/dL", ""),
    ],
)
def test_no_safe_conversion_is_none(source: str, target: str, loinc: str) -> None:
    assert convert(1.0, source, target, loinc) is None
    assert convert(1.0, target, source, loinc) is None


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_value_that_is_not_a_number_does_not_convert(value: float) -> None:
    assert convert(value, "kg", "kg") is None
    assert convert(value, "kg", "[lb_av]") is None


def test_an_overflowing_result_is_none() -> None:
    assert convert(1e300, "kg", "pg") is None


# Pairs that convert both ways, each with the test code it needs (or none).
ROUND_TRIPS = [
    ("%", "mmol/mol", HBA1C),
    ("mg/dL", "mmol/L", GLUCOSE),
    ("mg/dL", "umol/L", "2160-0"),
    ("g/L", "mmol/L", "2571-8"),
    ("mg/dL", "mmol/L", "17861-6"),
    ("mg/dL", "mmol/L", "3094-0"),
    ("Cel", "[degF]", ""),
    ("kg", "[lb_av]", ""),
    ("[oz_av]", "g", ""),
    ("cm", "[in_i]", ""),
    ("mm[Hg]", "kPa", ""),
    ("g/dL", "mg/dL", ""),
    ("10*3/uL", "10*9/L", ""),
    ("/uL", "10*6/uL", ""),
    ("umol/L", "mmol/L", ""),
    ("m[IU]/L", "u[IU]/mL", ""),
]


@given(st.sampled_from(ROUND_TRIPS), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_there_and_back_is_the_same_value(pair: tuple[str, str, str], value: float) -> None:
    source, target, loinc = pair
    there = convert(value, source, target, loinc)
    assert there is not None
    back = convert(there, target, source, loinc)
    assert back is not None
    # Relative to the value; temperature and HbA1c add an offset, so near zero an absolute floor applies.
    assert math.isclose(back, value, rel_tol=1e-9, abs_tol=1e-9)


@given(
    st.sampled_from(sorted(KNOWN_UNITS)), st.sampled_from(sorted(KNOWN_UNITS)), st.sampled_from(["", GLUCOSE, HBA1C])
)
def test_conversions_go_both_ways_or_neither(source: str, target: str, loinc: str) -> None:
    assert (convert(2.0, source, target, loinc) is None) == (convert(2.0, target, source, loinc) is None)


def test_choose_unit_takes_the_most_frequent_unit() -> None:
    assert choose_unit(["kg", "[lb_av]", "kg", "lbs", "kg"]) == "kg"
    assert choose_unit(["mg/dl", "MG/DL", "mmol/L"], GLUCOSE) == "mg/dL"


def test_choose_unit_breaks_ties_with_the_most_recent_unit() -> None:
    assert choose_unit(["kg", "lb", "lb", "kg"]) == "kg"
    assert choose_unit(["lb", "kg", "kg", "lb"]) == "[lb_av]"
    assert choose_unit(["mg/dL", "mmol/L"], GLUCOSE) == "mmol/L"


def test_choose_unit_prefers_the_unit_that_draws_the_most_values() -> None:
    # mEq/L is the most frequent, but mmol/L and umol/L convert into each other: four values against three.
    units = ["mEq/L", "mEq/L", "mEq/L", "mmol/L", "mmol/L", "umol/L", "umol/L"]
    assert choose_unit(units) == "umol/L"
    # Without an analyte, mg/dL and mmol/L do not mix: the most frequent wins.
    assert choose_unit(["mg/dL", "mg/dL", "mmol/L", "mmol/L", "mmol/L"]) == "mmol/L"


def test_choose_unit_counts_a_blank_unit_only_when_all_are_blank() -> None:
    assert choose_unit(["", "", "mg/dL"]) == "mg/dL"
    assert choose_unit(["", " "]) == ""
    assert choose_unit([]) == ""


def test_choose_unit_reads_any_iterable_once() -> None:
    assert choose_unit(unit for unit in ["cm", "in", "in"]) == "[in_i]"


@pytest.mark.parametrize(
    ("unit", "reading"),
    [
        ("Cel", "°C"),
        ("C", "°C"),
        ("[degF]", "°F"),
        ("[lb_av]", "lb"),
        ("lb", "lb"),
        ("mm[Hg]", "mmHg"),
        ("10*3/uL", "thousand per µL"),
        ("K/uL", "thousand per µL"),
        ("10*6/uL", "million per µL"),
        ("10*9/L", "×10⁹/L"),  # noqa: RUF001 - the multiplication sign is what people read
        ("umol/L", "µmol/L"),
        ("mL/min/{1.73_m2}", "mL/min/1.73 m²"),
        ("kg/m2", "kg/m²"),
        ("mg/dl", "mg/dL"),
        ("%{HbA1c}", "%"),
        ("{score}", ""),
        ("{beats}/min", "beats/min"),
        ("{cells}/uL", "cells/µL"),
        ("", ""),
        ("furlongs", "furlongs"),
        ("widgets{x}/h", "widgets/h"),
    ],
)
def test_display_unit(unit: str, reading: str) -> None:
    assert display_unit(unit) == reading


@pytest.mark.parametrize("unit", sorted(KNOWN_UNITS))
def test_a_reading_reads_the_same_again(unit: str) -> None:
    assert display_unit(display_unit(unit)) == display_unit(unit)
