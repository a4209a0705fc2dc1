"""The full evaluation report (synthgan.evaluate) on Adult for four tables, side by side.

The standard Adult split gives train (26,048 rows) and holdout (6,513 rows); the holdout is cut
in two halves, A and B. Every table is scored with ``synthgan.evaluate(train, table,
holdout=B, target="income")``, so all four share the same test set and the same privacy holdout:

* real holdout      half A of the holdout, as if it were synthetic (what ideal looks like);
* marginals         every column drawn independently from train (shapes perfect, no pairs);
* synthgan          CTGANSynthesizer fitted on train (recipe and epochs below), as many rows;
* ctgan             the ``ctgan`` package 0.12.1 fitted on train, same epochs.

Each fit runs in its own process (benchmarks/_tabular_fit.py, torch limited to 2 threads).

    python benchmarks/evaluate_baselines.py                   # 100 epochs, about 12 minutes
    python benchmarks/evaluate_baselines.py --epochs 1 --train-rows 2000   # smoke run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import _common
import pandas as pd
import tabular_speed

HEADLINE_ROWS = [
    ("fidelity.quality.column_shapes", "column shapes (1 ideal)"),
    ("fidelity.quality.column_pair_trends", "column pair trends (1 ideal)"),
    ("fidelity.quality.overall", "sdmetrics overall (do not headline)"),
    ("fidelity.detection.logistic_regression.roc_auc", "detection AUC, LR (0.5 ideal)"),
    ("fidelity.detection.gradient_boosting.roc_auc", "detection AUC, HGB (0.5 ideal)"),
    ("utility.tstr.logistic_regression.accuracy", "TSTR accuracy LR"),
    ("utility.tstr.random_forest.accuracy", "TSTR accuracy RF"),
    ("utility.tstr.hist_gradient_boosting.accuracy", "TSTR accuracy HGB"),
    ("utility.tstr.hist_gradient_boosting.roc_auc", "TSTR ROC-AUC HGB"),
    ("utility.trtr.hist_gradient_boosting.accuracy", "TRTR accuracy HGB (reference)"),
    ("utility.augmentation_gain.hist_gradient_boosting.accuracy", "augmentation gain HGB acc"),
    ("privacy.membership_inference.auc", "membership inference AUC (0.5 ideal)"),
    ("privacy.membership_inference.distance_attack_auc", "distance attack AUC (0.5 ideal)"),
    ("privacy.dcr.share_closer_to_train", "share closer to train (0.5 ideal)"),
    ("privacy.dcr.share_closer_to_train_if_copied", "  ... if train were copied"),
    ("privacy.exact_copy_rate", "exact-copy rate"),
    ("privacy.exact_copy_rate_holdout_baseline", "exact-copy rate of real holdout"),
    ("privacy.nndr.synthetic_quantiles.p50", "NNDR median"),
    ("privacy.nndr.holdout_baseline_quantiles.p50", "NNDR median of real holdout"),
    ("privacy.attribute_inference.max_risk", "attribute inference max risk (0 ideal)"),
    ("privacy.linkability.risk", "linkability risk (0 ideal)"),
    ("verdict.level", "leakage verdict"),
    ("timings_s.total", "evaluation time s"),
]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--recipe", default="fast", choices=sorted(tabular_speed.RECIPES))
    p.add_argument("--train-rows", type=int, help="subsample the training split (smoke runs)")
    p.add_argument("--max-rows", type=int, default=5000, help="rows per frame in evaluate()")
    p.add_argument("--data", type=Path, help="path of adult.csv (default: ../shared/data)")
    p.add_argument(
        "--output",
        type=Path,
        default=_common.REPO_ROOT / "benchmarks/results/evaluate_baselines.json",
    )
    return p.parse_args(argv)


def fit_tables(args, train: pd.DataFrame) -> tuple[dict, dict]:
    """Fit synthgan and ctgan in fresh processes; return ({name: table}, {name: fit row})."""
    speed_args = argparse.Namespace(
        epochs=args.epochs, options=tabular_speed.RECIPES[args.recipe], synthgan_options="{}"
    )
    tables, fits = {}, {}
    with tempfile.TemporaryDirectory(prefix="synthgan-eval-") as tmp:
        workdir = Path(tmp)
        train.to_parquet(workdir / "train.parquet", index=False)
        for system in ("synthgan", "ctgan"):
            print(f"fitting {system} ({args.epochs} epochs) ...", flush=True)
            row, table = tabular_speed.run_fit(system, args.seed, speed_args, workdir, len(train))
            if table is None:
                raise RuntimeError(f"{system} fit failed:\n{row['error']}")
            tables[system], fits[system] = table, row
    return tables, fits


def lookup(report: dict, dotted: str):
    value = report
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def format_rows(reports: dict[str, dict]) -> str:
    names = list(reports)
    width = max(len(label) for _, label in HEADLINE_ROWS)
    lines = [f"{'':{width}s}  " + "  ".join(f"{n:>14s}" for n in names)]
    for dotted, label in HEADLINE_ROWS:
        cells = []
        for name in names:
            value = lookup(reports[name], dotted)
            cells.append(f"{value:14.3f}" if isinstance(value, float) else f"{value!s:>14s}")
        lines.append(f"{label:{width}s}  " + "  ".join(cells))
    return "\n".join(lines)


def main(argv=None) -> int:
    import synthgan

    args = parse_args(argv)
    start = time.perf_counter()
    train, holdout = _common.split_adult(_common.load_adult(args.data))
    if args.train_rows and args.train_rows < len(train):
        train = train.sample(n=args.train_rows, random_state=0).reset_index(drop=True)
    half = len(holdout) // 2
    holdout_a, holdout_b = holdout.iloc[:half], holdout.iloc[half:].reset_index(drop=True)
    tables = {
        "real holdout": holdout_a.reset_index(drop=True),
        "marginals": _common.independent_marginals(train, len(train), random_state=0),
    }
    fitted, fits = fit_tables(args, train)
    tables.update(fitted)
    reports = {}
    for name, table in tables.items():
        print(f"evaluating {name} ...", flush=True)
        t0 = time.perf_counter()
        report = synthgan.evaluate(
            train, table, holdout_b, "income", max_rows=args.max_rows, random_state=args.seed
        ).to_dict(plots=False)
        report["timings_s"]["total"] = time.perf_counter() - t0
        reports[name] = report
    print()
    print(
        f"Adult: train {len(train)} rows, holdout B {len(holdout_b)} rows (test and privacy "
        f"holdout); synthesizers: {args.epochs} epochs, synthgan recipe {args.recipe!r}"
    )
    print(format_rows(reports))
    payload = {
        "benchmark": "evaluate_baselines",
        "machine": _common.machine_info(),
        "config": {**vars(args), "data": str(args.data), "output": str(args.output)},
        "fits": fits,
        "reports": reports,
        "benchmark_wall_s": time.perf_counter() - start,
    }
    _common.write_json(args.output, payload)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
