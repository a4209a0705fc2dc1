"""Class rebalancing of tables with synthetic rows.

:class:`Rebalancer` is an imbalanced-learn over-sampler: it fits a clone of a synthgan tabular
synthesizer on the features joined with the target, then draws exactly the number of new rows
that ``sampling_strategy`` asks for in each class, with exact conditional sampling
(``sample(n, conditions={target: class})``). :func:`rebalance` does the same on one data frame
for people who do not use imbalanced-learn.

The synthesizer is driven only through its public API (``clone``, ``set_params``, ``fit``,
``sample`` with conditions and, with differential privacy, ``category_counts``), so any
synthesizer that can condition on a discrete column works.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Mapping
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_sampling_strategy, check_target_type
from scipy import sparse
from sklearn.base import clone
from sklearn.utils import check_array
from sklearn.utils.multiclass import type_of_target
from sklearn_compat.utils.validation import validate_data

from synthgan.core.random import check_random_state, derive_seed
from synthgan.exceptions import DataValidationError, InvalidParameterError

__all__ = ["Rebalancer", "rebalance"]

FILTERS = ("auto", None, "classifier", "realism")
FIT_ON = ("auto", "all", "minority")
# Rows drawn per round while filters drop some: enough for the missing rows at the acceptance
# rate seen so far (x 1.2), at least _MIN_BATCH (so the last few rows do not take a round each)
# and at most _MAX_FACTOR times the rows asked for (a filter that keeps almost nothing costs at
# most max_rounds x _MAX_FACTOR x n drawn rows before the best-scored rejected rows top up).
_MIN_BATCH, _MAX_FACTOR = 1024, 10


class Rebalancer(BaseOverSampler):
    """Over-sample classes with synthetic rows from a synthgan tabular synthesizer.

    An imbalanced-learn sampler (:class:`imblearn.over_sampling.base.BaseOverSampler`): use
    it as ``X_res, y_res = Rebalancer().fit_resample(X, y)`` or as a step of
    :class:`imblearn.pipeline.Pipeline` (resampling then happens in ``fit`` only). It fits a
    clone of ``synthesizer`` on ``X`` joined with ``y`` and draws exactly the requested number
    of new rows of each class by conditional sampling. The real rows come back unchanged, in
    their order, followed by the new ones, class by class; a mixed-type DataFrame stays a
    DataFrame with the same columns and dtypes.

    Parameters
    ----------
    synthesizer : synthgan tabular synthesizer, optional
        The model to fit (a clone of it: the object given is never changed). ``None`` is
        :class:`~synthgan.CTGANSynthesizer` with its defaults. It must be able to sample with
        ``conditions``; the target is added to its ``discrete_columns``.
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes get new rows and how many, in every form imbalanced-learn accepts: a
        float (binary targets: the minority-to-majority ratio after resampling), ``"auto"``
        (= ``"not majority"``), ``"minority"``, ``"not minority"``, ``"not majority"``,
        ``"all"``, a dict ``{class: count after resampling}``, or a callable ``y -> dict``.
    random_state : int, numpy Generator or None
        Seed of the synthesizer's fit, of the sampling and of the filter's classifier.
    fit_on : {"auto", "all", "minority"}, default="auto"
        Fit the synthesizer on every row, or only on the rows of the classes that get new rows
        (all its capacity on them; fewer rows, so much faster). ``"auto"``: ``"minority"``,
        except with ``privacy`` or ``return_real=False`` (every class is drawn then): ``"all"``.
    filter : {"auto", None, "classifier", "realism"}, default="auto"
        ``"classifier"``: drop a generated row of class ``c`` when a gradient-boosting
        classifier trained on the real rows (classes weighed equally) assigns it to another
        class with probability at least ``filter_confidence``. ``"realism"``: drop a
        generated row of class ``c`` that a detector trained to tell the real rows of ``c``
        from a pool of generated ones calls synthetic with probability at least
        ``filter_confidence`` (the GAN's own critic is not kept after the fit: a critic of the
        real rows is a membership oracle). Either way more rows are drawn until the count is
        met; after ``max_rounds`` the best-scored rejected rows fill what is missing, with a
        warning. ``"auto"``: ``"classifier"``, or None with ``privacy`` (filters read the real
        rows).
    filter_confidence : float, default=0.5
        The probability (of another class, or of being synthetic) from which a filter drops a
        row. With 0.5 the classifier keeps the rows it gives to their own class.
    min_distance : float, "auto" or None, default=None
        Drop a generated row whose distance to the nearest real row of its class is below this
        (a near-copy adds nothing and leaks that record). Distances are those of
        :func:`synthgan.evaluation.privacy.privacy_scores`: numbers scaled by their
        interquartile range, a category mismatch adds 1 to the squared distance. ``"auto"``:
        the 5th percentile of the distances from each real row of the class to its nearest
        other real row of the class (closer than that, a row is nearer a record than the
        records are to each other).
    privacy : PrivacyConfig, dict or None, default=None
        Fit the synthesizer with differential privacy (``docs/privacy.md``), for a dataset that
        can be shared: then ``return_real`` defaults to False, the class counts come from the
        model's DP release (:meth:`~synthgan.CTGANSynthesizer.category_counts`), and
        ``privacy_spent_`` covers everything read from the data. Filters and ``min_distance``
        read the real rows and are refused under DP.
    return_real : bool or None, default=None
        Return the real rows followed by the new ones (True), or only synthetic rows, every
        class drawn up to its count after resampling (False). ``None``: True without
        ``privacy``, False with it. Returning real rows voids any DP guarantee for them (they
        are the records themselves); a warning says so.
    max_rounds : int, default=5
        Rounds of drawing per class when filters drop rows (each at most 10 times the rows
        asked for); past them the filter's best-scored
        rejected rows top up the count (with a warning), and a distance floor that cannot be
        met fails the fit, saying how many rows it kept.

    Attributes
    ----------
    sampling_strategy_ : dict
        New rows per class (imbalanced-learn's meaning); with ``privacy`` computed from the
        released class counts.
    synthesizer_ : synthgan synthesizer or None
        The fitted clone (None when no class needed rows: nothing is trained then).
    fit_on_, filter_ : str or None
        ``fit_on`` and ``filter`` as the fit used them ("auto" resolved).
    class_counts_ : dict
        The counts of ``y`` the strategy was computed from (released counts with ``privacy``).
    draws_ : dict
        Per resampled class: rows ``generated``, ``kept`` and ``rounds`` of drawing.
    privacy_spent_ : PrivacySpent or None
        The synthesizer's privacy report with ``privacy``, else None.
    n_features_in_ : int
        Number of feature columns.
    feature_names_in_ : ndarray of str
        Column names of ``X`` when it is a DataFrame with string names.

    Examples
    --------
    >>> from synthgan import CTGANSynthesizer, Rebalancer
    >>> sampler = Rebalancer(CTGANSynthesizer(epochs=100), random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)  # doctest: +SKIP
    >>> y_res.value_counts()  # doctest: +SKIP
    """

    _parameter_constraints: ClassVar[dict] = dict(BaseOverSampler._parameter_constraints)

    def __init__(
        self,
        synthesizer=None,
        sampling_strategy="auto",
        *,
        random_state=None,
        fit_on: str = "auto",
        filter: str | None = "auto",
        filter_confidence: float = 0.5,
        min_distance: float | str | None = None,
        privacy=None,
        return_real: bool | None = None,
        max_rounds: int = 5,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.synthesizer = synthesizer
        self.random_state = random_state
        self.fit_on = fit_on
        self.filter = filter
        self.filter_confidence = filter_confidence
        self.min_distance = min_distance
        self.privacy = privacy
        self.return_real = return_real
        self.max_rounds = max_rounds

    # -- imbalanced-learn hooks ---------------------------------------------------------------
    def fit_resample(self, X, y, **params):
        """Resample ``X`` and ``y``: the real rows (unless ``return_real=False``), then the new.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Features, of any types the synthesizer models (numbers, strings, categories,
            datetimes, missing values).
        y : array-like of shape (n_samples,)
            Class labels, without missing values.

        Returns
        -------
        X_resampled, y_resampled
            In the types of ``X`` and ``y``.
        """
        check_classes(y, "y")
        name = getattr(y, "name", None)  # imbalanced-learn hands _fit_resample an array
        self._target_name = name if isinstance(name, str) else "target"
        return super().fit_resample(X, y, **params)

    def _check_X_y(self, X, y):
        # As RandomOverSampler and SMOTENC: strings and missing values are allowed in X.
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        if sparse.issparse(X):
            raise DataValidationError(
                "X is a sparse matrix; the synthesizer models dense tables: pass a DataFrame or "
                "a dense array (X.toarray())."
            )
        if not isinstance(X, pd.DataFrame):
            X = check_array(X, dtype=None, ensure_all_finite=False)
        validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
        return X, y, binarize_y

    def _fit_resample(self, X, y):
        self._check_params()
        private = self._private()
        return_real = self._returns_real(private)
        self._resolve(private, return_real)
        self.draws_ = {}
        if return_real and not any(self.sampling_strategy_.values()):  # nothing to generate
            self.synthesizer_, self.privacy_spent_, self.class_counts_ = None, None, _counts(y)
            return X, y
        rng = check_random_state(self.random_state)
        table, target = _joined(X, y, getattr(self, "_target_name", "target"))
        model = self._fit_model(table, target, y, private, rng)
        self.class_counts_ = _counts(y) if not private else _released(model, target)
        if private:
            self.sampling_strategy_ = _strategy(self.sampling_strategy, self.class_counts_)
        wanted = _wanted(self.class_counts_, self.sampling_strategy_, return_real)
        keep = _row_filter(self, table, target, model)
        new = {c: self._draw(model, target, c, n, keep, rng) for c, n in wanted.items() if n > 0}
        return _assemble(X, y, new, table, target, return_real)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.non_deterministic = self.random_state is None
        return tags

    # -- steps --------------------------------------------------------------------------------
    def _check_params(self) -> None:
        _check_choice("fit_on", self.fit_on, FIT_ON)
        _check_choice("filter", self.filter, FILTERS)
        _check_number("filter_confidence", self.filter_confidence, 0.0, 1.0)
        if self.min_distance is not None and self.min_distance != "auto":
            _check_number("min_distance", self.min_distance, 0.0, math.inf)
        if not isinstance(self.max_rounds, Integral) or self.max_rounds < 1:
            raise InvalidParameterError(f"max_rounds must be an int >= 1, got {self.max_rounds!r}.")
        if self.return_real not in (None, True, False):
            raise InvalidParameterError(
                f"return_real must be True, False or None, got {self.return_real!r}."
            )

    def _private(self) -> bool:
        params = getattr(self.synthesizer, "get_params", lambda deep: {})(deep=False)
        given = params.get("privacy") is not None
        private = self.privacy is not None or given
        if private and (self.filter not in ("auto", None) or self.min_distance is not None):
            raise InvalidParameterError(
                "filter and min_distance read the real rows outside the DP mechanism, so they "
                "are refused with privacy: leave them at their defaults (the DP model's rows "
                "are used as drawn)."
            )
        if private and self.fit_on == "minority" and not isinstance(self.sampling_strategy, dict):
            raise InvalidParameterError(
                "fit_on='minority' with privacy needs the classes named in a dict "
                "sampling_strategy: choosing them from the real counts is not private."
            )
        return private

    def _resolve(self, private: bool, return_real: bool) -> None:
        """``fit_on_`` and ``filter_``: the "auto" options as this fit uses them."""
        minority = return_real and not private  # all classes are drawn otherwise
        self.fit_on_ = ("minority" if minority else "all") if self.fit_on == "auto" else self.fit_on
        self.filter_ = (None if private else "classifier") if self.filter == "auto" else self.filter

    def _returns_real(self, private: bool) -> bool:
        return_real = (not private) if self.return_real is None else bool(self.return_real)
        if private and return_real:
            warnings.warn(
                "return_real=True returns the real rows themselves: the differential-privacy "
                "guarantee covers only the synthetic rows, not the dataset returned. Use "
                "return_real=False for a dataset that can be shared.",
                UserWarning,
                stacklevel=4,
            )
        if not return_real and self.fit_on == "minority":
            raise InvalidParameterError(
                "return_real=False draws every class, so the synthesizer must see every class: "
                "use fit_on='all'."
            )
        return return_real

    def _fit_model(self, table, target, y, private, rng):
        model = _synthesizer(self.synthesizer, target)
        if self.privacy is not None:
            model.set_params(privacy=self.privacy)
        if self.random_state is not None and "random_state" in model.get_params(deep=False):
            model.set_params(random_state=derive_seed(rng) % 2**32)
        rows = np.ones(len(y), dtype=bool)
        if self.fit_on_ == "minority":
            rows = np.isin(y, [c for c, n in self.sampling_strategy_.items() if n > 0])
        self.synthesizer_ = model.fit(table.loc[rows].reset_index(drop=True))
        self.privacy_spent_ = getattr(model, "privacy_spent_", None) if private else None
        return model

    def _draw(self, model, target, label, n: int, keep, rng) -> pd.DataFrame:
        """Exactly ``n`` rows of class ``label``, redrawing what the filters drop."""
        parts, spare, kept, drawn = [], _Spare(n), 0, 0
        for round_ in range(1, self.max_rounds + 1):
            ask = n - kept if keep is None else _batch(n, n - kept, kept, drawn)
            rows = model.sample(ask, conditions={target: _py(label)}, random_state=derive_seed(rng))
            drawn += len(rows)
            if keep is not None:
                passed, eligible, score = keep(rows, label)
                spare.add(rows, eligible & ~passed, score)
                rows = rows.loc[passed]
            parts.append(rows)
            kept += len(rows)
            if kept >= n:
                self.draws_[label] = _draw_stats(drawn, n, round_)
                return pd.concat(parts, ignore_index=True).iloc[:n]
        return self._top_up(label, parts, spare, n, kept, drawn)

    def _top_up(self, label, parts, spare: _Spare, n: int, kept: int, drawn: int) -> pd.DataFrame:
        """After the last round: the best-scored rows the filter rejected fill what is missing
        (with a warning); the distance floor is never relaxed, so without them this fails."""
        best = spare.best(n - kept)
        if best is None:
            raise DataValidationError(
                f"Class {label!r}: the filters kept {kept} of {drawn} generated rows in "
                f"{self.max_rounds} rounds, fewer than the {n} asked for. Lower "
                "filter_confidence or min_distance, raise max_rounds, or train the synthesizer "
                "longer."
            )
        warnings.warn(
            f"Class {label!r}: the filter passed {kept} of {drawn} generated rows in "
            f"{self.max_rounds} rounds; the other {n - kept} of the {n} asked for are the "
            "rejected rows it scored best. Lower filter_confidence, raise max_rounds, or train "
            "the synthesizer longer.",
            UserWarning,
            stacklevel=5,
        )
        self.draws_[label] = {**_draw_stats(drawn, n, self.max_rounds), "topped_up": n - kept}
        return pd.concat([*parts, best], ignore_index=True)


class _Spare:
    """The best-scored rows a soft filter rejected (at most ``size``), to top up from."""

    def __init__(self, size: int):
        self.size, self.rows, self.scores = size, None, None

    def add(self, rows: pd.DataFrame, mask: np.ndarray, score: np.ndarray | None) -> None:
        if score is None or not mask.any():
            return
        rows, score = rows.loc[mask], np.asarray(score)[mask]
        if self.rows is not None:
            rows = pd.concat([self.rows, rows], ignore_index=True)
            score = np.concatenate([self.scores, score])
        order = np.argsort(-score, kind="stable")[: self.size]
        self.rows, self.scores = rows.iloc[order].reset_index(drop=True), score[order]

    def best(self, count: int) -> pd.DataFrame | None:
        if self.rows is None or len(self.rows) < count:
            return None
        return self.rows.iloc[:count]


def rebalance(
    df: pd.DataFrame,
    target: str,
    strategy: Any = "auto",
    synthesizer=None,
    **options: Any,
) -> pd.DataFrame:
    """Return ``df`` with synthetic rows added so its classes of ``target`` are balanced.

    The one-call form of :class:`Rebalancer`: the real rows come first, unchanged, then the
    new ones; the columns, their order and dtypes are those of ``df``.

    Parameters
    ----------
    df : pandas.DataFrame
        The table, target column included.
    target : str
        The class column.
    strategy : float, str, dict or callable, default="auto"
        ``sampling_strategy`` of :class:`Rebalancer` (every imbalanced-learn form).
    synthesizer : synthgan tabular synthesizer, optional
        As for :class:`Rebalancer` (CTGAN with its defaults when None).
    **options
        Further keyword arguments of :class:`Rebalancer` (``random_state``, ``privacy``,
        ``filter``, ``fit_on``, ``return_real`` ...).

    Returns
    -------
    pandas.DataFrame
        The rebalanced table.

    Examples
    --------
    >>> balanced = synthgan.rebalance(df, "fraud", random_state=0)  # doctest: +SKIP
    """
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(f"df must be a pandas DataFrame, got {type(df).__name__}.")
    if target not in df.columns:
        raise DataValidationError(
            f"target {target!r} is not a column of the table; its columns: {list(df.columns)}."
        )
    sampler = Rebalancer(synthesizer, strategy, **options)
    X, y = sampler.fit_resample(df.drop(columns=[target]), df[target])
    X.insert(df.columns.get_loc(target), target, y.to_numpy())
    return X.astype(df.dtypes.to_dict())


# -- helpers ----------------------------------------------------------------------------------
def check_classes(y, name: str) -> None:
    """Refuse targets that cannot be rebalanced: missing, with missing values, continuous, or
    with a single class. The messages name ``name`` and say what to do."""
    if y is None:
        raise DataValidationError(f"{name} is None; pass the class of every row.")
    if np.ndim(y) >= 2:
        return  # a one-vs-all indicator matrix (or worse): imbalanced-learn checks it
    values = pd.Series(np.asarray(y, dtype=object))
    missing = int(values.isna().sum())
    if missing:
        raise DataValidationError(
            f"{name} has {missing} missing value(s); every row needs a class to be rebalanced: "
            "drop those rows or fill them with a class of their own."
        )
    if type_of_target(y) == "continuous":
        raise DataValidationError(
            f"{name} looks continuous ({values.nunique()} distinct float values); rebalancing is "
            "for classification: bin it into classes first (e.g. pandas.cut)."
        )
    if values.nunique() < 2:
        raise DataValidationError(
            f"{name} has a single class ({values.iloc[0]!r}); there is nothing to rebalance."
        )


def _check_choice(name: str, value, allowed: tuple) -> None:
    if value not in allowed:
        raise InvalidParameterError(f"{name} must be one of {list(allowed)}, got {value!r}.")


def _check_number(name: str, value, low: float, high: float) -> None:
    ok = isinstance(value, Real) and not isinstance(value, bool) and low <= value <= high
    if not ok or (name == "filter_confidence" and not low < value < high):
        raise InvalidParameterError(f"{name} must be a number in ({low}, {high}), got {value!r}.")


def _synthesizer(base, target: str):
    """A fresh clone of ``base`` (CTGAN by default) that models ``target`` as discrete."""
    if base is None:
        from synthgan.tabular import CTGANSynthesizer

        base = CTGANSynthesizer()
    sample = getattr(base, "sample", None)
    if sample is None or "conditions" not in inspect.signature(sample).parameters:
        raise InvalidParameterError(
            f"{type(base).__name__} cannot sample with conditions, which rebalancing needs; "
            "use a synthesizer that can, such as synthgan.CTGANSynthesizer."
        )
    model = clone(base)
    params = model.get_params(deep=False)
    if "discrete_columns" in params:
        columns = list(params["discrete_columns"] or [])
        model.set_params(discrete_columns=[*columns, target] if target not in columns else columns)
    return model


def _joined(X, y, target: str) -> tuple[pd.DataFrame, str]:
    """The features with the target as a last column, under names the synthesizer accepts."""
    if isinstance(X, pd.DataFrame):
        if any(isinstance(t, pd.SparseDtype) for t in X.dtypes):  # the model reads dense columns
            X = X.sparse.to_dense()
        named = all(isinstance(c, str) for c in X.columns) and X.columns.is_unique
        frame = X.reset_index(drop=True) if named else _positional(X.to_numpy(dtype=object))
        if not named:
            frame = frame.astype({c: t for c, t in zip(frame.columns, X.dtypes, strict=True)})
    else:
        frame = _positional(X)
    while target in frame.columns:
        target = f"_{target}"
    return frame.assign(**{target: np.asarray(y)}), target


def _positional(values: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(values, columns=[f"x{i}" for i in range(values.shape[1])])
    return frame.infer_objects()


def _counts(y) -> dict:
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    return {label: int(count) for label, count in zip(labels, counts, strict=True)}


def _released(model, target: str) -> dict:
    """The class counts of the DP model's release (post-processing: no further cost)."""
    counts = getattr(model, "category_counts", None)
    if counts is None:
        raise InvalidParameterError(
            f"{type(model).__name__} does not report its released category counts "
            "(category_counts), which rebalancing with privacy needs; use CTGANSynthesizer."
        )
    released = counts(target)  # a missing-value slot is no class: left out
    return {label: int(n) for label, n in released.items() if int(n) > 0 and not pd.isna(label)}


def _strategy(strategy, counts: Mapping) -> dict:
    """imbalanced-learn's strategy, computed on ``counts`` (the released ones under DP)."""
    labels = np.repeat(np.array(list(counts), dtype=object), list(counts.values()))
    return check_sampling_strategy(strategy, labels, "over-sampling")


def _wanted(counts: Mapping, strategy: Mapping, return_real: bool) -> dict:
    """Rows to generate per class: the new ones, or every class's count after resampling."""
    if return_real:
        return dict(strategy)
    return {label: n + strategy.get(label, 0) for label, n in counts.items()}


def _py(value):
    return value.item() if isinstance(value, np.generic) else value


def _batch(n: int, missing: int, kept: int, drawn: int) -> int:
    """Rows to draw in the next filtered round of a class asked ``n`` rows (see ``_MIN_BATCH``)."""
    rate = 1.0 if drawn == 0 else max(kept / drawn, 1e-3)
    wanted = math.ceil(1.2 * missing / rate)
    return int(max(_MIN_BATCH, min(wanted, _MAX_FACTOR * n)))


def _draw_stats(drawn: int, kept: int, rounds: int) -> dict:
    return {"generated": int(drawn), "kept": int(kept), "rounds": int(rounds)}


def _row_filter(sampler: Rebalancer, table: pd.DataFrame, target: str, model) -> Callable | None:
    """The filters as one function ``(rows, label) -> (keep, eligible, score)``, or None.

    ``keep``: every filter passes; ``eligible``: the hard limit (the distance floor) passes;
    ``score``: the soft filter's ranking (None without one), used to top up after the last
    round from the eligible rows it rejected.
    """
    from synthgan.augmentation import _filters

    soft = None
    if sampler.filter_ == "classifier":
        soft = _filters.classifier_filter(table, target, sampler.filter_confidence, sampler)
    elif sampler.filter_ == "realism":
        soft = _filters.realism_filter(table, target, sampler.filter_confidence, sampler, model)
    hard = None
    if sampler.min_distance is not None:
        hard = _filters.distance_filter(table, target, sampler.min_distance)
    if soft is None and hard is None:
        return None

    def check(rows: pd.DataFrame, label):
        eligible = np.ones(len(rows), dtype=bool) if hard is None else hard(rows, label)[0]
        passed, score = (eligible, None) if soft is None else soft(rows, label)
        return passed & eligible, eligible, score

    return check


def _assemble(X, y, new: Mapping, table: pd.DataFrame, target: str, return_real: bool):
    """The output arrays: real rows first (when returned), then the new ones class by class."""
    features = [c for c in table.columns if c != target]
    parts = [frame[features] for frame in new.values()]
    y = np.asarray(y)
    labels = [np.full(len(frame), label, dtype=y.dtype) for label, frame in new.items()]
    generated = pd.concat(parts, ignore_index=True) if parts else table[features].iloc[:0]
    y_new = np.concatenate(labels) if labels else y[:0]
    if isinstance(X, pd.DataFrame):
        generated.columns = X.columns
        X_res = pd.concat([X, generated], ignore_index=True) if return_real else generated
        X_res = X_res.astype(X.dtypes.to_dict())
    else:
        generated = generated.to_numpy(dtype=X.dtype)
        X_res = np.vstack([X, generated]) if return_real else generated
    y_res = np.concatenate([y, y_new]) if return_real else y_new
    return X_res, y_res
