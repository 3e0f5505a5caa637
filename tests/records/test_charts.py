"""The trend chart: well-formed SVG that a strict Content-Security-Policy accepts, drawn to scale."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils.safestring import SafeString
from hypothesis import given
from hypothesis import strategies as st

from records.charts import NICE_STEPS, ChartText, TrendPoint, nice_ticks, trend_svg

SVG = "{http://www.w3.org/2000/svg}"
TEXT = ChartText(
    title="Glucose", description="Glucose, 2019 to 2023", band="Usual range", patient_entered="Entered by you"
)
START = datetime(2019, 1, 10, 9, 30, tzinfo=UTC)
ALLOWED_TAGS = {"svg", "title", "desc", "g", "rect", "line", "polyline", "circle", "text"}
ALLOWED_ATTRIBUTES = {
    "class",
    "viewBox",
    "role",
    "aria-labelledby",
    "font-size",
    "id",
    "x",
    "y",
    "width",
    "height",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "points",
    "fill",
    "stroke",
    "stroke-opacity",
    "stroke-dasharray",
    "text-anchor",
}


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def iso_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def render(points: Sequence[TrendPoint], **options: Any) -> str:
    arguments: dict[str, Any] = {
        "unit": "mg/dL",
        "low": None,
        "high": None,
        "text": TEXT,
        "date_format": iso_date,
    }
    arguments.update(options)
    return str(trend_svg(points, **arguments))


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is well-formed


def local(element: ET.Element) -> str:
    return element.tag.removeprefix(SVG)


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def shapes(root: ET.Element, name: str) -> list[ET.Element]:
    """The points with class `name` (the legend's sample square has no tooltip and is not a point)."""
    return [
        element
        for element in root.iter()
        if name in classes(element) and element.find(f"{SVG}title") is not None and local(element) in {"circle", "rect"}
    ]


def band(root: ET.Element) -> ET.Element | None:
    bands = [e for e in root.iter(f"{SVG}rect") if "trend-band" in classes(e) and e.find(f"{SVG}title") is not None]
    assert len(bands) <= 1
    return bands[0] if bands else None


def polylines(root: ET.Element) -> dict[str, list[tuple[float, float]]]:
    lines: dict[str, list[tuple[float, float]]] = {}
    for element in root.iter(f"{SVG}polyline"):
        name = "patient" if "trend-line-patient" in classes(element) else "clinical"
        assert name not in lines
        lines[name] = [tuple(map(float, pair.split(","))) for pair in element.get("points", "").split()]
    return lines


def centre(element: ET.Element) -> tuple[float, float]:
    if local(element) == "circle":
        return float(element.get("cx", "nan")), float(element.get("cy", "nan"))
    return (
        float(element.get("x", "nan")) + float(element.get("width", "nan")) / 2,
        float(element.get("y", "nan")) + float(element.get("height", "nan")) / 2,
    )


def axis_lines(root: ET.Element) -> tuple[ET.Element, ET.Element]:
    """The y axis (vertical) and the x axis (horizontal)."""
    group = next(e for e in root.iter(f"{SVG}g") if "trend-axis" in classes(e))
    vertical, horizontal = group.findall(f"{SVG}line")
    return vertical, horizontal


def y_ticks(root: ET.Element) -> list[tuple[float, float]]:
    """(value, y) of each y-axis tick label."""
    labels = [e for e in root.iter(f"{SVG}text") if e.get("text-anchor") == "end"]
    return [(float((e.text or "").replace(",", "")), float(e.get("y", "nan")) - 4) for e in labels]


def x_labels(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter(f"{SVG}text") if e.get("text-anchor") == "middle"]


def markup_only(svg: str) -> str:
    """The output without its text content (escaping keeps every '<' out of text, so this is exact)."""
    return re.sub(r">[^<]*<", "><", svg)


def mixed_points() -> list[TrendPoint]:
    clinical = [TrendPoint(day(30 * i), 90 + 10 * math.sin(i), label="General Hospital") for i in range(8)]
    entered = [TrendPoint(day(30 * i + 12), 100 + i, patient_entered=True) for i in range(3)]
    return clinical + entered


# Structure --------------------------------------------------------------------------------------------


def test_the_chart_is_well_formed_svg_labelled_by_its_title_and_description() -> None:
    svg = trend_svg(mixed_points(), unit="mg/dL", low=70, high=99, text=TEXT, date_format=iso_date)
    assert isinstance(svg, SafeString)
    root = parse(svg)
    assert local(root) == "svg"
    assert root.get("class") == "trend"
    assert root.get("viewBox") == "0 0 640 260"
    assert root.get("role") == "img"
    ids = {element.get("id"): element for element in root.iter() if element.get("id")}
    labelled_by = root.get("aria-labelledby", "").split()
    assert labelled_by == ["trend-title", "trend-desc"]
    assert local(ids["trend-title"]) == "title"
    assert ids["trend-title"].text == "Glucose"
    assert local(ids["trend-desc"]) == "desc"
    assert ids["trend-desc"].text == "Glucose, 2019 to 2023"


def test_an_id_prefix_keeps_two_charts_apart() -> None:
    root = parse(render(mixed_points(), id_prefix="lab-2345-7"))
    assert root.get("aria-labelledby") == "lab-2345-7-title lab-2345-7-desc"
    assert {e.get("id") for e in root.iter() if e.get("id")} == {"lab-2345-7-title", "lab-2345-7-desc"}


@pytest.mark.parametrize("prefix", ["", "1abc", "a b", 'x"y', "a<b"])
def test_an_id_prefix_that_is_not_a_plain_name_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="id_prefix"):
        render(mixed_points(), id_prefix=prefix)


