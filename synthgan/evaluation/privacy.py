"""Privacy leakage of a synthetic table: copies, distances to closest records and attacks.

:func:`privacy_scores` compares a synthetic table with the real rows its synthesizer was trained
on (``train``) and real rows it never saw (``holdout``). Every score has a real-data baseline, so
a reader can tell leakage from the natural similarity of records drawn from one population:

* **Exact copies**: the share of synthetic rows identical to a training row, beside the share of
  holdout rows identical to a training row (duplicates that occur naturally).
* **Distance to closest record (DCR)**: for each synthetic row, the distance to its nearest
  training row and to its nearest holdout row, with both real sets subsampled to the same size,
  so that synthetic rows which do not copy are closer to train half of the time (0.5 is ideal).
  When ``train`` is larger than that size only part of it is searched, which dilutes the score:
  a synthesizer that copied every training row reaches ``share_closer_to_train_if_copied``
  (``0.5 + 0.5 * n_reference / n_train``), not 1. The nearest-neighbour distance ratio (NNDR,
  closest over second-closest training record) of synthetic rows has the same ratio for holdout
  rows as its baseline.
* **Membership inference**: the DOMIAS attack (van Breugel et al., "Membership Inference Attacks
  against Synthetic Data through Overfitting Detection", AISTATS 2023) scores a candidate record
  ``x`` by ``p_synthetic(x) / p_reference(x)``: a generator that overfits puts extra density on
  its training records beyond what the population (estimated from real reference records that
  are not candidates) explains. Members are training rows, non-members held-out rows; the ROC-AUC
  of the score is 0.5 for a synthesizer that leaks nothing. A distance attack (score = minus the
  distance to the closest synthetic record) is reported beside it.
* **Attribute inference and linkability**: the attack-based risks of Giomi et al., "A Unified
  Framework for Quantifying Privacy Risk in Synthetic Data" (PoPETs 2023). Each attack runs on
  training targets and on control targets from the holdout; the risk is the success beyond the
  control rate, ``(rate_train - rate_control) / (1 - rate_control)`` clipped to [0, 1], with a
  confidence interval built from Wilson score intervals of both rates. Their singling-out attack
  is not implemented: it searches for predicates that isolate one record, which needs a
  predicate-generation procedure of its own; exact copies and DCR cover its most blatant case.

These attacks are written here from the papers, not taken from ``anonymeter`` (the reference
implementation of Giomi et al.): anonymeter cannot be installed beside synthgan because it pins
``numpy<1.27`` and ``pyarrow<22`` while we use numpy 2.4 and pyarrow 26.

Distances: every distance uses one encoding, fitted on ``train`` only (see
:func:`encode_for_distance`). Numeric columns (integers, floats, datetimes and timedeltas as
nanoseconds) become ``(x - median) / IQR``, with the standard deviation as the scale where the
IQR is 0 (spiky columns such as Adult's capital-gain) and 1 for constants; a missing number is
set to the median and flagged in an extra 0/1 column. Other columns (booleans, categoricals,
strings) are one-hot encoded with missing values as a category of their own; only the 50 most
frequent training categories get a column, the rest and categories unseen in training share an
"other" column, so memory stays bounded. One-hot entries are ``1 / sqrt(2)``, so a category
mismatch adds exactly 1 to the squared Euclidean distance, as a difference of one IQR does.
Nearest neighbours are exact (brute force over blocks of at most 2**22 distances, in
:mod:`synthgan.evaluation._neighbours`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from scipy.stats import norm
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KernelDensity
from sklearn.utils import check_random_state

from synthgan.evaluation._neighbours import nearest as _nearest
from synthgan.evaluation._prep import check_columns, is_numeric_feature, json_safe

__all__ = ["privacy_scores"]

_MISSING = "__missing__"
_MAX_CATEGORIES = 50  # one-hot columns kept per categorical column; the rest share "other"
_ONE_HOT = 1.0 / math.sqrt(2.0)  # a mismatch then adds (1/sqrt2)^2 * 2 = 1 to the squared distance
_MIN_ROWS = 20  # train and holdout rows needed: the attacks split the holdout in two halves
_QUANTILES = (5, 25, 50, 75, 95)
_KDE_COMPONENTS = 10  # principal components the membership-inference densities live in
# KDE bandwidth as a multiple of Scott's rule. Scott's rule minimises the error of a smooth
# density estimate; the attack looks for narrow peaks around training records, and half of it
# lifted the AUC on a copy of 2000 Adult training rows from 0.72 to 0.78 while real unseen rows
# stayed at 0.50 (four seeds, 2000 and 5000 rows).
_BANDWIDTH_FACTOR = 0.5
_MAX_ATTACK_TARGETS = 2000  # training targets (and as many controls) per Giomi et al. attack
_MAX_SECRETS = 15  # attribute-inference secrets tried by default (a seeded draw beyond that)
_NUMERIC_TOLERANCE = 0.05  # a numeric guess is right within 5% of the column's IQR
_LINK_NEIGHBOURS = 5  # nearest synthetic records compared per half in the linkability attack
_MIA_MAX_SYNTHETIC = 50_000  # synthetic rows behind the membership attack's density
_CONFIDENCE = 0.95  # joint confidence of the two rates behind each risk interval


# --------------------------------------------------------------------------------------------
# Encoding: one table -> one float matrix, fitted on train.
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Column:
    """How one column is encoded: its kind, its slice of the encoded matrix and fitted state."""

    name: str
    kind: str  # "numeric": (scaled value, missing flag); "categorical": one-hot block
    start: int
    stop: int
    center: float = 0.0
    scale: float = 1.0
    categories: tuple[str, ...] = ()  # kept categories; the block has one more, "other", column


@dataclass(frozen=True)
class _Encoding:
    """The fitted encoding of every column, in frame order."""

    columns: tuple[_Column, ...]

    @property
    def width(self) -> int:
        return self.columns[-1].stop

    def column(self, name) -> _Column:
        return next(c for c in self.columns if c.name == name)

    def indices(self, names) -> np.ndarray:
        """Encoded column indices of the given original columns."""
        wanted = set(names)
        spans = [np.arange(c.start, c.stop) for c in self.columns if c.name in wanted]
        return np.concatenate(spans)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        return np.hstack([_transform_column(c, frame[c.name]) for c in self.columns])


def _is_numeric_kind(series: pd.Series) -> bool:
    dtype = series.dtype
    return (
        is_numeric_feature(series)
        or ptypes.is_datetime64_any_dtype(dtype)
        or ptypes.is_timedelta64_dtype(dtype)
    )


def _as_float(series: pd.Series) -> np.ndarray:
    """Numbers as float64 with NaN for missing; datetimes and timedeltas in nanoseconds."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    if ptypes.is_datetime64_any_dtype(series.dtype) or ptypes.is_timedelta64_dtype(series.dtype):
        kind = "datetime64" if ptypes.is_datetime64_any_dtype(series.dtype) else "timedelta64"
        raw = series.to_numpy(dtype=f"{kind}[ns]")
        values = raw.view("int64").astype(float)
        values[np.isnat(raw)] = np.nan
        return values
    if not ptypes.is_numeric_dtype(series.dtype):  # e.g. a synthetic column of number strings
        series = pd.to_numeric(series.astype(object), errors="coerce")
    values = series.to_numpy(dtype=float, na_value=np.nan, copy=True)  # never edit the input
    values[~np.isfinite(values)] = np.nan  # infinities count as missing
    return values


