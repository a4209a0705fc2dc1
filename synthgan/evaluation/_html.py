"""Render an evaluation report as one self-contained HTML page (private).

Plots are drawn with matplotlib (Agg backend) into PNGs embedded as base64 data URIs, and the
style sheet is inline, so the file opens anywhere without network access.

Labels in any script: the plots use DejaVu Sans (bundled with matplotlib) with the installed
fonts of :data:`FONT_PREFERENCE` as fallbacks (Noto Sans CJK and others, found through
``matplotlib.font_manager``). A label holding a character that none of them can draw (a Chinese
column name on a machine without a CJK font, say) is drawn as a key such as ``[1]`` and spelled
out in HTML under the plot, where the browser's fonts render it: never as empty boxes.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import io
import textwrap
from collections.abc import Mapping
from datetime import datetime, timezone

import numpy as np

from synthgan.evaluation.report import NOT_COMPUTED

# Fonts tried, in order, after DejaVu Sans for characters it lacks (those installed are used).
FONT_PREFERENCE = (
    "DejaVu Sans",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "Noto Sans",
    "Noto Sans Arabic",
    "Noto Sans Hebrew",
    "Noto Sans Devanagari",
    "Noto Sans Thai",
    "Arial Unicode MS",
)

# Headline figures: key -> (label, what is good).
_HEADLINE = {
    "column_shapes": ("Column shapes", "1 is ideal"),
    "column_pair_trends": ("Column pair trends", "1 is ideal"),
    "detection_auc": ("Detection ROC-AUC", "0.5 is ideal"),
    "tstr_accuracy": ("TSTR accuracy (best model)", "must beat the majority rate"),
    "majority_class_accuracy": ("Majority-class rate", "accuracy of a constant guess"),
    "trtr_accuracy": ("TRTR accuracy (best model)", "real-data reference"),
    "tstr_roc_auc": ("TSTR ROC-AUC (best model)", "0.5 is chance"),
    "trtr_roc_auc": ("TRTR ROC-AUC (best model)", "real-data reference"),
    "tstr_r2": ("TSTR R² (best model)", "must beat the mean predictor"),
    "training_mean_r2": ("Training-mean R²", "R² of a constant guess"),
    "trtr_r2": ("TRTR R² (best model)", "real-data reference"),
    "membership_inference_auc": ("Membership inference AUC", "0.5 is ideal"),
    "share_closer_to_train": ("Share closer to train", "0.5 is ideal"),
    "exact_copy_rate": ("Exact-copy rate", "compare with holdout"),
    "epsilon": ("DP ε", "smaller is more private"),
    "frechet_distance": ("Fréchet distance", "0 is ideal"),
    "kid": ("KID", "0 is ideal"),
    "precision": ("Precision", "1 is ideal"),
    "recall": ("Recall", "1 is ideal"),
    "coverage": ("Coverage", "1 is ideal"),
    "memorisation_share": ("Memorisation share", "0.5 is ideal"),
    "tstr_image_accuracy": ("Train-on-generated accuracy", "compare with TRTR"),
}
_COLOURS = {"low": "#2e7d32", "elevated": "#ef6c00", "high": "#c62828", None: "#546e7a"}
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.45;padding:0 1em}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #eee;padding-bottom:.2em;margin-top:1.6em}
.meta{color:#666}.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.6em .9em;min-width:150px}
.card .v{font-size:1.5em;font-weight:600}.card .l{font-size:.85em;color:#555}
.card .i{font-size:.75em;color:#888}.verdict{border-left:6px solid;padding:.6em 1em;
background:#fafafa;margin:1em 0}table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}th{background:#f5f5f5}
td.n{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%}
.note{font-size:.9em;color:#444}td.flag{color:#c62828;font-weight:600}
"""


def render_html(results: Mapping) -> str:
    """The whole page for a report dict (see :class:`EvaluationReport`)."""
    with plot_fonts_context():
        return _page(results)