def test_the_size_can_be_chosen() -> None:
    root = parse(render(mixed_points(), width=400, height=200))
    assert root.get("viewBox") == "0 0 400 200"


def test_no_points_is_an_empty_string() -> None:
    assert trend_svg([], unit="", low=None, high=None, text=TEXT, date_format=iso_date) == ""
    assert isinstance(trend_svg([], unit="", low=None, high=None, text=TEXT, date_format=iso_date), SafeString)


def test_points_without_a_finite_value_are_left_out() -> None:
    points = [
        TrendPoint(day(0), 5.0),
        TrendPoint(day(1), math.nan),
        TrendPoint(day(2), math.inf),
        TrendPoint(day(3), -math.inf),
        TrendPoint(day(4), 6.0),
    ]
    root = parse(render(points))
    assert len(shapes(root, "trend-point")) == 2
    assert len(polylines(root)["clinical"]) == 2
    assert render([TrendPoint(day(0), math.nan)]) == ""


def test_a_fifty_point_chart_stays_small() -> None:
    points = [
        TrendPoint(day(20 * i), 80 + (i % 7) * 6.123, abnormal=i % 5 == 0, label="Riverside Health System")
        for i in range(50)
    ]
    svg = render(points, low=70, high=99)
    assert len(svg.encode()) < 15_000
    assert len(shapes(parse(svg), "trend-point")) == 50


# Series -----------------------------------------------------------------------------------------------


def test_each_point_is_one_shape_and_each_series_has_its_own() -> None:
    root = parse(render(mixed_points()))
    clinical = shapes(root, "trend-point")
    patient = shapes(root, "trend-point-patient")
    assert len([e for e in clinical if "trend-point-patient" not in classes(e)]) == 8
    assert len(patient) == 3
    assert all(local(e) == "circle" for e in clinical if "trend-point-patient" not in classes(e))
    assert all(local(e) == "rect" for e in patient)
    lines = polylines(root)
    assert len(lines["clinical"]) == 8
    assert len(lines["patient"]) == 3


def test_patient_points_are_never_on_the_clinical_line() -> None:
    root = parse(render(mixed_points()))
    lines = polylines(root)
    patient_centres = [centre(e) for e in shapes(root, "trend-point-patient")]
    for x, y in patient_centres:
        assert all(abs(x - px) > 0.05 or abs(y - py) > 0.05 for px, py in lines["clinical"])
    assert [pytest.approx(c, abs=0.15) for c in patient_centres] == lines["patient"]
    dashed = [e for e in root.iter(f"{SVG}polyline") if "trend-line-patient" in classes(e)]
    assert dashed[0].get("stroke-dasharray")


def test_a_single_patient_point_draws_no_line() -> None:
    points = [TrendPoint(day(0), 5.0), TrendPoint(day(5), 6.0), TrendPoint(day(3), 9.0, patient_entered=True)]
    lines = polylines(parse(render(points)))
    assert set(lines) == {"clinical"}
    assert len(lines["clinical"]) == 2


