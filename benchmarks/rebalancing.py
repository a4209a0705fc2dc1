"""Class rebalancing of tables (issue 17): synthgan's Rebalancer against SMOTE and its peers.

For every table and each of ``--splits`` repeated stratified splits (80 % train, 20 % test,
seeds 0..K-1), every method resamples the training split; each classifier (logistic regression,
random forest, histogram gradient boosting; LightGBM and XGBoost too when installed) is trained
on the result and scored on the untouched real test split: minority-class F1, balanced
accuracy, PR-AUC and ROC-AUC of the minority class (one against the rest), and the Brier score
of its probability. The minority class is the rarest class of the table.

Methods, on the same splits:

* ``none``: no resampling; ``class_weight``: ``class_weight="balanced"`` in the classifiers;
* ``random``: imbalanced-learn's ``RandomOverSampler``;
* ``smote``: ``SMOTENC`` (``SMOTE`` for all-numeric tables, ``SMOTEN`` for all-categorical),
  on the features with missing values imputed (median; a "missing" category);
* ``synthgan``: ``Rebalancer(fit_on="all", filter=None)``, CTGAN's rows as drawn;
  ``synthgan_minority``: ``fit_on="minority"``; ``synthgan_filter``: ``filter="classifier",
  filter_confidence=0.9``; ``synthgan_minority_filter``: both; ``synthgan_realism``:
  ``filter="realism"``;
  ``synthgan_floor``: ``min_distance="auto"``; ``synthgan_minority_strict``: ``Rebalancer()``'s
  defaults, chosen from these figures (``fit_on="minority", filter="classifier",
  filter_confidence=0.5``: keep the rows the classifier gives to their own class);
* ``ctgan``: the ``ctgan`` 0.12.1 package (``bench`` extra) through its own conditional
  sampling (``sample(n, condition_column, condition_value)``), rows of other classes rejected
  until the count is met: what SDV users do today.

Every oversampler brings every class up to the majority's count (imbalanced-learn's
``"auto"``). The GANs train for ``epochs = clip(--rows-budget / n_train, 30, 300)`` with
batch 500 (ctgan's and synthgan's default batch), the same epochs for both packages.

Results go to ``--output`` (JSON) after every (table, split, method) cell; ``--resume`` skips
the cells already there, so a killed run continues where it stopped.

Usage::

    .venv/bin/python benchmarks/rebalancing.py --output benchmarks/results/rebalancing.json \\
        --resume                                  # every table, 5 splits, every method
    .venv/bin/python benchmarks/rebalancing.py --tables yeast_me2,abalone_19 --splits 2 \\
        --methods none,smote,synthgan --output /tmp/probe.json
    .venv/bin/python benchmarks/rebalancing.py --summary benchmarks/results/rebalancing.json
"""

from __future__ import annotations

import argparse
import functools
import json
import time
import warnings
from pathlib import Path

import _common
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline

from synthgan.evaluation._prep import (
    as_model_frame,
    feature_preprocessor,
    is_numeric_feature,
    split_numeric,
)

TABLES_DIR = _common.DATA_DIR / "tables"
# file stem -> target column (../shared/data/tables/README.md); Adult variants are built here.
TABLES = {
    "abalone_19": "Class",
    "yeast_me2": "Class",
    "mammography": "class",
    "wine_quality": "Class",
    "car_eval": "class",
    "thyroid_sick": "Class",
    "adult_1to50": "income",
    "adult_1to10": "income",
    "bank_marketing": "y",
    "telco_churn": "Churn",
    "default_credit_card": "default_payment_next_month",
}
METHODS = ("none", "class_weight", "random", "smote", "synthgan", "synthgan_minority",
           "synthgan_filter", "synthgan_minority_filter", "synthgan_realism", "synthgan_floor",
           "synthgan_minority_strict", "ctgan")  # fmt: skip
MISSING = "__missing__"


