"""Preventive care (care gaps): from a person's age, sex and record, which screenings and vaccines are due.

Pure functions over plain values (no models, no database), so a page, the API and the tests all ask the same
question the same way. Each rule says who it is for, how often, which guideline it follows and which codes count
as having it done, one frozenset per code system. An event counts for a rule when its code system is one of the
rule's (compared exactly) and its code is in that system's set; the kind of record does not matter, because the
same colonoscopy reaches us as a procedure from one health system and as a report or an imaging study from another.

Three shapes of rule:
- every so often (screenings, the Td booster): done when a counting event is recent enough; a rule may accept
  several tests, each with its own length (a colonoscopy lasts 10 years, a stool test 1);
- once a flu season (seasons start on August 1);
- a series of doses (childhood vaccines, HPV, shingles, pneumococcal at 65): the doses the CDC schedule expects by
  the person's age; a child behind is due, and the next dose is due at its age and after its gap from the last one.

Deliberate simplifications (the care team has the full schedules; this is a reminder, not a prescription):
- Sex-specific screenings (mammogram, cervical) apply only when the administrative gender is "female". For "other"
  and "unknown" neither applies: the gender in the record says nothing reliable about the organs a person has, and
  a wrong reminder is worse than none. A page may still invite them to ask their care team.
- Without a birth date nothing is returned: every rule depends on age, even the flu vaccine (from 6 months).
- Doses are counted once per day, whatever the person's age at the time; the minimum ages and intervals of the catch-up
  tables are not checked. Catch-up is simplified: one Hib dose from 15 months or one PCV dose from 2 years completes
  those series, one MenACWY dose from 16 is enough, DTaP stops at 7 (older children catch up with Tdap, which the
  care team plans).
- Hib needs 3 doses when every dose so far is a PRP-OMP vaccine (PedvaxHIB, Comvax), otherwise 4.
- HPV needs 2 doses when the first was given before 15, otherwise 3; the series is shown from 11 (routine age), or
  from 9 once a dose is on record.
- Children 6 months to 8 years getting the flu vaccine for the first time need 2 doses; one per season is counted.
- An HPV test before 30 is not the recommended screening, but it was a cervical check: it counts like a Pap test
  (3 years) rather than being ignored.
- Events dated after today are ignored (scheduled, or wrong).
"""

from __future__ import annotations

import calendar
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from records.care_gap_codes import (
    ADULT_PNEUMOCOCCAL_CODES,
    BLOOD_PRESSURE_CODES,
    CHILD_PNEUMOCOCCAL_CODES,
    CHOLESTEROL_CODES,
    COLONOSCOPY_CODES,
    CT_COLONOGRAPHY_CODES,
    CVX,
    DTAP_CODES,
    FLEXIBLE_SIGMOIDOSCOPY_CODES,
    FLU_CODES,
    HEPATITIS_A_CODES,
    HEPATITIS_B_CODES,
    HIB_CODES,
    HIB_PRP_OMP_CODES,
    HPV_TEST_CODES,
    HPV_VACCINE_CODES,
    MAMMOGRAPHY_CODES,
    MENACWY_CODES,
    MMR_CODES,
    PAP_TEST_CODES,
    POLIO_CODES,
    RECOMBINANT_ZOSTER_CODES,
    STOOL_BLOOD_TEST_CODES,
    STOOL_DNA_CODES,
    TD_CODES,
    TDAP_CODES,
    VARICELLA_CODES,
    CodeSets,
)

Status = Literal["due", "up_to_date"]

YEAR = 12  # ages and intervals are counted in months
FLU_SEASON_START = (8, 1)  # August 1


@dataclass(frozen=True)
class CareEvent:
    """One item of the record: kind is the projection kind ("immunization", "procedure", "lab", ...)."""

    kind: str
    code_system: str
    code: str
    when: date
    source: str


@dataclass(frozen=True)
class CareItem:
    """One rule that applies to the person, in the language asked for, with the newest event that counts."""

    rule: str
    title: str
    how_often: str
    guideline: str
    status: Status
    last_done: date | None
    last_source: str
    due_on: date | None


@dataclass(frozen=True)
class RuleText:
    title: str
    how_often: str
    guideline: str