def test_the_line_follows_time_not_the_order_given_nor_the_index() -> None:
    points = [TrendPoint(day(10), 3.0), TrendPoint(day(0), 1.0), TrendPoint(day(1), 2.0)]
    line = polylines(parse(render(points)))["clinical"]
    xs = [x for x, _ in line]
    assert xs == sorted(xs)
    # Day 1 sits a tenth of the way from day 0 to day 10.
    assert (xs[1] - xs[0]) / (xs[2] - xs[0]) == pytest.approx(0.1, abs=0.005)
    ys = [y for _, y in line]
    assert ys[0] > ys[1] > ys[2]  # larger values are higher up (smaller y)


def test_abnormal_points_are_marked_and_others_are_not() -> None:
    points = [
        TrendPoint(day(0), 5.0, abnormal=True),
        TrendPoint(day(1), 5.5, abnormal=False),
        TrendPoint(day(2), 6.0, abnormal=None),
        TrendPoint(day(3), 9.0, abnormal=True, patient_entered=True),
    ]
    root = parse(render(points))
    abnormal = shapes(root, "trend-point-abnormal")
    assert len(abnormal) == 2
    assert {local(e) for e in abnormal} == {"circle", "rect"}
    assert len(shapes(root, "trend-point")) == 4


def test_each_point_has_a_tooltip_with_value_unit_date_and_source() -> None:
    points = [
        TrendPoint(day(0), 5.5506, label="General Hospital"),
        TrendPoint(day(40), 6.1, patient_entered=True, label="Home meter"),
    ]
    root = parse(render(points, unit="mmol/L"))
    titles = sorted((e.find(f"{SVG}title").text or "") for e in shapes(root, "trend-point"))
    assert titles == [
        "5.551 mmol/L · 2019-01-10 · General Hospital",
        "6.1 mmol/L · 2019-02-19 · Home meter · Entered by you",
    ]


def test_one_point_is_a_chart_with_the_point_in_the_middle() -> None:
    root = parse(render([TrendPoint(day(0), 37.2)], unit="°C"))
    (point,) = shapes(root, "trend-point")
    _, x_axis = axis_lines(root)
    middle = (float(x_axis.get("x1", "nan")) + float(x_axis.get("x2", "nan"))) / 2
    assert centre(point)[0] == pytest.approx(middle, abs=0.1)
    assert "trend-line" not in {c for e in root.iter(f"{SVG}polyline") for c in classes(e)}
    assert x_labels(root) == ["2019-01-10"]


def test_equal_values_get_a_padded_range() -> None:
    points = [TrendPoint(day(i), 120.0) for i in range(4)]
    root = parse(render(points))
    ticks = y_ticks(root)
    assert min(v for v, _ in ticks) < 120.0 < max(v for v, _ in ticks)
    top = min(y for _, y in ticks)
    bottom = max(y for _, y in ticks)
    for element in shapes(root, "trend-point"):
        assert top < centre(element)[1] < bottom


@pytest.mark.parametrize(
    "values",
    [
        [1e12, 1.2e12, 1.5e12],
        [-40.0, -12.5, -30.0],
        [-5e11, 0.0, 7e11],
        [1e-6, 3e-6, 2e-6],
    ],
)
def test_huge_tiny_and_negative_values_stay_inside_the_chart(values: list[float]) -> None:
    root = parse(render([TrendPoint(day(i), value) for i, value in enumerate(values)]))
    vertical, _ = axis_lines(root)
    top, bottom = float(vertical.get("y1", "nan")), float(vertical.get("y2", "nan"))
    for element in shapes(root, "trend-point"):
        assert top <= centre(element)[1] <= bottom


# Reference band ---------------------------------------------------------------------------------------


def band_edges(root: ET.Element) -> tuple[float, float]:
    rect = band(root)
    assert rect is not None
    y = float(rect.get("y", "nan"))
    return y, y + float(rect.get("height", "nan"))


def point_y(root: ET.Element, value: float) -> float:
    wanted = [
        centre(e)[1]
        for e in shapes(root, "trend-point")
        if (e.find(f"{SVG}title").text or "").startswith(f"{value:g} ")
    ]
    assert len(wanted) == 1
    return wanted[0]


