"""A statement file from the clinic's billing system (CSV), checked whole before anything is written.

Columns (a header row, in any order): mrn, visit_number, service_date (YYYY-MM-DD), kind (charge, insurance
or adjustment), amount (25.00; an adjustment may be negative: -25.00 lowers the balance), description, reason
(required for adjustments). A file with any broken row is refused whole, with the number of every broken row
(the header is row 1), and nothing is written. A file imported twice writes its rows once: each row's ledger
key is the file's digest and the row's number.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.actions.audit import record_audit_event, record_audit_events
from accounts.actors import Actor
from accounts.audit_labels import AuditAction
from accounts.models import Enrollment
from accounts.scoping import scoped
from billing.actions import _check_desk, issue_statement
from billing.models import BillingAccount, EntryKind, LedgerEntry
from billing.money import cents_from_text
from billing.selectors import balance_of

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
MAX_ERRORS_SHOWN = 50
COLUMNS = ("mrn", "visit_number", "service_date", "kind", "amount", "description", "reason")
KINDS = {"charge": EntryKind.CHARGE, "insurance": EntryKind.INSURANCE_PAYMENT, "adjustment": EntryKind.ADJUSTMENT}


class StatementFileError(ValidationError):
    """The file is refused whole; `problems` lists each broken row's number and what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[:MAX_ERRORS_SHOWN], code="statement_file")
        self.problems = problems


@dataclass(frozen=True)
class FileRow:
    number: int
    enrollment: Enrollment
    visit_number: str
    service_date: date
    kind: str
    amount_cents: int  # signed, as it goes into the ledger
    description: str
    reason: str


@dataclass(frozen=True)
class ImportResult:
    rows: int
    accounts: int
    already_imported: int
    statements: int