def _page(results: Mapping) -> str:
    cards = _cards(results.get("headline", {}), results.get("not_computed", {}))
    body = [_header(results), cards, _utility_verdict(results), _verdict(results)]
    for key, title in (
        ("fidelity", "Fidelity"),
        ("utility", "Utility"),
        ("privacy", "Privacy leakage"),
        ("differential_privacy", "Differential privacy"),
        ("images", "Images"),
    ):
        if results.get(key) is not None:
            body.append(f"<h2>{title}</h2>" + _section(key, results[key], results))
    body.append(_notes(results))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>synthgan evaluation report</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _header(results: Mapping) -> str:
    data = results.get("data", {})
    when = results.get("created") or datetime.now(timezone.utc).isoformat(timespec="seconds")
    sizes = ", ".join(
        f"{html.escape(str(k))}: {'none given' if v is None else _fmt(v)}"
        for k, v in data.items()
        if k != "columns"
    )
    return (
        f"<h1>synthgan evaluation report</h1><p class='meta'>{html.escape(str(when))} · "
        f"synthgan {html.escape(str(results.get('synthgan_version', '')))} · {sizes}</p>"
    )


def _cards(headline: Mapping, missing: Mapping) -> str:
    cards = []
    for key, value in headline.items():
        label, ideal = _HEADLINE.get(key, (key, ""))
        shown = _fmt(value)
        if value is None and missing.get(key):  # "not computed" and, below it, why
            ideal = f"({missing[key]})"
        cards.append(
            f"<div class='card'><div class='v'>{html.escape(shown)}</div><div class='l'>"
            f"{html.escape(label)}</div><div class='i'>{html.escape(ideal)}</div></div>"
        )
    return f"<div class='cards'>{''.join(cards)}</div>"


def _utility_verdict(results: Mapping) -> str:
    verdict = results.get("utility_verdict")
    if not verdict or verdict.get("level") is None:
        return ""
    flagged = verdict["level"] == "no better than baseline"
    colour = _COLOURS["high" if flagged else "low"]
    return (
        f"<div class='verdict' style='border-color:{colour}'><b>Utility verdict: "
        f"{html.escape(verdict['level'])}</b><p>{html.escape(verdict['text'])}</p></div>"
    )


def _verdict(results: Mapping) -> str:
    verdict = results.get("verdict")
    if not verdict:
        return ""
    colour = _COLOURS.get(verdict.get("level"), _COLOURS[None])
    rows = "".join(
        f"<tr><td>{html.escape(f['figure'])}</td><td class='n'>{_fmt(f['value'])}</td>"
        f"<td style='color:{_COLOURS[f['level']]}'>{f['level']}</td>"
        f"<td class='n'>{' / '.join(_fmt(t) for t in verdict['thresholds'][f['figure']])}</td></tr>"
        for f in verdict.get("findings", [])
    )
    table = (
        "<table><tr><th>figure</th><th>value</th><th>level</th><th>elevated / high above</th>"
        f"</tr>{rows}</table>"
        if rows
        else ""
    )
    level = verdict.get("level") or f"{NOT_COMPUTED} ({verdict.get('missing', 'no holdout given')})"
    return (
        f"<div class='verdict' style='border-color:{colour}'><b>Leakage verdict: "
        f"{html.escape(level)}</b><p>{html.escape(verdict['text'])}</p>"
        f"{table}</div>"
    )


def _section(key: str, section, results: Mapping) -> str:
    if isinstance(section, Mapping) and "skipped" in section:
        return f"<p class='note'>Skipped: {html.escape(str(section['skipped']))}</p>"
    plots = results.get("plots", {})
    parts = []
    if key == "fidelity":
        parts += [_column_plots(plots.get("columns", [])), _heatmap(plots.get("pair_trends"))]
        parts.append(_per_class_table(section, results.get("headline", {})))
    if key == "utility":
        parts.append(_utility_table(section))
    if key == "privacy":
        parts.append(_img(_dcr_plot(section.get("dcr", {})), "distance to closest record"))
    if key == "images":
        for name, png in plots.get("image_grids", {}).items():
            parts.append(f"<h3>{html.escape(name)}</h3>" + _img_tag(png, name))
    parts.append(_table(section))
    return "".join(p for p in parts if p)