def test_the_band_spans_the_usual_range() -> None:
    points = [TrendPoint(day(0), 70.0), TrendPoint(day(1), 99.0), TrendPoint(day(2), 130.0)]
    root = parse(render(points, low=70, high=99))
    top, bottom = band_edges(root)
    assert top == pytest.approx(point_y(root, 99.0), abs=0.15)
    assert bottom == pytest.approx(point_y(root, 70.0), abs=0.15)
    assert band(root).find(f"{SVG}title").text == "Usual range: 70–99 mg/dL"  # noqa: RUF001


def test_a_band_with_only_a_low_bound_runs_to_the_top() -> None:
    points = [TrendPoint(day(0), 60.0), TrendPoint(day(1), 70.0)]
    root = parse(render(points, low=60))
    vertical, _ = axis_lines(root)
    top, bottom = band_edges(root)
    assert top == pytest.approx(float(vertical.get("y1", "nan")), abs=0.15)
    assert bottom == pytest.approx(point_y(root, 60.0), abs=0.15)
    assert band(root).find(f"{SVG}title").text == "Usual range: ≥ 60 mg/dL"


def test_a_band_with_only_a_high_bound_runs_to_the_bottom() -> None:
    points = [TrendPoint(day(0), 5.7), TrendPoint(day(1), 6.4)]
    root = parse(render(points, high=5.7, unit="%"))
    _, horizontal = axis_lines(root)
    top, bottom = band_edges(root)
    assert top == pytest.approx(point_y(root, 5.7), abs=0.15)
    assert bottom == pytest.approx(float(horizontal.get("y1", "nan")), abs=0.15)


@pytest.mark.parametrize(("low", "high"), [(None, None), (99.0, 70.0), (math.nan, math.inf)])
def test_no_usable_bound_means_no_band(low: float | None, high: float | None) -> None:
    root = parse(render(mixed_points(), low=low, high=high))
    assert band(root) is None
    assert not any("trend-band" in classes(e) for e in root.iter())  # not even in a legend


def test_the_y_axis_covers_the_band_as_well_as_the_data() -> None:
    root = parse(render([TrendPoint(day(0), 150.0), TrendPoint(day(1), 160.0)], low=70, high=99))
    values = [v for v, _ in y_ticks(root)]
    assert min(values) <= 70
    assert max(values) >= 160


# Axes -------------------------------------------------------------------------------------------------


def test_y_ticks_are_nice_evenly_spaced_and_cover_the_data() -> None:
    points = [TrendPoint(day(i), value) for i, value in enumerate([5.4, 6.2, 7.9, 7.1])]
    ticks = y_ticks(parse(render(points, unit="%")))
    values = [v for v, _ in ticks]
    assert 4 <= len(values) <= 6
    assert values == sorted(values)
    assert values[0] <= 5.4
    assert values[-1] >= 7.9
    steps = {round(b - a, 9) for a, b in itertools.pairwise(values)}
    assert len(steps) == 1
    ys = [y for _, y in ticks]
    assert ys == sorted(ys, reverse=True)


def test_x_labels_are_dates_in_the_callers_format_and_in_order() -> None:
    points = [TrendPoint(day(90 * i), 5.0 + i) for i in range(17)]  # four years
    root = parse(render(points, date_format=lambda moment: moment.strftime("%b %Y")))
    labels = x_labels(root)
    assert 2 <= len(labels) <= 8
    assert labels == sorted(labels, key=lambda label: datetime.strptime(label, "%b %Y"))
    assert len(set(labels)) == len(labels)


def test_x_labels_inside_one_day_show_the_ends() -> None:
    points = [TrendPoint(START, 1.0), TrendPoint(START + timedelta(hours=5), 2.0)]
    root = parse(render(points, date_format=lambda moment: moment.strftime("%H:%M")))
    assert x_labels(root) == ["09:30", "14:30"]


def test_nice_ticks_examples() -> None:
    assert nice_ticks(0, 100) == [0, 25, 50, 75, 100]
    assert nice_ticks(62, 137) == [60, 80, 100, 120, 140]
    assert nice_ticks(36.1, 38.4) == [36.0, 36.5, 37.0, 37.5, 38.0, 38.5]
    assert nice_ticks(0.1, 0.9) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert nice_ticks(5, 5) == [4.5, 4.75, 5.0, 5.25, 5.5]
    assert nice_ticks(0, 0) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert nice_ticks(100, 0) == nice_ticks(0, 100)


