"""``EvaluationReport``: the figures of an evaluation as a nested dict, JSON, one line, or HTML.

The report holds only plain data (numbers, strings, lists, base64 PNGs), so it round-trips
through JSON: ``EvaluationReport.from_json(report.to_json())`` renders the same HTML.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthgan.evaluation._prep import json_safe
from synthgan.io.atomic import StrPath, atomic_write_bytes

__all__ = [
    "LEAKAGE_THRESHOLDS",
    "NOT_COMPUTED",
    "UTILITY_THRESHOLDS",
    "EvaluationReport",
    "leakage_verdict",
    "utility_verdict",
]

NOT_COMPUTED = "not computed"  # how every absent figure reads, with its reason: never "None"
NO_HOLDOUT = "no holdout given"

# (elevated, high): a figure above the first is "elevated", above the second "high". 0.5 is
# the ideal of the first two; the risks are 0 when the synthetic data tells an attacker no more
# about training records than about records it never saw.
LEAKAGE_THRESHOLDS: dict[str, tuple[float, float]] = {
    "membership_inference_auc": (0.55, 0.65),
    # (share closer to train - 0.5) / (its value for a copy of train - 0.5): the share is
    # diluted when train is larger than the samples compared, and this undoes the dilution.
    "dcr_copy_fraction": (0.25, 0.5),
    "exact_copy_excess": (0.01, 0.05),  # exact-copy rate minus the holdout's own rate
    "attribute_inference_risk": (0.05, 0.20),
    "linkability_risk": (0.05, 0.20),
    "memorisation_share": (0.55, 0.65),  # images: generated closer to train than to holdout
    "image_exact_copy_rate": (0.0, 0.01),
}
_LEVELS = ("low", "elevated", "high")
_MEANING = {
    "membership_inference_auc": "a density-ratio membership-inference attack (DOMIAS) tells "
    "training records from unseen records with ROC-AUC {value:.3f}",
    "dcr_copy_fraction": "synthetic rows sit closer to training records than to holdout "
    "records, {value:.0%} of the way to what a copy of the training data would show",
    "exact_copy_excess": "exact copies of training rows exceed the rate expected from "
    "duplicates in the real data by {value:.2%}",
    "attribute_inference_risk": "an attacker inferring a hidden attribute succeeds more often "
    "on training records than on unseen ones (risk at least {value:.3f}, 95% confidence)",
    "linkability_risk": "records can be linked across column halves more often for training "
    "records than for unseen ones (risk at least {value:.3f}, 95% confidence)",
    "memorisation_share": "{value:.1%} of generated images are closer to a training image than "
    "to a holdout image",
    "image_exact_copy_rate": "{value:.2%} of generated images are exact copies of training images",
}


def _level(name: str, value: float) -> str:
    elevated, high = LEAKAGE_THRESHOLDS[name]
    return "high" if value > high else "elevated" if value > elevated else "low"


def leakage_verdict(figures: Mapping[str, float | None], missing: str = NO_HOLDOUT) -> dict:
    """Plain-language leakage verdict from headline figures (names of ``LEAKAGE_THRESHOLDS``).

    The overall level is the worst level of any figure given; missing figures are skipped. With
    no figure at all the level is None and the text says "not computed" and why (``missing``).
    """
    findings = []
    for name, value in figures.items():
        if value is None or name not in LEAKAGE_THRESHOLDS:
            continue
        level = _level(name, value)
        findings.append(
            {
                "figure": name,
                "value": value,
                "level": level,
                "text": _MEANING[name].format(value=value),
            }
        )
    if not findings:
        text = f"{NOT_COMPUTED.capitalize()} ({missing}): leakage needs real rows the synthesizer "
        text += "never saw; pass a holdout to measure it."
        return {"level": None, "text": text, "findings": [], "missing": missing}
    worst = max(findings, key=lambda f: _LEVELS.index(f["level"]))["level"]
    flagged = [f["text"] for f in findings if f["level"] != "low"]
    if worst == "low":
        text = (
            "Low leakage: no figure exceeds its threshold; the synthetic data is no closer to the "
            "training records than to real records it never saw."
        )
    else:
        text = f"{worst.capitalize()} leakage: " + "; ".join(flagged) + "."
    return {
        "level": worst,
        "text": text,
        "findings": findings,
        "thresholds": {k: list(v) for k, v in LEAKAGE_THRESHOLDS.items()},
    }


# A TSTR figure "beats" its trivial baseline only by more than these margins.
UTILITY_THRESHOLDS: dict[str, float] = {
    "accuracy_margin": 0.01,  # accuracy above the majority-class rate by more than this
    "roc_auc_chance": 0.55,  # a best TSTR ROC-AUC at or below this is near chance (0.5)
    "r2_margin": 0.01,  # R² above the training-mean predictor's by more than this
}


def _best(scores: Mapping, metric: str) -> float | None:
    values = [m.get(metric) for m in scores.values()]
    values = [float(v) for v in values if v is not None and not math.isnan(v)]
    return max(values) if values else None


def utility_verdict(utility: Mapping) -> dict:
    """Whether models trained on the synthetic data beat a model that ignores every feature.

    Compares the best TSTR accuracy with the majority-class rate and the best TSTR ROC-AUC with
    chance (0.5), or the best TSTR R² with the training-mean predictor's, using the margins of
    ``UTILITY_THRESHOLDS``; the TRTR figure is quoted as the real-data reference.

    Parameters
    ----------
    utility : mapping
        The ``utility`` section of a report (:func:`~synthgan.evaluation.utility_scores` with a
        ``baseline``), or one with ``skipped``.

    Returns
    -------
    dict
        ``level`` ("no better than baseline", "beats baseline", or None when not computed),
        ``text``, and ``reasons`` (the failed comparisons).
    """
    if "tstr" not in utility or "baseline" not in utility:
        why = utility.get("skipped", "no utility figures")
        return {"level": None, "text": f"{NOT_COMPUTED.capitalize()} ({why}).", "reasons": []}
    if utility["task"] == "regression":
        reasons, text = _regression_reasons(utility)
    else:
        reasons, text = _classification_reasons(utility)
    if reasons:
        target = utility.get("target")
        text = (
            f"No better than baseline: {'; '.join(reasons)}. Models trained on the synthetic data "
            f"learned little about {target!r} that a constant prediction does not give. {text}"
        )
    else:
        text = f"Beats baseline. {text}"
    level = "no better than baseline" if reasons else "beats baseline"
    return {"level": level, "text": text, "reasons": reasons}


def _classification_reasons(utility: Mapping) -> tuple[list[str], str]:
    base, limits = utility["baseline"], UTILITY_THRESHOLDS
    accuracy, auc = _best(utility["tstr"], "accuracy"), _best(utility["tstr"], "roc_auc")
    reasons = []
    if accuracy is not None and accuracy <= base["accuracy"] + limits["accuracy_margin"]:
        reasons.append(
            f"the best TSTR accuracy {accuracy:.3f} does not beat always predicting the majority "
            f"class {base['class']!r} ({base['accuracy']:.3f})"
        )
    if auc is not None and auc <= limits["roc_auc_chance"]:
        reasons.append(f"the best TSTR ROC-AUC {auc:.3f} is near chance (0.5)")
    trtr = _best(utility["trtr"], "accuracy")
    text = (
        f"Best TSTR accuracy {_fmt(accuracy)} against the majority-class rate "
        f"{_fmt(base['accuracy'])} and the real-data (TRTR) reference {_fmt(trtr)}; best TSTR "
        f"ROC-AUC {_fmt(auc)} (TRTR {_fmt(_best(utility['trtr'], 'roc_auc'))}, chance 0.5)."
    )
    return reasons, text


def _regression_reasons(utility: Mapping) -> tuple[list[str], str]:
    base = utility["baseline"]
    r2 = _best(utility["tstr"], "r2")
    reasons = []
    if r2 is not None and r2 <= base["r2"] + UTILITY_THRESHOLDS["r2_margin"]:
        reasons.append(
            f"the best TSTR R² {r2:.3f} does not beat always predicting the training mean "
            f"({base['r2']:.3f})"
        )
    text = (
        f"Best TSTR R² {_fmt(r2)} against the training-mean predictor's {_fmt(base['r2'])} and "
        f"the real-data (TRTR) reference {_fmt(_best(utility['trtr'], 'r2'))}."
    )
    return reasons, text


class EvaluationReport:
    """The result of :func:`synthgan.evaluate` or :func:`synthgan.evaluate_images`.

    Parameters
    ----------
    results : dict
        Nested plain data: ``kind`` ("table" or "images"), ``headline``, section dicts
        (``fidelity``, ``utility``, ``privacy``, ``differential_privacy``, ``verdict``...) and
        ``plots`` (data for the HTML figures).

    Examples
    --------
    >>> report = synthgan.evaluate(train, synth, holdout=holdout, target="y")  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    >>> report.to_html("report.html")  # doctest: +SKIP
    """

    def __init__(self, results: Mapping[str, Any]) -> None:
        self._results = copy.deepcopy(dict(results))

    def __getitem__(self, key: str) -> Any:
        return self._results[key]

    def __repr__(self) -> str:
        return f"EvaluationReport({self.summary()})"

    def to_dict(self, *, plots: bool = True) -> dict:
        """A deep copy of the figures (``plots=False`` leaves the plot data out)."""
        out = copy.deepcopy(self._results)
        if not plots:
            out.pop("plots", None)
        return out

    def to_json(self, path: StrPath | None = None, *, indent: int = 2, overwrite: bool = False):
        """The report as JSON text; written atomically to ``path`` when given (returns it)."""
        text = json.dumps(json_safe(self._results), indent=indent, allow_nan=False)
        if path is None:
            return text
        atomic_write_bytes(Path(path), (text + "\n").encode(), overwrite=overwrite)
        return Path(path)

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> EvaluationReport:
        """Rebuild a report from :meth:`to_json` text or a file holding it."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text()
        return cls(json.loads(text))

    def summary(self) -> str:
        """One line: the headline figures (TSTR beside its baseline and TRTR references), the
        utility flag, the minority class's fidelity (and any class missing from the synthetic
        data) and the leakage verdict; an absent figure reads "not computed (why)"."""
        missing = self._results.get("not_computed", {})
        parts = [
            f"{k}={_fmt(v, missing.get(k))}" for k, v in self._results.get("headline", {}).items()
        ]
        utility = self._results.get("utility_verdict")
        if utility and utility.get("level") == "no better than baseline":
            parts.append("utility=no better than baseline")
        parts += _per_class_summary(self._results.get("fidelity") or {})
        verdict = self._results.get("verdict")
        if verdict:
            reason = verdict.get("missing", NO_HOLDOUT)
            parts.append(f"leakage={verdict.get('level') or f'{NOT_COMPUTED} ({reason})'}")
        return ", ".join(parts)

    def to_html(self, path: StrPath, *, overwrite: bool = False) -> Path:
        """Write one self-contained HTML file (inline CSS and PNG plots, no network needed)."""
        from synthgan.evaluation._html import render_html

        html = render_html(self._results)
        atomic_write_bytes(Path(path), html.encode("utf-8"), overwrite=overwrite)
        return Path(path)