# -- tables -------------------------------------------------------------------------------------
def _flatten(obj, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows += _flatten(value, name + ".")
        elif isinstance(value, (list, tuple)) and len(value) > 8:
            continue  # distributions: shown as plots
        else:
            rows.append((name, value))
    return rows


def _table(section) -> str:
    if not isinstance(section, Mapping):
        return f"<p>{html.escape(str(section))}</p>"
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td class='n'>{html.escape(_fmt(v))}</td></tr>"
        for k, v in _flatten(section)
        if not k.startswith(("pairs", "columns.", "per_class."))  # these have their own table
    )
    return f"<details><summary>All figures</summary><table>{rows}</table></details>"


def _utility_table(utility: Mapping) -> str:
    setups = [s for s in ("trtr", "tstr", "augmented") if s in utility]
    if not setups:
        return ""
    models = list(utility[setups[0]])
    metrics = list(utility[setups[0]][models[0]])
    head = "".join(f"<th>{s.upper()} {m}</th>" for s in setups for m in metrics)
    baseline = utility.get("baseline") or {}
    rows = "".join(
        f"<tr><td>{html.escape(model)}</td>"
        + "".join(
            _utility_cell(utility[s][model][m], s, m, baseline) for s in setups for m in metrics
        )
        + "</tr>"
        for model in models
    )
    if baseline:
        name = _baseline_name(baseline)
        cells = "".join(
            f"<td class='n'>{_fmt(baseline.get(m))}</td>" for _ in setups for m in metrics
        )
        rows += f"<tr><td><i>{html.escape(name)}</i></td>{cells}</tr>"
    return (
        f"<table><tr><th>model</th>{head}</tr>{rows}</table><p class='note'>TRTR: trained on the "
        "real training data; TSTR: trained on synthetic data; augmented: real + synthetic. All "
        "tested on the same real holdout. The last row is the trivial baseline, which ignores "
        "every feature; a TSTR figure in red does not beat it.</p>"
    )


def _per_class_table(fidelity: Mapping, headline: Mapping) -> str:
    """The fidelity figures of each class of the target, under the overall ones."""
    section = fidelity.get("per_class")
    if not isinstance(section, Mapping):
        return ""
    title = "<h3>Per class of the target</h3>"
    if "skipped" in section:
        return f"{title}<p class='note'>Skipped: {html.escape(str(section['skipped']))}</p>"
    # The overall figures (the headline's) first, for comparison.
    rows = (
        "<tr><td><i>all rows</i></td><td></td><td></td>" + _class_cells(headline) + "<td></td></tr>"
    )
    for name, entry in section["classes"].items():
        rows += _class_row(name, entry)
    return (
        f"{title}<table><tr><th>class of {html.escape(repr(section['target']))}</th>"
        "<th>real rows</th><th>synthetic rows</th><th>column shapes</th><th>column pair trends"
        f"</th><th>detection ROC-AUC</th><th>note</th></tr>{rows}</table><p class='note'>Each "
        "class scored on its own rows (real against synthetic rows of that class, the target "
        f"left out), at most {html.escape(_fmt(section.get('max_rows_per_class')))} rows a side; "
        f"{html.escape(section['rule'])}. 1 is ideal for the scores, 0.5 for the ROC-AUC; a "
        "model can look fine overall and be poor on the class that matters.</p>"
    )


def _class_row(name: str, entry: Mapping) -> str:
    label = html.escape(repr(name)) + (" <b>(minority)</b>" if entry.get("minority") else "")
    missing = entry.get("status") == "missing"
    notes = sorted(set(entry.get("not_computed", {}).values()))
    synth_cell = f"<td class='{'n flag' if missing else 'n'}'>{entry['rows_synthetic']}</td>"
    return (
        f"<tr><td>{label}</td><td class='n'>{entry['rows_real']}</td>{synth_cell}"
        f"{_class_cells(entry)}<td>{html.escape('; '.join(notes))}</td></tr>"
    )


