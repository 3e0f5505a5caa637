"""Cells for CSV files that people open in a spreadsheet.

A cell that begins with =, +, -, @, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula: a name typed as
`=HYPERLINK("http://evil.example","x")` would become a live link in the
patient's download. A leading apostrophe makes the spreadsheet show the text
as it is (OWASP's advice for CSV injection).
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(values: Iterable[object]) -> list[str]:
    return [safe_cell(value) for value in values]