@pytest.mark.parametrize(("low", "high"), [(math.nan, 1.0), (0.0, math.inf), (-1e308, 1e308)])
def test_nice_ticks_refuse_what_cannot_be_drawn(low: float, high: float) -> None:
    with pytest.raises(ValueError, match=r"finite|too wide"):
        nice_ticks(low, high)


bounds = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_subnormal=False)


@given(bounds, bounds)
def test_nice_ticks_are_nice_and_cover_the_range(a: float, b: float) -> None:
    low, high = min(a, b), max(a, b)
    ticks = nice_ticks(low, high)
    assert 4 <= len(ticks) <= 6
    assert ticks[0] <= low
    assert ticks[-1] >= high
    step = ticks[1] - ticks[0]
    exponent = math.floor(math.log10(step) + 1e-9)
    assert any(math.isclose(step, nice * 10.0**exponent, rel_tol=1e-6) for nice in NICE_STEPS)
    scale = max(abs(ticks[0]), abs(ticks[-1]))
    for previous, current in itertools.pairwise(ticks):
        assert math.isclose(current - previous, step, rel_tol=1e-6, abs_tol=scale * 1e-12)
    for tick in ticks:
        assert math.isclose(tick / step, round(tick / step), abs_tol=1e-6 + abs(tick / step) * 1e-12)


# Hostile text -----------------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "\"><svg onload='alert(1)'>",
    "Smith & Sons 'Lab' \"East\"",
    "]]><!-- -->",
    "bell\x07 null\x00 escape\x1b",
]


def assert_inert(svg: str) -> ET.Element:
    root = parse(svg)
    for element in root.iter():
        assert local(element) in ALLOWED_TAGS
        assert set(element.attrib) <= ALLOWED_ATTRIBUTES, element.attrib
    assert "<script" not in svg.lower()
    markup = markup_only(svg).lower()
    for forbidden in ("style", "script", "javascript:", "href", "<a", "foreignobject", " on"):
        assert forbidden not in markup, forbidden
    return root


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_words_are_escaped_everywhere(hostile: str) -> None:
    text = ChartText(title=hostile, description=hostile, band=hostile, patient_entered=hostile)
    points = [TrendPoint(day(0), 1.0, label=hostile), TrendPoint(day(9), 2.0, label=hostile, patient_entered=True)]
    svg = str(trend_svg(points, unit=hostile, low=0.5, high=1.5, text=text, date_format=lambda _: hostile))
    root = assert_inert(svg)
    clean = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", hostile)
    assert root.find(f"{SVG}title").text == clean
    assert root.find(f"{SVG}desc").text == clean
    for element in shapes(root, "trend-point"):
        assert clean in (element.find(f"{SVG}title").text or "")
    for forbidden in ("style=", "<script", "javascript:", "href"):
        assert forbidden not in svg


def test_link_and_style_words_in_text_stay_text() -> None:
    hostile = "<a href=\"javascript:alert(1)\" style='x'>"
    svg = render([TrendPoint(day(0), 1.0, label=hostile)], unit=hostile)
    root = assert_inert(svg)
    assert hostile in (shapes(root, "trend-point")[0].find(f"{SVG}title").text or "")


@given(st.text(), st.text(max_size=20), st.text(max_size=30))
def test_any_label_unit_or_date_text_is_escaped(label: str, unit: str, date_text: str) -> None:
    date_format: Callable[[datetime], str] = lambda _: date_text  # noqa: E731
    points = [TrendPoint(day(0), 1.0, label=label), TrendPoint(day(3), 2.0, label=label, patient_entered=True)]
    svg = render(points, unit=unit, date_format=date_format, low=0.0, high=1.5)
    root = assert_inert(svg)
    tooltips = [e.find(f"{SVG}title").text or "" for e in shapes(root, "trend-point")]
    assert len(tooltips) == 2
    kept = re.sub("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "", label)
    kept = kept.replace("\r\n", "\n").replace("\r", "\n").strip()  # XML parsers read a CR as a LF
    if kept:
        assert all(kept in tooltip for tooltip in tooltips)