@dataclass(frozen=True)
class Way:
    """One way of being screened: the codes that count and how long one lasts."""

    codes: CodeSets
    months: int
    from_age_months: int = 0  # counts only when done at this age or older


@dataclass(frozen=True)
class Dose:
    """One dose of a series: due at this age, and no sooner than these gaps after the previous and the first."""

    at_age_months: int
    after_previous_months: int = 0
    after_first_months: int = 0


# --- Calendar --------------------------------------------------------------------------------------------------


def months_after(day: date, months: int) -> date | None:
    """`day` plus whole months, the day clamped to the month's end (Jan 31 + 1 = Feb 28); None past year 9999."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    if not 1 <= year <= date.max.year:
        return None
    month = month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def flu_season_start(today: date) -> date:
    """The most recent August 1 on or before `today`."""
    month, day = FLU_SEASON_START
    start = date(today.year, month, day)
    if today >= start:
        return start
    return date(today.year - 1, month, day) if today.year > 1 else date.min


def _latest(dates: Iterable[date | None]) -> date | None:
    """The latest of dates where None means "beyond the calendar", so it wins."""
    found = list(dates)
    if any(d is None for d in found):
        return None
    return max(d for d in found if d is not None)


# --- Rules -----------------------------------------------------------------------------------------------------


def _normal_code(system: str, code: str) -> str:
    code = code.strip()
    # CVX codes are published with at least two digits ("08"); some senders drop the leading zero.
    if system == CVX and code.isascii() and code.isdigit():
        return str(int(code)).zfill(2)
    return code


def _union(*code_sets: CodeSets) -> dict[str, frozenset[str]]:
    merged: dict[str, frozenset[str]] = {}
    for code_set in code_sets:
        for system, codes in code_set.items():
            merged[system] = merged.get(system, frozenset()) | codes
    return merged


NO_CODES: frozenset[str] = frozenset()


def _matches(codes: CodeSets, event: CareEvent) -> bool:
    return _normal_code(event.code_system, event.code) in codes.get(event.code_system, frozenset())


@dataclass(frozen=True, kw_only=True)
class Rule(ABC):
    slug: str
    texts: Mapping[str, RuleText]  # "en" and "es"
    codes: CodeSets  # every code that counts for the rule in some way
    from_age_months: int
    until_age_months: int | None = None  # exclusive: 76 * YEAR means "through 75"
    sex: Literal["female", "male"] | None = None
    early_from_age_months: int | None = None  # applies from this younger age once a dose is on record

    def applies(self, birth: date, today: date, sex: str, has_event: bool) -> bool:
        if self.sex is not None and sex != self.sex:
            return False
        start_months = self.from_age_months
        if has_event and self.early_from_age_months is not None:
            start_months = min(start_months, self.early_from_age_months)
        start = months_after(birth, start_months)
        if start is None or today < start:
            return False
        if self.until_age_months is None:
            return True
        end = months_after(birth, self.until_age_months)
        return end is None or today < end

    @abstractmethod
    def assess(self, birth: date, today: date, done: Sequence[CareEvent]) -> tuple[Status, date | None]:
        """Status and next due date, from the matching events (newest first, none after today)."""


@dataclass(frozen=True, kw_only=True)
class IntervalRule(Rule):
    ways: tuple[Way, ...]

    def assess(self, birth: date, today: date, done: Sequence[CareEvent]) -> tuple[Status, date | None]:
        good_until: list[date | None] = []
        for way in self.ways:
            counts_from = months_after(birth, way.from_age_months)
            for event in done:
                if _matches(way.codes, event) and counts_from is not None and event.when >= counts_from:
                    good_until.append(months_after(event.when, way.months))
        if not good_until:
            return "due", today
        due_on = _latest(good_until)
        return _status(due_on, today), due_on


@dataclass(frozen=True, kw_only=True)
class SeasonalRule(Rule):
    def assess(self, birth: date, today: date, done: Sequence[CareEvent]) -> tuple[Status, date | None]:
        start = flu_season_start(today)
        if not done:
            return "due", today
        if done[0].when >= start:
            return "up_to_date", months_after(start, YEAR)
        return "due", start


@dataclass(frozen=True, kw_only=True)
class SeriesRule(Rule):
    doses: tuple[Dose, ...]
    # Catch-up: one dose given at this age or older completes the series.
    complete_from_age_months: int | None = None

    def plan(self, birth: date, given: Sequence[CareEvent]) -> tuple[Dose, ...]:
        """The doses this person needs; `given` is oldest first."""
        return self.doses

    def assess(self, birth: date, today: date, done: Sequence[CareEvent]) -> tuple[Status, date | None]:
        given = sorted(done, key=lambda e: (e.when, e.source))
        days = sorted({e.when for e in given})
        if self.complete_from_age_months is not None:
            late = months_after(birth, self.complete_from_age_months)
            if late is not None and any(day >= late for day in days):
                return "up_to_date", None
        plan = self.plan(birth, given)
        if len(days) >= len(plan):
            return "up_to_date", None
        dose = plan[len(days)]
        candidates = [months_after(birth, dose.at_age_months)]
        if days:
            candidates.append(months_after(days[-1], dose.after_previous_months))
            candidates.append(months_after(days[0], dose.after_first_months))
        due_on = _latest(candidates)
        status = _status(due_on, today)
        if status == "due" and not days:
            return status, today  # never had one: due now, like the screenings never done
        return status, due_on


@dataclass(frozen=True, kw_only=True)
class HpvSeries(SeriesRule):
    """Two doses when the series starts before 15, three from 15 on."""

    late_start_months: int
    late_doses: tuple[Dose, ...]

    def plan(self, birth: date, given: Sequence[CareEvent]) -> tuple[Dose, ...]:
        late = months_after(birth, self.late_start_months)
        if given and late is not None and given[0].when >= late:
            return self.late_doses
        return self.doses


@dataclass(frozen=True, kw_only=True)
class HibSeries(SeriesRule):
    """Three doses when every dose so far is PRP-OMP, four otherwise."""

    short_codes: CodeSets
    short_doses: tuple[Dose, ...]

    def plan(self, birth: date, given: Sequence[CareEvent]) -> tuple[Dose, ...]:
        if given and all(_matches(self.short_codes, e) for e in given):
            return self.short_doses
        return self.doses


def _status(due_on: date | None, today: date) -> Status:
    return "due" if due_on is not None and due_on <= today else "up_to_date"


# --- The rules, with their words in English and Spanish side by side -------------------------------------------

USPSTF = {
    "en": "U.S. Preventive Services Task Force",
    "es": "Grupo de Trabajo de Servicios Preventivos de EE. UU. (USPSTF)",
}
CDC_SCHEDULES = {"en": "CDC immunization schedules", "es": "Calendarios de vacunación de los CDC"}
CDC_ADULTS = {"en": "CDC adult immunization schedule", "es": "Calendario de vacunación para adultos de los CDC"}
CDC_CHILDREN = {
    "en": "CDC child and adolescent immunization schedule",
    "es": "Calendario de vacunación para niños y adolescentes de los CDC",
}
HEART_SOCIETIES = {
    "en": "American Heart Association and American College of Cardiology",
    "es": "Asociación Americana del Corazón y Colegio Americano de Cardiología",
}


def _texts(title: tuple[str, str], how_often: tuple[str, str], guideline: Mapping[str, str]) -> dict[str, RuleText]:
    return {
        "en": RuleText(title[0], how_often[0], guideline["en"]),
        "es": RuleText(title[1], how_often[1], guideline["es"]),
    }


def _interval_rule(
    *,
    slug: str,
    texts: Mapping[str, RuleText],
    ways: tuple[Way, ...],
    from_age_months: int,
    until_age_months: int | None = None,
    sex: Literal["female", "male"] | None = None,
) -> IntervalRule:
    """A rule done by any of its ways; the codes that count are all of theirs."""
    return IntervalRule(
        slug=slug,
        texts=texts,
        codes=_union(*(way.codes for way in ways)),
        ways=ways,
        from_age_months=from_age_months,
        until_age_months=until_age_months,
        sex=sex,
    )


RULES: tuple[Rule, ...] = (
    SeasonalRule(
        slug="flu-vaccine",
        texts=_texts(
            ("Flu vaccine", "Vacuna contra la gripe"),
            (
                "Everyone 6 months and older: once every flu season (seasons start on August 1).",
                "Todas las personas de 6 meses o más: una vez cada temporada de gripe "
                "(la temporada empieza el 1 de agosto).",
            ),
            CDC_SCHEDULES,
        ),
        codes=FLU_CODES,
        from_age_months=6,
    ),
    _interval_rule(
        slug="blood-pressure",
        texts=_texts(
            ("Blood pressure check", "Control de la presión arterial"),
            ("Adults 18 and older: once a year.", "Adultos de 18 años o más: una vez al año."),
            USPSTF,
        ),
        ways=(Way(BLOOD_PRESSURE_CODES, 1 * YEAR),),
        from_age_months=18 * YEAR,
    ),
    _interval_rule(
        slug="colorectal-cancer-screening",
        texts=_texts(
            ("Colorectal cancer screening", "Detección del cáncer colorrectal"),
            (
                "Ages 45 to 75: a colonoscopy every 10 years, a stool test (FIT) every year, a stool DNA test "
                "every 3 years, or a CT colonography or flexible sigmoidoscopy every 5 years.",
                "De 45 a 75 años: una colonoscopia cada 10 años, una prueba de heces (FIT) cada año, una prueba de "
                "ADN en heces cada 3 años, o una colonografía por tomografía o una sigmoidoscopia flexible "
                "cada 5 años.",
            ),
            USPSTF,
        ),
        ways=(
            Way(COLONOSCOPY_CODES, 10 * YEAR),
            Way(STOOL_BLOOD_TEST_CODES, 1 * YEAR),
            Way(STOOL_DNA_CODES, 3 * YEAR),
            Way(CT_COLONOGRAPHY_CODES, 5 * YEAR),
            Way(FLEXIBLE_SIGMOIDOSCOPY_CODES, 5 * YEAR),
        ),
        from_age_months=45 * YEAR,
        until_age_months=76 * YEAR,
    ),
    _interval_rule(
        slug="breast-cancer-screening",
        texts=_texts(
            ("Mammogram (breast cancer screening)", "Mamografía (detección del cáncer de mama)"),
            ("Women 40 to 74: every 2 years.", "Mujeres de 40 a 74 años: cada 2 años."),
            USPSTF,
        ),
        ways=(Way(MAMMOGRAPHY_CODES, 2 * YEAR),),
        from_age_months=40 * YEAR,
        until_age_months=75 * YEAR,
        sex="female",
    ),
    _interval_rule(
        slug="cervical-cancer-screening",
        texts=_texts(
            (
                "Cervical cancer screening (Pap or HPV test)",
                "Detección del cáncer de cuello uterino (Papanicolaou o prueba del VPH)",
            ),
            (
                "Women 21 to 65: a Pap test every 3 years; from 30, an HPV test every 5 years also counts.",
                "Mujeres de 21 a 65 años: una prueba de Papanicolaou cada 3 años; desde los 30, también sirve "
                "una prueba del VPH cada 5 años.",
            ),
            USPSTF,
        ),
        ways=(
            Way(PAP_TEST_CODES, 3 * YEAR),
            Way(HPV_TEST_CODES, 3 * YEAR),
            Way(HPV_TEST_CODES, 5 * YEAR, from_age_months=30 * YEAR),
        ),
        from_age_months=21 * YEAR,
        until_age_months=66 * YEAR,
        sex="female",
    ),
    _interval_rule(
        slug="cholesterol",
        texts=_texts(
            ("Cholesterol check", "Control del colesterol"),
            ("Adults 20 and older: every 5 years.", "Adultos de 20 años o más: cada 5 años."),
            HEART_SOCIETIES,
        ),
        ways=(Way(CHOLESTEROL_CODES, 5 * YEAR),),
        from_age_months=20 * YEAR,
    ),
    _interval_rule(
        slug="td-booster",
        texts=_texts(
            (
                "Tetanus and diphtheria booster (Td or Tdap)",
                "Refuerzo contra el tétanos y la difteria (Td o Tdap)",
            ),
            ("Adults 19 and older: every 10 years.", "Adultos de 19 años o más: cada 10 años."),
            CDC_ADULTS,
        ),
        ways=(Way(TD_CODES, 10 * YEAR),),
        from_age_months=19 * YEAR,
    ),
    SeriesRule(
        slug="shingles-vaccine",
        texts=_texts(
            ("Shingles vaccine (Shingrix)", "Vacuna contra la culebrilla (herpes zóster, Shingrix)"),
            (
                "Adults 50 and older: 2 doses, 2 to 6 months apart.",
                "Adultos de 50 años o más: 2 dosis, con 2 a 6 meses de diferencia.",
            ),
            CDC_ADULTS,
        ),
        codes=RECOMBINANT_ZOSTER_CODES,
        doses=(Dose(50 * YEAR), Dose(50 * YEAR, after_previous_months=2)),
        from_age_months=50 * YEAR,
    ),
    SeriesRule(
        slug="pneumococcal-vaccine",
        texts=_texts(
            ("Pneumonia vaccine (pneumococcal)", "Vacuna contra la neumonía (neumocócica)"),
            ("Adults 65 and older: once.", "Adultos de 65 años o más: una vez."),
            CDC_ADULTS,
        ),
        codes=ADULT_PNEUMOCOCCAL_CODES,
        doses=(Dose(65 * YEAR),),
        from_age_months=65 * YEAR,
    ),
    HpvSeries(
        slug="hpv-vaccine",
        texts=_texts(
            ("HPV vaccine", "Vacuna contra el VPH (virus del papiloma humano)"),
            (
                "Ages 11 to 26 (it can start at 9): 2 doses 6 to 12 months apart when started before 15, "
                "otherwise 3 doses.",
                "De 11 a 26 años (se puede empezar a los 9): 2 dosis con 6 a 12 meses de diferencia si se empieza "
                "antes de los 15 años; si no, 3 dosis.",
            ),
            CDC_SCHEDULES,
        ),
        codes=HPV_VACCINE_CODES,
        doses=(Dose(11 * YEAR), Dose(9 * YEAR, after_previous_months=6)),
        late_start_months=15 * YEAR,
        late_doses=(
            Dose(11 * YEAR),
            Dose(9 * YEAR, after_previous_months=1),
            Dose(9 * YEAR, after_previous_months=3, after_first_months=6),
        ),
        from_age_months=11 * YEAR,
        early_from_age_months=9 * YEAR,
        until_age_months=27 * YEAR,
    ),
    SeriesRule(
        slug="hepatitis-b-vaccine",
        texts=_texts(
            ("Hepatitis B vaccine", "Vacuna contra la hepatitis B"),
            (
                "Children: 3 doses, at birth, at 1 to 2 months and at 6 to 18 months.",
                "Niños: 3 dosis, al nacer, de 1 a 2 meses y de 6 a 18 meses.",
            ),
            CDC_CHILDREN,
        ),
        codes=HEPATITIS_B_CODES,
        doses=(Dose(0), Dose(1, after_previous_months=1), Dose(6, after_previous_months=2, after_first_months=4)),
        from_age_months=0,
        until_age_months=19 * YEAR,
    ),
    SeriesRule(
        slug="dtap-vaccine",
        texts=_texts(
            ("DTaP vaccine (diphtheria, tetanus, whooping cough)", "Vacuna DTaP (difteria, tétanos y tos ferina)"),
            (
                "Children: 5 doses, at 2, 4 and 6 months, at 15 to 18 months and at 4 to 6 years.",
                "Niños: 5 dosis, a los 2, 4 y 6 meses, de 15 a 18 meses y de 4 a 6 años.",
            ),
            CDC_CHILDREN,
        ),
        codes=DTAP_CODES,
        doses=(
            Dose(2),
            Dose(4, after_previous_months=1),
            Dose(6, after_previous_months=1),
            Dose(15, after_previous_months=6),
            Dose(4 * YEAR, after_previous_months=6),
        ),
        from_age_months=2,
        until_age_months=7 * YEAR,
    ),
    SeriesRule(
        slug="polio-vaccine",
        texts=_texts(
            ("Polio vaccine (IPV)", "Vacuna contra la polio (IPV)"),
            (
                "Children: 4 doses, at 2 and 4 months, at 6 to 18 months and at 4 to 6 years.",
                "Niños: 4 dosis, a los 2 y 4 meses, de 6 a 18 meses y de 4 a 6 años.",
            ),
            CDC_CHILDREN,
        ),
        codes=POLIO_CODES,
        doses=(
            Dose(2),
            Dose(4, after_previous_months=1),
            Dose(6, after_previous_months=1),
            Dose(4 * YEAR, after_previous_months=6),
        ),
        from_age_months=2,
        until_age_months=18 * YEAR,
    ),
    SeriesRule(
        slug="mmr-vaccine",
        texts=_texts(
            ("MMR vaccine (measles, mumps, rubella)", "Vacuna triple viral (sarampión, paperas y rubéola)"),
            (
                "Children: 2 doses, at 12 to 15 months and at 4 to 6 years.",
                "Niños: 2 dosis, de 12 a 15 meses y de 4 a 6 años.",
            ),
            CDC_CHILDREN,
        ),
        codes=MMR_CODES,
        doses=(Dose(12), Dose(4 * YEAR, after_previous_months=1)),
        from_age_months=12,
        until_age_months=19 * YEAR,
    ),
    SeriesRule(
        slug="varicella-vaccine",
        texts=_texts(
            ("Chickenpox vaccine (varicella)", "Vacuna contra la varicela"),
            (
                "Children: 2 doses, at 12 to 15 months and at 4 to 6 years.",
                "Niños: 2 dosis, de 12 a 15 meses y de 4 a 6 años.",
            ),
            CDC_CHILDREN,
        ),
        codes=VARICELLA_CODES,
        doses=(Dose(12), Dose(4 * YEAR, after_previous_months=3)),
        from_age_months=12,
        until_age_months=19 * YEAR,
    ),
    HibSeries(
        slug="hib-vaccine",
        texts=_texts(
            ("Hib vaccine", "Vacuna contra Hib (Haemophilus influenzae tipo b)"),
            (
                "Children under 5: 3 or 4 doses depending on the brand, at 2, 4 and 6 months and at 12 to 15 months.",
                "Niños menores de 5 años: 3 o 4 dosis según la marca, a los 2, 4 y 6 meses y de 12 a 15 meses.",
            ),
            CDC_CHILDREN,
        ),
        codes=HIB_CODES,
        doses=(
            Dose(2),
            Dose(4, after_previous_months=1),
            Dose(6, after_previous_months=1),
            Dose(12, after_previous_months=2),
        ),
        short_codes=HIB_PRP_OMP_CODES,
        short_doses=(Dose(2), Dose(4, after_previous_months=1), Dose(12, after_previous_months=2)),
        complete_from_age_months=15,
        from_age_months=2,
        until_age_months=5 * YEAR,
    ),
    SeriesRule(
        slug="child-pneumococcal-vaccine",
        texts=_texts(
            ("Pneumococcal vaccine for children (PCV)", "Vacuna neumocócica infantil (PCV)"),
            (
                "Children under 5: 4 doses, at 2, 4 and 6 months and at 12 to 15 months.",
                "Niños menores de 5 años: 4 dosis, a los 2, 4 y 6 meses y de 12 a 15 meses.",
            ),
            CDC_CHILDREN,
        ),
        codes=CHILD_PNEUMOCOCCAL_CODES,
        doses=(
            Dose(2),
            Dose(4, after_previous_months=1),
            Dose(6, after_previous_months=1),
            Dose(12, after_previous_months=2),
        ),
        complete_from_age_months=2 * YEAR,
        from_age_months=2,
        until_age_months=5 * YEAR,
    ),
    SeriesRule(
        slug="hepatitis-a-vaccine",
        texts=_texts(
            ("Hepatitis A vaccine", "Vacuna contra la hepatitis A"),
            (
                "Children: 2 doses, the first at 12 to 23 months and the second 6 months later.",
                "Niños: 2 dosis, la primera de 12 a 23 meses y la segunda 6 meses después.",
            ),
            CDC_CHILDREN,
        ),
        codes=HEPATITIS_A_CODES,
        doses=(Dose(12), Dose(18, after_previous_months=6)),
        from_age_months=12,
        until_age_months=19 * YEAR,
    ),
    SeriesRule(
        slug="meningococcal-acwy-vaccine",
        texts=_texts(
            ("Meningococcal vaccine (MenACWY)", "Vacuna antimeningocócica (MenACWY)"),
            (
                "Ages 11 to 18: one dose at 11 to 12 and a booster at 16.",
                "De 11 a 18 años: una dosis a los 11 o 12 años y un refuerzo a los 16.",
            ),
            CDC_CHILDREN,
        ),
        codes=MENACWY_CODES,
        doses=(Dose(11 * YEAR), Dose(16 * YEAR, after_previous_months=2)),
        complete_from_age_months=16 * YEAR,
        from_age_months=11 * YEAR,
        until_age_months=19 * YEAR,
    ),
    SeriesRule(
        slug="tdap-preteen",
        texts=_texts(
            ("Tdap vaccine for preteens", "Vacuna Tdap para preadolescentes"),
            ("Ages 11 to 18: one dose, at 11 to 12.", "De 11 a 18 años: una dosis, a los 11 o 12 años."),
            CDC_CHILDREN,
        ),
        codes=TDAP_CODES,
        doses=(Dose(11 * YEAR),),
        from_age_months=11 * YEAR,
        until_age_months=19 * YEAR,
    ),
)

RULES_BY_SLUG: Mapping[str, Rule] = {rule.slug: rule for rule in RULES}
LANGUAGES = ("en", "es")


# --- The question ----------------------------------------------------------------------------------------------


def language_of(language: str) -> str:
    """Spanish for "es", "es-MX" or "es_419"; English for anything else."""
    return "es" if language.strip().lower().replace("_", "-").split("-")[0] == "es" else "en"


def care_gaps(
    *,
    birth_date: date | None,
    sex: str,
    today: date,
    events: Iterable[CareEvent],
    language: str = "en",
) -> list[CareItem]:
    """The preventive care that applies to this person, due items first, then by title.

    sex is the FHIR administrative gender: the mammogram and cervical screening apply only to "female"; "other" and
    "unknown" get neither (see the module's notes). Without a birth date the list is empty. last_done and last_source
    are the newest event that counts for the rule (on a tie, the source first by name); due_on is when the next one
    is due: today or earlier for due items (today when never done), None when nothing more is scheduled.
    """
    if birth_date is None:
        return []
    today = _as_date(today)
    birth = _as_date(birth_date)
    gender = sex.strip().lower()
    words = language_of(language)
    # The events by code, so that each rule looks at the record's few distinct codes, not at every event.
    by_code: dict[tuple[str, str], list[CareEvent]] = {}
    for event in map(_normalized, events):
        if event.when <= today:
            by_code.setdefault((event.code_system, event.code), []).append(event)

    items: list[CareItem] = []
    for rule in RULES:
        counted = [
            event
            for (system, code), same_code in by_code.items()
            if code in rule.codes.get(system, NO_CODES)
            for event in same_code
        ]
        done = sorted(counted, key=lambda e: (-e.when.toordinal(), e.source))
        if not rule.applies(birth, today, gender, bool(done)):
            continue
        status, due_on = rule.assess(birth, today, done)
        text = rule.texts[words]
        items.append(
            CareItem(
                rule=rule.slug,
                title=text.title,
                how_often=text.how_often,
                guideline=text.guideline,
                status=status,
                last_done=done[0].when if done else None,
                last_source=done[0].source if done else "",
                due_on=due_on,
            )
        )
    items.sort(key=lambda item: (item.status != "due", item.title.casefold(), item.rule))
    return items


def _as_date(value: date) -> date:
    # A datetime is a date too, but comparing one with a plain date raises.
    return value.date() if isinstance(value, datetime) else value


def _normalized(event: CareEvent) -> CareEvent:
    """The event with its code as the rules spell it and its day as a date (once, not once per rule)."""
    code = _normal_code(event.code_system, event.code)
    when = event.when.date() if isinstance(event.when, datetime) else event.when
    if code == event.code and when is event.when:
        return event
    return CareEvent(event.kind, event.code_system, code, when, event.source)
