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

With ``--peers`` the same is done for smartnoise-synth's DPCTGAN and MST at the same ε in their
own virtual environment (``.venv-smartnoise``, see ``benchmarks/_smartnoise_fit.py``).

    python benchmarks/dp_sweep.py                                   # ε 1, 3, 10, inf; seeds 0-2
    python benchmarks/dp_sweep.py --epsilons 3 --seeds 0 --epochs 2 --train-rows 3000  # smoke
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
    p.add_argument("--peers", default="", help="comma-separated: dpctgan, mst (smartnoise)")
    p.add_argument("--skip-synthgan", action="store_true", help="run the peers only")
    p.add_argument("--peer-epochs", type=int, help="DPCTGAN epochs (default: --epochs)")
    p.add_argument(
        "--peer-hyperparameters",
        default="{}",
        help='JSON for DPCTGAN, e.g. {"sigma": 1.2} (its default noise multiplier is 5)',
    )
    p.add_argument("--train-rows", type=int, help="subsample the training split (smoke runs)")
    p.add_argument("--quality-rows", type=int, default=5000)
    p.add_argument("--data", type=Path, help="path of adult.csv (default: ../shared/data)")
    p.add_argument(
        "--output", type=Path, default=_common.REPO_ROOT / "benchmarks/results/dp_sweep.json"
    )
    return p.parse_args(argv)


def synthgan_options(epsilon: float, args) -> dict:
    options = {"metadata": adult_metadata(public_domains=True), **json.loads(args.options)}
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


def fit_peer(name: str, epsilon: float, seed: int, args, workdir: Path, rows: int):
    out = workdir / f"{name}-{epsilon:g}-{seed}"
    out.mkdir()
    spec = {
        "synthesizer": name,
        "epsilon": epsilon,
        "delta": None,
        "seed": seed,
        "train": str(workdir / "train.csv"),
        "categorical_columns": list(_common.ADULT_DISCRETE),
        "continuous_columns": [c for c in ADULT_COLUMNS if c not in _common.ADULT_DISCRETE],
        "epochs": args.peer_epochs or args.epochs,
        "hyperparameters": json.loads(args.peer_hyperparameters) if name == "dpctgan" else {},
        "rows": rows,
        "output": str(out),
    }
    (out / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    start = time.perf_counter()
    proc = subprocess.run(
        [str(SMARTNOISE_PYTHON), str(SMARTNOISE_WORKER), str(out / "spec.json")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    row = {"system": name, "seed": seed, "process_s": time.perf_counter() - start}
    if proc.returncode != 0:
        row["error"] = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
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
            groups.setdefault((row["system"], row["epsilon"]), []).append(row)
    out = []
    for (system, epsilon), group in groups.items():
        summary = {"system": system, "epsilon": epsilon, "runs": len(group)}
        for key in keys:
            values = [r[key] for r in group if r.get(key) is not None]
            summary[key] = statistics.mean(values) if values else None
            summary[f"{key}_sd"] = statistics.stdev(values) if len(values) > 1 else None
        out.append(summary)
    base = next((s for s in out if s["system"] == "synthgan" and s["epsilon"] is None), None)
    for summary in out:
        if base and base["epoch_median_s"] and summary["epoch_median_s"]:
            summary["epoch_overhead"] = summary["epoch_median_s"] / base["epoch_median_s"]
    return out


def report(summary: list[dict]) -> str:
    columns = [
        ("system", "system", "s"), ("epsilon", "ε", "g"), ("runs", "runs", "d"),
        ("epsilon_spent", "ε spent", ".3f"), ("acc_LR", "acc LR", ".3f"),
        ("acc_RF", "acc RF", ".3f"), ("acc_HGB", "acc HGB", ".3f"),
        ("acc_HGB_sd", "sd", ".3f"), ("f1_HGB", "F1 HGB", ".3f"), ("quality", "quality", ".3f"),
        ("mia_auc", "MIA AUC", ".3f"), ("dcr_share", "closer to train", ".3f"),
        ("fit_s", "fit s", ".0f"), ("epoch_median_s", "epoch s", ".2f"),
        ("epoch_overhead", "epoch × non-DP", ".2f"),
    ]  # fmt: skip
    return _common.format_table(summary, columns)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    train, holdout = _common.split_adult(_common.load_adult(args.data))
    if args.train_rows and args.train_rows < len(train):
        train = train.sample(n=args.train_rows, random_state=0).reset_index(drop=True)
    half = len(holdout) // 2
    test, non_members = holdout.iloc[:half], holdout.iloc[half:].reset_index(drop=True)
    epsilons = [float(e) for e in args.epsilons.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    peers = [p for p in args.peers.split(",") if p]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="synthgan-dp-") as tmp:
        workdir = Path(tmp)
        train.to_parquet(workdir / "train.parquet", index=False)
        train.to_csv(workdir / "train.csv", index=False)
        jobs = [] if args.skip_synthgan else [("synthgan", e, s) for e in epsilons for s in seeds]
        jobs += [(p, e, s) for p in peers for e in epsilons if math.isfinite(e) for s in seeds]
        for system, epsilon, seed in jobs:
            print(f"{system} ε={epsilon:g} seed {seed} ...", flush=True)
            if system == "synthgan":
                row, table = fit_synthgan(epsilon, seed, args, workdir, len(train))
            else:
                row, table = fit_peer(system, epsilon, seed, args, workdir, len(train))
            # ε = None marks the non-private model (JSON has no infinity)
            row.update(
                system=system, epsilon=epsilon if math.isfinite(epsilon) else None, seed=seed
            )
            spent = row.get("privacy_spent")
            row["epsilon_spent"] = spent["epsilon"] if spent else row.get("epsilon_spent")
            if table is not None:
                row.update(score(train, test, non_members, table, args.quality_rows))
                print(f"   acc HGB {row['acc_HGB']:.3f}  MIA AUC {row['mia_auc']:.3f}  "
                      f"fit {row.get('fit_s', row['process_s']):.0f} s", flush=True)  # fmt: skip
            else:
                print(f"   failed: {row['error']}", flush=True)
            rows.append(row)
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
            **vars(args),
            "data": str(args.data),
            "output": str(args.output),
            "train_rows": len(train),
        },
        "runs": rows,
        "benchmark_wall_s": time.perf_counter() - start,
    }


if __name__ == "__main__":
    sys.exit(main())