def _as_strings(series: pd.Series) -> np.ndarray:
    """Values as strings, missing values as a category of their own."""
    values = series.astype(object)
    return values.where(values.notna(), _MISSING).astype(str).to_numpy()


def _fit_column(name, series: pd.Series, start: int) -> _Column:
    if _is_numeric_kind(series):
        present = _as_float(series)
        present = present[~np.isnan(present)]
        if present.size == 0:
            return _Column(name, "numeric", start, start + 2)
        q25, median, q75 = np.percentile(present, [25, 50, 75])
        # Robust scale: the IQR; the standard deviation when most values coincide; 1 if constant.
        scale = next((float(s) for s in (q75 - q25, present.std()) if s > 0), 1.0)
        return _Column(name, "numeric", start, start + 2, float(median), scale)
    counts = pd.Series(_as_strings(series)).value_counts()
    # Most frequent first, ties broken by value, so the kept set does not depend on row order.
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    kept = tuple(value for value, _ in ranked[:_MAX_CATEGORIES])
    return _Column(name, "categorical", start, start + len(kept) + 1, categories=kept)


def _transform_column(column: _Column, series: pd.Series) -> np.ndarray:
    if column.kind == "numeric":
        values = _as_float(series)
        missing = np.isnan(values)
        # z = (x - median) / scale; a missing value sits at the median and raises its flag.
        scaled = np.where(missing, 0.0, (values - column.center) / column.scale)
        return np.column_stack([scaled, missing.astype(float)])  # (n, 2)
    codes = pd.Index(column.categories).get_indexer(_as_strings(series))
    codes[codes < 0] = len(column.categories)  # rare and unseen categories share "other"
    block = np.zeros((len(series), len(column.categories) + 1))  # (n, kept + 1)
    block[np.arange(len(series)), codes] = _ONE_HOT
    return block


