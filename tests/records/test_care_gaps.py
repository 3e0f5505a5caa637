"""The preventive care engine: which screenings and vaccines are due, by age, sex and record."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from records.care_gap_codes import CPT, CVX, LOINC, SNOMED
from records.care_gaps import (
    RULES,
    RULES_BY_SLUG,
    CareEvent,
    CareItem,
    Rule,
    care_gaps,
    flu_season_start,
    language_of,
    months_after,
)
from records.projections import project
from tests.shared_data import shared_folder

TODAY = date(2025, 3, 10)


def shot(code: str, when: date, source: str = "Mercy Clinic") -> CareEvent:
    return CareEvent("immunization", CVX, code, when, source)


def record(system: str, code: str, when: date, source: str = "Mercy Clinic", kind: str = "procedure") -> CareEvent:
    return CareEvent(kind, system, code, when, source)


def gaps(birth: date | None, sex: str, events: list[CareEvent], today: date = TODAY, **kw: str) -> dict[str, CareItem]:
    return {item.rule: item for item in care_gaps(birth_date=birth, sex=sex, today=today, events=events, **kw)}


def due(items: dict[str, CareItem]) -> set[str]:
    return {rule for rule, item in items.items() if item.status == "due"}


# --- People ------------------------------------------------------------------------------------------------------


def test_a_78_year_old_woman_with_last_octobers_flu_shot() -> None:
    items = care_gaps(
        birth_date=date(1946, 6, 15),
        sex="female",
        today=TODAY,
        events=[shot("140", date(2024, 10, 5), "Mercy Clinic")],
    )

    # Too old for the colorectal, breast and cervical screenings; the adult rules apply; due ones first, by title.
    assert [(i.rule, i.status) for i in items] == [
        ("blood-pressure", "due"),
        ("cholesterol", "due"),
        ("pneumococcal-vaccine", "due"),
        ("shingles-vaccine", "due"),
        ("td-booster", "due"),
        ("flu-vaccine", "up_to_date"),
    ]
    flu = items[-1]
    assert (flu.last_done, flu.last_source, flu.due_on) == (date(2024, 10, 5), "Mercy Clinic", date(2025, 8, 1))
    assert flu.title == "Flu vaccine"
    assert flu.guideline == "CDC immunization schedules"
    assert all(i.due_on == TODAY and i.last_done is None and i.last_source == "" for i in items[:-1])


def test_a_34_year_old_man_with_type_1_diabetes_and_no_screenings() -> None:
    events = [
        record(SNOMED, "46635009", date(2001, 4, 2), kind="condition"),  # type 1 diabetes: not a screening
        record(LOINC, "4548-4", date(2025, 1, 20), kind="lab"),  # HbA1c: does not count for anything here
    ]

    items = gaps(date(1990, 7, 1), "male", events)

    assert set(items) == {"flu-vaccine", "blood-pressure", "cholesterol", "td-booster"}
    assert due(items) == set(items)
    assert all(item.due_on == TODAY for item in items.values())


def test_a_13_year_old_with_the_childhood_series_done() -> None:
    birth = date(2011, 9, 1)
    childhood = [
        *(shot("08", day) for day in (birth, date(2011, 10, 3), date(2012, 3, 5))),
        *(shot("110", day) for day in (date(2011, 11, 1), date(2012, 1, 3))),  # DTaP-HepB-IPV
        shot("20", date(2012, 3, 5)),
        shot("10", date(2012, 3, 5)),
        shot("20", date(2012, 12, 10)),
        shot("130", date(2015, 9, 14)),  # DTaP-IPV at 4
        shot("94", date(2012, 9, 10)),  # MMRV: measles, mumps, rubella and chickenpox
        shot("94", date(2015, 9, 14)),
        *(shot("83", day) for day in (date(2012, 9, 10), date(2013, 3, 11))),
    ]

    items = gaps(birth, "male", childhood)

    # Not colorectal, not the adult rules, not the series that end at 5 or 7.
    assert set(items) == {
        "flu-vaccine",
        "hpv-vaccine",
        "meningococcal-acwy-vaccine",
        "tdap-preteen",
        "hepatitis-a-vaccine",
        "hepatitis-b-vaccine",
        "mmr-vaccine",
        "polio-vaccine",
        "varicella-vaccine",
    }
    assert due(items) == {"flu-vaccine", "hpv-vaccine", "meningococcal-acwy-vaccine", "tdap-preteen"}
    assert items["mmr-vaccine"].last_done == date(2015, 9, 14)
    assert items["polio-vaccine"].due_on is None  # the series is complete


def test_a_13_year_old_who_started_the_preteen_vaccines() -> None:
    birth = date(2011, 9, 1)
    events = [
        shot("165", date(2024, 1, 10)),  # HPV at 12: two doses, the second 6 months later
        shot("114", date(2023, 2, 1)),  # MenACWY at 11: the booster at 16
        shot("115", date(2023, 2, 1)),  # Tdap at 11
    ]

    items = gaps(birth, "female", events)

    assert (items["hpv-vaccine"].status, items["hpv-vaccine"].due_on) == ("due", date(2024, 7, 10))
    assert (items["meningococcal-acwy-vaccine"].status, items["meningococcal-acwy-vaccine"].due_on) == (
        "up_to_date",
        date(2027, 9, 1),
    )
    assert (items["tdap-preteen"].status, items["tdap-preteen"].due_on) == ("up_to_date", None)
    # The Tdap at 11 is not an adult booster: that rule starts at 19.
    assert "td-booster" not in items


def test_a_baby_is_due_for_the_birth_dose_and_then_the_two_month_shots() -> None:
    birth = date(2025, 1, 5)

    newborn = gaps(birth, "female", [], today=birth)
    assert set(newborn) == {"hepatitis-b-vaccine"}
    assert newborn["hepatitis-b-vaccine"].status == "due"

    at_two_months = gaps(birth, "female", [shot("08", birth)], today=date(2025, 3, 5))
    assert due(at_two_months) == {
        "dtap-vaccine",
        "polio-vaccine",
        "hib-vaccine",
        "child-pneumococcal-vaccine",
        "hepatitis-b-vaccine",  # the second dose, from 1 month
    }
    assert at_two_months["hepatitis-b-vaccine"].due_on == date(2025, 2, 5)
    assert "flu-vaccine" not in at_two_months  # from 6 months


# --- Colorectal -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "status", "due_on"),
    [
        (record(CPT, "45378", date(2016, 3, 11)), "up_to_date", date(2026, 3, 11)),  # colonoscopy 9 years ago
        (record(SNOMED, "73761001", date(2014, 3, 10), kind="report"), "due", date(2024, 3, 10)),  # 11 years ago
        (record(LOINC, "29771-3", date(2024, 3, 11), kind="lab"), "up_to_date", date(2025, 3, 11)),  # FIT last year
        (record(LOINC, "29771-3", date(2024, 2, 10), kind="lab"), "due", date(2025, 2, 10)),  # FIT 13 months ago
        (record(LOINC, "57905-2", date(2024, 3, 10), kind="lab"), "due", TODAY),  # a year ago to the day
        (record(LOINC, "77353-1", date(2022, 6, 1), kind="lab"), "up_to_date", date(2025, 6, 1)),  # stool DNA
        (record(CPT, "74263", date(2019, 6, 1)), "due", date(2024, 6, 1)),  # CT colonography, 5 years
        (record(SNOMED, "44441009", date(2021, 6, 1)), "up_to_date", date(2026, 6, 1)),  # flexible sigmoidoscopy
    ],
)
def test_colorectal_screening_lasts_as_long_as_its_test(event: CareEvent, status: str, due_on: date) -> None:
    item = gaps(date(1975, 2, 1), "male", [event])["colorectal-cancer-screening"]

    assert (item.status, item.due_on, item.last_done) == (status, due_on, event.when)


def test_colorectal_the_newest_test_is_shown_and_the_longest_lasting_one_decides() -> None:
    events = [record(CPT, "45380", date(2016, 5, 1)), record(LOINC, "29771-3", date(2023, 1, 1), kind="lab")]

    item = gaps(date(1975, 2, 1), "female", events)["colorectal-cancer-screening"]

    assert (item.status, item.last_done, item.due_on) == ("up_to_date", date(2023, 1, 1), date(2026, 5, 1))


@pytest.mark.parametrize(("birth", "applies"), [(date(1980, 3, 11), False), (date(1980, 3, 10), True)])
def test_colorectal_starts_at_45(birth: date, applies: bool) -> None:
    assert ("colorectal-cancer-screening" in gaps(birth, "male", [])) is applies


@pytest.mark.parametrize(("birth", "applies"), [(date(1949, 3, 11), True), (date(1949, 3, 10), False)])
def test_colorectal_ends_after_75(birth: date, applies: bool) -> None:
    assert ("colorectal-cancer-screening" in gaps(birth, "male", [])) is applies


# --- Breast and cervical ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "sex", "applies"),
    [
        (39, "female", False),
        (40, "female", True),
        (74, "female", True),
        (75, "female", False),
        (50, "male", False),
        (50, "other", False),
        (50, "unknown", False),
    ],
)
def test_mammography_is_for_women_40_to_74(age: int, sex: str, applies: bool) -> None:
    birth = date(TODAY.year - age, 1, 1)
    assert ("breast-cancer-screening" in gaps(birth, sex, [])) is applies


def test_a_mammogram_lasts_two_years() -> None:
    birth = date(1970, 1, 1)
    recent = gaps(birth, "female", [record(CPT, "77067", date(2023, 4, 10))])["breast-cancer-screening"]
    older = gaps(birth, "female", [record(LOINC, "24606-6", date(2023, 2, 10), kind="imaging")])[
        "breast-cancer-screening"
    ]

    assert (recent.status, recent.due_on) == ("up_to_date", date(2025, 4, 10))
    assert (older.status, older.due_on) == ("due", date(2025, 2, 10))


@pytest.mark.parametrize(("age", "applies"), [(20, False), (21, True), (65, True), (66, False)])
def test_cervical_screening_is_for_women_21_through_65(age: int, applies: bool) -> None:
    birth = date(TODAY.year - age, 1, 1)
    assert ("cervical-cancer-screening" in gaps(birth, "female", [])) is applies


@pytest.mark.parametrize(
    ("event", "status", "due_on"),
    [
        (record(LOINC, "10524-7", date(2022, 6, 1), kind="lab"), "up_to_date", date(2025, 6, 1)),  # Pap, 3 years
        (record(LOINC, "10524-7", date(2021, 6, 1), kind="lab"), "due", date(2024, 6, 1)),
        (record(LOINC, "30167-1", date(2021, 6, 1), kind="lab"), "up_to_date", date(2026, 6, 1)),  # HPV at 36: 5
    ],
)
def test_cervical_pap_every_3_years_or_hpv_every_5_from_30(event: CareEvent, status: str, due_on: date) -> None:
    item = gaps(date(1985, 1, 1), "female", [event])["cervical-cancer-screening"]

    assert (item.status, item.due_on) == (status, due_on)


def test_an_hpv_test_before_30_lasts_only_like_a_pap_test() -> None:
    item = gaps(date(1994, 1, 1), "female", [record(CPT, "87624", date(2021, 6, 1))])["cervical-cancer-screening"]

    assert (item.status, item.due_on) == ("due", date(2024, 6, 1))  # done at 27: 3 years, not 5


@pytest.mark.parametrize("sex", ["other", "unknown", "", "Unknown"])
def test_no_sex_specific_screening_without_a_female_gender(sex: str) -> None:
    items = gaps(date(1975, 1, 1), sex, [])

    assert "breast-cancer-screening" not in items
    assert "cervical-cancer-screening" not in items
    assert "colorectal-cancer-screening" in items  # everything else still applies


def test_the_gender_is_read_whatever_its_case() -> None:
    assert "breast-cancer-screening" in gaps(date(1975, 1, 1), " Female ", [])


# --- Flu season ---------------------------------------------------------------------------------------------------


def test_a_flu_shot_on_july_31_does_not_count_for_the_season_starting_august_1() -> None:
    item = gaps(date(1980, 1, 1), "male", [shot("150", date(2024, 7, 31))], today=date(2024, 8, 1))["flu-vaccine"]

    assert (item.status, item.last_done, item.due_on) == ("due", date(2024, 7, 31), date(2024, 8, 1))


def test_a_flu_shot_on_august_1_counts_until_the_next_august() -> None:
    event = shot("150", date(2024, 8, 1))
    on_the_day = gaps(date(1980, 1, 1), "male", [event], today=date(2024, 8, 1))["flu-vaccine"]
    next_july = gaps(date(1980, 1, 1), "male", [event], today=date(2025, 7, 31))["flu-vaccine"]
    next_august = gaps(date(1980, 1, 1), "male", [event], today=date(2025, 8, 1))["flu-vaccine"]

    assert (on_the_day.status, on_the_day.due_on) == ("up_to_date", date(2025, 8, 1))
    assert next_july.status == "up_to_date"
    assert (next_august.status, next_august.due_on) == ("due", date(2025, 8, 1))


def test_flu_starts_at_6_months() -> None:
    birth = date(2024, 9, 10)
    assert "flu-vaccine" not in gaps(birth, "male", [], today=date(2025, 3, 9))
    assert "flu-vaccine" in gaps(birth, "male", [], today=TODAY)


def test_the_flu_season_starts_on_august_1() -> None:
    assert flu_season_start(date(2025, 3, 10)) == date(2024, 8, 1)
    assert flu_season_start(date(2025, 8, 1)) == date(2025, 8, 1)
    assert flu_season_start(date(1, 3, 1)) == date.min


# --- Series -------------------------------------------------------------------------------------------------------


def test_shingles_needs_two_recombinant_doses() -> None:
    birth = date(1960, 1, 1)
    one = gaps(birth, "male", [shot("187", date(2025, 1, 2))])["shingles-vaccine"]
    early = gaps(birth, "male", [shot("187", date(2025, 2, 2))])["shingles-vaccine"]
    two = gaps(birth, "male", [shot("187", date(2024, 1, 2)), shot("187", date(2024, 4, 2))])["shingles-vaccine"]
    live = gaps(birth, "male", [shot("121", date(2020, 1, 2))])["shingles-vaccine"]

    assert (one.status, one.due_on) == ("due", date(2025, 3, 2))
    assert (early.status, early.due_on) == ("up_to_date", date(2025, 4, 2))
    assert (two.status, two.due_on) == ("up_to_date", None)
    assert (live.status, live.last_done) == ("due", None)  # the old live vaccine does not count


def test_hpv_started_at_15_or_later_needs_three_doses() -> None:
    birth = date(2005, 1, 1)
    two_doses = [shot("165", date(2021, 1, 10)), shot("165", date(2021, 2, 15))]

    item = gaps(birth, "female", two_doses)["hpv-vaccine"]

    assert (item.status, item.due_on) == ("due", date(2021, 7, 10))  # 6 months after the first

    done = gaps(birth, "female", [*two_doses, shot("165", date(2021, 7, 20))])["hpv-vaccine"]
    assert (done.status, done.due_on) == ("up_to_date", None)


def test_hpv_is_shown_from_9_once_started_and_ends_at_26() -> None:
    birth = date(2015, 1, 1)
    assert "hpv-vaccine" not in gaps(birth, "male", [])
    started = gaps(birth, "male", [shot("165", date(2025, 1, 5))])["hpv-vaccine"]
    assert (started.status, started.due_on) == ("up_to_date", date(2025, 7, 5))

    assert "hpv-vaccine" in gaps(date(1998, 3, 11), "male", [])
    assert "hpv-vaccine" not in gaps(date(1998, 3, 10), "male", [])


def test_hib_needs_three_doses_of_prp_omp_and_four_of_the_others() -> None:
    birth = date(2024, 1, 10)
    today = date(2024, 9, 1)
    prp_omp = gaps(birth, "male", [shot("49", date(2024, 3, 10)), shot("49", date(2024, 5, 10))], today=today)
    prp_t = gaps(birth, "male", [shot("48", date(2024, 3, 10)), shot("48", date(2024, 5, 10))], today=today)

    assert (prp_omp["hib-vaccine"].status, prp_omp["hib-vaccine"].due_on) == ("up_to_date", date(2025, 1, 10))
    assert (prp_t["hib-vaccine"].status, prp_t["hib-vaccine"].due_on) == ("due", date(2024, 7, 10))


def test_one_catch_up_pcv_dose_after_2_completes_the_series() -> None:
    birth = date(2022, 1, 1)
    item = gaps(birth, "female", [shot("133", date(2024, 6, 1))])["child-pneumococcal-vaccine"]

    assert (item.status, item.due_on) == ("up_to_date", None)


def test_one_menacwy_dose_from_16_is_enough() -> None:
    item = gaps(date(2008, 1, 1), "male", [shot("136", date(2024, 6, 1))])["meningococcal-acwy-vaccine"]

    assert (item.status, item.due_on) == ("up_to_date", None)


def test_two_records_of_the_same_dose_count_once() -> None:
    birth = date(1960, 1, 1)
    same_day = [shot("187", date(2025, 1, 2), "Mercy Clinic"), shot("187", date(2025, 1, 2), "City Pharmacy")]

    item = gaps(birth, "male", same_day)["shingles-vaccine"]

    assert (item.status, item.due_on) == ("due", date(2025, 3, 2))
    assert item.last_source == "City Pharmacy"  # on a tie, the source first by name


# --- Matching -----------------------------------------------------------------------------------------------------


def test_the_kind_of_record_does_not_matter() -> None:
    for kind in ("procedure", "report", "imaging", "observation", "lab"):
        item = gaps(date(1970, 1, 1), "female", [record(SNOMED, "71651007", date(2024, 5, 1), kind=kind)])
        assert item["breast-cancer-screening"].status == "up_to_date"


def test_the_system_must_match_exactly() -> None:
    events = [
        record("http://snomed.info/sct/", "71651007", date(2024, 5, 1)),
        record("urn:oid:2.16.840.1.113883.6.96", "71651007", date(2024, 5, 1)),
        record(LOINC, "71651007", date(2024, 5, 1)),
    ]
    assert gaps(date(1970, 1, 1), "female", events)["breast-cancer-screening"].status == "due"


def test_a_cvx_code_without_its_leading_zero_still_counts() -> None:
    items = gaps(date(2011, 9, 1), "male", [shot("3", date(2012, 9, 10)), shot(" 03 ", date(2015, 9, 14))])

    assert (items["mmr-vaccine"].status, items["mmr-vaccine"].last_done) == ("up_to_date", date(2015, 9, 14))


def test_events_after_today_are_ignored() -> None:
    item = gaps(date(1980, 1, 1), "male", [record(LOINC, "85354-9", date(2025, 3, 11), kind="vital")])

    assert (item["blood-pressure"].status, item["blood-pressure"].last_done) == ("due", None)


def test_a_datetime_is_read_as_its_day() -> None:
    event = record(LOINC, "8480-6", datetime(2025, 3, 10, 23, 30), kind="vital")

    item = care_gaps(birth_date=date(1980, 1, 1), sex="male", today=TODAY, events=[event])

    assert next(i for i in item if i.rule == "blood-pressure").last_done == TODAY


def test_without_a_birth_date_nothing_is_said() -> None:
    assert care_gaps(birth_date=None, sex="female", today=TODAY, events=[shot("140", date(2024, 10, 1))]) == []


def test_someone_not_born_yet_gets_nothing() -> None:
    assert care_gaps(birth_date=date(2025, 6, 1), sex="female", today=TODAY, events=[]) == []


# --- Languages ----------------------------------------------------------------------------------------------------


def test_spanish() -> None:
    items = care_gaps(birth_date=date(1990, 7, 1), sex="male", today=TODAY, events=[], language="es-MX")

    assert [item.title for item in items] == [
        "Control de la presión arterial",
        "Control del colesterol",
        "Refuerzo contra el tétanos y la difteria (Td o Tdap)",
        "Vacuna contra la gripe",
    ]
    assert items[0].how_often == "Adultos de 18 años o más: una vez al año."
    assert items[0].guideline == "Grupo de Trabajo de Servicios Preventivos de EE. UU. (USPSTF)"


@pytest.mark.parametrize(
    ("language", "chosen"), [("es", "es"), ("es_419", "es"), ("ES", "es"), ("fr", "en"), ("", "en")]
)
def test_language_of(language: str, chosen: str) -> None:
    assert language_of(language) == chosen


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.slug)
def test_spanish_differs_from_english_for_every_rule(rule: Rule) -> None:
    english, spanish = rule.texts["en"], rule.texts["es"]

    assert english.title != spanish.title
    assert english.how_often != spanish.how_often
    assert english.guideline != spanish.guideline
    assert all([english.title, english.how_often, english.guideline, spanish.title, spanish.how_often])


def test_rule_slugs_are_unique_and_stable_looking() -> None:
    slugs = [rule.slug for rule in RULES]

    assert len(slugs) == len(set(slugs))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) for slug in slugs)


# --- The codes are well-formed ------------------------------------------------------------------------------------

# Verhoeff's tables: multiplication in the dihedral group D5, the position permutation, and the inverse.
VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def verhoeff_valid(number: str) -> bool:
    """True when the last digit is the Verhoeff check digit of the others (SNOMED CT identifiers)."""
    check = 0
    for position, digit in enumerate(reversed(number)):
        check = VERHOEFF_D[check][VERHOEFF_P[position % 8][int(digit)]]
    return check == 0


def loinc_valid(code: str) -> bool:
    """True when the digit after the hyphen is the LOINC mod 10 check digit of the digits before it."""
    match = re.fullmatch(r"([0-9]{1,7})-([0-9])", code)
    if match is None:
        return False
    body, check = match.groups()
    total = 0
    for position, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if position % 2 == 0 else 1)  # double every other digit from the right
        total += value // 10 + value % 10
    return (10 - total % 10) % 10 == int(check)


def test_the_check_digit_functions_know_right_from_wrong() -> None:
    assert verhoeff_valid("73761001")
    assert verhoeff_valid("384151000119104")
    assert verhoeff_valid("86198006")
    assert not verhoeff_valid("73761002")
    assert not verhoeff_valid("37761001")
    assert loinc_valid("2093-3")
    assert loinc_valid("85354-9")
    assert loinc_valid("104132-6")
    assert not loinc_valid("2093-4")
    assert not loinc_valid("2039-3")
    assert not loinc_valid("2093")


def all_codes() -> list[tuple[str, str, str]]:
    return [(rule.slug, system, code) for rule in RULES for system, codes in rule.codes.items() for code in codes]


def test_every_code_is_well_formed() -> None:
    wrong = []
    for slug, system, code in all_codes():
        ok = {
            CVX: lambda c: re.fullmatch(r"[0-9]{1,3}", c) is not None,
            LOINC: loinc_valid,
            SNOMED: lambda c: re.fullmatch(r"[1-9][0-9]{5,17}", c) is not None and verhoeff_valid(c),
            CPT: lambda c: re.fullmatch(r"[0-9]{5}", c) is not None,
        }[system](code)
        if not ok:
            wrong.append((slug, system, code))

    assert wrong == []
    assert len(all_codes()) > 300  # the sets are really filled


def test_every_rule_has_codes_and_both_languages() -> None:
    for rule in RULES:
        assert rule.codes, rule.slug
        assert all(rule.codes.values()), rule.slug
        assert set(rule.texts) == {"en", "es"}, rule.slug


def test_combination_vaccines_count_for_each_of_their_parts() -> None:
    assert all(
        "110" in RULES_BY_SLUG[slug].codes[CVX] for slug in ("dtap-vaccine", "polio-vaccine", "hepatitis-b-vaccine")
    )
    assert all("94" in RULES_BY_SLUG[slug].codes[CVX] for slug in ("mmr-vaccine", "varicella-vaccine"))


# --- Calendar -----------------------------------------------------------------------------------------------------


def test_months_after_clamps_the_day_and_stops_at_the_end_of_the_calendar() -> None:
    assert months_after(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert months_after(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert months_after(date(2024, 8, 1), 0) == date(2024, 8, 1)
    assert months_after(date(9999, 6, 1), 12) is None


# --- Real records ---------------------------------------------------------------------------------------------------


def synthea_events(path: str) -> tuple[date, str, list[CareEvent]]:
    bundle = json.loads((shared_folder("synthea") / path).read_text())
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    events = []
    for entry in bundle["entry"]:
        projection = project(entry["resource"])
        if projection.code and projection.effective_at is not None:
            events.append(
                CareEvent(
                    projection.kind,
                    projection.code_system,
                    projection.code,
                    projection.effective_at.date(),
                    "Synthea sample",
                )
            )
    return date.fromisoformat(patient["birthDate"]), patient["gender"], events


def test_a_synthea_child_is_up_to_date_on_the_childhood_series() -> None:
    birth, sex, events = synthea_events(
        "smart-generated-sample-data/Daisey_Johns_e916a083-8ee6-4df8-acbe-b711fa791253.json"
    )

    items = gaps(birth, sex, events, today=date(2021, 3, 1))

    assert (birth, sex) == (date(2015, 4, 4), "female")
    assert {rule: item.status for rule, item in items.items()} == {
        "flu-vaccine": "up_to_date",
        "dtap-vaccine": "up_to_date",
        "polio-vaccine": "up_to_date",
        "mmr-vaccine": "up_to_date",
        "varicella-vaccine": "up_to_date",
        "hepatitis-a-vaccine": "up_to_date",
        "hepatitis-b-vaccine": "up_to_date",
    }
    assert items["flu-vaccine"].last_done == date(2020, 12, 19)


def test_a_synthea_man_of_64_is_due_for_colorectal_screening_and_shingles() -> None:
    birth, sex, events = synthea_events(
        "smart-generated-sample-data/Josue_Sipes_7d27f180-98d6-456d-98c0-d91df32cd023.json"
    )

    items = gaps(birth, sex, events, today=date(2021, 3, 1))

    assert due(items) == {"colorectal-cancer-screening", "shingles-vaccine"}
    assert (items["td-booster"].last_done, items["td-booster"].due_on) == (date(2017, 3, 11), date(2027, 3, 11))
    assert items["cholesterol"].last_done == date(2021, 2, 13)
    assert items["blood-pressure"].status == "up_to_date"


# --- Properties ---------------------------------------------------------------------------------------------------

KNOWN = sorted({(system, code) for _, system, code in all_codes()})
SYSTEMS = [LOINC, SNOMED, CVX, CPT, "http://example.org/local", ""]
KINDS = ["immunization", "procedure", "lab", "vital", "observation", "report", "imaging", "condition"]
SOURCES = ["Mercy Clinic", "City Pharmacy", "", "Zeta Health"]
plausible_days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
days = plausible_days | st.dates()  # now and then the ends of the calendar
genders = st.sampled_from(["female", "male", "other", "unknown", "", " FEMALE", "x"]) | st.text(max_size=8)
random_events = st.builds(
    CareEvent,
    kind=st.sampled_from(KINDS),
    code_system=st.sampled_from(SYSTEMS),
    code=st.text(max_size=12),
    when=days,
    source=st.text(max_size=10),
)


def shifted(day: date, by_days: int) -> date:
    try:
        return day + timedelta(days=by_days)
    except OverflowError:
        return date.max if by_days > 0 else date.min


@st.composite
def situations(draw: st.DrawFn, rule: Rule | None = None) -> tuple[date, date, list[CareEvent]]:
    """(birth, today, events): an age in the rule's range when a rule is given, events in that life, some noise."""
    today = draw(days)
    if rule is None:
        age_days = draw(st.integers(min_value=-400, max_value=110 * 366))
        codes = KNOWN
    else:
        youngest = min(rule.from_age_months, rule.early_from_age_months or rule.from_age_months)
        oldest = rule.until_age_months or 100 * 12
        age_days = draw(st.integers(min_value=youngest * 30, max_value=oldest * 31))
        codes = sorted((system, code) for system, codes_ in rule.codes.items() for code in codes_)
    known = st.builds(
        lambda pair, back, source, kind: CareEvent(kind, pair[0], pair[1], shifted(today, -back), source),
        st.sampled_from(codes),
        st.integers(min_value=-60, max_value=max(age_days, 0) + 400),
        st.sampled_from(SOURCES),
        st.sampled_from(KINDS),
    )
    events = draw(st.lists(known | random_events, max_size=15))
    return shifted(today, -age_days), today, events


