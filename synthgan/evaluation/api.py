"""``synthgan.evaluate`` and ``synthgan.evaluate_images``: every figure in one report.

Both take plain data (DataFrames, image arrays), never a synthesizer, so they score the output
of any tool.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.model_selection import train_test_split

from synthgan.evaluation._prep import check_columns, is_numeric_feature, subsample
from synthgan.evaluation.fidelity import detection_scores, quality_scores
from synthgan.evaluation.report import EvaluationReport, leakage_verdict
from synthgan.evaluation.utility import utility_scores

__all__ = ["evaluate", "evaluate_images"]

_MAX_BARS = 12  # categories shown per column plot (the rest are summed into "other")
_BINS = 20


def evaluate(
    real_train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    target: str | None = None,
    metadata: Mapping | None = None,
    random_state: int = 0,
    *,
    privacy_spent: Mapping | None = None,
    max_rows: int | None = 5000,
) -> EvaluationReport:
    """Evaluate a synthetic table against the real data it was trained on.

    Parameters
    ----------
    real_train : DataFrame
        The real rows the synthesizer was trained on.
    synthetic : DataFrame
        The synthetic table, with the columns of ``real_train``.
    holdout : DataFrame, optional
        Real rows the synthesizer never saw. Needed for the privacy figures; also the test set
        of the utility figures (without it, 20% of ``real_train`` is held out instead and the
        report says that TSTR is then optimistic).
    target : str, optional
        Column to predict: enables the utility figures (classification or regression).
    metadata : mapping, optional
        synthgan metadata ``{"columns": {name: {"type": ...}}}`` for the sdmetrics column types.
    random_state : int, default 0
        Seed of every subsample, split and model.
    privacy_spent : mapping, optional
        ``{"epsilon": ..., "delta": ...}`` of a synthesizer trained with differential privacy
        (``model.privacy_spent_``); carried into the report and its headline.
    max_rows : int or None, default 5000
        Rows drawn from each frame for the fidelity and privacy figures (stated in the report).

    Returns
    -------
    EvaluationReport

    Examples
    --------
    >>> report = synthgan.evaluate(train, synth, holdout=holdout, target="y")  # doctest: +SKIP
    >>> report.to_html("report.html")  # doctest: +SKIP
    """
    _check_frames(real_train, synthetic, holdout, target)
    timings: dict[str, float] = {}
    results = _base(real_train, synthetic, holdout, target, random_state, max_rows)
    with _timer(timings, "fidelity"):
        results["fidelity"] = _fidelity(real_train, synthetic, metadata, max_rows, random_state)
    with _timer(timings, "utility"):
        results["utility"] = _utility(real_train, synthetic, holdout, target, random_state)
    with _timer(timings, "privacy"):
        results["privacy"] = _privacy(real_train, synthetic, holdout, max_rows, random_state)
    results["differential_privacy"] = dict(privacy_spent) if privacy_spent else None
    results["plots"] = _table_plots(real_train, synthetic, results["fidelity"], random_state)
    results["headline"] = _table_headline(results)
    results["verdict"] = leakage_verdict(_leakage_figures(results["privacy"]))
    results["timings_s"] = timings
    return EvaluationReport(results)


class _timer:
    def __init__(self, sink: dict, name: str) -> None:
        self.sink, self.name = sink, name

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.sink[self.name] = round(time.perf_counter() - self.start, 3)


def _check_frames(real, synthetic, holdout, target) -> None:
    for name, frame in (("real_train", real), ("synthetic", synthetic), ("holdout", holdout)):
        if frame is None and name == "holdout":
            continue
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}.")
        if len(frame) == 0:
            raise ValueError(f"{name} is empty; evaluation needs rows.")
    check_columns(synthetic, list(real.columns), "synthetic")
    if holdout is not None:
        check_columns(holdout, list(real.columns), "holdout")
    if target is not None and target not in real.columns:
        raise ValueError(f"target {target!r} is not a column; columns: {list(real.columns)}.")


def _header(kind: str) -> dict:
    """What every report starts with: its kind, the library version and the time."""
    from synthgan import __version__

    return {
        "kind": kind,
        "synthgan_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _base(real, synthetic, holdout, target, random_state, max_rows) -> dict:
    return {
        **_header("table"),
        "data": {
            "real_train_rows": len(real),
            "synthetic_rows": len(synthetic),
            "holdout_rows": None if holdout is None else len(holdout),
            "columns": [str(c) for c in real.columns],
            "target": target,
        },
        "settings": {"max_rows": max_rows, "random_state": random_state},
    }


def _fidelity(real, synthetic, metadata, max_rows, random_state) -> dict:
    quality = quality_scores(
        real, synthetic, metadata, max_rows=max_rows, random_state=random_state, details=True
    )
    detection = detection_scores(real, synthetic, max_rows=max_rows, random_state=random_state)
    return {"quality": quality, "detection": detection}


def _utility(real, synthetic, holdout, target, random_state) -> dict:
    if target is None:
        return {"skipped": "no target column given (pass target=...)"}
    test, note = holdout, "the real holdout"
    if holdout is None:
        stratify = real[target] if real[target].nunique() <= 50 else None
        real, test = train_test_split(
            real, test_size=0.2, random_state=random_state, stratify=_safe(stratify)
        )
        note = (
            "20% of real_train (no holdout given): the synthesizer saw these rows, so TSTR is "
            "optimistic"
        )
    scores = utility_scores(real, synthetic, test, target, random_state=random_state)
    return {**scores, "test_set": note}


def _safe(stratify):
    # Stratify only when every class has at least 2 rows; otherwise a plain split.
    if stratify is None or stratify.value_counts().min() < 2:
        return None
    return stratify.astype(str)


def _privacy(real, synthetic, holdout, max_rows, random_state) -> dict:
    if holdout is None:
        return {"skipped": "no holdout given: leakage needs real rows the synthesizer never saw"}
    from synthgan.evaluation.privacy import privacy_scores

    return privacy_scores(real, synthetic, holdout, max_rows=max_rows, random_state=random_state)


def _best(scores: Mapping, metric: str) -> float | None:
    values = [m[metric] for m in scores.values() if m.get(metric) is not None]
    values = [v for v in values if not np.isnan(v)]
    return max(values) if values else None


def _table_headline(results: Mapping) -> dict:
    quality = results["fidelity"]["quality"]
    detection = results["fidelity"]["detection"]
    headline = {
        "column_shapes": quality["column_shapes"],
        "column_pair_trends": quality["column_pair_trends"],
        "detection_auc": max(v["roc_auc"] for k, v in detection.items() if isinstance(v, dict)),
    }
    utility = results["utility"]
    if "tstr" in utility:
        metric = "accuracy" if utility["task"] == "classification" else "r2"
        headline[f"tstr_{metric}"] = _best(utility["tstr"], metric)
        headline[f"trtr_{metric}"] = _best(utility["trtr"], metric)
    headline.update(
        {k: v for k, v in _leakage_figures(results["privacy"]).items() if k in _HEADLINE_PRIVACY}
    )
    if results.get("differential_privacy"):
        headline["epsilon"] = results["differential_privacy"].get("epsilon")
    return headline


_HEADLINE_PRIVACY = ("membership_inference_auc", "share_closer_to_train", "exact_copy_rate")


def _leakage_figures(privacy: Mapping) -> dict:
    """The privacy figures the verdict and the headline use (names of LEAKAGE_THRESHOLDS)."""
    if "skipped" in privacy:
        return {}
    figures = {
        "membership_inference_auc": privacy["membership_inference"]["auc"],
        "share_closer_to_train": privacy["dcr"]["share_closer_to_train"],
        "dcr_copy_fraction": _copy_fraction(privacy["dcr"]),
        "exact_copy_rate": privacy["exact_copy_rate"],
        "exact_copy_excess": max(
            0.0, privacy["exact_copy_rate"] - privacy["exact_copy_rate_holdout_baseline"]
        ),
    }
    # Attack risks enter the verdict by the lower end of their confidence interval: the largest
    # of 15 noisy per-secret estimates would otherwise raise alarms on small samples.
    secrets = privacy.get("attribute_inference", {}).get("per_secret", {})
    lower = [v["risk_ci"][0] for v in secrets.values() if v.get("risk") is not None]
    if lower:
        figures["attribute_inference_risk"] = max(lower)
    link = privacy.get("linkability", {})
    if link.get("risk") is not None:
        figures["linkability_risk"] = link["risk_ci"][0]
    return figures


def _copy_fraction(dcr: Mapping) -> float:
    """How far the share closer to train went from 0.5 towards its value for a copy of train."""
    span = dcr["share_closer_to_train_if_copied"] - 0.5
    if span <= 0:
        return 0.0
    return float(np.clip((dcr["share_closer_to_train"] - 0.5) / span, 0.0, 1.0))


# -- plot data ----------------------------------------------------------------------------------
def _table_plots(real, synthetic, fidelity, random_state) -> dict:
    real_sub = subsample(real, 20000, random_state)
    synth_sub = subsample(synthetic, 20000, random_state)
    columns = [_column_plot(real_sub[c], synth_sub[c], str(c)) for c in real.columns]
    return {"columns": columns, "pair_trends": _pair_matrix(fidelity["quality"], list(real))}


def _column_plot(real: pd.Series, synth: pd.Series, name: str) -> dict:
    if ptypes.is_datetime64_any_dtype(real.dtype):
        real, synth = _as_days(real), _as_days(synth)
    if is_numeric_feature(real) and is_numeric_feature(synth) and real.nunique() > _MAX_BARS:
        values = real.dropna().to_numpy(dtype=float)
        edges = np.unique(np.quantile(values, np.linspace(0, 1, _BINS + 1)))
        labels = [f"{e:.3g}" for e in edges[:-1]]
        r = np.histogram(np.clip(values, edges[0], edges[-1]), edges)[0]
        s_values = synth.dropna().to_numpy(dtype=float)
        s = np.histogram(np.clip(s_values, edges[0], edges[-1]), edges)[0]
        r_share, s_share = r / max(len(real), 1), s / max(len(synth), 1)
    else:
        real_s, synth_s = _labels(real), _labels(synth)
        counts = real_s.value_counts()
        top = [str(v) for v in counts.index[:_MAX_BARS]]
        labels = top + (["other"] if len(counts) > _MAX_BARS else [])
        r_share = _shares(real_s, top, len(labels))
        s_share = _shares(synth_s, top, len(labels))
    return {
        "column": name,
        "labels": labels,
        "real": [float(v) for v in r_share],
        "synthetic": [float(v) for v in s_share],
    }


def _as_days(series: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(series, errors="coerce")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0


def _labels(series: pd.Series) -> pd.Series:
    values = series.astype(object)
    return values.where(values.notna(), "missing").astype(str)


def _shares(labels: pd.Series, top: list, width: int) -> np.ndarray:
    counts = labels.value_counts()
    shares = np.array([counts.get(v, 0) for v in top], dtype=float)
    if width > len(top):
        shares = np.append(shares, counts.sum() - shares.sum())
    return shares / max(len(labels), 1)


def _pair_matrix(quality: Mapping, columns: list) -> dict:
    names = [str(c) for c in columns]
    index = {n: i for i, n in enumerate(names)}
    matrix: list[list[float | None]] = [[None] * len(names) for _ in names]
    for i in range(len(names)):
        matrix[i][i] = 1.0
    for pair in quality.get("pairs", []):
        a, b = (index[c] for c in pair["columns"])
        matrix[a][b] = matrix[b][a] = pair["score"]
    return {
        "columns": names,
        "matrix": matrix,
        "title": "Column pair trend similarity (sdmetrics; 1 = same relationship, blank = "
        "association too weak to score)",
    }


def evaluate_images(
    real,
    generated,
    real_labels=None,
    generated_labels=None,
    holdout=None,
    holdout_labels=None,
    *,
    privacy_spent: Mapping | None = None,
    random_state: int = 0,
    **options,
) -> EvaluationReport:
    """Evaluate generated images against the real training images.

    Parameters
    ----------
    real, generated : array or tensor
        Images as (N, H, W), (N, H, W, C) or (N, C, H, W); uint8 or floats (see
        :func:`synthgan.evaluation.images.image_scores` for the accepted ranges).
    real_labels, generated_labels : array of int, optional
        Class labels; needed for the classifier features and the train-on-generated figures.
    holdout, holdout_labels : optional
        Real images the generator never saw: the memorisation check and the test set.
    privacy_spent : mapping, optional
        ``{"epsilon": ..., "delta": ...}`` of a generator trained with differential privacy.
    **options
        Passed to :func:`synthgan.evaluation.images.image_scores` (``feature_extractor``,
        ``max_images``, ``classifier_epochs``...).

    Returns
    -------
    EvaluationReport
    """
    from synthgan.evaluation.images import image_scores, sample_grid_png

    start = time.perf_counter()
    scores = image_scores(
        real,
        generated,
        real_labels,
        generated_labels,
        holdout,
        holdout_labels,
        random_state=random_state,
        **options,
    )
    grids = {"generated": _b64(sample_grid_png(generated, labels=generated_labels))}
    grids["real"] = _b64(sample_grid_png(real, labels=real_labels))
    results = {
        **_header("images"),
        "data": {
            "real_images": len(real),
            "generated_images": len(generated),
            "holdout_images": None if holdout is None else len(holdout),
        },
        "images": scores,
        "differential_privacy": dict(privacy_spent) if privacy_spent else None,
        "plots": {"image_grids": grids},
    }
    results["headline"] = _image_headline(scores, privacy_spent)
    results["verdict"] = leakage_verdict(_image_leakage(scores))
    results["timings_s"] = {"total": round(time.perf_counter() - start, 3)}
    return EvaluationReport(results)


def _b64(png: bytes) -> str:
    import base64

    return base64.b64encode(png).decode("ascii")


def _image_headline(scores: Mapping, privacy_spent) -> dict:
    kid = scores.get("kid")
    headline = {
        "frechet_distance": scores.get("frechet_distance"),
        "kid": kid.get("mean") if isinstance(kid, Mapping) else kid,
        "precision": scores.get("precision"),
        "recall": scores.get("recall"),
        "coverage": scores.get("coverage"),
    }
    memo = scores.get("memorisation")
    if isinstance(memo, Mapping):
        headline["memorisation_share"] = memo["feature"]["share_closer_to_train"]
    if isinstance(scores.get("tstr"), Mapping):
        headline["tstr_image_accuracy"] = scores["tstr"]["accuracy"]
    if privacy_spent:
        headline["epsilon"] = privacy_spent.get("epsilon")
    return {k: v for k, v in headline.items() if v is not None}


def _image_leakage(scores: Mapping) -> dict:
    memo = scores.get("memorisation")
    if not isinstance(memo, Mapping):
        return {}
    # The larger of the pixel-space and feature-space shares: either kind of closeness is a leak.
    shares = [memo[space]["share_closer_to_train"] for space in ("pixel", "feature")]
    return {
        "memorisation_share": max(s for s in shares if s is not None),
        "image_exact_copy_rate": scores.get("exact_copy_rate"),
    }
