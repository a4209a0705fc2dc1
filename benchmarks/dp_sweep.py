"""Differentially private CTGAN on Adult: quality, utility and leakage against ε.

For every ε in ``--epsilons`` (``inf`` is the non-private model with the same epochs) and every
seed, synthgan's CTGANSynthesizer is fitted on the standard Adult training split (26,048 rows) in
a fresh process (torch limited to 2 threads), with the documented category lists of Adult as
public metadata (``adult_metadata(public_domains=True)``: published in adult.names, not read from
the records) and the numeric bounds estimated under DP. The synthetic table (as many rows as the
training split) is scored against the holdout:

* quality (sdmetrics column shapes / pair trends / overall, on 5000 rows);
* train-synthetic-test-real accuracy and macro-F1 of LR / RF / HGB on holdout half A;
* membership-inference AUC and the share of synthetic rows closer to train than to holdout
  (``synthgan.evaluation.privacy_scores``, holdout half B as non-members);
* fit wall time and the median epoch time (DP overhead per epoch: DP median / non-DP median).

``--metadata none`` gives synthgan no metadata at all (category lists, frequencies and bounds
are then all released under DP); ``--train-rows N`` fits on a fixed-seed subsample of the
training split stratified on income (``random_state=0``); both are recorded in the JSON.

With ``--peers`` the same is done for smartnoise-synth's DPCTGAN, MST and AIM at the same ε in
their own virtual environment (``.venv-smartnoise``, see ``benchmarks/_smartnoise_fit.py``).
What each peer receives as public and how it spends ε:

* all peers: the column kinds (which columns are categorical), δ = 1/(n·√n) as for synthgan
  (``--peer-delta library`` keeps each library's default: 1e-9 for MST and AIM), and with
  ``--metadata public`` Adult's documented category lists (plus the token ``missing`` for
  workclass, occupation and native-country), coded as given; with ``--metadata none`` snsynth
  reads the category sets from the records *without* noise (not covered by its ε; the row
  lists them under ``categories_from_data_without_dp``).
* numeric bounds are not public (as for synthgan): snsynth estimates them under pure ε-DP
  (``approx_bounds``, a noisy histogram over power-of-two bins, so the bounds are powers of
  two) with ``--peer-preprocessor-share`` (0.1) of ε split evenly over the six numeric columns;
  the rest of ε goes to the synthesizer.
* MST and AIM are discrete: each numeric column is cut into ``--peer-bins`` equal-width bins
  over those bounds (``--peer-binning equal_width``; snsynth 1.0.8 has no DP quantile
  binning, so that is the only choice) and decoded to the bin midpoint. Without
  ``--peer-bins`` snsynth's default of 10 bins is used. MST spends its share as zCDP ρ in
  thirds (1-way marginals, tree selection, 2-way marginals); AIM spends 10 % of each round's ρ
  on selecting a marginal and 90 % on measuring it (T = 16 × 15 = 240 rounds by default, about
  4 hours a fit on 2 shared cores; ``--aim-hyperparameters '{"rounds": 24}'`` was used, see the
  worker's docstring).
* DPCTGAN: the bounds as above (min-max scaling), its own accountant (``--peer-epochs``,
  ``--peer-hyperparameters``).

With ``--resume`` the runs already in ``--output`` (same training rows and metadata) are kept and
only the missing (system, variant, ε, seed) fits are run; the JSON is rewritten after every fit.

    python benchmarks/dp_sweep.py                                   # ε 1, 3, 10, inf; seeds 0-2
    python benchmarks/dp_sweep.py --epsilons 3 --seeds 0 --epochs 2 --train-rows 3000  # smoke
    python benchmarks/dp_sweep.py --skip-synthgan --peers mst,aim --peer-bins 32 \
        --epsilons 3,10,1 --peer-threads 1 --resume --output benchmarks/results/peers.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
import pandas as pd
import tabular_speed

from synthgan.datasets import adult_metadata
from synthgan.datasets.adult import ADULT_COLUMNS

SMARTNOISE_PYTHON = _common.REPO_ROOT / ".venv-smartnoise/bin/python"
SMARTNOISE_WORKER = Path(__file__).resolve().parent / "_smartnoise_fit.py"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epsilons", default="1,3,10,inf", help="comma-separated; inf = non-DP")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument(
        "--options",
        default="{}",
        help='JSON merged into every synthgan model, e.g. {"metadata": null} for no metadata '
        'or {"privacy": {"preprocessing_epsilon_share": 0.1}}',
    )
    p.add_argument("--peers", default="", help="comma-separated: dpctgan, mst, aim (smartnoise)")
    p.add_argument("--skip-synthgan", action="store_true", help="run the peers only")
    p.add_argument("--peer-epochs", type=int, help="DPCTGAN epochs (default: --epochs)")
    p.add_argument(
        "--peer-hyperparameters",
        default="{}",
        help='JSON for DPCTGAN, e.g. {"sigma": 1.2} (its default noise multiplier is 5)',
    )
    p.add_argument(
        "--metadata",
        choices=("public", "none"),
        default="public",
        help="public: Adult's documented category lists; none: no metadata, all released under DP",
    )
    p.add_argument(
        "--peer-binning",
        choices=("equal_width",),
        default="equal_width",
        help="MST/AIM numeric columns: equal-width bins over the (DP) bounds",
    )
    p.add_argument("--peer-bins", type=int, help="MST/AIM bins per numeric column (snsynth: 10)")
    p.add_argument(
        "--peer-preprocessor-share", type=float, default=0.1, help="share of ε for DP bounds"
    )
    p.add_argument(
        "--peer-delta",
        choices=("sweep", "library"),
        default="sweep",
        help="sweep: δ = 1/(n·√n) as for synthgan; library: each library's default",
    )
    p.add_argument("--aim-hyperparameters", default="{}", help='JSON for AIM, e.g. {"rounds": 60}')
    p.add_argument("--peer-threads", type=int, default=2, help="threads of a peer's process")
    p.add_argument("--resume", action="store_true", help="keep the finished runs in --output")
    p.add_argument("--peer-log", type=Path, help="folder for each peer process's output (verbose)")
    p.add_argument(
        "--train-rows",
        type=int,
        help="fit on a subsample of the training split (stratified on income, random_state=0)",
    )
    p.add_argument("--quality-rows", type=int, default=5000)
    p.add_argument("--data", type=Path, help="path of adult.csv (default: ../shared/data)")
    p.add_argument(
        "--output", type=Path, default=_common.REPO_ROOT / "benchmarks/results/dp_sweep.json"
    )
    return p.parse_args(argv)


def synthgan_options(epsilon: float, args) -> dict:
    options = {} if args.metadata == "none" else {"metadata": adult_metadata(public_domains=True)}
    options.update(json.loads(args.options))
    if math.isfinite(epsilon):  # --options may add privacy settings: {"privacy": {...}}
        options["privacy"] = {**options.get("privacy", {}), "target_epsilon": epsilon}
    else:
        options.pop("privacy", None)
    return options


def fit_synthgan(epsilon: float, seed: int, args, workdir: Path, rows: int):
    speed_args = argparse.Namespace(
        epochs=args.epochs, options=synthgan_options(epsilon, args), synthgan_options="{}"
    )
    folder = workdir / f"synthgan-eps-{epsilon:g}"  # run_fit names its folders by seed only
    folder.mkdir(exist_ok=True)
    if not (folder / "train.parquet").exists():
        os.link(workdir / "train.parquet", folder / "train.parquet")
    return tabular_speed.run_fit("synthgan", seed, speed_args, folder, rows)


def variant(system: str, args) -> str:
    """What distinguishes runs of one system beyond ε and seed (resume and summary key)."""
    if system == "synthgan":
        return f"metadata {args.metadata}"
    if system in ("mst", "aim"):
        label = f"{args.peer_binning} {args.peer_bins or 10} bins"
        extra = json.loads(args.aim_hyperparameters) if system == "aim" else {}
        return label + "".join(f", {k}={v}" for k, v in sorted(extra.items()))
    return f"epochs {args.peer_epochs or args.epochs}, {args.peer_hyperparameters}"


def public_categories(args, token: str = "missing") -> dict | None:
    """Adult's documented category lists (the same as synthgan gets), missing as a category."""
    if args.metadata == "none":
        return None
    columns = adult_metadata(public_domains=True)["columns"]
    return {
        name: [*col["categories"], *([token] if col["missing"] else [])]
        for name, col in columns.items()
        if "categories" in col
    }