def _text(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementFileError([_("The file is not a text (CSV) file.")])


def read_statement_file(staff: Actor, raw: bytes) -> list[FileRow]:
    """Every row checked; StatementFileError listing the broken ones (nothing is written here)."""
    if len(raw) > MAX_FILE_BYTES:
        raise StatementFileError([_("The file is larger than 2 MB. Split it into smaller files.")])
    reader = csv.DictReader(io.StringIO(_text(raw), newline=""))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise StatementFileError(
            [_("Row 1: the header lacks the columns %(columns)s.") % {"columns": ", ".join(missing)}]
        )
    reader.fieldnames = header
    lines = list(reader)
    if not lines:
        raise StatementFileError([_("The file has no rows after the header.")])
    if len(lines) > MAX_ROWS:
        raise StatementFileError([_("The file has more than %(count)s rows. Split it.") % {"count": MAX_ROWS}])
    mrns = {str(line.get("mrn") or "").strip() for line in lines}
    enrollments = {e.mrn: e for e in scoped(staff, Enrollment).filter(mrn__in=mrns).select_related("patient")}
    rows, problems = [], []
    for number, line in enumerate(lines, start=2):
        if None in line:  # more cells than the header has
            problems.append(_("Row %(row)s: more cells than the header has columns.") % {"row": number})
            continue
        cell = {key: str(value or "").strip() for key, value in line.items()}
        wrong: list[str] = []
        enrollment = enrollments.get(cell["mrn"])
        if enrollment is None:
            wrong.append(_("no patient of this clinic has the MRN %(mrn)s") % {"mrn": cell["mrn"][:40] or "—"})
        kind = KINDS.get(cell["kind"].lower())
        if kind is None:
            wrong.append(_("the kind must be charge, insurance or adjustment"))
        try:
            service_date = date.fromisoformat(cell["service_date"])
        except ValueError:
            wrong.append(_("the date of service must look like 2026-03-31"))
            service_date = date.min
        amount_text = cell["amount"]
        negative = amount_text.startswith("-")
        try:
            cents = cents_from_text(amount_text.removeprefix("-"))
        except ValidationError:
            wrong.append(_("the amount must look like 25.00"))
            cents = 0
        else:
            if cents == 0:
                wrong.append(_("the amount cannot be zero"))
            elif negative and kind != EntryKind.ADJUSTMENT:
                wrong.append(_("only an adjustment may be negative"))
        if not cell["visit_number"]:
            wrong.append(_("the visit number is missing"))
        if kind == EntryKind.CHARGE and not cell["description"]:
            wrong.append(_("a charge needs a description"))
        if kind == EntryKind.ADJUSTMENT and not cell["reason"]:
            wrong.append(_("an adjustment needs a reason"))
        if len(cell["description"]) > 200 or len(cell["reason"]) > 300 or len(cell["visit_number"]) > 40:
            wrong.append(_("a cell is too long"))
        if wrong:
            problems.append(_("Row %(row)s: %(problems)s.") % {"row": number, "problems": "; ".join(wrong)})
            continue
        assert enrollment is not None
        assert kind is not None
        signed = cents if kind == EntryKind.CHARGE else -cents
        if kind == EntryKind.ADJUSTMENT:
            signed = -cents if negative else cents
        rows.append(
            FileRow(
                number,
                enrollment,
                cell["visit_number"],
                service_date,
                kind,
                signed,
                cell["description"],
                cell["reason"],
            )
        )
    if problems:
        raise StatementFileError(problems)
    return rows


def import_statement_file(
    *, staff: Actor, raw: bytes, due_on: date | None = None, request: HttpRequest | None = None
) -> ImportResult:
    """Check the whole file, then write every row in one transaction (or none); bills sent when `due_on` is given."""
    organization = staff.desk.organization if staff.desk else None
    if organization is None:
        raise ValidationError(_("Import files at an organization's billing desk."))
    rows = read_statement_file(staff, raw)
    digest = hashlib.sha256(raw).hexdigest()[:32]
    written = skipped = statements = 0
    with transaction.atomic():
        _check_desk(staff, organization.pk)
        accounts: dict[object, BillingAccount] = {}
        balances: dict[object, int] = {}
        for row in rows:
            patient_id = row.enrollment.patient_id
            if patient_id not in accounts:
                account, _created = BillingAccount.objects.get_or_create(
                    organization=organization, patient_id=patient_id
                )
                accounts[patient_id] = (
                    BillingAccount.objects.select_for_update(of=("self",)).select_related("patient").get(pk=account.pk)
                )
                balances[patient_id] = balance_of(account)
        problems = []
        for row in rows:
            key = f"import-{digest}-{row.number}"
            if LedgerEntry.objects.filter(idempotency_key=key).exists():
                skipped += 1
                continue
            balances[row.enrollment.patient_id] += row.amount_cents
            if balances[row.enrollment.patient_id] < 0:
                problems.append(
                    _("Row %(row)s: this would make the patient's balance below zero (a credit).") % {"row": row.number}
                )
                continue
            LedgerEntry.objects.create(
                account=accounts[row.enrollment.patient_id],
                kind=row.kind,
                amount_cents=row.amount_cents,
                currency=accounts[row.enrollment.patient_id].currency,
                visit_number=row.visit_number,
                service_date=row.service_date,
                description=row.description,
                reason=row.reason,
                entered_by=staff.user,
                idempotency_key=key,
            )
            written += 1
        if problems:
            raise StatementFileError(problems)  # the transaction rolls back: nothing of the file is kept
        record_audit_events(
            action=AuditAction.BILLING_ENTRY_POSTED,
            actor=staff,
            request=request,
            rows=[(account.patient, "billing_account", account.pk) for account in accounts.values()],
        )
        record_audit_event(
            action=AuditAction.STATEMENT_FILE_IMPORTED,
            actor=staff,
            subject=None,
            request=request,
            object_type="statement_file",
            object_id=digest,
            detail={"rows": written, "accounts": len(accounts)},
        )
        if due_on is not None and written:
            for account in accounts.values():
                if balances[account.patient_id] > 0:
                    issue_statement(staff=staff, account=account, due_on=due_on, request=request)
                    statements += 1
    return ImportResult(rows=written, accounts=len(accounts), already_imported=skipped, statements=statements)
