"""The Spanish catalog: complete, compiled, and never at odds with the catalogs Django merges it with.

Django looks a msgid up in our catalog (LOCALE_PATHS) before Django's, allauth's,
DRF's and django-otp's. A msgid of ours without a context that one of them also
uses therefore changes their words too (our "May" column once turned every
"10 de mayo" into "10 de Lo que puede hacer"). Such a msgid is allowed only when
the Spanish is the same; otherwise it needs a context (pgettext, or
`{% translate "…" context "…" %}`).
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import django
import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.audit_labels import AuditAction
from records.models import ConnectionStatus
from tests.conftest import World, sign_in

PO_PATH = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
CONTEXT_SEPARATOR = "\x04"


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> str:
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}{CONTEXT_SEPARATOR}{self.msgid}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"$')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match.group(1), match.group(0)), text)


def parse_po(path: Path) -> list[Entry]:
    """A .po file's entries (the header included), just enough for these checks."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] = ("msgid", 0)
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            current = None
            continue
        if current is None:
            current = Entry()
            entries.append(current)
        if line.startswith("#~"):
            current.obsolete = True
        elif line.startswith("#,"):
            current.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif match := _KEYWORD.match(line):
            keyword, index, text = match.group(1), match.group(2), _unescape(match.group(3))
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                current.msgstr[target[1]] = text
            else:
                target = (keyword, 0)
                setattr(current, keyword, text)
        elif line.startswith('"') and line.endswith('"'):
            text = _unescape(line[1:-1])
            if target[0] == "msgstr":
                current.msgstr[target[1]] += text
            else:
                setattr(current, target[0], (getattr(current, target[0]) or "") + text)
        else:
            raise AssertionError(f"Unreadable line in {path.name}: {raw!r}")
    return [entry for entry in entries if not entry.obsolete and (entry.msgid or entry.msgstr)]


def our_entries() -> list[Entry]:
    return [entry for entry in parse_po(PO_PATH) if entry.msgid]  # without the header


def _mo_catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as handle:
        catalog = vars(gettext.GNUTranslations(handle))["_catalog"]
    return {key: value for key, value in catalog.items() if isinstance(key, str) and key}


def their_catalogs() -> dict[str, dict[str, str]]:
    """The Spanish catalogs Django merges with ours: every installed app's, and Django's own."""
    folders = {"django": Path(django.__file__).parent / "conf" / "locale"}
    for config in apps.get_app_configs():
        folders[config.name] = Path(config.path) / "locale"
    catalogs = {}
    for name, folder in folders.items():
        mo = folder / "es" / "LC_MESSAGES" / "django.mo"
        if mo.exists() and mo.resolve() != MO_PATH.resolve():
            catalogs[name] = _mo_catalog(mo)
    return catalogs


def test_the_catalog_has_no_untranslated_or_fuzzy_entry() -> None:
    entries = our_entries()
    assert len(entries) > 400  # the parser read the file
    untranslated = [entry.key for entry in entries if not all(entry.msgstr.values()) or not entry.msgstr]
    fuzzy = [entry.key for entry in entries if "fuzzy" in entry.flags]
    assert not untranslated, f"Untranslated: {untranslated}"
    assert not fuzzy, f"Fuzzy (check the Spanish, then remove the flag): {fuzzy}"


def test_the_compiled_catalog_matches_the_po_file() -> None:
    # Pages read the .mo; an edit of the .po that was not compiled would not show.
    compiled = _mo_catalog(MO_PATH)
    stale = [
        entry.key
        for entry in our_entries()
        if entry.msgid_plural is None and "fuzzy" not in entry.flags and compiled.get(entry.key) != entry.msgstr[0]
    ]
    assert not stale, f"Run `make messages` (compilemessages): {stale}"


def test_no_msgid_of_ours_changes_the_words_of_django_or_its_apps() -> None:
    theirs = their_catalogs()
    assert {"django", "allauth", "django.contrib.admin"} <= set(theirs)
    assert theirs["django"]["May"] == "mayo"
    clashes = [
        f"{entry.msgid!r}: ours {entry.msgstr[0]!r}, {app}'s {catalog[entry.msgid]!r}"
        for entry in our_entries()
        if entry.msgctxt is None and entry.msgid_plural is None
        for app, catalog in theirs.items()
        if entry.msgid in catalog and catalog[entry.msgid] != entry.msgstr[0]
    ]
    assert not clashes, "Give these a context (pgettext / {% translate … context … %}):\n" + "\n".join(clashes)


def test_month_and_weekday_names_are_never_our_msgids() -> None:
    from django.utils.dates import MONTHS, WEEKDAYS

    with translation.override("en"):
        names = {str(name) for name in (*MONTHS.values(), *WEEKDAYS.values())}
    taken = sorted(names & {entry.msgid for entry in our_entries() if entry.msgctxt is None})
    assert not taken


@pytest.mark.parametrize("action", list(AuditAction), ids=lambda action: action.value)
def test_every_audit_action_has_its_own_spanish_label(action: AuditAction) -> None:
    with translation.override("en"):
        english = str(action.label)
    with translation.override("es"):
        spanish = str(action.label)
    assert spanish
    assert spanish != english


def test_audit_labels_in_spanish_are_all_different() -> None:
    # Two actions that read the same would be indistinguishable in the access history.
    with translation.override("es"):
        labels = [str(action.label) for action in AuditAction]
    assert len(set(labels)) == len(labels)


def test_connected_as_a_status_and_as_a_heading_are_separate_entries() -> None:
    connected = {entry.msgctxt: entry.msgstr[0] for entry in our_entries() if entry.msgid == "Connected"}
    assert None not in connected, "'Connected' without a context"
    assert len(connected) >= 2
    assert len(set(connected.values())) == len(connected), connected


def test_the_directory_shows_the_connected_heading_and_status_in_their_own_words(client: Client, world: World) -> None:
    user = world.user("caregiver_full")  # acts for Rosa, who has a connection
    user.language = "es"
    user.save(update_fields=["language"])
    html = sign_in(client, world, "caregiver_full").get(reverse("records:directory")).content.decode()
    with translation.override("es"):
        status = str(ConnectionStatus.ACTIVE.label)
    heading = re.search(r"<h2>([^<]*)</h2>", html)
    assert heading is not None
    assert heading.group(1) == "Sistemas de salud conectados"
    assert f"Outside Hospital</a> · {status}</li>" in html
    assert status == "Conectado"