def encode_for_distance(train: pd.DataFrame, *others: pd.DataFrame):
    """Fit the distance encoding on ``train``; return it and the encoded ``others``.

    Returns
    -------
    encoding : _Encoding
        Per-column kind, fitted scale or categories, and slice of the encoded matrix.
    encoded : list of ndarray
        One float matrix ``(len(frame), encoding.width)`` per frame of ``others``.
    """
    columns, start = [], 0
    for name in train.columns:
        columns.append(_fit_column(name, train[name], start))
        start = columns[-1].stop
    encoding = _Encoding(tuple(columns))
    return encoding, [encoding.transform(frame) for frame in others]


# --------------------------------------------------------------------------------------------
# Exact copies and distance-based scores.
# --------------------------------------------------------------------------------------------
def _row_keys(frame: pd.DataFrame, encoding: _Encoding) -> np.ndarray:
    """A 64-bit hash of every row: numbers compared as floats (3 == 3.0), missing == missing."""
    parts = {}
    for i, column in enumerate(encoding.columns):
        if column.kind == "numeric":
            values = _as_float(frame[column.name])
            parts[f"{i}_missing"] = np.isnan(values)
            parts[f"{i}_value"] = np.where(np.isnan(values), 0.0, values) + 0.0  # -0.0 -> 0.0
        else:
            parts[f"{i}"] = _as_strings(frame[column.name])
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()


def _exact_copies(train, synthetic, holdout, encoding: _Encoding) -> dict:
    train_keys = _row_keys(train, encoding)
    return {
        "exact_copy_rate": float(np.isin(_row_keys(synthetic, encoding), train_keys).mean()),
        "exact_copy_rate_holdout_baseline": float(
            np.isin(_row_keys(holdout, encoding), train_keys).mean()
        ),
    }


def _quantiles(values: np.ndarray) -> dict:
    return {
        f"p{q}": float(v)
        for q, v in zip(_QUANTILES, np.percentile(values, _QUANTILES), strict=True)
    }


def _histogram(to_train: np.ndarray, to_holdout: np.ndarray, n_bins: int) -> dict:
    """Counts of both distance sets over shared bins from 0 to the pooled 99th percentile."""
    pooled = np.concatenate([to_train, to_holdout])
    top = float(np.percentile(pooled, 99)) or float(pooled.max()) or 1.0
    edges = np.linspace(0.0, top, n_bins + 1)
    # Distances beyond the last edge are counted in the last bin, so outliers do not squeeze it.
    counts = [np.histogram(np.minimum(d, top), bins=edges)[0] for d in (to_train, to_holdout)]
    return {
        "bin_edges": [float(e) for e in edges],
        "train_counts": [int(c) for c in counts[0]],
        "holdout_counts": [int(c) for c in counts[1]],
        "note": "distances above the last edge are counted in the last bin",
    }


def _nndr(dist: np.ndarray) -> np.ndarray:
    """Closest over second-closest distance; 0/0 (a copy of a duplicated record) counts as 0."""
    if dist.shape[1] < 2:
        return np.zeros(len(dist))
    return np.divide(dist[:, 0], dist[:, 1], out=np.zeros(len(dist)), where=dist[:, 1] > 0)


