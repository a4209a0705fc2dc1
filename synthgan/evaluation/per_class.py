"""Per-class fidelity: the fidelity figures on the rows of one class of the target at a time.

A synthesizer can look fine overall and be poor on the class that matters (the minority class a
rebalancing is for): with 24% of the rows, a broken ``>50K`` class of Adult moves the overall
column shapes little. :func:`per_class_scores` scores each class on its own rows, real rows with
``y == c`` against synthetic rows with ``y == c``, with the functions of the overall fidelity:
:func:`~synthgan.evaluation.quality_scores` (column shapes, column pair trends) and
:func:`~synthgan.evaluation.detection_scores` (the detection ROC-AUC, the larger of its models').

Which classes: every class when the target has at most ``PER_CLASS_MAX_CLASSES`` of them,
otherwise the ``PER_CLASS_MAX_CLASSES`` rarest (by real rows). The minority class is the class
with the fewest real rows. A continuous target (the utility figures' regression rule) has no
classes and is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pandas as pd

from synthgan.evaluation._prep import check_columns, is_numeric_feature
from synthgan.evaluation.fidelity import detection_scores, quality_scores
from synthgan.evaluation.utility import REGRESSION_MIN_UNIQUE, infer_task

__all__ = [
    "PER_CLASS_MAX_CLASSES",
    "PER_CLASS_MAX_ROWS",
    "PER_CLASS_MIN_ROWS",
    "per_class_scores",
]

PER_CLASS_MAX_CLASSES = 10  # every class up to this many; beyond, only this many of the rarest
PER_CLASS_MAX_ROWS = 1000  # rows per class and side in evaluate(): the cost stays a few seconds
# Fewest rows per side for a figure: below 5 the column shapes are mostly noise; a 3-fold
# detection classifier on fewer than 20 rows a side gives an AUC that says nothing.
PER_CLASS_MIN_ROWS = {"quality": 5, "detection": 20}
_FIGURES = ("column_shapes", "column_pair_trends", "detection_auc")


def per_class_scores(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    target: str,
    metadata: Mapping | None = None,
    *,
    max_rows: int | None = PER_CLASS_MAX_ROWS,
    max_classes: int = PER_CLASS_MAX_CLASSES,
    random_state=0,
) -> dict:
    """Column shapes, column pair trends and detection AUC on the rows of each class.

    The target column itself is left out of the scored frames: it is constant within a class
    and would add a trivial perfect column.

    Parameters
    ----------
    real, synthetic : DataFrame
        The real table and a synthetic table with its columns, ``target`` among them.
    target : str
        The discrete column whose classes are scored one by one.
    metadata : mapping, optional
        synthgan metadata, as for :func:`~synthgan.evaluation.quality_scores`.
    max_rows : int or None, default PER_CLASS_MAX_ROWS
        Rows drawn (seeded) from each side of each class; None scores every row.
    max_classes : int, default PER_CLASS_MAX_CLASSES
        Every class is scored when there are at most this many, else this many of the rarest.
    random_state : int, RandomState or None, default 0
        Seed of the subsampling and of the detection classifiers.

    Returns
    -------
    dict
        ``target``, ``rule`` (which classes were scored), ``n_classes``, ``max_rows_per_class``,
        ``minority_class`` and ``classes``: ``{class: {"rows_real", "rows_synthetic",
        "minority", "status", "column_shapes", "column_pair_trends", "detection_auc",
        "not_computed"}}``, rarest class first. ``status`` is "scored", "partial" (a figure
        is None, its reason in ``not_computed``) or "missing" (no synthetic row of the class).
        For a continuous target: ``target`` and ``skipped`` (the reason) only.

    Examples
    --------
    >>> scores = per_class_scores(train, synthetic, "income")  # doctest: +SKIP
    >>> scores["classes"][scores["minority_class"]]["detection_auc"]  # doctest: +SKIP
    0.74
    """
    check_columns(real, [target], "real")
    check_columns(synthetic, list(real.columns), "synthetic")
    if max_classes < 1:
        raise ValueError(f"max_classes must be a positive integer, got {max_classes!r}.")
    reason = _skip_reason(real, target)
    if reason:
        return {"target": target, "skipped": reason}
    counts = _rarest_first(real[target])
    chosen = counts.iloc[:max_classes]
    features = [c for c in real.columns if c != target]
    classes = {}
    for key, real_rows, synth_rows in _class_rows(real, synthetic, target, chosen.index):
        classes[key] = _score_class(
            real_rows[features], synth_rows[features], metadata, max_rows, random_state
        )
    minority = next(iter(classes))
    classes[minority]["minority"] = True
    return {
        "target": target,
        "rule": _rule(len(counts), max_classes),
        "n_classes": len(counts),
        "max_rows_per_class": max_rows,
        "minority_class": minority,
        "classes": classes,
    }


def _skip_reason(real: pd.DataFrame, target: str) -> str | None:
    """Why a target has no classes to score, or None when it has."""
    values = real[target]
    if values.notna().sum() == 0:
        return f"target {target!r} has no non-missing value: there are no classes to score"
    if infer_task(values) == "regression":
        return (
            f"target {target!r} is continuous ({values.nunique()} distinct numbers, more than "
            f"{REGRESSION_MIN_UNIQUE}): per-class fidelity needs a discrete target"
        )
    if len(real.columns) < 2:
        return f"the table has no column besides the target {target!r} to score"
    return None


def _rarest_first(values: pd.Series) -> pd.Series:
    """Real rows per class, rarest first; ties in the order of the labels as strings."""
    counts = values.value_counts(dropna=True)
    order = sorted(counts.index, key=lambda label: (counts[label], str(label)))
    return counts[order]


def _rule(n_classes: int, max_classes: int) -> str:
    if n_classes <= max_classes:
        return f"every class (the target has {n_classes}, at most {max_classes} are all scored)"
    return (
        f"the {max_classes} rarest of {n_classes} classes (more than {max_classes}: only the "
        "rarest are scored)"
    )


def _class_rows(
    real: pd.DataFrame, synthetic: pd.DataFrame, target: str, labels
) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """(class key, its real rows, its synthetic rows) for each label, keyed by ``str(label)``.

    Numbers are compared as numbers (1 matches 1.0); otherwise both sides compare as strings,
    so a synthesizer that writes "1" where the data had 1 still finds its class.
    """
    real_y, synth_y = real[target], synthetic[target]
    as_numbers = is_numeric_feature(real_y) and is_numeric_feature(synth_y)
    if not as_numbers:
        real_y, synth_y = real_y.astype(str), synth_y.astype(str)
    for label in labels:
        value = label if as_numbers else str(label)
        yield str(label), real[real_y == value], synthetic[synth_y == value]


def _score_class(real_rows, synth_rows, metadata, max_rows, random_state) -> dict:
    """The figures of one class; a figure that cannot be computed is None, with its reason."""
    n_real, n_synth = len(real_rows), len(synth_rows)
    entry = {"rows_real": n_real, "rows_synthetic": n_synth, "minority": False}
    entry.update(dict.fromkeys(_FIGURES))
    missing: dict[str, str] = {}
    if n_synth == 0:
        why = "no synthetic row of this class: the synthesizer does not generate it"
        return {**entry, "status": "missing", "not_computed": dict.fromkeys(_FIGURES, why)}
    fewest = min(n_real, n_synth)
    seed = {"max_rows": max_rows, "random_state": random_state}
    if fewest >= PER_CLASS_MIN_ROWS["quality"]:
        quality = quality_scores(real_rows, synth_rows, metadata, **seed)
        entry["column_shapes"] = _finite(quality["column_shapes"])
        entry["column_pair_trends"] = _finite(quality["column_pair_trends"])
        if entry["column_pair_trends"] is None:
            missing["column_pair_trends"] = "sdmetrics scored no column pair for this class"
    else:
        why = _too_few(n_real, n_synth, "quality", "column shapes and pair trends")
        missing.update({"column_shapes": why, "column_pair_trends": why})
    if fewest >= PER_CLASS_MIN_ROWS["detection"]:
        detection = detection_scores(real_rows, synth_rows, **seed)
        entry["detection_auc"] = max(v["roc_auc"] for v in detection.values() if _is_model(v))
    else:
        missing["detection_auc"] = _too_few(n_real, n_synth, "detection", "a detection classifier")
    status = "partial" if missing else "scored"
    return {**entry, "status": status, "not_computed": missing}


def _too_few(n_real: int, n_synth: int, kind: str, what: str) -> str:
    need = PER_CLASS_MIN_ROWS[kind]
    return (
        f"too few rows for {what}: {n_real} real and {n_synth} synthetic, at least {need} on "
        "each side"
    )


def _finite(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _is_model(value) -> bool:
    # detection_scores returns {model: {"roc_auc", ...}} beside the plain "score" and row count.
    return isinstance(value, Mapping) and "roc_auc" in value
