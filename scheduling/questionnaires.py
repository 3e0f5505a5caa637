"""Pre-visit forms as FHIR R4 Questionnaires, and their scoring: PHQ-9 (depression) and GAD-7 (anxiety).

Both are public-domain instruments (Pfizer; Kroenke, Spitzer, Williams). Items and answers carry their LOINC
codes, so the stored QuestionnaireResponse reads the same in any FHIR system. Scores are the sums of the
items' values (0 to 3); severity bands are the instruments' own. PHQ-9's ninth item (thoughts of self-harm)
answered above "Not at all" is flagged to the care team whatever the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

LOINC = "http://loinc.org"
FREQUENCY = (
    ("LA6568-5", _("Not at all"), 0),
    ("LA6569-3", _("Several days"), 1),
    ("LA6570-1", _("More than half the days"), 2),
    ("LA6571-9", _("Nearly every day"), 3),
)
LEAD_IN = _("Over the last 2 weeks, how often have you been bothered by any of the following problems?")


@dataclass(frozen=True)
class Item:
    link_id: str
    code: str  # LOINC
    text: Promise


@dataclass(frozen=True)
class Form:
    key: str
    title: Promise
    code: str  # LOINC panel
    url: str
    items: tuple[Item, ...]
    bands: tuple[tuple[int, Promise], ...]  # (lowest score, severity), ascending
    flag_item: str | None = None  # an item whose answer above 0 is flagged whatever the total


PHQ9 = Form(
    key="phq-9",
    title=_("Mood questionnaire (PHQ-9)"),
    code="44249-1",
    url="http://loinc.org/q/44249-1",
    items=(
        Item("1", "44250-9", _("Little interest or pleasure in doing things")),
        Item("2", "44255-8", _("Feeling down, depressed, or hopeless")),
        Item("3", "44259-0", _("Trouble falling or staying asleep, or sleeping too much")),
        Item("4", "44254-1", _("Feeling tired or having little energy")),
        Item("5", "44251-7", _("Poor appetite or overeating")),
        Item(
            "6",
            "44258-2",
            _("Feeling bad about yourself, or that you are a failure or have let yourself or your family down"),
        ),
        Item(
            "7", "44252-5", _("Trouble concentrating on things, such as reading the newspaper or watching television")
        ),
        Item(
            "8",
            "44253-3",
            _(
                "Moving or speaking so slowly that other people could have noticed, or the opposite: being so "
                "fidgety or restless that you have been moving around a lot more than usual"
            ),
        ),
        Item("9", "44260-8", _("Thoughts that you would be better off dead, or of hurting yourself in some way")),
    ),
    bands=((0, _("minimal")), (5, _("mild")), (10, _("moderate")), (15, _("moderately severe")), (20, _("severe"))),
    flag_item="9",
)

GAD7 = Form(
    key="gad-7",
    title=_("Anxiety questionnaire (GAD-7)"),
    code="69737-5",
    url="http://loinc.org/q/69737-5",
    items=(
        Item("1", "69725-0", _("Feeling nervous, anxious, or on edge")),
        Item("2", "68509-9", _("Not being able to stop or control worrying")),
        Item("3", "69733-4", _("Worrying too much about different things")),
        Item("4", "69734-2", _("Trouble relaxing")),
        Item("5", "69735-9", _("Being so restless that it is hard to sit still")),
        Item("6", "69689-8", _("Becoming easily annoyed or irritable")),
        Item("7", "69736-7", _("Feeling afraid, as if something awful might happen")),
    ),
    bands=((0, _("minimal")), (5, _("mild")), (10, _("moderate")), (15, _("severe"))),
)

FORMS = {form.key: form for form in (PHQ9, GAD7)}
FORM_CHOICES = [(form.key, form.title) for form in FORMS.values()]
VALUES = {code: value for code, _label, value in FREQUENCY}


@dataclass(frozen=True)
class Score:
    total: int
    severity: str
    flagged: bool


def score(form: Form, answers: dict[str, str]) -> Score:
    """The total and its band from answers by link id (LOINC answer codes); every item must be answered."""
    values = {link: VALUES[code] for link, code in answers.items()}
    total = sum(values[item.link_id] for item in form.items)
    severity = str(next(label for lowest, label in reversed(form.bands) if total >= lowest))
    flagged = form.flag_item is not None and values.get(form.flag_item, 0) > 0
    return Score(total=total, severity=severity, flagged=flagged)


def questionnaire(form: Form) -> dict[str, Any]:
    """The form as a FHIR R4 Questionnaire resource (English; the pages show it in the reader's language)."""
    return {
        "resourceType": "Questionnaire",
        "url": form.url,
        "status": "active",
        "title": str(form.title),
        "code": [{"system": LOINC, "code": form.code}],
        "item": [
            {
                "linkId": item.link_id,
                "code": [{"system": LOINC, "code": item.code}],
                "text": str(item.text),
                "type": "choice",
                "required": True,
                "answerOption": [
                    {"valueCoding": {"system": LOINC, "code": code, "display": str(label)}}
                    for code, label, _value in FREQUENCY
                ],
            }
            for item in form.items
        ],
    }


def questionnaire_response(form: Form, answers: dict[str, str], *, patient_id: str, authored: str) -> dict[str, Any]:
    """The answers as a FHIR R4 QuestionnaireResponse, with the total as the instrument's score item."""
    labels = {code: label for code, label, _value in FREQUENCY}
    result = score(form, answers)
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": form.url,
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": authored,
        "item": [
            {
                "linkId": item.link_id,
                "text": str(item.text),
                "answer": [
                    {
                        "valueCoding": {
                            "system": LOINC,
                            "code": answers[item.link_id],
                            "display": str(labels[answers[item.link_id]]),
                        }
                    }
                ],
            }
            for item in form.items
        ]
        + [{"linkId": "score", "text": "Total score", "answer": [{"valueInteger": result.total}]}],
    }