def _distance_scores(train_x, holdout_x, synth_x, n_bins: int, n_train: int) -> dict:
    """DCR and NNDR of the synthetic rows against equally large train and holdout samples."""
    to_train, _ = _nearest(synth_x, train_x, 2)  # (n_synth, 2)
    to_holdout = _nearest(synth_x, holdout_x, 1)[0][:, 0]
    closest = to_train[:, 0]
    # P(closer to train), ties counted half: 0.5 when train and holdout are as close.
    share = np.mean((closest < to_holdout) + 0.5 * (closest == to_holdout))
    baseline, _ = _nearest(holdout_x, train_x, 2)  # holdout rows versus the same train sample
    dcr = {
        "share_closer_to_train": float(share),
        "share_closer_to_train_if_copied": 0.5 + 0.5 * len(train_x) / n_train,
        "n_synthetic": len(synth_x),
        "n_reference": len(train_x),
        "train_quantiles": _quantiles(closest),
        "holdout_quantiles": _quantiles(to_holdout),
        "histogram": _histogram(closest, to_holdout, n_bins),
    }
    nndr = {
        "synthetic_quantiles": _quantiles(_nndr(to_train)),
        "holdout_baseline_quantiles": _quantiles(_nndr(baseline)),
    }
    return {"dcr": dcr, "nndr": nndr}


