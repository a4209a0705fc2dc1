"""One fit of a smartnoise-synth synthesizer (DPCTGAN, MST or AIM) in its own virtual environment.

Usage::

    .venv-smartnoise/bin/python benchmarks/_smartnoise_fit.py SPEC.json

smartnoise-synth 1.0.8 pins opacus 0.14 and mbi<2, so it lives in ``.venv-smartnoise`` rather
than in the project's ``.venv``; this script imports nothing from synthgan. Recreate the venv with::

    python3.11 -m venv .venv-smartnoise
    .venv-smartnoise/bin/pip install torch==2.13.0      # the CPU wheel; plain `torch` pulls CUDA
    .venv-smartnoise/bin/pip install smartnoise-synth==1.0.8 pyarrow packaging

(``packaging`` is imported by snsynth's CTGAN code but not declared as a dependency.) Checked on
2026-12-01 with Python 3.11.7: the recipe installs as written (torch 2.13.0+cpu, opacus 0.14.0,
mbi 1.1.0 with jax/jaxlib 0.10.2, opendp 0.14.2, numpy 2.4.6, pandas 2.3.3), and snsynth's
``aim`` synthesizer imports and runs with that mbi; nothing is fetched at run time.

Spec (JSON object)
------------------
Required: ``synthesizer`` ("dpctgan" | "mst" | "aim"), ``epsilon`` (float, the *total* budget),
``seed`` (int), ``train`` (a .parquet or .csv path), ``categorical_columns``,
``continuous_columns``, ``rows`` (rows to sample), ``output`` (folder, created if missing).
Optional: ``delta`` (float or null: library default), ``epochs`` (DPCTGAN, default 300, the
library's), ``preprocessor_eps`` (float; default 10 % of ``epsilon`` when some continuous column
has no public bounds, else 0), ``continuous_bounds`` ({column: [lower, upper]} treated as public,
so no budget is spent on them), ``binning`` (MST/AIM numeric columns: only "equal_width", the
default; snsynth 1.0.8 has no DP quantile binning), ``bins`` (equal-width bins per continuous
column for MST/AIM, default 10, the library's; ``mst_bins`` is the older name),
``public_categories`` ({column: [category, ...]}: the column's category list is public and
coded in that order instead of being read from the records; put ``missing_token`` in the list of
a column with missing cells; a value outside the list stops the fit with an error naming it),
``hyperparameters`` (extra keyword arguments for ``Synthesizer.create``, e.g. ``{"batch_size":
500, "sigma": 5}`` for DPCTGAN, ``{"max_model_size": 20}`` or ``{"rounds": 60}`` for AIM),
``missing_token`` (default "missing"), ``round_integers`` (default true), ``verbose`` (default
false; AIM then prints every round).

What the worker does
--------------------
* Reads the table; string cells are stripped and ``?`` is read as missing (harmless if the file is
  already clean). Only the listed columns are kept, in file order.
* Missing cells in categorical columns are replaced by the category ``missing_token`` before the
  fit and turned back into missing cells in the output (snsynth's label encoder would otherwise
  need ``nullable=True``, which also adds a null flag to every continuous column). If a continuous
  column has missing cells, ``nullable=True`` is passed instead.
* ``Synthesizer.create(name, epsilon=..., [delta=...], [epochs=...], **hyperparameters)`` then
  ``fit(df, categorical_columns=..., continuous_columns=..., preprocessor_eps=..., [transformer=
  {column: public bounds transformer}])`` and ``sample(rows)``.
* Continuous columns whose training values are all integers are rounded in the output
  (post-processing, no privacy cost).
* Seeds Python's ``random``, NumPy's global generator and torch. This does not make runs
  reproducible: snsynth's DPCTGAN discriminator calls ``torch.manual_seed(0)`` in its constructor
  (so the torch stream after that point, including opacus' gradient noise, is the same for every
  seed; only NumPy-driven batch/condition sampling and the generator's initial weights differ),
  and the Gaussian noise in MST and the DP bounds in preprocessing come from OpenDP's
  cryptographic sampler, which cannot be seeded.
* Writes ``synthetic.parquet`` (``synthetic.csv`` if pyarrow is missing) and ``result.json`` into
  ``output``: ``fit_s``, ``sample_s``, ``epoch_seconds``/``epoch_median_s``/``epochs_run``
  (DPCTGAN), ``privacy_spent`` (``epsilon`` is the total: preprocessing + training), the ε the
  library itself reports (``epsilon_reported_by_library``), hyperparameters and versions; the
  columns whose category lists were public (``public_categories``) and those read from the data
  without DP (``categories_from_data_without_dp``), the bounds used (``fitted_bounds``), and for
  AIM the selection rounds it ran (``aim_rounds_run``).

What each peer receives as public
---------------------------------
Always: the column names and kinds (categorical or continuous) and the number of rows. Then only
what the spec gives: ``public_categories`` (in ``benchmarks/dp_sweep.py`` with ``--metadata
public``, Adult's documented category lists, the same lists synthgan gets from
``adult_metadata(public_domains=True)``, plus ``missing`` for workclass, occupation and
native-country), and ``continuous_bounds`` (not given by the sweep: Adult's documentation has no
bounds, and synthgan estimates them under DP too). A categorical column without a public list
gets snsynth's own LabelTransformer, which reads its category set from the records without
noise; that release is not covered by the library's ε.

How smartnoise-synth 1.0.8 spends the budget (read from its public API and source)
-------------------------------------------------------------------------------------
Preprocessing. ``fit`` builds a ``TableTransformer``: categorical columns are label-encoded
(one-hot for DPCTGAN) with the category set taken from the data *without* noise unless a public
list is given; continuous columns are min-max scaled to [-1, 1] (DPCTGAN) or cut into ``bins``
(default 10) equal-width bins between the bounds, decoded to the bin midpoint (MST, AIM). Unless
bounds are given, each continuous column's bounds are estimated with DP (``approx_bounds``: a
Laplace-noised histogram over power-of-two bins, the outermost bins above a threshold),
``preprocessor_eps`` being split evenly over those columns (pure ε-DP); the amount is
subtracted from the synthesizer's ε before training. These DP bounds are coarse
(powers of two) and clip heavy-tailed columns hard: on 2,000 Adult rows with 0.05 ε per column,
capital-gain and capital-loss came out as [0, 1] and education-num as [8, 16]; pass
``continuous_bounds`` to avoid that. snsynth's default
``preprocessor_eps`` is 0 and then it refuses to fit a table with unbounded continuous columns.

DPCTGAN defaults: embedding 128, generator (256, 256) residual, discriminator (256, 256), Adam
lr 2e-4, betas (0.5, 0.9), weight decay 1e-6, batch 500, 1 discriminator step, pac 1, BCE loss,
epochs 300, noise multiplier ``sigma`` 5, per-sample clip norm 1.0 on the discriminator only
(opacus 0.14 ``PrivacyEngine``; its ``clip_per_layer=True`` is ignored there, so clipping is
flat), ``delta`` = 1 / (n * sqrt(n)) when not given. Accounting is opacus 0.14's RDP accountant
with sample rate batch/n, i.e. it assumes Poisson subsampling, but batches are drawn by CTGAN's
training-by-sampling (a category is picked, then rows of that category, with replacement), not
Poisson. Each iteration calls the DP optimizer step twice (fake batch, then real batch), and each
call is counted as a step. ε is checked only at the *start* of each epoch and training stops once
the spent ε exceeds the target, so the last epoch can overshoot it: this worker reads the final ε
from the attached privacy engine after training (``privacy_spent.training_epsilon``) besides the
last value snsynth recorded. The noise is *not* calibrated to the target ε: ``sigma`` stays 5 and
the target only stops training early, so with few epochs (or a large table, hence a small sample
rate) the spent ε can be far below the target; the spent value is what to compare. The
conditional vectors (training and sampling) use the exact
category frequencies of the training data, which no DP mechanism covers.

MST: ``delta`` default 1e-9; (ε, δ) is converted to zCDP ρ with OpenDP; one third of ρ measures
all 1-way marginals (Gaussian noise), one third selects a maximum spanning tree of 2-way marginals
with the exponential mechanism, one third measures those 2-way marginals; private-pgm's (``mbi``)
mirror descent (5,000 iterations) fits the graphical model. Before the tree is chosen, the
categories of each column whose noisy 1-way count is below 3σ are merged into one (post-processing
of the noisy counts; sampled back uniformly among them). ε is spent exactly by construction, so
the worker reports the spec's ε; the library exposes no accountant.

AIM (McKenna et al. 2022, snsynth's port of private-pgm's ``mechanisms/aim.py``): ``delta``
default 1e-9; (ε, δ) -> zCDP ρ. The workload is every pair of columns whose marginal has at most
``max_cells`` (10,000) cells; the candidates are the workload and its downward closure (pairs and
single columns). With T = ``rounds`` (default 16 × columns = 240 for Adult), σ = √(T / (1.8 ρ)):
first every 1-way marginal is measured with that σ; then each round selects a candidate with the
exponential mechanism (ε_round = √(0.8 ρ / T), i.e. 10 % of the round's ρ; quality = weighted L1
error of the current model minus the expected noise; only candidates that keep the model under
``max_model_size`` × (share of ρ used so far) MB, default 80, or are already covered), measures it
with Gaussian noise σ (90 %), and refits the model (mirror descent, 1,000 iterations, restarted
from scratch every round in snsynth's port). When a measurement barely changes the model, σ is
halved and ε_round doubled (fewer, more accurate rounds); the last round takes whatever ρ is
left, so ρ is spent exactly. The round count therefore varies and is reported. The 1-way
measurements take 0.9 · columns / T of ρ and each round ρ / T, so about T − 0.9 · columns
rounds are run: with T = columns (15) the 1-ways take 90 % and AIM stops after one round.

Cost. Each round scores every candidate against the current model (variable elimination in
mbi's eager jax code, about 70 % of the time in a profile) and refits it. On Adult (26,048 rows,
32 bins, one thread, nice 19, two shared cores, 2026-12-01) the default T = 240 ran 7 rounds in
11 minutes after a 5-minute start, about 4 hours projected per fit, so the sweep passes
``{"rounds": 24}`` (about 10 selection rounds; the 1-ways take 56 % of ρ): the smallest change of
a documented parameter (T; the paper's default is 16 · columns) that brought one ε = 3 fit near
15 minutes (17 min on a loaded machine). ``max_model_size`` was left at 80 MB: the model stays
far below it at these round counts, so lowering it would not save time.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import random
import resource
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

DPCTGAN_HYPERPARAMETERS = (
    "embedding_dim", "generator_dim", "discriminator_dim", "generator_lr", "discriminator_lr",
    "generator_decay", "discriminator_decay", "batch_size", "discriminator_steps", "epochs", "pac",
    "sigma", "max_per_sample_grad_norm", "loss", "epsilon",
)  # fmt: skip


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("smartnoise-synth", "smartnoise-sql", "opacus", "torch", "mbi", "jax",
                 "opendp", "numpy", "pandas"):  # fmt: skip
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def load_table(path: str, columns: list[str]):
    import pandas as pd

    if path.endswith((".parquet", ".pq")):
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, skipinitialspace=True, na_values="?")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SystemExit(f"columns not in {path}: {missing}")
    df = df[[c for c in df.columns if c in columns]].copy()
    for col in df.columns:
        if df[col].dtype == object:
            stripped = df[col].map(lambda v: v.strip() if isinstance(v, str) else v)
            df[col] = stripped.mask(stripped == "?")
    return df


class _EngineRecorder:
    """Keeps the opacus PrivacyEngine that DPCTGAN builds, and when it is asked for ε.

    snsynth's DPCTGAN creates the engine inside ``train`` and keeps no reference to it; it asks
    it for the ε spent once at the start of every epoch, which also gives the epoch boundaries.
    """

    def __init__(self):
        import opacus

        self.engine = None
        self.stamps: list[float] = []
        recorder, base = self, opacus.PrivacyEngine

        class RecordingEngine(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                recorder.engine = self

            def get_privacy_spent(self, *args, **kwargs):
                recorder.stamps.append(time.perf_counter())
                return super().get_privacy_spent(*args, **kwargs)

        opacus.PrivacyEngine = RecordingEngine  # dpctgan.py looks it up as opacus.PrivacyEngine


MARGINAL_PEERS = ("mst", "aim")  # discrete-only synthesizers: numeric columns are binned


def _public_label_transformer(categories: list):
    """A LabelTransformer whose category list is given (public) instead of read from the data.

    snsynth's own LabelTransformer collects the categories it sees in the records, without noise,
    and codes them in sorted order. This one codes the public list in its given order (categories
    absent from the data keep their code and get noisy zero counts); a value outside the list
    stops the fit with an error that names it, so nothing is silently dropped.
    """
    from snsynth.transform import LabelTransformer

    class PublicLabelTransformer(LabelTransformer):
        def __init__(self, public: list):
            self.public = list(public)  # set before the base __init__, which calls _clear_fit
            super().__init__(nullable=False)

        def _clear_fit(self):
            self._reset_fit()
            self.labels = {v: i for i, v in enumerate(self.public)}
            self.categories = list(self.public)
            self.category = len(self.public)
            self.unknown: set = set()
            self.output_width = 1

        def _fit(self, val):
            if val not in self.labels:
                self.unknown.add(val)

        def _fit_finish(self):
            if self.unknown:
                found = sorted(map(str, self.unknown))
                raise ValueError(f"values outside the public category list: {found}")
            self._fit_complete = True
            self.output_width = 1

    return PublicLabelTransformer(categories)


def _bins(spec: dict) -> int:
    return int(spec.get("bins", spec.get("mst_bins", 10)))


def column_transformers(spec: dict, style: str, continuous: list, nullable: bool) -> dict:
    """Transformers the spec fixes: public bounds, bins of DP-bounded columns, public lists."""
    from snsynth.transform import (
        BinTransformer,
        ChainTransformer,
        MinMaxTransformer,
        OneHotEncoder,
    )

    bounds = spec.get("continuous_bounds") or {}
    out = {}
    for col in continuous:
        lower, upper = bounds.get(col, (None, None))
        lower = None if lower is None else float(lower)
        upper = None if upper is None else float(upper)
        if style == "gan":
            if col in bounds:
                out[col] = MinMaxTransformer(lower=lower, upper=upper, nullable=nullable)
        elif col in bounds or "bins" in spec or "mst_bins" in spec:
            # equal-width bins; bounds None = estimated by snsynth under DP (approx_bounds)
            out[col] = BinTransformer(bins=_bins(spec), lower=lower, upper=upper, nullable=nullable)
    for col, categories in (spec.get("public_categories") or {}).items():
        labels = _public_label_transformer(categories)
        out[col] = labels if style == "cube" else ChainTransformer([labels, OneHotEncoder()])
    return out


class _RoundCounter:
    """Counts AIM's selection rounds (one call of ``_worst_approximated`` per round)."""

    def __init__(self):
        from snsynth.aim.aim import AIMSynthesizer

        self.rounds = 0
        counter, select = self, AIMSynthesizer._worst_approximated

        def counted(model, *args, **kwargs):
            counter.rounds += 1
            return select(model, *args, **kwargs)

        AIMSynthesizer._worst_approximated = counted


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    name = spec["synthesizer"].lower()
    if name not in ("dpctgan", *MARGINAL_PEERS):
        raise SystemExit(f"unknown synthesizer {name!r}: use dpctgan, mst or aim")
    if spec.get("binning", "equal_width") != "equal_width":
        raise SystemExit(
            f"binning {spec['binning']!r}: snsynth 1.0.8 has equal-width bins only (BinTransformer;"
            " no DP quantile transformer), so only 'equal_width' is available"
        )
    out = Path(spec["output"])
    out.mkdir(parents=True, exist_ok=True)
    epsilon = float(spec["epsilon"])
    delta = spec.get("delta")
    seed = int(spec["seed"])
    categorical = list(spec["categorical_columns"])
    continuous = list(spec["continuous_columns"])
    verbose = bool(spec.get("verbose", False))
    token = spec.get("missing_token", "missing")

    import numpy as np
    import pandas as pd
    import torch

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - snsynth, CTGAN sampler and mbi use the global one
    torch.manual_seed(seed)

    from snsynth import Synthesizer

    df = load_table(spec["train"], categorical + continuous)
    categorical = [c for c in df.columns if c in categorical]
    continuous = [c for c in df.columns if c in continuous]
    missing_cats = [c for c in categorical if df[c].isna().any()]
    for col in categorical:
        if df[col].isna().any():
            df[col] = df[col].astype(object).where(df[col].notna(), token)
    for col in continuous:
        df[col] = df[col].astype(float)
    nullable = bool(df[continuous].isna().any().any()) if continuous else False
    integer_cols = [c for c in continuous
                    if np.all(np.isnan(df[c]) | (np.round(df[c]) == df[c]))]  # fmt: skip

    style = "gan" if name == "dpctgan" else "cube"
    constraints = column_transformers(spec, style, continuous, nullable)
    unbounded = [c for c in continuous if c not in (spec.get("continuous_bounds") or {})]
    pre_eps = spec.get("preprocessor_eps")
    if pre_eps is None:
        pre_eps = 0.1 * epsilon if unbounded else 0.0
    pre_eps = float(pre_eps)

    kwargs = dict(spec.get("hyperparameters") or {})
    if delta is not None:
        kwargs["delta"] = float(delta)
    if name == "dpctgan":
        kwargs.setdefault("epochs", int(spec.get("epochs", 300)))
        kwargs.setdefault("verbose", verbose)
        kwargs.setdefault("cuda", False)
        recorder = _EngineRecorder()
    else:
        kwargs.setdefault("verbose", verbose)
        recorder = _RoundCounter() if name == "aim" else None
    model = Synthesizer.create(name, epsilon=epsilon, **kwargs)

    # categorical/continuous lists must not name columns that have a constraint
    fit_kwargs = dict(
        categorical_columns=[c for c in categorical if c not in constraints],
        continuous_columns=[c for c in continuous if c not in constraints],
        preprocessor_eps=pre_eps,
        nullable=nullable,
    )
    if constraints:
        fit_kwargs["transformer"] = constraints
    start = time.perf_counter()
    model.fit(df, **fit_kwargs)
    fit_s = time.perf_counter() - start
    fit_end = time.perf_counter()

    pre_spent, fitted_bounds = 0.0, {}
    transformer = getattr(model, "_transformer", None)
    if transformer is not None:
        pre_spent = float(transformer.odometer.spent[0])
        for col, t in zip(df.columns, transformer.transformers, strict=True):
            if getattr(t, "fit_lower", None) is not None:  # DP (or public) bounds actually used
                fitted_bounds[col] = [float(t.fit_lower), float(t.fit_upper)]

    start = time.perf_counter()
    synthetic = model.sample(int(spec["rows"]))
    sample_s = time.perf_counter() - start
    if not isinstance(synthetic, pd.DataFrame):
        synthetic = pd.DataFrame(list(synthetic), columns=list(df.columns))

    for col in missing_cats:
        synthetic[col] = synthetic[col].where(synthetic[col] != token, np.nan)
    if spec.get("round_integers", True):
        for col in integer_cols:
            synthetic[col] = pd.to_numeric(synthetic[col]).round()

    result: dict = {
        "synthesizer": name,
        "seed": seed,
        "epsilon_target": epsilon,
        "train_rows": len(df),
        "rows": len(synthetic),
        "fit_s": fit_s,
        "sample_s": sample_s,
        "peak_rss_mb": _peak_rss_mb(),
        "preprocessor_eps": pre_eps,
        "public_bounds": sorted(spec.get("continuous_bounds") or {}),
        "public_categories": sorted(spec.get("public_categories") or {}),
        "categories_from_data_without_dp": [
            c for c in categorical if c not in (spec.get("public_categories") or {})
        ],
        "fitted_bounds": fitted_bounds,
        "missing_as_category": missing_cats,
        "nullable": nullable,
        "torch_threads": torch.get_num_threads(),
        "versions": _versions(),
    }
    if name == "dpctgan":
        engine = recorder.engine
        train_delta = float(model.delta) if model.delta is not None else None
        train_eps, alpha = (None, None)
        if engine is not None and train_delta is not None:
            train_eps, alpha = engine.get_privacy_spent(train_delta)
            recorder.stamps.pop()  # that call was ours, not an epoch boundary
        epochs_run = len(model.loss_d_list)
        bounds = [*recorder.stamps, fit_end]
        epoch_seconds = [b - a for a, b in itertools.pairwise(bounds)][:epochs_run]
        reported = model.epsilon_list[-1] if model.epsilon_list else None
        result.update(
            epochs_requested=int(kwargs["epochs"]),
            epochs_run=epochs_run,
            epoch_seconds=epoch_seconds,
            epoch_median_s=statistics.median(epoch_seconds) if epoch_seconds else None,
            epsilon_reported_by_library=reported,
            hyperparameters={
                k.lstrip("_"): (list(v) if isinstance(v, tuple) else v)
                for k, v in vars(model).items()
                if k.lstrip("_") in DPCTGAN_HYPERPARAMETERS
            },
            privacy_spent={
                "epsilon": (train_eps + pre_spent) if train_eps is not None else None,
                "delta": train_delta,
                "training_epsilon": train_eps,
                "preprocessor_epsilon": pre_spent,
                "rdp_order": alpha,
                "optimizer_steps": engine.steps if engine is not None else None,
                "sample_rate": engine.sample_rate if engine is not None else None,
                "accountant": "opacus 0.14 RDP, Poisson-subsampled Gaussian assumed",
            },
        )
    else:
        hyper = {"binning": "equal_width", "bins": _bins(spec), "delta": model.delta}
        if name == "aim":
            hyper.update({k: getattr(model, k) for k in ("max_model_size", "degree", "max_cells",
                                                         "num_marginals", "rounds")})  # fmt: skip
            hyper["rounds_default"] = 16 * len(df.columns)  # snsynth: 16 x attributes
            result["aim_rounds_run"] = recorder.rounds
        result.update(
            epsilon_reported_by_library=None,
            hyperparameters=hyper,
            privacy_spent={
                "epsilon": float(model.epsilon) + pre_spent,  # model.epsilon is after preprocessing
                "delta": float(model.delta),
                "training_epsilon": float(model.epsilon),
                "preprocessor_epsilon": pre_spent,
                "accountant": "none exposed; (epsilon, delta) -> zCDP rho, spent by construction",
            },
        )
    result["epsilon_spent"] = result["privacy_spent"]["epsilon"]

    try:
        synthetic.to_parquet(out / "synthetic.parquet", index=False)
        result["synthetic"] = "synthetic.parquet"
    except ImportError:
        synthetic.to_csv(out / "synthetic.csv", index=False)
        result["synthetic"] = "synthetic.csv"
    (out / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("synthesizer", "fit_s", "sample_s",
                                             "epsilon_spent")}))  # fmt: skip
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: .venv-smartnoise/bin/python " + __file__ + " SPEC.json")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main(sys.argv[1]))
