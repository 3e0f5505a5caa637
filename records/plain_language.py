"""Plain-language words shown beside results: what a test measures, what a flag means, what a record term is.

The words themselves live in records/content/ as JSON (English and Spanish side by side), written for
readers with no medical training. This module loads each file once, refuses a malformed one with a
clear error, and looks entries up. Pure functions: no database, nothing logged.

Files:
- lab_tests.json: [{"loinc", "en": {"name", "about", "high", "low"}, "es": {...}}]; high or low may be
  "" where that direction means nothing (a low pain score, a high oxygen level).
- flags.json: [{"code", "en": {"words", "explanation"}, "es": {...}}], FHIR v3 ObservationInterpretation
  codes plus the portal's own DERIVED_FLAGS.
- glossary.json: [{"slug", "en": {"term", "definition"}, "es": {...}}].
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CONTENT_DIR = Path(__file__).resolve().parent / "content"
LAB_TESTS_FILE = CONTENT_DIR / "lab_tests.json"
FLAGS_FILE = CONTENT_DIR / "flags.json"
GLOSSARY_FILE = CONTENT_DIR / "glossary.json"

LANGUAGES = ("en", "es")

# Flags the portal works out itself when a result carries no interpretation code but its value can be
# compared with the range that came with it. They are worded as "the lab did not flag this", so a reader
# never takes the portal's comparison for the lab's judgement. flag_for() returns "above" and "below";
# "outside" is for a caller that knows the value is out of range but not on which side.
DERIVED_FLAGS = frozenset({"above", "below", "outside"})

# Markup characters never belong in the words: they are shown as text. The flag codes "<" and ">" are
# codes, not words, and live in the "code" field.
_MARKUP = re.compile(r"[<>]")
_LOINC = re.compile(r"^(\d{1,7})-(\d)$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

_TEST_FIELDS = ("name", "about", "high", "low")
_TEST_FIELDS_MAY_BE_EMPTY = frozenset({"high", "low"})
_FLAG_FIELDS = ("words", "explanation")
_GLOSSARY_FIELDS = ("term", "definition")


class ContentError(ValueError):
    """A content file is missing, is not JSON, or does not have the shape this module expects."""


@dataclass(frozen=True)
class TestExplanation:
    # Not a test class, whatever its name says.
    __test__ = False

    loinc: str
    name: str
    about: str
    high: str
    low: str


@dataclass(frozen=True)
class FlagExplanation:
    code: str
    words: str
    explanation: str


@dataclass(frozen=True)
class GlossaryTerm:
    slug: str
    term: str
    definition: str


# Codes and languages -----------------------------------------------------------------------------------


def loinc_check_digit(number: str) -> int:
    """The mod 10 check digit of the digits before a LOINC code's hyphen (Luhn, doubling from the right)."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10


def is_valid_loinc(code: str) -> bool:
    """A LOINC code's shape: 1 to 7 digits, a hyphen, and the right check digit."""
    match = _LOINC.fullmatch(code)
    return match is not None and loinc_check_digit(match.group(1)) == int(match.group(2))


def language_of(code: str | None) -> str:
    """The content language for a language code: "es" for any Spanish (es, es-MX, es_419), else "en"."""
    primary = re.split(r"[-_]", (code or "").strip(), maxsplit=1)[0].lower()
    return "es" if primary == "es" else "en"