# --------------------------------------------------------------------------------------------
# Membership inference (DOMIAS density ratio, and a distance attack).
# --------------------------------------------------------------------------------------------
def _whitening(rows: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Projection onto the leading principal components of ``rows``, scaled to unit variance."""
    n_components = min(_KDE_COMPONENTS, rows.shape[1], len(rows) - 1)
    pca = PCA(n_components=n_components, svd_solver="full").fit(rows)
    std = np.sqrt(pca.explained_variance_)
    keep = std > 1e-9 * max(float(std.max(initial=0.0)), 1e-300)  # drop degenerate directions

    def transform(x: np.ndarray) -> np.ndarray:
        if not keep.any():  # all rows identical: every density is the same
            return np.zeros((len(x), 1))
        return pca.transform(x)[:, keep] / std[keep]  # (n, kept components)

    return transform


def _log_density(points: np.ndarray, queries: np.ndarray):
    """Gaussian-KDE log-density of ``points`` at ``queries`` and the bandwidth used.

    The points are whitened, so one bandwidth serves every direction: ``factor * n^(-1/(d+4))``
    (Scott's rule scaled by ``_BANDWIDTH_FACTOR``).
    """
    n, d = points.shape
    bandwidth = _BANDWIDTH_FACTOR * n ** (-1.0 / (d + 4))
    kde = KernelDensity(kernel="gaussian", bandwidth=bandwidth).fit(points)
    return kde.score_samples(queries), float(bandwidth)  # log-densities: no underflow


def _membership_inference(members, non_members, reference, synth_x, density_x) -> dict:
    """ROC-AUC of the DOMIAS score and of a distance score for members versus non-members.

    The synthetic density is fitted on ``density_x``: every synthetic row (up to
    ``_MIA_MAX_SYNTHETIC``), not the ``max_rows`` sample, so that a synthesizer copying its
    training rows has the members' copies in it whatever the sample sizes.
    """
    project = _whitening(np.vstack([synth_x, reference]))  # the attacker's data only
    candidates = np.vstack([members, non_members])
    is_member = np.r_[np.ones(len(members)), np.zeros(len(non_members))]
    log_synth, h_synth = _log_density(project(density_x), project(candidates))
    log_ref, h_ref = _log_density(project(reference), project(candidates))
    # log of the DOMIAS ratio p_synthetic(x) / p_reference(x), in log space against underflow.
    score = log_synth - log_ref
    closest, _ = _nearest(candidates, synth_x, 1)
    return {
        "auc": float(roc_auc_score(is_member, score)),
        "distance_attack_auc": float(roc_auc_score(is_member, -closest[:, 0])),
        "n_members": len(members),
        "n_non_members": len(non_members),
        "n_reference": len(reference),
        "n_synthetic": len(density_x),
        "n_components": int(project(reference[:1]).shape[1]),
        "bandwidth": {"synthetic": h_synth, "reference": h_ref},
        "method": (
            "DOMIAS density ratio (van Breugel et al. 2023): score log p_synthetic(x) - "
            "log p_reference(x), Gaussian KDEs with half Scott's bandwidth on the leading "
            f"(at most {_KDE_COMPONENTS}) whitened principal components of the distance "
            "encoding, fitted on synthetic + reference rows; members are training rows, "
            "non-members and reference are disjoint halves of a holdout sample. "
            "distance_attack_auc scores minus the distance to the closest synthetic record."
        ),
    }


# --------------------------------------------------------------------------------------------
# Attack-based risks of Giomi et al. (attribute inference, linkability).
# --------------------------------------------------------------------------------------------
def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion."""
    p = successes / n
    center = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return max(0.0, center - half), min(1.0, center + half)


def _excess(rate: float, control: float) -> float:
    """Giomi et al.'s risk (rate - control) / (1 - control), clipped to [0, 1]."""
    if control >= 1.0:
        return 0.0
    return min(1.0, max(0.0, (rate - control) / (1.0 - control)))


def _risk(on_train: np.ndarray, on_control: np.ndarray) -> dict:
    """Success rates of an attack on training and control targets, and the risk with its CI."""
    # Each rate gets a two-sided interval at 1 - alpha/2 so that both hold jointly (Bonferroni).
    z = float(norm.ppf(1 - (1 - _CONFIDENCE) / 4))
    rate, control = float(on_train.mean()), float(on_control.mean())
    rate_lo, rate_hi = _wilson(int(on_train.sum()), len(on_train), z)
    control_lo, control_hi = _wilson(int(on_control.sum()), len(on_control), z)
    # The risk grows with the train rate and falls with the control rate: corners bound it.
    return {
        "risk": None if control >= 1.0 else _excess(rate, control),
        "risk_ci": [_excess(rate_lo, control_hi), _excess(rate_hi, control_lo)],
        "train_success_rate": rate,
        "control_success_rate": control,
        "n_targets": len(on_train),
        "n_controls": len(on_control),
    }


def _correct_guesses(column: _Column, truth: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """Whether each guessed encoded value matches the truth (blocks of shape (n, width))."""
    if column.kind == "numeric":
        # Same missing flag, and within the tolerance on the robust scale (1e-9 for rounding).
        close = np.abs(truth[:, 0] - guess[:, 0]) <= _NUMERIC_TOLERANCE + 1e-9
        return close & (truth[:, 1] == guess[:, 1])
    return np.all(truth == guess, axis=1)


def _attribute_inference(encoding, targets, controls, synth_x, secrets) -> dict:
    """Guess each secret from the nearest synthetic record on the other columns."""
    queries = np.vstack([targets, controls])
    per_secret = {}
    for name in secrets:
        column = encoding.column(name)
        known = encoding.indices([c.name for c in encoding.columns if c.name != name])
        _, nearest = _nearest(queries[:, known], synth_x[:, known], 1)
        block = slice(column.start, column.stop)
        right = _correct_guesses(column, queries[:, block], synth_x[nearest[:, 0], block])
        per_secret[str(name)] = _risk(right[: len(targets)], right[len(targets) :])
    risks = {k: v["risk"] for k, v in per_secret.items() if v["risk"] is not None}
    worst = max(risks, key=risks.get) if risks else None
    return {
        "max_risk": risks[worst] if worst is not None else None,
        "max_risk_secret": worst,
        "per_secret": per_secret,
        "method": (
            "Giomi et al. 2023 attribute inference: the attacker knows every other column of a "
            "target and guesses the secret from the nearest synthetic record; targets are "
            "training rows, controls holdout rows; numeric guesses count within "
            f"{_NUMERIC_TOLERANCE:g} IQR. risk = (rate - control) / (1 - control), clipped at "
            f"0; risk_ci from {_CONFIDENCE:.0%} joint Wilson intervals of both rates."
        ),
    }


def _linkability(encoding, targets, controls, synth_x, first_half: list) -> dict:
    """Link each target's two column halves through shared nearest synthetic records."""
    second_half = [c.name for c in encoding.columns if c.name not in set(first_half)]
    queries = np.vstack([targets, controls])
    neighbours = []
    for half in (first_half, second_half):
        cols = encoding.indices(half)
        neighbours.append(_nearest(queries[:, cols], synth_x[:, cols], _LINK_NEIGHBOURS)[1])
    # Linked when one synthetic record is among the k nearest by both halves: (n, k, k) -> (n,)
    linked = (neighbours[0][:, :, None] == neighbours[1][:, None, :]).any(axis=(1, 2))
    return {
        **_risk(linked[: len(targets)], linked[len(targets) :]),
        "columns_a": [str(c) for c in first_half],
        "columns_b": [str(c) for c in second_half],
        "n_neighbours": min(_LINK_NEIGHBOURS, len(synth_x)),
        "method": (
            "Giomi et al. 2023 linkability: a target is linked when one synthetic record is "
            "among its nearest synthetic records by both column halves; same risk formula."
        ),
    }


def _attacks(encoding, samples: dict, secrets: list, first_half: list) -> dict:
    """Membership inference, attribute inference and linkability on the encoded samples."""
    train_x, holdout_x, synth_x = samples["train"], samples["holdout"], samples["synthetic"]
    half = len(train_x) // 2
    # Members: training rows; the holdout sample splits into reference and non-member halves.
    scores = {
        "membership_inference": _membership_inference(
            train_x[:half],
            holdout_x[half : 2 * half],
            holdout_x[:half],
            synth_x,
            samples["synthetic_density"],
        )
    }
    if len(encoding.columns) < 2:  # no auxiliary columns to attack with
        skipped = {"skipped": "attribute inference and linkability need two or more columns"}
        return {**scores, "attribute_inference": skipped, "linkability": skipped}
    # The samples are shuffled, so their first rows are random targets and controls.
    targets, controls = train_x[:_MAX_ATTACK_TARGETS], holdout_x[:_MAX_ATTACK_TARGETS]
    return {
        **scores,
        "attribute_inference": _attribute_inference(encoding, targets, controls, synth_x, secrets),
        "linkability": _linkability(encoding, targets, controls, synth_x, first_half),
    }


# --------------------------------------------------------------------------------------------
# Validation and the public entry point.
# --------------------------------------------------------------------------------------------
def _check_frames(train, synthetic, holdout) -> None:
    frames = {"train": train, "synthetic": synthetic, "holdout": holdout}
    for name, frame in frames.items():
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}.")
    if train.shape[1] == 0 or not train.columns.is_unique:
        raise ValueError(
            f"train must have at least one column and unique column names; got "
            f"{list(train.columns)}."
        )
    for name in ("synthetic", "holdout"):
        check_columns(frames[name], list(train.columns), name)
    for name, frame in frames.items():
        if len(frame) == 0:
            raise ValueError(f"The {name} frame is empty; privacy_scores needs rows in all three.")
    for name in ("train", "holdout"):
        if len(frames[name]) < _MIN_ROWS:
            raise ValueError(
                f"{name} has {len(frames[name])} rows; privacy_scores needs at least {_MIN_ROWS} "
                f"{name} rows (the attacks split the holdout into a reference half and a "
                "non-member half, and compare with as many training rows)."
            )


def _check_options(columns: list, max_rows, n_bins, secrets, link_columns) -> None:
    if max_rows is not None and (
        not isinstance(max_rows, (int, np.integer)) or max_rows < _MIN_ROWS
    ):
        raise ValueError(f"max_rows must be None or an integer >= {_MIN_ROWS}, got {max_rows!r}.")
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    for arg, names in (("secrets", secrets), ("link_columns", link_columns)):
        unknown = [c for c in (names or []) if c not in columns]
        if unknown:
            raise ValueError(f"{arg} names column(s) {unknown} that train lacks; it has {columns}.")
    if secrets is not None and len(secrets) == 0:
        raise ValueError("secrets must name at least one column (or be None for the default).")
    if link_columns is not None and not 0 < len(set(link_columns)) < len(columns):
        raise ValueError(
            "link_columns must name some but not all columns of train (the rest form the other "
            f"half); got {list(link_columns)}."
        )


def _default_secrets(columns: list, rng) -> list:
    """Every column, or a seeded draw of ``_MAX_SECRETS`` of them kept in frame order."""
    if len(columns) <= _MAX_SECRETS:
        return list(columns)
    chosen = rng.choice(len(columns), size=_MAX_SECRETS, replace=False)
    return [columns[i] for i in sorted(chosen)]


def _samples(train, synthetic, holdout, max_rows, rng) -> dict:
    """Equally large, shuffled train and holdout samples, and a synthetic sample."""
    cap = max_rows if max_rows is not None else max(len(train), len(holdout), len(synthetic))
    n = min(len(train), len(holdout), cap)
    return {
        "train": train.sample(n=n, random_state=rng),
        "holdout": holdout.sample(n=n, random_state=rng),
        "synthetic": synthetic.sample(n=min(len(synthetic), cap), random_state=rng),
        "synthetic_density": synthetic.sample(
            n=min(len(synthetic), max(cap, _MIA_MAX_SYNTHETIC)), random_state=rng
        ),
    }


def privacy_scores(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    max_rows: int | None = 5000,
    random_state=0,
    n_bins: int = 30,
    secrets: Sequence[str] | None = None,
    link_columns: Sequence[str] | None = None,
) -> dict:
    """Measure how much a synthetic table leaks about the real rows it was trained on.

    Exact copies are counted on the full frames. Everything else runs on seeded samples:
    ``n = min(len(train), len(holdout), max_rows)`` training and holdout rows (equal sizes, so
    the DCR share has its 0.5 baseline) and at most ``max_rows`` synthetic rows. Membership
    inference uses ``n // 2`` training rows as members and splits the holdout sample into
    ``n // 2`` reference rows and ``n // 2`` non-members. The attacks of Giomi et al. use
    ``min(n, 2000)`` of the training rows as targets and as many holdout rows as controls.
    See the module docstring for the encoding, the estimators and the references.

    Parameters
    ----------
    train : DataFrame
        Real rows the synthesizer was trained on; its columns are the ones scored.
    synthetic : DataFrame
        Synthetic rows; extra columns are ignored.
    holdout : DataFrame
        Real rows from the same population that the synthesizer never saw (at least 20).
    max_rows : int or None, default 5000
        Cap on each sample; ``None`` uses every row (pairwise distances are chunked, but time
        grows with the product of the sizes).
    random_state : int, RandomState or None, default 0
        Seed of the samples and of the default choice of secrets.
    n_bins : int, default 30
        Bins of the DCR histogram.
    secrets : sequence of str, optional
        Columns the attribute-inference attacker tries to infer; by default every column, or a
        seeded draw of 15 columns when there are more.
    link_columns : sequence of str, optional
        Columns of the linkability attacker's first dataset, the rest forming the second; by
        default the first half of the columns (in frame order) against the second.

    Returns
    -------
    dict
        JSON-serialisable: ``exact_copy_rate`` and ``exact_copy_rate_holdout_baseline``;
        ``dcr`` (``share_closer_to_train``, 0.5 ideal; ``share_closer_to_train_if_copied``;
        distance quantiles to train and to holdout; ``histogram``); ``nndr`` (quantiles for
        synthetic rows and the holdout baseline); ``membership_inference`` (``auc``, 0.5
        ideal; ``distance_attack_auc``; sizes; bandwidths; ``method``);
        ``attribute_inference`` (``max_risk`` and per-secret rates, ``risk`` and ``risk_ci``,
        0 ideal); ``linkability`` (same fields); ``n_rows`` (frame and sample sizes) and
        ``n_encoded_features``.

    Examples
    --------
    >>> scores = privacy_scores(train, model.sample(len(train)), holdout)  # doctest: +SKIP
    >>> scores["membership_inference"]["auc"]  # doctest: +SKIP
    0.51
    """
    _check_frames(train, synthetic, holdout)
    columns = list(train.columns)
    _check_options(columns, max_rows, n_bins, secrets, link_columns)
    synthetic, holdout = synthetic[columns], holdout[columns]
    rng = check_random_state(random_state)
    sample = _samples(train, synthetic, holdout, max_rows, rng)
    encoding, encoded = encode_for_distance(train, *sample.values())
    encoded = dict(zip(sample, encoded, strict=True))
    train_x, holdout_x, synth_x = encoded["train"], encoded["holdout"], encoded["synthetic"]
    chosen = list(secrets) if secrets is not None else _default_secrets(columns, rng)
    first_half = list(link_columns) if link_columns is not None else columns[: len(columns) // 2]
    return json_safe(
        {
            **_exact_copies(train, synthetic, holdout, encoding),
            **_distance_scores(train_x, holdout_x, synth_x, n_bins, len(train)),
            **_attacks(encoding, encoded, chosen, first_half),
            "n_rows": {
                "train": len(train),
                "synthetic": len(synthetic),
                "holdout": len(holdout),
                **{f"{k}_sample": len(v) for k, v in sample.items()},
            },
            "n_encoded_features": encoding.width,
        }
    )