def _class_cells(figures: Mapping) -> str:
    keys = ("column_shapes", "column_pair_trends", "detection_auc")
    return "".join(f"<td class='n'>{_fmt(figures.get(k))}</td>" for k in keys)


def _baseline_name(baseline: Mapping) -> str:
    if baseline.get("strategy") == "majority_class":
        return f"baseline: always {baseline.get('class')!r} (majority class)"
    return "baseline: always the training mean"


def _utility_cell(value, setup: str, metric: str, baseline: Mapping) -> str:
    from synthgan.evaluation.report import UTILITY_THRESHOLDS

    reference = 0.5 if metric == "roc_auc" else baseline.get(metric)
    margins = {
        "accuracy": UTILITY_THRESHOLDS["accuracy_margin"],
        "roc_auc": UTILITY_THRESHOLDS["roc_auc_chance"] - 0.5,
        "r2": UTILITY_THRESHOLDS["r2_margin"],
    }
    weak = (
        setup == "tstr"
        and metric in margins
        and isinstance(value, float)
        and isinstance(reference, float)
        and value <= reference + margins[metric]
    )
    return f"<td class='{'n flag' if weak else 'n'}'>{_fmt(value)}</td>"


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return NOT_COMPUTED
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1000 or 0 < abs(value) < 0.001 else f"{value:.3f}"
    return str(value)


# -- plots --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def plot_fonts() -> tuple[tuple[str, ...], frozenset[int]]:
    """The installed fonts of ``FONT_PREFERENCE`` and every code point one of them can draw."""
    from matplotlib import font_manager

    files: dict[str, str] = {}
    for entry in font_manager.fontManager.ttflist:
        files.setdefault(entry.name, entry.fname)
    names = tuple(name for name in FONT_PREFERENCE if name in files)
    covered: set[int] = set()
    for name in names:
        with contextlib.suppress(OSError, RuntimeError, ValueError):  # an unreadable font file
            covered.update(font_manager.get_font(files[name]).get_charmap())
    return names, frozenset(covered)


@contextlib.contextmanager
def plot_fonts_context():
    """matplotlib settings that draw with :func:`plot_fonts`, falling back glyph by glyph."""
    import matplotlib

    names, _ = plot_fonts()
    fonts = [*names, *matplotlib.rcParams["font.sans-serif"]]
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": fonts}):
        yield


