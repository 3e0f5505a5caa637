"""A payment's receipt as a PDF: who was paid, how much, when, by which card (brand and last digits), refunds.

No health detail: the receipt names the organization and the amount, not the visits (a receipt is often
handed on: to an employer's health account, to a family member).
"""

from __future__ import annotations

from django.template.loader import render_to_string

from billing.models import LedgerEntry, Payment
from records.pdf import render_pdf


def receipt_pdf(payment: Payment, *, refunds: list[LedgerEntry]) -> bytes:
    refunded = sum(entry.amount_cents for entry in refunds)
    html = render_to_string(
        "billing/receipt_pdf.html",
        {"payment": payment, "account": payment.account, "refunds": refunds, "kept": payment.amount_cents - refunded},
    )
    return render_pdf(html)
