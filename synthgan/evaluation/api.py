"""``synthgan.evaluate`` and ``synthgan.evaluate_images``: every figure in one report.

Both take plain data (DataFrames, image arrays) or the files holding it (CSV / Parquet tables;
folders or ``.npz`` files of images), never a synthesizer, so they score the output of any tool.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone
from os import PathLike

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.model_selection import train_test_split

from synthgan.core.threads import thread_scope
from synthgan.evaluation._inputs import Stages, as_images, as_table, encode_image_labels
from synthgan.evaluation._prep import check_columns, is_numeric_feature, subsample
from synthgan.evaluation.fidelity import detection_scores, quality_scores
from synthgan.evaluation.per_class import PER_CLASS_MAX_ROWS, per_class_scores
from synthgan.evaluation.report import (
    NO_HOLDOUT,
    EvaluationReport,
    leakage_verdict,
    utility_verdict,
)
from synthgan.evaluation.utility import utility_scores

__all__ = ["evaluate", "evaluate_images"]

_MAX_BARS = 12  # categories shown per column plot (the rest are summed into "other")
_BINS = 20


def evaluate(
    real_train: pd.DataFrame | str | PathLike,
    synthetic: pd.DataFrame | str | PathLike,
    holdout: pd.DataFrame | str | PathLike | None = None,
    target: str | None = None,
    metadata: Mapping | None = None,
    random_state: int = 0,
    *,
    privacy_spent: Mapping | None = None,
    max_rows: int | None = 5000,
    verbose: bool = False,
    n_threads: int | None = None,
) -> EvaluationReport:
    """Evaluate a synthetic table against the real data it was trained on.

    Parameters
    ----------
    real_train : DataFrame, str or PathLike
        The real rows the synthesizer was trained on, or a CSV / Parquet file of them (read with
        :func:`synthgan.io.read_table`, as ``fit`` reads a path).
    synthetic : DataFrame, str or PathLike
        The synthetic table (or its file), with the columns of ``real_train``.
    holdout : DataFrame, str or PathLike, optional
        Real rows the synthesizer never saw. Needed for the privacy figures; also the test set
        of the utility figures (without it, 20% of ``real_train`` is held out instead and the
        report says that TSTR is then optimistic).
    target : str, optional
        Column to predict: enables the utility figures (classification or regression) and, for
        a discrete target, the per-class fidelity (``fidelity.per_class``): column shapes, pair
        trends and detection AUC on the rows of each class (every class up to 10, else the 10
        rarest; at most ``min(max_rows, 1000)`` rows a side each), the minority class flagged.
    metadata : mapping, optional
        synthgan metadata ``{"columns": {name: {"type": ...}}}`` for the sdmetrics column types.
    random_state : int, default 0
        Seed of every subsample, split and model.
    privacy_spent : mapping, optional
        ``{"epsilon": ..., "delta": ...}`` of a synthesizer trained with differential privacy
        (``model.privacy_spent_``); carried into the report and its headline.
    max_rows : int or None, default 5000
        Rows drawn from each frame for the fidelity and privacy figures (stated in the report).
    verbose : bool, default False
        Show a progress bar (tqdm, on stderr) over the stages, and over the columns while their
        plots are prepared; a wide table takes minutes.
    n_threads : int or None, default None
        CPU threads of the models and metrics; None uses the cores other processes leave idle
        when the evaluation starts (see :mod:`synthgan.core.threads`). The count used is in
        the report's ``threads`` entry.

    Returns
    -------
    EvaluationReport

    Examples
    --------
    >>> report = synthgan.evaluate(train, synth, holdout=holdout, target="y")  # doctest: +SKIP
    >>> report.to_html("report.html")  # doctest: +SKIP
    """
    real_train, synthetic = as_table(real_train, "real_train"), as_table(synthetic, "synthetic")
    holdout = as_table(holdout, "holdout")
    with thread_scope(n_threads) as threads:
        results = _evaluate_table(
            real_train,
            synthetic,
            holdout,
            target,
            metadata,
            random_state,
            privacy_spent,
            max_rows,
            verbose,
        )
    return EvaluationReport({**results, "threads": threads})


def _evaluate_table(
    real_train, synthetic, holdout, target, metadata, random_state, privacy_spent, max_rows, verbose
) -> dict:
    _check_frames(real_train, synthetic, holdout, target)
    results = _base(real_train, synthetic, holdout, target, random_state, max_rows)
    width = f"{real_train.shape[1]} columns"
    with Stages(5, verbose) as stages:
        with stages.stage("fidelity", f"fidelity: shapes, pair trends, detection ({width})"):
            results["fidelity"] = _fidelity(real_train, synthetic, metadata, max_rows, random_state)
        with stages.stage("per_class", "fidelity per class of the target"):
            results["fidelity"]["per_class"] = _per_class(
                real_train, synthetic, target, metadata, max_rows, random_state
            )
        with stages.stage("utility", "utility: TSTR, TRTR and augmented models"):
            results["utility"] = _utility(real_train, synthetic, holdout, target, random_state)
        with stages.stage("privacy", "privacy: leakage figures"):
            results["privacy"] = _privacy(real_train, synthetic, holdout, max_rows, random_state)
        with stages.stage("plots", f"plots ({width})"):
            fidelity = results["fidelity"]
            results["plots"] = _table_plots(real_train, synthetic, fidelity, random_state, stages)
    results["differential_privacy"] = dict(privacy_spent) if privacy_spent else None
    results["headline"], results["not_computed"] = _table_headline(results)
    results["utility_verdict"] = utility_verdict(results["utility"])
    results["verdict"] = leakage_verdict(_leakage_figures(results["privacy"]))
    results["timings_s"] = stages.timings
    return results


def _check_frames(real, synthetic, holdout, target) -> None:
    for name, frame in (("real_train", real), ("synthetic", synthetic), ("holdout", holdout)):
        if frame is None and name == "holdout":
            continue
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"{name} must be a pandas DataFrame or the path of a CSV / Parquet file, got "
                f"{type(frame).__name__}."
            )
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


def _per_class(real, synthetic, target, metadata, max_rows, random_state) -> dict:
    if target is None:
        return {"skipped": "no target column given (pass target=...)"}
    # Within the evaluation's max_rows, and at most PER_CLASS_MAX_ROWS a side: one quality
    # report and one detection fit per class must not multiply the cost of the evaluation.
    rows = None if max_rows is None else min(max_rows, PER_CLASS_MAX_ROWS)
    return per_class_scores(
        real, synthetic, target, metadata, max_rows=rows, random_state=random_state
    )


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


def _table_headline(results: Mapping) -> tuple[dict, dict]:
    """The headline figures, and for each one absent (None) why it was not computed."""
    quality = results["fidelity"]["quality"]
    detection = results["fidelity"]["detection"]
    headline = {
        "column_shapes": quality["column_shapes"],
        "column_pair_trends": quality["column_pair_trends"],
        "detection_auc": max(v["roc_auc"] for k, v in detection.items() if isinstance(v, dict)),
    }
    headline.update(_utility_headline(results["utility"]))
    leakage = _leakage_figures(results["privacy"])
    headline.update({k: leakage.get(k) for k in _HEADLINE_PRIVACY})
    if results.get("differential_privacy"):
        headline["epsilon"] = results["differential_privacy"].get("epsilon")
    missing = {k: NO_HOLDOUT for k in _HEADLINE_PRIVACY if k not in leakage}
    if "tstr" not in results["utility"]:
        missing["tstr"] = "no target given"
    undefined = "undefined for these data, see its section"
    absent = [k for k, v in headline.items() if v is None or (isinstance(v, float) and np.isnan(v))]
    missing.update({k: undefined for k in absent if k not in missing})
    return headline, missing


def _utility_headline(utility: Mapping) -> dict:
    """Each TSTR figure with its references beside it: the trivial baseline, then TRTR."""
    if "tstr" not in utility:
        return {"tstr": None}
    tstr, trtr, base = utility["tstr"], utility["trtr"], utility["baseline"]
    if utility["task"] == "regression":
        return {
            "tstr_r2": _best(tstr, "r2"),
            "training_mean_r2": base["r2"],
            "trtr_r2": _best(trtr, "r2"),
        }
    return {
        "tstr_accuracy": _best(tstr, "accuracy"),
        "majority_class_accuracy": base["accuracy"],
        "trtr_accuracy": _best(trtr, "accuracy"),
        "tstr_roc_auc": _best(tstr, "roc_auc"),
        "trtr_roc_auc": _best(trtr, "roc_auc"),
    }


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
def _table_plots(real, synthetic, fidelity, random_state, stages: Stages) -> dict:
    real_sub = subsample(real, 20000, random_state)
    synth_sub = subsample(synthetic, 20000, random_state)
    columns = [
        _column_plot(real_sub[c], synth_sub[c], str(c))
        for c in stages.each(real.columns, "column plots")
    ]
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
    n_threads: int | None = None,
    **options,
) -> EvaluationReport:
    """Evaluate generated images against the real training images.

    Parameters
    ----------
    real, generated : array, tensor, str or PathLike
        Images as (N, H, W), (N, H, W, C) or (N, C, H, W); uint8 or floats (see
        :func:`synthgan.evaluation.images.image_scores` for the accepted ranges). Or the path
        of a folder of image files (flat, or one sub-folder per class) or of a ``.npz`` file,
        read with :func:`synthgan.image.readers.read_images` as ``fit`` reads them (any size
        up to 1024 pixels a side, square or not).
    real_labels, generated_labels : array of int, optional
        Class labels; needed for the classifier features and the train-on-generated figures.
        A class folder or a ``.npz`` with labels carries its own (do not pass them too); class
        names that are not integers are numbered in sorted order, the same for every set
        (``data.classes`` in the report).
    holdout, holdout_labels : optional
        Real images the generator never saw: the memorisation check and the test set. An array
        or a path, as ``real``.
    privacy_spent : mapping, optional
        ``{"epsilon": ..., "delta": ...}`` of a generator trained with differential privacy.
    n_threads : int or None, default None
        CPU threads, as for :func:`evaluate` (the count used is the report's ``threads``).
    **options
        Passed to :func:`synthgan.evaluation.images.image_scores` (``feature_extractor``,
        ``max_images``, ``classifier_epochs``...).

    Returns
    -------
    EvaluationReport
    """
    with thread_scope(n_threads) as threads:
        results = _evaluate_image_sets(
            real, generated, real_labels, generated_labels, holdout, holdout_labels,
            privacy_spent, random_state, options,
        )  # fmt: skip
    return EvaluationReport({**results, "threads": threads})


def _evaluate_image_sets(
    real, generated, real_labels, generated_labels, holdout, holdout_labels,
    privacy_spent, random_state, options,
) -> dict:  # fmt: skip
    from synthgan.evaluation.images import image_scores, sample_grid_png

    start = time.perf_counter()
    real, generated, holdout, labels, classes = _image_inputs(
        (real, generated, holdout), (real_labels, generated_labels, holdout_labels)
    )
    real_labels, generated_labels, holdout_labels = labels
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
            **({"classes": classes} if classes is not None else {}),
        },
        "images": scores,
        "differential_privacy": dict(privacy_spent) if privacy_spent else None,
        "plots": {"image_grids": grids},
    }
    results["headline"] = _image_headline(scores, privacy_spent)
    results["verdict"] = leakage_verdict(_image_leakage(scores))
    results["timings_s"] = {"total": round(time.perf_counter() - start, 3)}
    return results


def _image_inputs(image_sets: tuple, label_sets: tuple):
    """Read the image sets given as paths; one class numbering for every set's labels."""
    read = [
        as_images(images, labels, name)
        for images, labels, name in zip(
            image_sets, label_sets, ("real", "generated", "holdout"), strict=True
        )
    ]
    from_path = any(item[2] for item in read)
    labels, classes = encode_image_labels([item[1] for item in read], from_path)
    return read[0][0], read[1][0], read[2][0], labels, classes


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
