"""What the person writes down themselves: the journal (and its printable page) and home measurements.

Subject pages with the records scope: the person, or a caregiver whose grant includes records, may read and
add; only an entry's author or the patient may change or delete it (403 with nothing changed for anyone
else who may read it; 404 for anyone who may not). Reads by anyone but the patient are audited by the
declaration; writes by their actions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.requests import SignedInRequest
from proxy.actions import NotAllowedError
from records import patient_actions, patient_data
from records.access import access_home_measurement_by_id, access_journal_entry_by_id
from records.charts import ChartText, trend_svg
from records.models import EntryKind, HomeMeasurement, JournalEntry, MeasurementKind
from records.patient_forms import (
    MEASUREMENT_FORMS,
    EditJournalEntryForm,
    JournalFilterForm,
    NewJournalEntryForm,
    QuestionStateForm,
)
from records.units import display_unit

JOURNAL_PAGE_SIZE = 25
MEASUREMENTS_PAGE_SIZE = 50
REFUSED = 403


def _not_yours(request: SignedInRequest, subject: Patient, error: NotAllowedError | None = None) -> HttpResponse:
    """403: someone who may read an entry, but not change it (nothing was changed)."""
    message = str(error) if error else _("Only the person who entered this, or the patient, may change or delete it.")
    return render(request, "records/not_yours.html", {"patient": subject, "message": message}, status=REFUSED)


# The journal --------------------------------------------------------------------------------------------


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_JOURNAL_VIEWED)
@require_http_methods(["GET", "POST"])
def journal(request: SignedInRequest, subject: Patient) -> HttpResponse:
    actor = request.actor
    form = NewJournalEntryForm(request.POST if request.method == "POST" else None, patient=subject)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            patient_actions.add_journal_entry(
                actor=actor,
                patient=subject,
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["text"],
                happened_on=form.cleaned_data["happened_on"],
                request=request,
            )
        except NotAllowedError as error:
            form.add_error(None, str(error))
            status = REFUSED
        else:
            messages.success(request, _("Saved in the journal."))
            return redirect("records:journal")
    chosen = JournalFilterForm(request.GET)
    kind = chosen.cleaned_data["kind"] if chosen.is_valid() else ""
    page = Paginator(patient_data.journal_list(actor, kind), JOURNAL_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "records/journal.html",
        {
            "patient": subject,
            "form": form,
            "page": page,
            "lines": patient_data.journal_lines(actor, page.object_list),
            "kind": kind,
            "kinds": EntryKind.choices,
            "query": f"kind={kind}" if kind else "",
        },
        status=status,
    )


@subject_page(
    Scope.RECORDS, audit=AuditAction.RECORDS_JOURNAL_ENTRY_VIEWED, objects={"entry_id": access_journal_entry_by_id}
)
@require_http_methods(["GET", "POST"])
def journal_edit(request: SignedInRequest, subject: Patient, entry: JournalEntry) -> HttpResponse:
    actor = request.actor
    if not patient_data.may_change(actor, entry):
        return _not_yours(request, subject)
    initial = {
        "kind": entry.kind,
        "text": entry.text,
        "happened_on": entry.happened_on,
        "question_state": entry.question_state,
    }
    form = EditJournalEntryForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            patient_actions.change_journal_entry(actor=actor, entry=entry, request=request, **form.cleaned_data)
        except NotAllowedError as error:
            return _not_yours(request, subject, error)
        messages.success(request, _("The entry is changed."))
        return redirect("records:journal")
    return render(request, "records/journal_edit.html", {"patient": subject, "entry": entry, "form": form})


@subject_page(Scope.RECORDS, objects={"entry_id": access_journal_entry_by_id})
@require_POST
def journal_delete(request: SignedInRequest, subject: Patient, entry: JournalEntry) -> HttpResponse:
    try:
        patient_actions.delete_journal_entry(actor=request.actor, entry=entry, request=request)
    except NotAllowedError as error:
        return _not_yours(request, subject, error)
    messages.success(request, _("The entry is deleted."))
    return redirect("records:journal")


@subject_page(Scope.RECORDS, objects={"entry_id": access_journal_entry_by_id})
@require_POST
def journal_question(request: SignedInRequest, subject: Patient, entry: JournalEntry) -> HttpResponse:
    form = QuestionStateForm(request.POST)
    if not form.is_valid() or entry.kind != EntryKind.QUESTION:
        messages.error(request, _("Only a question for the next visit can be marked asked or answered."))
        return redirect("records:journal")
    try:
        patient_actions.mark_question(
            actor=request.actor, entry=entry, state=form.cleaned_data["state"], request=request
        )
    except NotAllowedError as error:
        return _not_yours(request, subject, error)
    messages.success(request, _("The question is marked."))
    return redirect("records:journal")


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_JOURNAL_PRINT_VIEWED)
@require_safe
def journal_print(request: SignedInRequest, subject: Patient) -> HttpResponse:
    printable = patient_data.printable_journal(request.actor)
    return render(
        request,
        "records/journal_print.html",
        {
            "patient": subject,
            "printable": printable,
            "questions": patient_data.journal_lines(request.actor, printable.questions),
            "recent": patient_data.journal_lines(request.actor, printable.recent),
        },
    )


# Home measurements --------------------------------------------------------------------------------------


def _forms(subject: Patient, bound: Any = None) -> dict[str, Any]:
    """One form per measurement: the one posted comes back bound (filled in), the others blank."""
    return {kind: (bound if bound is not None and bound.kind_value == kind else form_class(patient=subject))
            for kind, form_class in MEASUREMENT_FORMS.items()}  # fmt: skip


def _charts(request: SignedInRequest) -> list[dict[str, Any]]:
    charts = []
    for series in patient_data.measurement_series(request.actor):
        svg = trend_svg(
            series.points,
            unit=display_unit(series.unit),
            low=None,
            high=None,
            text=ChartText(
                title=series.title,
                description=_("Each reading entered at home, in %(unit)s. The table below lists the same readings.")
                % {"unit": display_unit(series.unit)},
                band=_("Usual range"),
                patient_entered=_("Entered at home"),
            ),
            date_format=lambda moment: date_format(moment, "SHORT_DATE_FORMAT"),
            id_prefix=f"home-{series.key}",
        )
        charts.append({"series": series, "svg": svg, "unit": display_unit(series.unit)})
    return charts


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_MEASUREMENTS_VIEWED)
@require_http_methods(["GET", "POST"])
def measurements(request: SignedInRequest, subject: Patient) -> HttpResponse:
    actor = request.actor
    bound = None
    status = 200
    if request.method == "POST":
        form_class = MEASUREMENT_FORMS.get(request.POST.get("kind", ""))
        if form_class is None:
            messages.error(request, _("Choose a measurement to add."))
            return redirect("records:measurements")
        bound = form_class(request.POST, patient=subject)
        if bound.is_valid():
            try:
                patient_actions.add_home_measurement(actor=actor, patient=subject, request=request, **bound.reading())
            except NotAllowedError as error:
                bound.add_error(None, str(error))
                status = REFUSED
            else:
                messages.success(request, _("The reading is saved."))
                return redirect("records:measurements")
    page = Paginator(patient_data.measurement_list(actor), MEASUREMENTS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "records/measurements.html",
        {
            "patient": subject,
            "forms": _forms(subject, bound),
            "posted": bound.kind_value if bound is not None else "",
            "page": page,
            "lines": patient_data.measurement_lines(actor, page.object_list),
            "charts": _charts(request),
            "kinds": MeasurementKind,
        },
        status=status,
    )


@subject_page(Scope.RECORDS, objects={"measurement_id": access_home_measurement_by_id})
@require_POST
def measurement_delete(request: SignedInRequest, subject: Patient, measurement: HomeMeasurement) -> HttpResponse:
    try:
        patient_actions.delete_home_measurement(actor=request.actor, measurement=measurement, request=request)
    except NotAllowedError as error:
        return _not_yours(request, subject, error)
    messages.success(request, _("The reading is deleted."))
    return redirect("records:measurements")