# Loading and checking ----------------------------------------------------------------------------------


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ContentError(f"{path.name}: file not found at {path}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ContentError(f"{path.name}: not valid JSON ({error})") from error
    if not isinstance(data, list) or not data:
        raise ContentError(f"{path.name}: expected a non-empty list of entries")
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ContentError(f"{path.name}: entry {index} is not an object")
    return data


def _texts(
    path: Path, index: int, entry: dict[str, Any], key: str, fields: tuple[str, ...], may_be_empty: frozenset[str]
) -> dict[str, dict[str, str]]:
    """Each language's block of an entry, checked: exactly these fields, all text, none blank unless allowed."""
    where = f"{path.name}: entry {index} ({entry.get(key)!r})"
    expected_keys = {key, *LANGUAGES}
    if set(entry) != expected_keys:
        raise ContentError(f"{where}: expected the keys {sorted(expected_keys)}, found {sorted(entry)}")
    texts: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        block = entry[language]
        if not isinstance(block, dict) or set(block) != set(fields):
            raise ContentError(f"{where}: {language!r} must hold exactly the fields {list(fields)}")
        for field in fields:
            value = block[field]
            if not isinstance(value, str):
                raise ContentError(f"{where}: {language}.{field} is not text")
            if value != value.strip():
                raise ContentError(f"{where}: {language}.{field} has spaces at its start or end")
            if not value and field not in may_be_empty:
                raise ContentError(f"{where}: {language}.{field} is empty")
            if _MARKUP.search(value):
                raise ContentError(f"{where}: {language}.{field} contains < or >")
        texts[language] = {field: block[field] for field in fields}
    return texts


def _identifier(path: Path, index: int, entry: dict[str, Any], key: str, seen: set[str]) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise ContentError(f"{path.name}: entry {index} has no {key}")
    if value in seen:
        raise ContentError(f"{path.name}: entry {index}: {key} {value!r} appears twice")
    seen.add(value)
    return value


def read_lab_tests(path: Path) -> dict[str, dict[str, TestExplanation]]:
    """LOINC code → language → explanation, from a lab tests file; ContentError when it is malformed."""
    tests: dict[str, dict[str, TestExplanation]] = {}
    seen: set[str] = set()
    for index, entry in enumerate(_entries(path)):
        loinc = _identifier(path, index, entry, "loinc", seen)
        if not is_valid_loinc(loinc):
            raise ContentError(f"{path.name}: entry {index}: {loinc!r} is not a LOINC code with a valid check digit")
        texts = _texts(path, index, entry, "loinc", _TEST_FIELDS, _TEST_FIELDS_MAY_BE_EMPTY)
        tests[loinc] = {language: TestExplanation(loinc=loinc, **texts[language]) for language in LANGUAGES}
    return tests


def read_flags(path: Path) -> dict[str, dict[str, FlagExplanation]]:
    """Flag code → language → explanation, from a flags file; ContentError when it is malformed."""
    flags: dict[str, dict[str, FlagExplanation]] = {}
    seen: set[str] = set()
    for index, entry in enumerate(_entries(path)):
        code = _identifier(path, index, entry, "code", seen)
        if code != code.strip():
            raise ContentError(f"{path.name}: entry {index}: code {code!r} has spaces")
        texts = _texts(path, index, entry, "code", _FLAG_FIELDS, frozenset())
        flags[code] = {language: FlagExplanation(code=code, **texts[language]) for language in LANGUAGES}
    missing = DERIVED_FLAGS - set(flags)
    if missing:
        raise ContentError(f"{path.name}: the derived flags {sorted(missing)} are missing")
    return flags


def read_glossary(path: Path) -> dict[str, tuple[GlossaryTerm, ...]]:
    """Language → terms sorted for that language, from a glossary file; ContentError when it is malformed."""
    terms: dict[str, list[GlossaryTerm]] = {language: [] for language in LANGUAGES}
    seen: set[str] = set()
    for index, entry in enumerate(_entries(path)):
        slug = _identifier(path, index, entry, "slug", seen)
        if not _SLUG.fullmatch(slug):
            raise ContentError(f"{path.name}: entry {index}: slug {slug!r} must be lowercase words joined by hyphens")
        texts = _texts(path, index, entry, "slug", _GLOSSARY_FIELDS, frozenset())
        for language in LANGUAGES:
            terms[language].append(GlossaryTerm(slug=slug, **texts[language]))
    return {language: tuple(sorted(found, key=lambda t: sort_key(t.term))) for language, found in terms.items()}


def sort_key(text: str) -> tuple[str, str]:
    """Alphabetical order that ignores case and accents ("índice" sorts with "i"), with ñ after n as in Spanish."""
    # ñ is a letter of its own in Spanish, after n: mark it before accents are stripped, or it would sort as n.
    folded = text.casefold().replace("ñ", "n\U0010ffff")
    plain = "".join(char for char in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(char))
    return plain, text


@cache
def _lab_tests() -> dict[str, dict[str, TestExplanation]]:
    return read_lab_tests(LAB_TESTS_FILE)


@cache
def _flags() -> dict[str, dict[str, FlagExplanation]]:
    return read_flags(FLAGS_FILE)


@cache
def _glossary() -> dict[str, tuple[GlossaryTerm, ...]]:
    return read_glossary(GLOSSARY_FILE)


# Lookups -----------------------------------------------------------------------------------------------


def explain_test(loinc: str, language: str) -> TestExplanation | None:
    """What a test measures and what a high or low value can mean, in the reader's language; None if unknown."""
    entry = _lab_tests().get((loinc or "").strip())
    return entry[language_of(language)] if entry else None


def explained_codes() -> frozenset[str]:
    """Every LOINC code that has an explanation."""
    return frozenset(_lab_tests())


def explain_flag(code: str, language: str) -> FlagExplanation | None:
    """The words and a one-sentence explanation for a flag code (codes are case-sensitive); None if unknown."""
    entry = _flags().get((code or "").strip())
    return entry[language_of(language)] if entry else None


def _finite(number: float | None) -> float | None:
    return number if number is not None and math.isfinite(number) else None


def flag_for(
    *,
    interpretation: str = "",
    value: float | None = None,
    low: float | None = None,
    high: float | None = None,
    abnormal: bool | None = None,
) -> str:
    """The flag code to explain for one result.

    In order: the result's own interpretation code when it is one we explain; "above" or "below" (derived
    flags, see DERIVED_FLAGS) when the value is past one of the bounds it came with, either bound alone
    being enough; "A" when the result is known abnormal in no known direction; "N" when it is known normal
    or sits within its bounds; "" when nothing is known.
    """
    code = (interpretation or "").strip()
    if code in _flags() and code not in DERIVED_FLAGS:
        return code
    value, low, high = _finite(value), _finite(low), _finite(high)
    if value is not None:
        if high is not None and value > high:
            return "above"
        if low is not None and value < low:
            return "below"
    if abnormal:
        return "A"
    if abnormal is False or (value is not None and (low is not None or high is not None)):
        return "N"
    return ""


def glossary(language: str) -> list[GlossaryTerm]:
    """Every glossary term in the reader's language, in alphabetical order for that language."""
    return list(_glossary()[language_of(language)])