def _per_class_summary(fidelity: Mapping) -> list[str]:
    """Summary parts of the per-class fidelity: the minority class's figures, then the classes
    missing from the synthetic data (a finding in itself); none when it was skipped."""
    section = fidelity.get("per_class")
    if not isinstance(section, Mapping) or "classes" not in section:
        return []
    classes, minority = section["classes"], section.get("minority_class")
    parts = []
    if minority in classes:
        parts.append(f"minority class {minority!r}: {_class_figures(classes[minority])}")
    absent = [k for k, v in classes.items() if v.get("status") == "missing" and k != minority]
    if absent:
        parts.append(f"missing from synthetic: class(es) {', '.join(map(repr, absent))}")
    return parts


def _class_figures(entry: Mapping) -> str:
    if entry.get("status") == "missing":
        return f"missing from synthetic (0 rows; {entry.get('rows_real')} real rows)"
    why = entry.get("not_computed", {})
    names = (("shapes", "column_shapes"), ("pairs", "column_pair_trends"))
    names += (("detection AUC", "detection_auc"),)
    return ", ".join(f"{label} {_fmt(entry.get(key), why.get(key))}" for label, key in names)


def _fmt(value, missing: str | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{NOT_COMPUTED} ({missing})" if missing else NOT_COMPUTED
    return f"{value:.3f}" if isinstance(value, float) else str(value)
