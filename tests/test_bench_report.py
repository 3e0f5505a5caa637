"""bench/REPORT.md: each benchmark replaces its own section and leaves the others as they were."""

from __future__ import annotations

from pathlib import Path

from bench.report_sections import replace_section


def test_a_section_is_replaced_where_it_stands_and_a_new_one_goes_last(tmp_path: Path) -> None:
    report = tmp_path / "REPORT.md"
    replace_section("Record pages", ["old pages", "", "### At one size", "", "a table"], report=report)
    replace_section("Staff inbox", ["inbox", ""], report=report)
    replace_section("Record pages", ["new pages"], report=report)
    assert report.read_text() == "# Benchmarks\n\n## Record pages\n\nnew pages\n\n## Staff inbox\n\ninbox\n"
    replace_section("Slot search", ["slots"], report=report)
    assert report.read_text().endswith("## Staff inbox\n\ninbox\n\n## Slot search\n\nslots\n")