# -- data -------------------------------------------------------------------------------------
def load_table(name: str) -> tuple[pd.DataFrame, str]:
    if name.startswith("adult_1to"):
        ratio = int(name.removeprefix("adult_1to"))
        adult = _common.load_adult()
        rest, rich = adult[adult.income != ">50K"], adult[adult.income == ">50K"]
        keep = rich.sample(len(rest) // ratio, random_state=0)  # 1 : ratio of the majority
        frame = pd.concat([rest, keep]).sample(frac=1, random_state=0)
        return frame.reset_index(drop=True), "income"
    frame = pd.read_csv(TABLES_DIR / f"{name}.csv")
    return frame, TABLES[name]


def splits(frame: pd.DataFrame, target: str, n_splits: int):
    cv = StratifiedShuffleSplit(n_splits=n_splits, test_size=0.2, random_state=0)
    for index, (train, test) in enumerate(cv.split(frame, frame[target])):
        train_rows, test_rows = frame.iloc[train], frame.iloc[test]
        yield index, train_rows.reset_index(drop=True), test_rows.reset_index(drop=True)


def epochs_for(n_rows: int, budget: int) -> int:
    return int(np.clip(round(budget / n_rows), 30, 300))


# -- methods: each returns (X_res, y_res, class_weight) ---------------------------------------
def _imputed(X: pd.DataFrame, reference: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    numeric, categorical = split_numeric(reference, list(reference.columns))
    out = X.copy()
    for col in numeric:
        out[col] = out[col].astype(float).fillna(float(reference[col].median()))
    for col in categorical:
        out[col] = out[col].astype(object).where(out[col].notna(), MISSING).astype(str)
    return out, categorical


def resample_smote(X, y, seed):
    from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC

    filled, categorical = _imputed(X, X)
    k = int(min(5, y.value_counts().min() - 1))
    if not categorical:
        sampler = SMOTE(k_neighbors=k, random_state=seed)
    elif len(categorical) == X.shape[1]:
        sampler = SMOTEN(k_neighbors=k, random_state=seed)
    else:
        sampler = SMOTENC(categorical_features=categorical, k_neighbors=k, random_state=seed)
    return sampler.fit_resample(filled, y)


def _synthgan_model(epochs: int, seed: int):
    from synthgan import CTGANSynthesizer

    return CTGANSynthesizer(epochs=epochs, verbose=False, random_state=seed)


def resample_synthgan(X, y, seed, epochs, **options):
    from synthgan import Rebalancer

    sampler = Rebalancer(_synthgan_model(epochs, seed), random_state=seed, **options)
    return sampler.fit_resample(X, y)


def resample_ctgan(X, y, seed, epochs):
    """ctgan 0.12.1: fit on X joined with y, conditional sampling, reject other classes."""
    import torch
    from ctgan import CTGAN

    torch.manual_seed(seed)
    table = X.assign(**{"__y__": y.to_numpy()})
    discrete = [c for c in table.columns if not is_numeric_feature(table[c])] + ["__y__"]
    model = CTGAN(epochs=epochs, verbose=False)
    model.fit(table, discrete_columns=sorted(set(discrete)))
    counts, parts = y.value_counts(), [table]
    for label, have in counts.items():
        parts.append(_ctgan_rows(model, label, counts.max() - have))
    out = pd.concat(parts, ignore_index=True)
    return out.drop(columns="__y__"), out["__y__"].astype(y.dtype)


def _ctgan_rows(model, label, need: int, max_rounds: int = 100) -> pd.DataFrame:
    """Rejection on top of ctgan's conditional sampling, up to 100 batches of ``need`` rows
    (SDV's ``max_tries_per_batch`` default)."""
    got, drawn = [], 0
    for _ in range(max_rounds):
        if need <= sum(len(g) for g in got):
            break
        rows = model.sample(max(need, 100), condition_column="__y__", condition_value=label)
        drawn += len(rows)
        got.append(rows[rows["__y__"] == label])
    rows = pd.concat(got, ignore_index=True) if got else pd.DataFrame()
    if len(rows) < need:
        raise RuntimeError(f"ctgan gave {len(rows)} rows of class {label!r} in {drawn} draws")
    return rows.iloc[:need]


def resample(method: str, X, y, seed: int, epochs: int):
    from imblearn.over_sampling import RandomOverSampler

    if method in ("none", "class_weight"):
        return X, y
    if method == "random":
        return RandomOverSampler(random_state=seed).fit_resample(X, y)
    if method == "smote":
        return resample_smote(X, y, seed)
    if method == "ctgan":
        return resample_ctgan(X, y, seed, epochs)
    plain = {"fit_on": "all", "filter": None}  # CTGAN's rows as drawn
    options = {
        "synthgan": plain,
        "synthgan_minority": {"fit_on": "minority", "filter": None},
        "synthgan_filter": {"fit_on": "all", "filter": "classifier", "filter_confidence": 0.9},
        "synthgan_minority_filter": {
            "fit_on": "minority",
            "filter": "classifier",
            "filter_confidence": 0.9,
        },
        "synthgan_realism": {"fit_on": "all", "filter": "realism", "filter_confidence": 0.9},
        "synthgan_floor": {**plain, "min_distance": "auto"},
        "synthgan_minority_strict": {},  # the library's defaults (what Rebalancer() does)
    }[method]
    return resample_synthgan(X, y, seed, epochs, **options)


# -- classifiers and metrics ------------------------------------------------------------------
def classifiers(weighted: bool, seed: int) -> dict:
    weight = "balanced" if weighted else None
    models = {
        "lr": LogisticRegression(max_iter=2000, class_weight=weight),
        "rf": RandomForestClassifier(
            n_estimators=200, class_weight=weight, random_state=seed, n_jobs=2
        ),
        "hgb": HistGradientBoostingClassifier(class_weight=weight, random_state=seed),
    }
    try:
        from lightgbm import LGBMClassifier

        models["lgbm"] = LGBMClassifier(class_weight=weight, random_state=seed, verbose=-1)
    except ImportError:
        pass
    return models


def score(model, X_train, y_train, X_test, y_test, minority) -> dict:
    numeric, categorical = split_numeric(X_train, list(X_train.columns), X_test)
    pipe = make_pipeline(feature_preprocessor(numeric, categorical), model)
    pipe.fit(as_model_frame(X_train, categorical), y_train.to_numpy())
    frame = as_model_frame(X_test, categorical)
    pred, proba = pipe.predict(frame), pipe.predict_proba(frame)
    p_min = proba[:, list(pipe.classes_).index(minority)]
    truth = (y_test.to_numpy() == minority).astype(int)
    return {
        "minority_f1": float(f1_score(truth, (pred == minority).astype(int), zero_division=0)),
        "balanced_accuracy": float(balanced_accuracy_score(y_test.to_numpy(), pred)),
        "pr_auc": float(average_precision_score(truth, p_min)),
        "roc_auc": float(roc_auc_score(truth, p_min)),
        "brier": float(brier_score_loss(truth, p_min)),
    }


def _align(X_res: pd.DataFrame, X: pd.DataFrame) -> pd.DataFrame:
    """SMOTE's imputed strings back to the raw frame's missing markers (same features)."""
    out = X_res.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].where(out[col] != MISSING, np.nan)
    return out


def run_cell(name, split, method, train, test, target, budget) -> dict:
    X, y = train.drop(columns=target), train[target]
    minority = y.value_counts().idxmin()
    epochs = epochs_for(len(train), budget)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_res, y_res = resample(method, X, y, seed=split, epochs=epochs)
    seconds = time.perf_counter() - start
    X_res = _align(pd.DataFrame(X_res, columns=X.columns), X)
    y_res = pd.Series(np.asarray(y_res), name=target)
    scores = {}
    for label, model in classifiers(method == "class_weight", split).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores[label] = score(model, X_res, y_res, test.drop(columns=target), test[target],
                                  minority)  # fmt: skip
    return {
        "table": name, "split": split, "method": method, "minority": str(minority),
        "train_rows": len(train), "rows_after": len(y_res), "epochs": epochs,
        "resample_s": round(seconds, 2), "scores": scores,
    }  # fmt: skip


# -- running, resuming, summarising -----------------------------------------------------------
def _done(payload: dict) -> set:
    return {(r["table"], r["split"], r["method"]) for r in payload["runs"]}


def run(args) -> None:
    path = Path(args.output)
    payload = {"benchmark": "rebalancing", "machine": _common.machine_info(),
               "config": vars(args), "runs": []}  # fmt: skip
    if args.resume and path.exists():
        payload["runs"] = json.loads(path.read_text())["runs"]
        if args.retry_failed:  # run the failed cells again (e.g. after a fix)
            payload["runs"] = [r for r in payload["runs"] if "error" not in r]
    done = _done(payload)
    for name in args.tables.split(","):
        frame, target = load_table(name)
        for split, train, test in splits(frame, target, args.splits):
            for method in args.methods.split(","):
                if (name, split, method) in done:
                    continue
                try:
                    cell = run_cell(name, split, method, train, test, target, args.rows_budget)
                except Exception as exc:  # a method that fails is a result: record it, go on
                    cell = {"table": name, "split": split, "method": method, "scores": {},
                            "error": f"{type(exc).__name__}: {exc}"}  # fmt: skip
                    print(f"{name:20s} split {split} {method:24s} FAILED {cell['error']}")
                payload["runs"].append(cell)
                _common.write_json(path, payload)  # after every cell: resumable
                if "error" in cell:
                    continue
                hgb = cell["scores"]["hgb"]
                line = f"{name:20s} split {split} {method:24s} {cell['resample_s']:7.1f}s"
                print(f"{line} F1 {hgb['minority_f1']:.3f} PR-AUC {hgb['pr_auc']:.3f}", flush=True)
    summarise(payload)


def summarise(payload: dict) -> None:
    rows = []
    for r in payload["runs"]:
        for clf, s in r["scores"].items():
            rows.append({"table": r["table"], "method": r["method"], "clf": clf,
                         "resample_s": r["resample_s"], **s})  # fmt: skip
    frame = pd.DataFrame(rows)
    if frame.empty:
        print("no runs")
        return
    metrics = ["minority_f1", "pr_auc", "roc_auc", "balanced_accuracy", "brier", "resample_s"]
    table = frame.groupby(["table", "clf", "method"])[metrics].mean().round(3)
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(table)
    _verdict(frame)


def _verdict(frame: pd.DataFrame) -> None:
    """The issue's targets: the default against SMOTE (LR, RF) and against no resampling (HGB)."""
    means = frame.groupby(["table", "clf", "method"])[["minority_f1", "pr_auc"]].mean()
    for clf in ("lr", "rf", "hgb"):
        for table in sorted(frame.table.unique()):
            try:
                ours = means.loc[(table, clf, "synthgan")]
                smote = means.loc[(table, clf, "smote")]
                none = means.loc[(table, clf, "none")]
            except KeyError:
                continue
            print(f"{clf:4s} {table:20s} F1 ours-smote {ours.minority_f1 - smote.minority_f1:+.3f}"
                  f"  PR-AUC ours-smote {ours.pr_auc - smote.pr_auc:+.3f}"
                  f"  PR-AUC ours-none {ours.pr_auc - none.pr_auc:+.3f}")  # fmt: skip


_HEADER = ("| method | splits | F1 LR / RF / HGB | PR-AUC LR / RF / HGB | ROC-AUC HGB | "
           "bal. acc. HGB | Brier HGB | resample s |")  # fmt: skip


def _trio(w, key: str) -> str:
    return " / ".join(f"{w[(key, c)]:.3f}" for c in ("lr", "rf", "hgb"))


def markdown(payload: dict) -> str:
    """One markdown table per table: methods x (LR, RF, HGB) minority F1 / PR-AUC, HGB's
    ROC-AUC, balanced accuracy and Brier score, resampling seconds; means over the splits."""
    rows = [{"table": r["table"], "method": r["method"], "split": r["split"], "clf": clf,
             "resample_s": r["resample_s"], **s} for r in payload["runs"]
            for clf, s in r["scores"].items()]  # fmt: skip
    failed = [f"{r['table']} split {r['split']} {r['method']}: {r['error']}"
              for r in payload["runs"] if "error" in r]  # fmt: skip
    frame = pd.DataFrame(rows)
    out = []
    for table, part in frame.groupby("table", sort=False):
        wide = part.pivot_table(index="method", columns="clf", aggfunc="mean",
                                values=["minority_f1", "pr_auc", "roc_auc", "brier",
                                        "balanced_accuracy"])  # fmt: skip
        seconds = part.groupby("method").resample_s.mean()
        splits = part.groupby("method").split.nunique()
        out += [f"**{table}**", "", _HEADER, "|---|---:|---|---|---:|---:|---:|---:|"]
        for method in [m for m in METHODS if m in wide.index]:
            w = wide.loc[method]
            trio = functools.partial(_trio, w)
            out.append(f"| {method} | {splits[method]} | {trio('minority_f1')} | {trio('pr_auc')}"
                       f" | {w[('roc_auc', 'hgb')]:.3f} | {w[('balanced_accuracy', 'hgb')]:.3f} |"
                       f" {w[('brier', 'hgb')]:.4f} | {seconds[method]:.1f} |")  # fmt: skip
        out.append("")
    return "\n".join(out + [f"- failed: {line}" for line in failed])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--splits", type=int, default=5)
    budget = "GAN training rows: epochs = clip(budget / n_train, 30, 300)"
    parser.add_argument("--rows-budget", type=int, default=400_000, help=budget)
    parser.add_argument("--output", default="benchmarks/results/rebalancing.json")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--retry-failed", action="store_true", help="with --resume")
    parser.add_argument("--summary", metavar="JSON", help="only summarise a results file")
    parser.add_argument("--markdown", action="store_true", help="with --summary: markdown")
    args = parser.parse_args()
    if args.summary:
        payload = json.loads(Path(args.summary).read_text())
        print(markdown(payload)) if args.markdown else summarise(payload)
        return
    unknown = set(args.methods.split(",")) - set(METHODS)
    if unknown or not set(args.tables.split(",")) <= set(TABLES):
        parser.error(f"methods are {METHODS}; tables are {list(TABLES)}")
    run(args)


if __name__ == "__main__":
    main()