@given(st.data(), genders, st.booleans(), st.sampled_from(["en", "es", "es-MX", "de", ""]))
def test_never_raises_and_every_item_is_whole(data: st.DataObject, sex: str, no_birth: bool, language: str) -> None:
    birth, today, events = data.draw(situations())
    birth_date = None if no_birth else birth

    items = care_gaps(birth_date=birth_date, sex=sex, today=today, events=events, language=language)

    words = language_of(language)
    statuses = [item.status for item in items]
    assert statuses == sorted(statuses, key=lambda status: status != "due")  # due first
    for item in items:
        rule = RULES_BY_SLUG[item.rule]
        assert all(rule.texts[lang].title and rule.texts[lang].how_often for lang in ("en", "es"))
        assert (item.title, item.how_often, item.guideline) == (
            rule.texts[words].title,
            rule.texts[words].how_often,
            rule.texts[words].guideline,
        )
        if item.status == "due":
            assert item.due_on is not None
            assert item.due_on <= today
        else:
            assert item.due_on is None or item.due_on > today
        if item.last_done is None:
            assert item.last_source == ""
        else:
            assert item.last_done <= today
    if birth_date is None or birth_date > today:
        assert items == []
    if sex.strip().lower() != "female":
        assert not {"breast-cancer-screening", "cervical-cancer-screening"} & {item.rule for item in items}


@given(st.data())
def test_an_event_today_that_counts_never_leaves_its_rule_due(data: st.DataObject) -> None:
    rule = data.draw(st.sampled_from(RULES))
    birth, today, events = data.draw(situations(rule))
    sex = data.draw(st.just(rule.sex) | genders if rule.sex else genders)
    system = data.draw(st.sampled_from(sorted(rule.codes)))
    code = data.draw(st.sampled_from(sorted(rule.codes[system])))
    added = CareEvent(data.draw(st.sampled_from(KINDS)), system, code, today, data.draw(st.sampled_from(SOURCES)))

    items = {item.rule: item for item in care_gaps(birth_date=birth, sex=sex, today=today, events=[*events, added])}

    if rule.slug in items:
        assert items[rule.slug].status == "up_to_date"
        assert items[rule.slug].last_done == today
