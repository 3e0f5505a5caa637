"""The plain-language content shown beside results: complete in both languages, valid codes, safe to show."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from records import plain_language, projections
from records.plain_language import (
    DERIVED_FLAGS,
    FLAGS_FILE,
    GLOSSARY_FILE,
    LAB_TESTS_FILE,
    ContentError,
    FlagExplanation,
    GlossaryTerm,
    TestExplanation,
    explain_flag,
    explain_test,
    explained_codes,
    flag_for,
    glossary,
    is_valid_loinc,
    language_of,
    loinc_check_digit,
    read_flags,
    read_glossary,
    read_lab_tests,
    sort_key,
)
from tests.shared_data import shared_folder

LOINC_SYSTEM = "http://loinc.org"
LOINC_SHAPE = re.compile(r"^\d{1,7}-\d$")


def _raw(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))


LAB_TESTS = _raw(LAB_TESTS_FILE)
FLAGS = _raw(FLAGS_FILE)
GLOSSARY = _raw(GLOSSARY_FILE)


def published_check_digit(number: str) -> int:
    """LOINC's mod 10 check digit, step by step as LOINC publishes it (kept apart from the module's own)."""
    digits = number[::-1]  # positions counted from the right
    odd = digits[0::2][::-1]  # 1st, 3rd, 5th... from the right, back in reading order
    even = digits[1::2][::-1]
    joined = even + str(int(odd) * 2)  # the even digits, then twice the number the odd digits make
    total = sum(int(d) for d in joined)
    return (-total) % 10  # up to the next multiple of 10


# The files --------------------------------------------------------------------------------------------


def test_at_least_110_tests_and_70_glossary_terms() -> None:
    assert len(LAB_TESTS) >= 110
    assert len(explained_codes()) == len(LAB_TESTS)
    assert len(GLOSSARY) >= 70


@pytest.mark.parametrize(
    ("number", "check"),
    [("4548", 4), ("2345", 7), ("8480", 6), ("33914", 3), ("98979", 8), ("718", 7), ("12345", 5), ("1", 8)],
)
def test_the_published_check_digit_algorithm_on_known_codes(number: str, check: int) -> None:
    assert published_check_digit(number) == check
    assert loinc_check_digit(number) == check


def test_every_code_is_a_loinc_code_with_a_valid_check_digit() -> None:
    for entry in LAB_TESTS:
        number, _, check = entry["loinc"].partition("-")
        assert LOINC_SHAPE.fullmatch(entry["loinc"]), entry["loinc"]
        assert published_check_digit(number) == int(check), entry["loinc"]
        assert is_valid_loinc(entry["loinc"])


@pytest.mark.parametrize(
    "code", ["4548-5", "2345-0", "45484", "4548-", "-4", "12345678-9", "LP1234-5", " 4548-4", "4548-4\n"]
)
def test_codes_with_a_wrong_check_digit_or_shape_are_refused(code: str) -> None:
    assert not is_valid_loinc(code)


def test_the_codes_people_commonly_get_are_there() -> None:
    expected = {
        # HbA1c and glucose
        "4548-4", "17856-6", "59261-8", "2345-7", "2339-0", "41653-7",
        # thyroid
        "3016-3", "3024-7",
        # kidneys
        "2160-0", "33914-3", "48642-3", "48643-1", "62238-1", "98979-8", "3094-0", "9318-7", "14959-1",
        # liver
        "1742-6", "1920-8", "6768-6", "1975-2",
        # vitamins, iron, clotting, prostate
        "1989-3", "62292-8", "2132-9", "2276-4", "2498-4", "6301-6", "34714-6", "2857-1",
        # blood count and lipids
        "6690-2", "789-8", "718-7", "4544-3", "777-3", "2093-3", "2085-9", "18262-6", "2571-8",
        # vital signs
        "85354-9", "8480-6", "8462-4", "8867-4", "9279-1", "8310-5", "29463-7", "8302-2", "39156-5",
        "59408-5", "2708-6", "72514-3", "9843-4", "59576-9",
        # urinalysis
        "5811-5", "5803-2", "5804-0", "5792-7", "5802-4", "5799-2", "5794-3",
    }  # fmt: skip
    assert expected <= explained_codes()


def test_no_code_or_slug_appears_twice() -> None:
    codes = [entry["loinc"] for entry in LAB_TESTS]
    assert len(codes) == len(set(codes))
    flags = [entry["code"] for entry in FLAGS]
    assert len(flags) == len(set(flags))
    slugs = [entry["slug"] for entry in GLOSSARY]
    assert len(slugs) == len(set(slugs))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) for slug in slugs)


def _all_texts() -> list[tuple[str, str, str]]:
    """(where, field, text) for every piece of wording in the three files."""
    texts = []
    for source, key, entries in (
        ("lab_tests", "loinc", LAB_TESTS),
        ("flags", "code", FLAGS),
        ("glossary", "slug", GLOSSARY),
    ):
        for entry in entries:
            for language in ("en", "es"):
                for field, text in entry[language].items():
                    texts.append((f"{source} {entry[key]} {language}", field, text))
    return texts


def test_every_field_is_filled_in_both_languages_except_a_meaningless_direction() -> None:
    for entry in LAB_TESTS:
        for language in ("en", "es"):
            block = entry[language]
            assert set(block) == {"name", "about", "high", "low"}
            assert block["name"], (entry["loinc"], language)
            assert block["about"], (entry["loinc"], language)
        for direction in ("high", "low"):
            # A direction is left empty in both languages or in neither.
            assert bool(entry["en"][direction]) == bool(entry["es"][direction]), (entry["loinc"], direction)
    for entry in FLAGS:
        for language in ("en", "es"):
            assert entry[language]["words"], entry["code"]
            assert entry[language]["explanation"], entry["code"]
    for entry in GLOSSARY:
        for language in ("en", "es"):
            assert entry[language]["term"], entry["slug"]
            assert entry[language]["definition"], entry["slug"]


def test_most_tests_say_what_a_high_or_low_value_can_mean() -> None:
    with_a_direction = [e for e in LAB_TESTS if e["en"]["high"] or e["en"]["low"]]
    assert len(with_a_direction) >= 0.8 * len(LAB_TESTS)
    for code in ("4548-4", "2160-0", "718-7", "2823-3", "3016-3"):
        entry = next(e for e in LAB_TESTS if e["loinc"] == code)
        assert entry["en"]["high"], code
        assert entry["en"]["low"], code


def test_the_spanish_is_not_the_english() -> None:
    for entry in LAB_TESTS:
        for field in ("name", "about", "high", "low"):
            if entry["en"][field]:
                assert entry["es"][field] != entry["en"][field], (entry["loinc"], field)
    for entry in FLAGS:
        assert entry["es"]["words"] != entry["en"]["words"], entry["code"]
        assert entry["es"]["explanation"] != entry["en"]["explanation"], entry["code"]
    for entry in GLOSSARY:
        assert entry["es"]["term"] != entry["en"]["term"], entry["slug"]
        assert entry["es"]["definition"] != entry["en"]["definition"], entry["slug"]


def test_no_text_carries_markup_characters() -> None:
    for where, field, text in _all_texts():
        assert not re.search("[<>]", text), (where, field)
    # The only < and > are the two flag codes themselves.
    assert {entry["code"] for entry in FLAGS if re.search("[<>]", entry["code"])} == {"<", ">"}


def test_the_wording_is_short() -> None:
    limits = {"name": 80, "about": 300, "high": 250, "low": 250, "words": 60, "explanation": 200, "term": 60}
    limits["definition"] = 250
    for where, field, text in _all_texts():
        assert len(text) < limits[field], (where, field, len(text))
    sentence_end = re.compile(r"[.!?](\s|$)")
    for entry in LAB_TESTS:
        for language in ("en", "es"):
            assert 1 <= len(sentence_end.findall(entry[language]["about"])) <= 3, entry["loinc"]
            for direction in ("high", "low"):
                assert len(sentence_end.findall(entry[language][direction])) <= 1, (entry["loinc"], direction)
    for entry in FLAGS:
        for language in ("en", "es"):
            assert len(sentence_end.findall(entry[language]["explanation"])) == 1, entry["code"]


ADVICE_TO_CHANGE_TREATMENT = re.compile(
    r"\b(stop|start|quit) taking\b|\b(change|increase|decrease|lower|raise|skip) (your|the) (dose|medicine)"
    r"|\bdeje de tomar\b|\bempiece a tomar\b|\b(cambie|aumente|disminuya|suspenda|omita)\b",
    re.IGNORECASE,
)


def test_no_text_tells_people_to_change_their_treatment() -> None:
    for where, field, text in _all_texts():
        assert not ADVICE_TO_CHANGE_TREATMENT.search(text), (where, field, text)


# Flags ------------------------------------------------------------------------------------------------


def test_flags_cover_every_interpretation_the_portal_keeps() -> None:
    kept = projections.ABNORMAL_INTERPRETATIONS | projections.NORMAL_INTERPRETATIONS
    kept |= getattr(projections, "OTHER_INTERPRETATIONS", frozenset())
    asked_for = {"H", "L", "HH", "LL", "HU", "LU", "A", "AA", "N", "POS", "NEG", "DET", "ND", ">", "<", "IND", "E"}
    asked_for |= {"W", "B", "U", "D", "R", "S", "I"}
    codes = {entry["code"] for entry in FLAGS}
    assert kept | asked_for | DERIVED_FLAGS <= codes


@pytest.mark.parametrize(
    ("code", "language", "words"),
    [
        ("H", "en", "higher than the usual range"),
        ("H", "es", "más alto que el rango habitual"),
        ("H", "es-MX", "más alto que el rango habitual"),
        ("L", "en-US", "lower than the usual range"),
        ("NEG", "es", "negativo"),
        ("<", "en", "below what the test can measure"),
        ("above", "es", "por encima del rango indicado"),
        (" N ", "en", "in the usual range"),
    ],
)
def test_explain_flag(code: str, language: str, words: str) -> None:
    explanation = explain_flag(code, language)
    assert isinstance(explanation, FlagExplanation)
    assert explanation.words == words
    assert explanation.code == code.strip()
    assert explanation.explanation.endswith(".")


@pytest.mark.parametrize("code", ["", "XYZ", "h", "high"])
def test_explain_flag_unknown_codes(code: str) -> None:
    assert explain_flag(code, "en") is None


@pytest.mark.parametrize(
    ("arguments", "flag"),
    [
        # The result's own code wins over everything the portal could work out.
        ({"interpretation": "HH", "value": 1.0, "low": 2.0, "high": 5.0}, "HH"),
        ({"interpretation": "N", "value": 9.0, "high": 5.0, "abnormal": True}, "N"),
        ({"interpretation": "POS"}, "POS"),
        ({"interpretation": " L "}, "L"),
        ({"interpretation": "R"}, "R"),
        # Unknown codes, and the portal's own words passed as a code, fall through to the value.
        ({"interpretation": "ZZ", "value": 9.0, "high": 5.0}, "above"),
        ({"interpretation": "below", "value": 3.0, "low": 2.0, "high": 5.0}, "N"),
        # Both bounds.
        ({"value": 9.0, "low": 2.0, "high": 5.0}, "above"),
        ({"value": 1.0, "low": 2.0, "high": 5.0}, "below"),
        ({"value": 3.0, "low": 2.0, "high": 5.0}, "N"),
        ({"value": 5.0, "low": 2.0, "high": 5.0}, "N"),  # on a bound is within it
        ({"value": 2.0, "low": 2.0, "high": 5.0}, "N"),
        # One bound only.
        ({"value": 250.0, "high": 200.0}, "above"),
        ({"value": 150.0, "high": 200.0}, "N"),
        ({"value": 30.0, "low": 60.0}, "below"),
        ({"value": 90.0, "low": 60.0}, "N"),
        ({"value": 0.0, "low": 0.5}, "below"),
        ({"value": -1.0, "high": 0.0}, "N"),
        # No bounds: only the abnormal flag can tell.
        ({"value": 7.0}, ""),
        ({"value": 7.0, "abnormal": True}, "A"),
        ({"value": 7.0, "abnormal": False}, "N"),
        ({"abnormal": True}, "A"),
        ({"abnormal": False}, "N"),
        ({}, ""),
        # Bounds without a value say nothing.
        ({"low": 2.0, "high": 5.0}, ""),
        # Abnormal with the value inside its bounds: abnormal in no direction we can name.
        ({"value": 3.0, "low": 2.0, "high": 5.0, "abnormal": True}, "A"),
        # Numbers that are not numbers count as unknown.
        ({"value": float("nan"), "low": 2.0, "high": 5.0}, ""),
        ({"value": 9.0, "high": float("inf")}, ""),
    ],
)
def test_flag_for(arguments: dict[str, Any], flag: str) -> None:
    assert flag_for(**arguments) == flag


def test_every_flag_flag_for_can_return_has_words() -> None:
    for flag in ("above", "below", "A", "N", "H", ">"):
        assert explain_flag(flag, "en") is not None
        assert explain_flag(flag, "es") is not None


# Languages and tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("es", "es"),
        ("ES", "es"),
        ("es-mx", "es"),
        ("es-MX", "es"),
        ("es-419", "es"),
        ("es_US", "es"),
        (" es ", "es"),
        ("en", "en"),
        ("en-US", "en"),
        ("fr", "en"),
        ("pt-BR", "en"),
        ("esp", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_of(code: str | None, language: str) -> None:
    assert language_of(code) == language


def test_explain_test_in_each_language() -> None:
    english = explain_test("4548-4", "en")
    spanish = explain_test("4548-4", "es-419")
    assert isinstance(english, TestExplanation)
    assert isinstance(spanish, TestExplanation)
    assert english.loinc == spanish.loinc == "4548-4"
    assert english.name == "HbA1c (average blood sugar over about 3 months)"
    assert "6.5%" in english.high
    assert spanish.name.startswith("HbA1c (promedio")
    assert explain_test("4548-4", "de") == english
    assert explain_test(" 4548-4 ", "en") == english


def test_a_direction_without_meaning_is_empty() -> None:
    pain = explain_test("72514-3", "en")
    assert pain is not None
    assert pain.high
    assert pain.low == ""
    oxygen = explain_test("59408-5", "es")
    assert oxygen is not None
    assert oxygen.high == ""
    assert oxygen.low


@pytest.mark.parametrize("code", ["", "0000-0", "4548-5", "1271AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_unknown_tests_are_none(code: str) -> None:
    assert explain_test(code, "en") is None


def test_the_files_are_read_once() -> None:
    assert plain_language._lab_tests() is plain_language._lab_tests()
    assert plain_language._flags() is plain_language._flags()
    assert plain_language._glossary() is plain_language._glossary()


# Glossary ---------------------------------------------------------------------------------------------


def test_glossary_in_each_language() -> None:
    english = glossary("en")
    spanish = glossary("es-MX")
    assert len(english) == len(spanish) == len(GLOSSARY)
    assert all(isinstance(term, GlossaryTerm) for term in english)
    assert {term.slug for term in english} == {term.slug for term in spanish}
    by_slug = {term.slug: term for term in spanish}
    assert by_slug["reference-range"].term == "Rango de referencia"
    assert by_slug["bmi"].term == "IMC (índice de masa corporal)"
    # A copy each time: a caller cannot reorder the cached list.
    english.reverse()
    assert glossary("en")[0] != english[0]


@pytest.mark.parametrize("language", ["en", "es"])
def test_glossary_is_sorted_for_its_language(language: str) -> None:
    terms = [term.term for term in glossary(language)]
    assert terms == sorted(terms, key=sort_key)
    assert terms != sorted(terms, key=sort_key, reverse=True)


def test_the_glossary_has_the_terms_people_meet() -> None:
    slugs = {entry["slug"] for entry in GLOSSARY}
    expected = {
        "reference-range", "panel", "specimen", "fasting", "hba1c", "ldl", "hdl", "triglycerides", "egfr",
        "creatinine", "hemoglobin", "platelets", "white-blood-cells", "immunization", "allergy", "intolerance",
        "reaction", "severity", "active-condition", "resolved-condition", "inactive-condition", "encounter",
        "procedure", "imaging", "radiology", "diagnostic-report", "care-plan", "goal", "care-team",
        "primary-care-provider", "claim", "explanation-of-benefits", "coverage", "deductible", "copay",
        "coinsurance", "out-of-pocket", "prior-authorization", "prescription", "dose", "refill", "days-supply",
        "generic", "brand-name", "over-the-counter", "preventive-care", "screening", "vaccine", "booster",
        "colonoscopy", "mammogram", "pap-test", "hpv", "blood-pressure", "systolic", "diastolic", "bmi", "pulse",
        "oxygen-saturation", "corrected-result", "amended-result", "preliminary-result", "final-result",
        "abnormal", "critical-result", "mg-dl", "mmol-l",
    }  # fmt: skip
    assert expected <= slugs


def test_sorting_ignores_accents_and_case_and_puts_n_tilde_after_n(tmp_path: Path) -> None:
    words = ["Ñandú", "índice", "Hueso", "jarabe", "Nulo", "Irritación", "Ángulo", "azúcar", "Óvalo", "Ojo"]
    entries = [
        {"slug": f"w{i}", "en": {"term": f"{word} en", "definition": "d."}, "es": {"term": word, "definition": "e."}}
        for i, word in enumerate(words)
    ]
    path = tmp_path / "glossary.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    spanish = [term.term for term in read_glossary(path)["es"]]
    assert spanish == ["Ángulo", "azúcar", "Hueso", "índice", "Irritación", "jarabe", "Nulo", "Ñandú", "Ojo", "Óvalo"]


# Malformed files --------------------------------------------------------------------------------------


def _test_entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "loinc": "4548-4",
        "en": {"name": "HbA1c", "about": "About.", "high": "High.", "low": ""},
        "es": {"name": "HbA1c (es)", "about": "Acerca.", "high": "Alto.", "low": ""},
    }
    entry.update(changes)
    return entry


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("{}", "non-empty list"),
        ("[]", "non-empty list"),
        ('["4548-4"]', "not an object"),
        (json.dumps([_test_entry(loinc="4548-5")]), "check digit"),
        (json.dumps([_test_entry(loinc="LP1-2")]), "check digit"),
        (json.dumps([_test_entry(), _test_entry()]), "appears twice"),
        (json.dumps([_test_entry(loinc=None)]), "has no loinc"),
        (json.dumps([_test_entry(es=None)]), "'es' must hold"),
        (json.dumps([_test_entry(fr={})]), "expected the keys"),
        (json.dumps([_test_entry(en={"name": "x", "about": "y", "high": ""})]), "'en' must hold"),
        (json.dumps([_test_entry(en={"name": "", "about": "y", "high": "", "low": ""})]), "en.name is empty"),
        (json.dumps([_test_entry(es={"name": "x", "about": "", "high": "", "low": ""})]), "es.about is empty"),
        (json.dumps([_test_entry(en={"name": "x", "about": 3, "high": "", "low": ""})]), "en.about is not text"),
        (json.dumps([_test_entry(en={"name": "x ", "about": "y", "high": "", "low": ""})]), "spaces"),
        (json.dumps([_test_entry(en={"name": "x", "about": "<b>y</b>", "high": "", "low": ""})]), "< or >"),
    ],
)
def test_a_malformed_lab_tests_file_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "lab_tests.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ContentError, match=re.escape(message)):
        read_lab_tests(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="file not found"):
        read_lab_tests(tmp_path / "nowhere.json")


def _flag(code: str) -> dict[str, Any]:
    return {"code": code, "en": {"words": "w", "explanation": "e."}, "es": {"words": "p", "explanation": "x."}}


def test_a_flags_file_needs_the_derived_flags(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    path.write_text(json.dumps([_flag("H"), _flag("above"), _flag("below")]), encoding="utf-8")
    with pytest.raises(ContentError, match=r"\['outside'\]"):
        read_flags(path)
    path.write_text(json.dumps([_flag("H"), _flag("above"), _flag("below"), _flag("outside")]), encoding="utf-8")
    assert set(read_flags(path)) == {"H", "above", "below", "outside"}


def test_a_flag_with_an_empty_explanation_is_refused(tmp_path: Path) -> None:
    flag = _flag("H")
    flag["es"]["explanation"] = ""
    path = tmp_path / "flags.json"
    path.write_text(json.dumps([flag, _flag("above"), _flag("below"), _flag("outside")]), encoding="utf-8")
    with pytest.raises(ContentError, match=re.escape("es.explanation is empty")):
        read_flags(path)


@pytest.mark.parametrize(
    "slug", ["Reference-Range", "reference range", "reference--range", "-range", "range-", "", "range\n"]
)
def test_a_glossary_slug_must_be_lowercase_words_and_hyphens(tmp_path: Path, slug: str) -> None:
    entry = {"slug": slug, "en": {"term": "T", "definition": "D."}, "es": {"term": "T (es)", "definition": "E."}}
    path = tmp_path / "glossary.json"
    path.write_text(json.dumps([entry]), encoding="utf-8")
    with pytest.raises(ContentError):
        read_glossary(path)


# The shared Synthea records ---------------------------------------------------------------------------


def _observation_loinc_counts(folder: Path) -> Counter[str]:
    """How often each LOINC code appears on an Observation (and its components) across the bundles."""
    counts: Counter[str] = Counter()

    def count(concept: Any) -> None:
        for coding in (concept or {}).get("coding", []):
            code = coding.get("code", "")
            # Some bundles label local concept numbers with the LOINC system; those are not LOINC codes.
            if coding.get("system") == LOINC_SYSTEM and LOINC_SHAPE.fullmatch(code):
                counts[code] += 1

    for path in sorted(folder.rglob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        for entry in bundle.get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") == "Observation":
                count(resource.get("code"))
                for component in resource.get("component", []):
                    count(component.get("code"))
    return counts


def test_the_20_most_frequent_loinc_codes_in_the_synthea_records_are_explained() -> None:
    counts = _observation_loinc_counts(shared_folder("synthea"))
    assert len(counts) >= 20
    ranked = counts.most_common()
    twentieth = ranked[19][1]
    # Codes tied with the 20th are in too, so the answer does not depend on the order of the files.
    most_frequent = {code for code, n in ranked if n >= twentieth}
    assert {"8480-6", "8462-4", "4548-4"} <= most_frequent
    assert most_frequent - explained_codes() == set()