class _Labels:
    """Plot labels: drawn as given when the fonts have every glyph, else as keys ``[n]`` whose
    text is written in HTML below the plot."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}  # text -> key

    def __call__(self, text: str) -> str:
        _, covered = plot_fonts()
        if all(ch.isspace() or ord(ch) in covered for ch in text):
            return text
        return self.keys.setdefault(text, f"[{len(self.keys) + 1}]")

    def html(self) -> str:
        if not self.keys:
            return ""
        items = ", ".join(f"<b>{key}</b> {html.escape(text)}" for text, key in self.keys.items())
        return (
            "<p class='note'>Labels the installed plot fonts cannot draw, shown as keys in the "
            f"plot above: {items}.</p>"
        )


def _figure(nrows: int = 1, ncols: int = 1, size=(6.0, 3.2)):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    # Constrained layout keeps titles, tick labels and the colour bar inside the figure.
    fig = Figure(figsize=(size[0] * ncols / max(ncols, 1), size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(png: str | None, alt: str) -> str:
    return _img_tag(png, alt) if png else ""


def _img_tag(png: str, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{png}'>"


def _wrap(text: str, width_inches: float, fontsize: float) -> str:
    # An average glyph is about 0.55 em wide: this many characters fit on one line.
    chars = max(12, int(width_inches * 72 / (0.55 * fontsize)))
    return textwrap.fill(text, chars)


def _plot_html(make_figure, data, alt: str) -> str:
    """One plot as an <img>, followed by the labels it had to draw as keys (if any)."""
    labels = _Labels()
    fig = make_figure(data, labels)
    return _img(_png(fig), alt) + labels.html()


def _column_plots(columns: list) -> str:
    if not columns:
        return ""
    return _plot_html(column_plots_figure, columns, "real vs synthetic per column")


def column_plots_figure(columns: list, labels: _Labels | None = None):
    """The per-column bar charts of real and synthetic shares, as a matplotlib figure."""
    labels = labels or _Labels()
    ncols = 3
    nrows = -(-len(columns) // ncols)
    fig, axes = _figure(nrows, ncols, size=(11.0, 2.4))
    for ax, col in zip(axes.flat, columns, strict=False):
        x = np.arange(len(col["real"]))
        width = 0.4
        ax.bar(x - width / 2, col["real"], width, label="real", color="#1f77b4")
        ax.bar(x + width / 2, col["synthetic"], width, label="synthetic", color="#ff7f0e")
        ax.set_title(_wrap(labels(col["column"]), 11.0 / ncols, 9), fontsize=9)
        step = max(1, len(x) // 6)
        ax.set_xticks(x[::step])
        ax.set_xticklabels([labels(t) for t in col["labels"][::step]], fontsize=6, rotation=30)
        ax.tick_params(axis="y", labelsize=6)
    for ax in list(axes.flat)[len(columns) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    return fig


def _heatmap(data: Mapping | None) -> str:
    if not data or not data.get("columns"):
        return ""
    return _plot_html(heatmap_figure, data, "column pair trends")


def heatmap_figure(data: Mapping, labels: _Labels | None = None):
    """The column pair trend heatmap as a matplotlib figure; the title wraps to its width."""
    labels = labels or _Labels()
    names = [labels(str(n)) for n in data["columns"]]
    matrix = np.array(
        [[np.nan if v is None else v for v in row] for row in data["matrix"]], dtype=float
    )
    side = min(9.0, 2.0 + 0.35 * len(names))
    width = max(side + 1.5, 5.0)  # room for a two- or three-line title on a tiny table
    fig, axes = _figure(size=(width, side + 0.6))
    ax = axes[0, 0]
    image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="RdYlGn")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=7)
    fig.suptitle(_wrap(data.get("title", ""), width - 0.4, 9), fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04)
    return fig


def _dcr_plot(dcr: Mapping) -> str | None:
    hist = dcr.get("histogram")
    if not hist:
        return None
    edges = np.asarray(hist["bin_edges"], dtype=float)
    fig, axes = _figure(size=(7.0, 3.0))
    ax = axes[0, 0]
    for key, colour in (("train", "#c62828"), ("holdout", "#1f77b4")):
        ax.stairs(hist[f"{key}_counts"], edges, label=f"synthetic → {key}", color=colour)
    ax.set_xlabel("distance to closest record")
    ax.set_ylabel("synthetic rows")
    ax.legend(fontsize=8)
    return _png(fig)


def _notes(results: Mapping) -> str:
    return (
        "<h2>How to read this report</h2><div class='note'><p>Fidelity: sdmetrics column shapes "
        "(per-column distributions) and column pair trends (pairwise relationships), 1 ideal; "
        "never judge by the overall score alone: independent per-column sampling scores high on "
        "shapes while learning no relationship. Detection: cross-validated ROC-AUC of classifiers "
        "separating real from synthetic rows, 0.5 ideal.</p><p>Utility: models trained on "
        "synthetic data (TSTR) against the same models trained on real data (TRTR), tested on the "
        "real holdout.</p><p>Privacy: the membership-inference AUC is the headline (0.5: an "
        "attacker cannot tell training records from unseen ones). Distance-based figures (share "
        "closer to train, distance to closest record, exact copies) are diagnostics: they are "
        "known to miss leaks, so a low value alone does not prove privacy. Only differential "
        "privacy gives a guarantee; the ε shown (when present) bounds every use of the real "
        "data.</p></div>"
    )
