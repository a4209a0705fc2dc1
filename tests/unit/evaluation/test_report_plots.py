"""Report plots, finding 7 of issue 15: labels in any script, and titles inside the figure."""

from __future__ import annotations

import warnings

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from synthgan.evaluation import EvaluationReport, _html

TITLE = (
    "Column pair trend similarity (sdmetrics; 1 = same relationship, blank = association too "
    "weak to score)"
)


def _results(name: str = "收入") -> dict:
    return {
        "kind": "table",
        "headline": {},
        "plots": {
            "columns": [
                {"column": name, "labels": ["北京", "x"], "real": [0.5, 0.5],
                 "synthetic": [0.4, 0.6]},
                {"column": "age", "labels": ["1", "2"], "real": [0.5, 0.5],
                 "synthetic": [0.5, 0.5]},
            ],
            "pair_trends": {"columns": [name, "age"], "matrix": [[1.0, 0.7], [0.7, 1.0]],
                            "title": TITLE},
        },
        "fidelity": {"quality": {"column_shapes": 0.9}},
    }  # fmt: skip


def _glyph_warnings(results: dict, tmp_path) -> tuple[list[str], str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        html = EvaluationReport(results).to_html(tmp_path / "r.html").read_text()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)], html


def test_chinese_column_name_draws_no_missing_glyph_and_is_readable_in_html(tmp_path):
    missing, html = _glyph_warnings(_results(), tmp_path)
    assert missing == []
    _, covered = _html.plot_fonts()
    if ord("收") in covered:  # a CJK font is installed: the plot draws the name itself
        assert "cannot draw" not in html
    else:  # no font has the glyphs: a key in the plot, the name in HTML below it
        assert "<b>[1]</b> 收入" in html and "<b>[2]</b> 北京" in html


def test_a_font_with_the_glyphs_is_used_when_installed(monkeypatch, tmp_path):
    # Pretend a CJK font covers the name: the label is then drawn as given, with no key.
    names, covered = _html.plot_fonts()
    extended = covered | {ord(ch) for ch in "收入北京"}
    monkeypatch.setattr(_html, "plot_fonts", lambda: (names, extended))
    labels = _html._Labels()
    assert labels("收入") == "收入" and labels.html() == ""
    monkeypatch.setattr(_html, "plot_fonts", lambda: (names, covered - {ord("é")}))
    assert _html._Labels()("café") == "[1]"


def test_latin_labels_are_drawn_as_given():
    labels = _html._Labels()
    assert [labels(t) for t in ("age", "Zürich", "Ωmega", "naïve café")] == [
        "age",
        "Zürich",
        "Ωmega",
        "naïve café",
    ]
    assert labels.html() == ""


def _inside(fig, artist) -> bool:
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.canvas.draw()
    box, frame = artist.get_window_extent(renderer), fig.bbox
    return box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1


@pytest.mark.parametrize("n_columns", [1, 2, 3, 30])
def test_heatmap_title_lies_inside_the_figure(n_columns):
    names = [f"column_{i}" for i in range(n_columns)]
    matrix = [[1.0] * n_columns for _ in names]
    fig = _html.heatmap_figure({"columns": names, "matrix": matrix, "title": TITLE})
    title = fig.get_suptitle()
    assert title.replace("\n", " ") == TITLE
    assert _inside(fig, fig._suptitle)


def test_long_column_titles_lie_inside_the_figure():
    column = {"column": "a very long column name " * 4, "labels": ["x"], "real": [1.0],
              "synthetic": [1.0]}  # fmt: skip
    fig = _html.column_plots_figure([column])
    assert _inside(fig, fig.axes[0].title)
