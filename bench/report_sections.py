"""bench/REPORT.md is written by several benchmarks, each replacing its own section (a "## " heading)."""

from __future__ import annotations

from pathlib import Path

REPORT = Path(__file__).resolve().parent / "REPORT.md"


def replace_section(heading: str, body: list[str], *, report: Path = REPORT) -> None:
    """Puts the section `heading` with `body` (its lines under the heading) in the report, where it was or else
    at the end; the other sections stay as they are, one blank line between sections."""
    text = report.read_text() if report.exists() else "# Benchmarks\n"
    title = f"## {heading}"
    section = "\n".join([title, "", *body]).rstrip("\n") + "\n"
    start = text.find(f"\n{title}\n")
    if start == -1:
        before, after = text, ""
    else:
        end = text.find("\n## ", start + 1)
        before, after = text[:start], (text[end:] if end != -1 else "")
    joined = before.rstrip("\n") + "\n\n" + section
    if after:
        joined += "\n" + after.lstrip("\n")
    report.write_text(joined)