def peer_spec(name: str, epsilon: float, seed: int, args, workdir: Path, n: int, rows: int):
    continuous = [c for c in ADULT_COLUMNS if c not in _common.ADULT_DISCRETE]
    hyper = {"dpctgan": args.peer_hyperparameters, "aim": args.aim_hyperparameters}
    spec = {
        "synthesizer": name,
        "epsilon": epsilon,
        "delta": 1 / (n * math.sqrt(n)) if args.peer_delta == "sweep" else None,
        "seed": seed,
        "train": str(workdir / "train.csv"),
        "categorical_columns": list(_common.ADULT_DISCRETE),
        "continuous_columns": continuous,
        "preprocessor_eps": args.peer_preprocessor_share * epsilon,
        "epochs": args.peer_epochs or args.epochs,
        "hyperparameters": json.loads(hyper.get(name, "{}")),
        "public_categories": public_categories(args),
        "rows": rows,
        "verbose": args.peer_log is not None,
    }
    if name in ("mst", "aim"):
        spec["binning"] = args.peer_binning
        if args.peer_bins:
            spec["bins"] = args.peer_bins
    return spec


def fit_peer(name: str, epsilon: float, seed: int, args, workdir: Path, n: int, rows: int):
    out = workdir / f"{name}-{epsilon:g}-{seed}"
    out.mkdir()
    spec = {**peer_spec(name, epsilon, seed, args, workdir, n, rows), "output": str(out)}
    (out / "spec.json").write_text(json.dumps(spec))
    threads = str(args.peer_threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
           "OPENBLAS_NUM_THREADS": threads}  # fmt: skip
    if args.peer_threads == 1:  # jax (mbi) keeps its own thread pool otherwise
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    log = out / "log.txt"
    if args.peer_log is not None:  # follow a long fit's progress (AIM prints every round)
        args.peer_log.mkdir(parents=True, exist_ok=True)
        log = args.peer_log / f"{name}-{epsilon:g}-{seed}.log"
    start = time.perf_counter()
    with log.open("w") as stream:
        proc = subprocess.run(
            [str(SMARTNOISE_PYTHON), "-u", str(SMARTNOISE_WORKER), str(out / "spec.json")],
            env=env, stdout=stream, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    row = {"system": name, "seed": seed, "process_s": time.perf_counter() - start, "spec": spec}
    if proc.returncode != 0:
        row["error"] = "\n".join(log.read_text().strip().splitlines()[-15:])
        return row, None
    row.update(json.loads((out / "result.json").read_text()))
    table = _read_any(out)
    return row, table


def _read_any(out: Path) -> pd.DataFrame:
    if (out / "synthetic.parquet").exists():
        return pd.read_parquet(out / "synthetic.parquet")
    return pd.read_csv(out / "synthetic.csv")


def score(train, test, members_holdout, table, quality_rows: int) -> dict:
    from synthgan.evaluation.privacy import privacy_scores

    row = tabular_speed.flatten(_common.evaluate_table(train, test, table, quality_rows))
    leak = privacy_scores(train, table, members_holdout, random_state=0)
    row["mia_auc"] = leak["membership_inference"]["auc"]
    row["dcr_share"] = leak["dcr"]["share_closer_to_train"]
    return row


def summarise(rows: list[dict]) -> list[dict]:
    keys = ("acc_LR", "acc_RF", "acc_HGB", "f1_HGB", "quality", "mia_auc", "dcr_share",
            "fit_s", "epoch_median_s", "epsilon_spent")  # fmt: skip
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if "error" not in row:
            key = (row["system"], row.get("variant"), row["epsilon"])
            groups.setdefault(key, []).append(row)
    out = []
    for (system, label, epsilon), group in groups.items():
        summary = {"system": system, "variant": label, "epsilon": epsilon, "runs": len(group)}
        for key in keys:
            values = [r[key] for r in group if r.get(key) is not None]
            summary[key] = statistics.mean(values) if values else None
            summary[f"{key}_sd"] = statistics.stdev(values) if len(values) > 1 else None
        out.append(summary)
    base = next((s for s in out if s["system"] == "synthgan" and s["epsilon"] is None), None)
    # the DP overhead is per epoch, against the non-private synthgan model
    for summary in out:
        if base and base["epoch_median_s"] and summary["epoch_median_s"]:
            summary["epoch_overhead"] = summary["epoch_median_s"] / base["epoch_median_s"]
    return out


def report(summary: list[dict]) -> str:
    columns = [
        ("system", "system", "s"), ("variant", "variant", "s"), ("epsilon", "ε", "g"),
        ("runs", "runs", "d"),
        ("epsilon_spent", "ε spent", ".3f"), ("acc_LR", "acc LR", ".3f"),
        ("acc_RF", "acc RF", ".3f"), ("acc_HGB", "acc HGB", ".3f"),
        ("acc_HGB_sd", "sd", ".3f"), ("f1_HGB", "F1 HGB", ".3f"), ("quality", "quality", ".3f"),
        ("mia_auc", "MIA AUC", ".3f"), ("dcr_share", "closer to train", ".3f"),
        ("fit_s", "fit s", ".0f"), ("epoch_median_s", "epoch s", ".2f"),
        ("epoch_overhead", "epoch × non-DP", ".2f"),
    ]  # fmt: skip
    return _common.format_table(summary, columns)


def training_split(args):
    """(train, test, non-members): the standard split, optionally a stratified subsample."""
    from sklearn.model_selection import train_test_split

    train, holdout = _common.split_adult(_common.load_adult(args.data))
    if args.train_rows and args.train_rows < len(train):
        train, _ = train_test_split(
            train, train_size=args.train_rows, random_state=0, stratify=train[_common.TARGET]
        )
        train = train.reset_index(drop=True)
    half = len(holdout) // 2
    return train, holdout.iloc[:half], holdout.iloc[half:].reset_index(drop=True)


def finished_runs(args, train) -> list[dict]:
    """Runs kept from ``--output`` with ``--resume`` (errors are run again)."""
    if not (args.resume and args.output.exists()):
        return []
    old = json.loads(args.output.read_text())
    config = old.get("config", {})
    if config.get("train_rows") != len(train) or config.get("metadata", "public") != args.metadata:
        raise SystemExit(f"--resume: {args.output} has other training rows or metadata")
    return [r for r in old.get("runs", []) if "error" not in r]


def run_one(system, epsilon, seed, args, workdir, split) -> dict:
    train, test, non_members = split
    print(f"{system} ({variant(system, args)}) ε={epsilon:g} seed {seed} ...", flush=True)
    if system == "synthgan":
        row, table = fit_synthgan(epsilon, seed, args, workdir, len(train))
    else:
        row, table = fit_peer(system, epsilon, seed, args, workdir, len(train), len(train))
    # ε = None marks the non-private model (JSON has no infinity)
    row.update(
        system=system,
        variant=variant(system, args),
        epsilon=epsilon if math.isfinite(epsilon) else None,
        seed=seed,
    )
    spent = row.get("privacy_spent")
    row["epsilon_spent"] = spent["epsilon"] if spent else row.get("epsilon_spent")
    if table is not None:
        row.update(score(train, test, non_members, table, args.quality_rows))
        print(f"   acc HGB {row['acc_HGB']:.3f}  MIA AUC {row['mia_auc']:.3f}  "
              f"fit {row.get('fit_s', row['process_s']):.0f} s", flush=True)  # fmt: skip
    else:
        print(f"   failed: {row['error']}", flush=True)
    return row


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    split = training_split(args)
    train = split[0]
    epsilons = [float(e) for e in args.epsilons.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    peers = [p for p in args.peers.split(",") if p]
    rows = finished_runs(args, train)
    done = {(r["system"], r.get("variant"), r["epsilon"], r["seed"]) for r in rows}
    with tempfile.TemporaryDirectory(prefix="synthgan-dp-") as tmp:
        workdir = Path(tmp)
        train.to_parquet(workdir / "train.parquet", index=False)
        train.to_csv(workdir / "train.csv", index=False)
        jobs = [] if args.skip_synthgan else [("synthgan", e, s) for e in epsilons for s in seeds]
        jobs += [(p, e, s) for e in epsilons if math.isfinite(e) for p in peers for s in seeds]
        for system, epsilon, seed in jobs:
            eps_key = epsilon if math.isfinite(epsilon) else None
            if (system, variant(system, args), eps_key, seed) in done:
                continue
            rows.append(run_one(system, epsilon, seed, args, workdir, split))
            _common.write_json(args.output, payload(args, rows, start, train))
    summary = summarise(rows)
    print()
    print(report(summary))
    out = payload(args, rows, start, train)
    out["summary"] = summary
    _common.write_json(args.output, out)
    print(f"\nwrote {args.output}")
    return 0


def payload(args, rows, start, train) -> dict:
    return {
        "benchmark": "dp_sweep",
        "machine": _common.machine_info(),
        "config": {
            **{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "data": str(args.data),
            "train_rows": len(train),
            "train_rows_requested": args.train_rows,
            "train_subsample": (
                "stratified on income, random_state=0" if args.train_rows else "full train split"
            ),
        },
        "runs": rows,
        "benchmark_wall_s": time.perf_counter() - start,
    }


if __name__ == "__main__":
    sys.exit(main())
