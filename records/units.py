"""Units of measure, so that one lab test's values from every health system land on one axis.

Health systems write the same unit many ways: UCUM codes ("mm[Hg]", "10*3/uL"), display strings
("mmHg", "K/uL", "% of total Hgb") and plain typing ("MG/DL", "lbs"). `normalize_unit` maps each
spelling it knows to one canonical key, the UCUM code where there is one. `convert` moves a value
between units only when that is safe: within one dimension (mass, length, temperature, pressure,
mass or substance concentration, cell counts...) for any test, and between mass and substance
concentration only for the analytes listed below, whose factor depends on the substance. Anything
else is None: the caller leaves the value off the chart rather than draw it on the wrong scale.

Decisions:
- A UCUM annotation in braces names what is counted, not a different unit ("%{HbA1c}" is "%",
  "{beats}/min" is "/min", "10*3{cells}/uL" is "10*3/uL"); so does a description after a percent sign
  ("% of total Hgb", "% (sample/positive control)"). The LOINC code already says what was measured.
  A unit that is only an annotation ("{score}") stays as it is: no canonical unit stands for it.
- Unknown spellings come back as given (stripped): they still group with identical spellings and
  convert to themselves, never to anything else.
- Matching ignores case only for spellings of two characters or more, and never for "G/L" (cells x10^9
  per litre in some countries): "M" (molar, to some) must not become metres, nor "G/L" grams per litre.
- Milliequivalents and international units have their own dimensions: mEq/L equals mmol/L only for
  a monovalent ion and IU are defined per substance, so neither converts to mmol/L or U/L.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import pgettext


@dataclass(frozen=True)
class _Scale:
    dimension: str
    factor: float  # how many of the dimension's base unit one of this unit is


MASS = "mass"  # base: g
LENGTH = "length"  # base: m
PRESSURE = "pressure"  # base: Pa
MASS_CONCENTRATION = "mass concentration"  # base: g/L
SUBSTANCE_CONCENTRATION = "substance concentration"  # base: mol/L
NUMBER_CONCENTRATION = "number concentration"  # base: /L
CATALYTIC_CONCENTRATION = "catalytic concentration"  # base: U/L
IU_CONCENTRATION = "international units per volume"  # base: [IU]/L
VOLUME = "volume"  # base: L
TIME = "time"  # base: s
RATE = "rate"  # base: /min
VOLUME_RATE = "volume rate"  # base: mL/min

_SCALES: dict[str, _Scale] = {
    # Mass. The avoirdupois pound and ounce are exact by definition (1959 international agreement).
    "kg": _Scale(MASS, 1e3),
    "g": _Scale(MASS, 1.0),
    "mg": _Scale(MASS, 1e-3),
    "ug": _Scale(MASS, 1e-6),
    "ng": _Scale(MASS, 1e-9),
    "pg": _Scale(MASS, 1e-12),
    "[lb_av]": _Scale(MASS, 453.59237),
    "[oz_av]": _Scale(MASS, 28.349523125),
    # Length. The international inch is exactly 2.54 cm.
    "m": _Scale(LENGTH, 1.0),
    "cm": _Scale(LENGTH, 1e-2),
    "mm": _Scale(LENGTH, 1e-3),
    "[in_i]": _Scale(LENGTH, 0.0254),
    "[ft_i]": _Scale(LENGTH, 0.3048),
    # Pressure: the conventional millimetre of mercury (133.322387415 Pa) and centimetre of water (98.0665 Pa).
    "mm[Hg]": _Scale(PRESSURE, 133.322387415),
    "cm[H2O]": _Scale(PRESSURE, 98.0665),
    "kPa": _Scale(PRESSURE, 1e3),
    "g/dL": _Scale(MASS_CONCENTRATION, 10.0),
    "g/L": _Scale(MASS_CONCENTRATION, 1.0),
    "mg/mL": _Scale(MASS_CONCENTRATION, 1.0),
    "mg/dL": _Scale(MASS_CONCENTRATION, 1e-2),
    "mg/L": _Scale(MASS_CONCENTRATION, 1e-3),
    "ug/mL": _Scale(MASS_CONCENTRATION, 1e-3),
    "ug/dL": _Scale(MASS_CONCENTRATION, 1e-5),
    "ug/L": _Scale(MASS_CONCENTRATION, 1e-6),
    "ng/mL": _Scale(MASS_CONCENTRATION, 1e-6),
    "ng/dL": _Scale(MASS_CONCENTRATION, 1e-8),
    "ng/L": _Scale(MASS_CONCENTRATION, 1e-9),
    "pg/mL": _Scale(MASS_CONCENTRATION, 1e-9),
    "mol/L": _Scale(SUBSTANCE_CONCENTRATION, 1.0),
    "mmol/L": _Scale(SUBSTANCE_CONCENTRATION, 1e-3),
    "umol/L": _Scale(SUBSTANCE_CONCENTRATION, 1e-6),
    "nmol/L": _Scale(SUBSTANCE_CONCENTRATION, 1e-9),
    "pmol/L": _Scale(SUBSTANCE_CONCENTRATION, 1e-12),
    "mEq/L": _Scale("equivalent concentration", 1e-3),
    "mg/g": _Scale("mass ratio", 1e-3),  # e.g. urine albumin per gram of creatinine
    # Cell counts: 10*3/uL (thousand per microlitre) is 10*9/L; 10*6/uL is 10*12/L; a cubic millimetre is a microlitre.
    "10*12/L": _Scale(NUMBER_CONCENTRATION, 1e12),
    "10*9/L": _Scale(NUMBER_CONCENTRATION, 1e9),
    "10*6/uL": _Scale(NUMBER_CONCENTRATION, 1e12),
    "10*3/uL": _Scale(NUMBER_CONCENTRATION, 1e9),
    "/uL": _Scale(NUMBER_CONCENTRATION, 1e6),
    "/mL": _Scale(NUMBER_CONCENTRATION, 1e3),
    "/L": _Scale(NUMBER_CONCENTRATION, 1.0),
    "U/L": _Scale(CATALYTIC_CONCENTRATION, 1.0),
    "U/mL": _Scale(CATALYTIC_CONCENTRATION, 1e3),
    "kU/L": _Scale(CATALYTIC_CONCENTRATION, 1e3),
    "[IU]/L": _Scale(IU_CONCENTRATION, 1.0),
    "[IU]/mL": _Scale(IU_CONCENTRATION, 1e3),
    "m[IU]/L": _Scale(IU_CONCENTRATION, 1e-3),
    "m[IU]/mL": _Scale(IU_CONCENTRATION, 1.0),
    "u[IU]/mL": _Scale(IU_CONCENTRATION, 1e-3),
    "L": _Scale(VOLUME, 1.0),
    "dL": _Scale(VOLUME, 1e-1),
    "mL": _Scale(VOLUME, 1e-3),
    "uL": _Scale(VOLUME, 1e-6),
    "fL": _Scale(VOLUME, 1e-15),
    "s": _Scale(TIME, 1.0),
    "min": _Scale(TIME, 60.0),
    "h": _Scale(TIME, 3600.0),
    "d": _Scale(TIME, 86400.0),
    "wk": _Scale(TIME, 604800.0),
    "/min": _Scale(RATE, 1.0),
    "/h": _Scale(RATE, 1 / 60),
    "mL/min": _Scale(VOLUME_RATE, 1.0),
    "L/min": _Scale(VOLUME_RATE, 1e3),
    # Units alone in their dimension: they group and convert to themselves only.
    "%": _Scale("percent", 1.0),
    "mmol/mol": _Scale("IFCC HbA1c", 1.0),
    "kg/m2": _Scale("body mass index", 1.0),
    "mL/min/{1.73_m2}": _Scale("filtration rate per body surface", 1.0),
    "[pH]": _Scale("pH", 1.0),
}
CELSIUS = "Cel"
FAHRENHEIT = "[degF]"
KNOWN_UNITS = frozenset(_SCALES) | {CELSIUS, FAHRENHEIT}

# Spellings of each canonical unit besides the unit itself (case variants are matched without listing them).
_SPELLINGS: dict[str, tuple[str, ...]] = {
    CELSIUS: ("°C", "ºC", "C", "degC", "deg C", "degree C", "degrees C", "oC", "celsius", "℃"),
    FAHRENHEIT: ("°F", "ºF", "F", "degF", "deg F", "degree F", "degrees F", "oF", "fahrenheit", "℉"),
    "kg": ("kilogram", "kilograms", "kgs"),
    "g": ("gram", "grams", "gm", "gms"),
    "mg": ("milligram", "milligrams"),
    "ug": ("mcg", "microgram", "micrograms"),
    "[lb_av]": ("lb", "lbs", "pound", "pounds"),
    "[oz_av]": ("oz", "ounce", "ounces"),
    "m": ("meter", "meters", "metre", "metres"),
    "cm": ("centimeter", "centimeters", "centimetre", "centimetres"),
    "mm": ("millimeter", "millimeters", "millimetre", "millimetres"),
    "[in_i]": ("in", "inch", "inches"),
    "[ft_i]": ("ft", "foot", "feet"),
    "mm[Hg]": ("mmHg", "mm(Hg)"),
    "cm[H2O]": ("cmH2O",),
    "g/dL": ("gm/dL", "g/100mL"),
    "mg/dL": ("mg/100mL", "mg%"),
    "ug/mL": ("mcg/mL",),
    "ug/dL": ("mcg/dL",),
    "ug/L": ("mcg/L",),
    "umol/L": ("mcmol/L",),
    "mEq/L": ("meq/L",),
    "10*3/uL": ("K/uL", "THOU/uL", "10*3/mm3", "/nL"),
    "10*6/uL": ("M/uL", "MIL/uL", "10*6/mm3"),
    "/uL": ("/mm3", "cells/uL", "cells/mm3"),
    "U/L": ("units/L",),
    "[IU]/L": ("IU/L",),
    "[IU]/mL": ("IU/mL",),
    "m[IU]/L": ("mIU/L",),
    "m[IU]/mL": ("mIU/mL",),
    "u[IU]/mL": ("uIU/mL", "mcIU/mL"),
    "L": ("l", "liter", "liters", "litre", "litres"),
    "mL": ("cc", "mls", "milliliter", "milliliters", "millilitre", "millilitres"),
    "s": ("sec", "second", "seconds"),
    "min": ("mins", "minute", "minutes"),
    "h": ("hr", "hrs", "hour", "hours"),
    "d": ("day", "days"),
    "wk": ("week", "weeks", "wks"),
    "/min": ("beats/min", "beats/minute", "bpm", "breaths/min", "breaths/minute", "/minute", "per minute", "1/min"),
    "/h": ("/hr", "per hour"),
    "%": ("percent", "pct"),
    "kg/m2": ("kg/m^2",),
    "mL/min/{1.73_m2}": (
        "mL/min/1.73m2",
        "mL/min/1.73 m2",
        "mL/min/1.73_m2",
        "mL/min/{1.73m2}",
        "mL/min/1.73 sq m",
        "mL/min/1.73sq.m",
    ),
    "[pH]": ("pH",),
}
# Capitalised spellings that mean something else than their lower-case twin: "G/L" is giga (10^9) cells
# per litre in some countries. Single letters are never matched without case either ("M", "C", "F").
_NOT_FOLDED = frozenset({"G/L", "G/l"})

_EXACT: dict[str, str] = {unit: unit for unit in KNOWN_UNITS}
for _unit, _names in _SPELLINGS.items():
    _EXACT.update(dict.fromkeys(_names, _unit))


def _folded(spellings: dict[str, str]) -> dict[str, str]:
    """Lower-cased spellings of two characters or more that name one unit only."""
    folded: dict[str, set[str]] = {}
    for name, unit in spellings.items():
        if len(name) >= 2:
            folded.setdefault(name.lower(), set()).add(unit)
    return {name: min(units) for name, units in folded.items() if len(units) == 1}


_FOLDED = _folded(_EXACT)

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
# "x10^3/uL", "10E3/uL", "x10(3)/uL", "10*9/L" after a multiplication sign, "10³/µL": a power of ten, the usual ways.
_POWER_OF_TEN = re.compile(
    r"^(?:[x\N{MULTIPLICATION SIGN}*]\s*)?10\s*(?:(?:[*^]\s*|[eE]|\(\s*)(\d+)\s*\)?|([⁰¹²³⁴⁵⁶⁷⁸⁹]+))"
)
_ANNOTATION = re.compile(r"\{[^{}]*\}")
_ONLY_ANNOTATION = re.compile(r"^\{[^{}]*\}$")
_PERCENT_WITH_WORDS = re.compile(r"^%(?:$|[\s({])")


def _tidy(text: str) -> str:
    """The spelling with micro signs, degree look-alikes, powers of ten and spacing made regular."""
    text = " ".join(text.split())
    text = text.replace("µ", "u").replace("μ", "u")  # micro sign (U+00B5) and Greek mu (U+03BC)
    power = _POWER_OF_TEN.match(text)
    if power is not None:
        digits = (power.group(1) or power.group(2)).translate(_SUPERSCRIPTS)
        text = f"10*{digits}{text[power.end() :].lstrip()}"
    return text.translate(_SUPERSCRIPTS)


def _lookup(text: str) -> str | None:
    for candidate in (text, text.replace(" ", "")):
        if candidate in _EXACT:
            return _EXACT[candidate]
        if candidate not in _NOT_FOLDED and candidate.lower() in _FOLDED:
            return _FOLDED[candidate.lower()]
    return None


# Remembered: a trend's page asks about the same few spellings hundreds of times (each value, each point's label).
@functools.lru_cache(maxsize=4096)
def normalize_unit(unit: str) -> str:
    """One canonical key per unit (its UCUM code where it has one); unknown spellings come back stripped."""
    given = unit.strip()
    if not given:
        return ""
    text = _tidy(given)
    found = _lookup(text)
    if found is not None:
        return found
    if _PERCENT_WITH_WORDS.match(text):
        return "%"
    bare = _ANNOTATION.sub("", text).strip()
    if bare and bare != text:
        found = _lookup(bare)
        if found is not None:
            return found
    return given


# Analyte-specific conversions ------------------------------------------------------------------------

# Molar masses (g/mol) that give the conventional clinical factors between mg/dL and mmol/L
# (mmol/L = mg/dL x 10 / M), as laboratory references list them (e.g. the SI unit conversion tables of
# the AMA Manual of Style and of Young DS, Ann Intern Med 1987;106:114-129):
#   glucose 180.16 -> mg/dL / 18.016; cholesterol 386.7 -> / 38.67; triglycerides (as triolein) 885.7 -> / 88.57;
#   calcium 40.08 -> / 4.008; urea nitrogen (as N2, one urea molecule holds two nitrogen atoms) 28.01 -> / 2.801;
#   creatinine 1 mg/dL = 88.42 umol/L (M = 10000 / 88.42, about 113.1).
# LOINC codes: those of the brief of this module, plus the sibling codes seen in the records health systems
# send (their LOINC displays are in the comments), so that a trend can cross from one to the other.
_GLUCOSE = 180.16
_CHOLESTEROL = 386.7
_TRIGLYCERIDES = 885.7
_CREATININE = 10_000 / 88.42
_CALCIUM = 40.08
_UREA_NITROGEN = 28.01

MOLAR_MASS_BY_LOINC: dict[str, float] = {
    "2345-7": _GLUCOSE,  # Glucose [Mass/volume] in Serum or Plasma
    "2339-0": _GLUCOSE,  # Glucose [Mass/volume] in Blood
    "41653-7": _GLUCOSE,  # Glucose [Mass/volume] in Capillary blood by Glucometer
    "1558-6": _GLUCOSE,  # Fasting glucose [Mass/volume] in Serum or Plasma
    "2341-6": _GLUCOSE,  # Glucose [Mass/volume] in Blood by Test strip manual
    "15074-8": _GLUCOSE,  # Glucose [Moles/volume] in Blood
    "14749-6": _GLUCOSE,  # Glucose [Moles/volume] in Serum or Plasma
    "2093-3": _CHOLESTEROL,  # Cholesterol [Mass/volume] in Serum or Plasma
    "2085-9": _CHOLESTEROL,  # Cholesterol in HDL [Mass/volume] in Serum or Plasma
    "2089-1": _CHOLESTEROL,  # Cholesterol in LDL [Mass/volume] in Serum or Plasma
    "13457-7": _CHOLESTEROL,  # Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation
    "18262-6": _CHOLESTEROL,  # Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay
    "35200-5": _CHOLESTEROL,  # Cholesterol [Moles/volume] in Serum or Plasma
    "2571-8": _TRIGLYCERIDES,  # Triglyceride [Mass/volume] in Serum or Plasma
    "35217-9": _TRIGLYCERIDES,  # Triglyceride [Moles/volume] in Serum or Plasma
    "2160-0": _CREATININE,  # Creatinine [Mass/volume] in Serum or Plasma
    "38483-4": _CREATININE,  # Creatinine [Mass/volume] in Blood
    "14682-9": _CREATININE,  # Creatinine [Moles/volume] in Serum or Plasma
    "17861-6": _CALCIUM,  # Calcium [Mass/volume] in Serum or Plasma
    "49765-1": _CALCIUM,  # Calcium [Mass/volume] in Blood
    "2000-8": _CALCIUM,  # Calcium [Moles/volume] in Serum or Plasma
    "3094-0": _UREA_NITROGEN,  # Urea nitrogen [Mass/volume] in Serum or Plasma
    "6299-2": _UREA_NITROGEN,  # Urea nitrogen [Mass/volume] in Blood
    "14937-7": _UREA_NITROGEN,  # Urea nitrogen [Moles/volume] in Serum or Plasma
}

# Hemoglobin A1c: NGSP/DCCT percent and IFCC mmol/mol, related by the IFCC-NGSP master equation
# NGSP(%) = 0.09148 x IFCC(mmol/mol) + 2.152, used in its rounded form IFCC = (NGSP - 2.15) x 10.929
# (Hoelzel W et al., Clin Chem 2004;50:166-174; ngsp.org "IFCC standardization of HbA1c").
HBA1C_LOINCS = frozenset({"4548-4", "17856-6", "59261-8"})
_NGSP_OFFSET = 2.15
_IFCC_PER_NGSP_PERCENT = 10.929


def _temperature(value: float, source: str, target: str) -> float | None:
    if source == CELSIUS and target == FAHRENHEIT:
        return value * 9 / 5 + 32
    if source == FAHRENHEIT and target == CELSIUS:
        return (value - 32) * 5 / 9
    return None


def _analyte(value: float, source: str, target: str, loinc: str) -> float | None:
    if loinc in HBA1C_LOINCS:
        if source == "%" and target == "mmol/mol":
            return (value - _NGSP_OFFSET) * _IFCC_PER_NGSP_PERCENT
        if source == "mmol/mol" and target == "%":
            return value / _IFCC_PER_NGSP_PERCENT + _NGSP_OFFSET
        return None
    molar_mass = MOLAR_MASS_BY_LOINC.get(loinc)
    scale_from, scale_to = _SCALES.get(source), _SCALES.get(target)
    if molar_mass is None or scale_from is None or scale_to is None:
        return None
    if scale_from.dimension == MASS_CONCENTRATION and scale_to.dimension == SUBSTANCE_CONCENTRATION:
        return value * scale_from.factor / molar_mass / scale_to.factor
    if scale_from.dimension == SUBSTANCE_CONCENTRATION and scale_to.dimension == MASS_CONCENTRATION:
        return value * scale_from.factor * molar_mass / scale_to.factor
    return None


def _convert_canonical(value: float, source: str, target: str, loinc: str) -> float | None:
    if source == target:
        return value
    if {source, target} == {CELSIUS, FAHRENHEIT}:
        return _temperature(value, source, target)
    scale_from, scale_to = _SCALES.get(source), _SCALES.get(target)
    if scale_from is not None and scale_to is not None and scale_from.dimension == scale_to.dimension:
        return value * (scale_from.factor / scale_to.factor)
    return _analyte(value, source, target, loinc)


def convert(value: float, from_unit: str, to_unit: str, loinc: str = "") -> float | None:
    """The value in to_unit, or None when no safe conversion exists (or the value is not a finite number).

    The same unit (however spelled) gives the same value; units of one dimension convert for any test;
    mass to substance concentration and HbA1c percent to mmol/mol only for the LOINC codes above.
    """
    if not math.isfinite(value):
        return None
    result = _convert_canonical(value, normalize_unit(from_unit), normalize_unit(to_unit), loinc.strip())
    return result if result is not None and math.isfinite(result) else None


def choose_unit(units: Iterable[str], loinc: str = "") -> str:
    """The unit to draw a trend in, given each value's unit from the oldest to the newest.

    The canonical unit that the most values can be drawn in (their own or converted), then the most
    frequent, then the one used most recently. A blank unit counts only when every unit is blank.
    """
    seen = [normalize_unit(unit) for unit in units]
    named = [unit for unit in seen if unit] or seen
    if not named:
        return ""
    counts = Counter(named)
    latest = {unit: position for position, unit in enumerate(named)}

    def reach(candidate: str) -> int:
        return sum(n for unit, n in counts.items() if _convert_canonical(1.0, unit, candidate, loinc) is not None)

    return max(counts, key=lambda unit: (reach(unit), counts[unit], latest[unit]))


# How units read ---------------------------------------------------------------------------------------

_DISPLAY: dict[str, str] = {
    CELSIUS: "°C",
    FAHRENHEIT: "°F",
    "[lb_av]": "lb",
    "[oz_av]": "oz",
    "[in_i]": "in",
    "[ft_i]": "ft",
    "mm[Hg]": "mmHg",
    "cm[H2O]": "cmH₂O",
    "ug": "µg",
    "ug/mL": "µg/mL",
    "ug/dL": "µg/dL",
    "ug/L": "µg/L",
    "umol/L": "µmol/L",
    "uL": "µL",
    "/uL": "/µL",
    "10*9/L": "\N{MULTIPLICATION SIGN}10⁹/L",
    "10*12/L": "\N{MULTIPLICATION SIGN}10¹²/L",
    "[IU]/L": "IU/L",
    "[IU]/mL": "IU/mL",
    "m[IU]/L": "mIU/L",
    "m[IU]/mL": "mIU/mL",
    "u[IU]/mL": "µIU/mL",
    "kg/m2": "kg/m²",
    "mL/min/{1.73_m2}": "mL/min/1.73 m²",
    "[pH]": "",  # the test's name says pH; the number stands alone
}
_LEADING_ANNOTATION = re.compile(r"^\{([^{}]*)\}(/.+)$")
_ATTACHED_ANNOTATION = re.compile(r"(?<=[\w%\]])\{[^{}]*\}")


def _worded(unit: str) -> str | None:
    # Words for people, in the active language; the rest are symbols that read the same in every language.
    if unit == "10*3/uL":
        return pgettext("unit of measure", "thousand per µL")
    if unit == "10*6/uL":
        return pgettext("unit of measure", "million per µL")
    return None


def display_unit(unit: str) -> str:
    """How a unit reads for people: "Cel" is "°C", "mm[Hg]" is "mmHg", "10*3/uL" is "thousand per µL".

    A unit that is only an annotation ("{score}", "{nominal}") reads as nothing: the number stands alone.
    A leading annotation is what is counted and reads as its words ("{beats}/min" is "beats/min"); an
    annotation attached to a unit is dropped ("%{HbA1c}" is "%"). Unknown units come back as given,
    without braces.
    """
    given = unit.strip()
    if not given or _ONLY_ANNOTATION.match(given):
        return ""
    leading = _LEADING_ANNOTATION.match(given)
    if leading is not None:
        return leading.group(1).strip() + display_unit(leading.group(2))
    key = normalize_unit(given)
    worded = _worded(key)
    if worded is not None:
        return worded
    if key in _DISPLAY:
        return _DISPLAY[key]
    if key in KNOWN_UNITS:
        return key
    return _ATTACHED_ANNOTATION.sub("", given).replace("{", "").replace("}", "")
