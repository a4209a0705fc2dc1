"""Speed and quality of synthgan's CTGANSynthesizer against the ``ctgan`` package on Adult.

Every (system, seed) fit runs in its own fresh Python process, one after another, with torch
limited to 2 threads; the parent process evaluates each synthetic table (sdmetrics quality on
5000 rows, TSTR with LR / RF / HGB on the real holdout, share of ``>50K``) and adds two
baselines: the real training set (TRTR) and independent marginals.

    python benchmarks/tabular_speed.py                       # 100 epochs, seeds 0 1, both systems
    python benchmarks/tabular_speed.py --systems ctgan --epochs 1 --seeds 0 --train-rows 2000
    python benchmarks/tabular_speed.py --synthgan-options '{"gp_every": 4}'
    python benchmarks/tabular_speed.py --systems ctgan,synthgan,synthgan:fast,ctgan@300

A system is ``NAME[:RECIPE][@EPOCHS]``: ``synthgan:fast`` uses the named recipe below,
``ctgan@300`` overrides ``--epochs`` for that system. Ratios compare every synthgan variant with
the ctgan run of the same epoch count.

See benchmarks/README.md for the measurement definitions and run times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
import pandas as pd

# Named option sets for synthgan's CTGANSynthesizer; --synthgan-options is merged on top.
_REFERENCE = {"gp_every": 1, "reuse_fake": False, "autocast": False, "ema_decay": None}
RECIPES: dict[str, dict] = {
    # The reference algorithm: every step as in Xu et al. (2019) and ctgan.
    "reference": dict(_REFERENCE),
    # Less work per step, same hyperparameters: lazy gradient penalty (every 4th critic step,
    # scaled by 4), one generator pass shared by the critic and generator steps, bf16 autocast.
    "fast": {**_REFERENCE, "gp_every": 4, "reuse_fake": True, "autocast": True},
    # The same without bf16 (for CPUs without native bf16 matrix instructions).
    "fast_fp32": {**_REFERENCE, "gp_every": 4, "reuse_fake": True},
    # The fast recipe sampling from an exponential moving average of the generator's weights:
    # synthgan's defaults (autocast="auto" is True on CPUs with native bf16, as here).
    "fast_ema": {"gp_every": 4, "reuse_fake": True, "autocast": True, "ema_decay": 0.999},
    "default": {},
    # Larger Adam steps (tried for time-to-quality; they lose quality on Adult).
    "fast_lr5": {
        **_REFERENCE,
        "gp_every": 4,
        "reuse_fake": True,
        "autocast": True,
        "generator_lr": 5e-4,
        "discriminator_lr": 5e-4,
    },
    "fast_lr10": {
        **_REFERENCE,
        "gp_every": 4,
        "reuse_fake": True,
        "autocast": True,
        "generator_lr": 1e-3,
        "discriminator_lr": 1e-3,
    },
}
SYSTEMS = ("synthgan", "ctgan")
THREADS = 2
MODELS = (("logistic_regression", "LR"), ("random_forest", "RF"), ("hist_gradient_boosting", "HGB"))
WORKER = Path(__file__).resolve().parent / "_tabular_fit.py"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset")
    p.add_argument("--train-rows", type=int, help="subsample the training split (smoke runs)")
    p.add_argument("--sample-rows", type=int, help="rows to sample (default: full train split)")
    p.add_argument("--quality-rows", type=int, default=5000, help="rows used by sdmetrics")
    p.add_argument("--recipe", default="reference", choices=sorted(RECIPES))
    p.add_argument("--synthgan-options", default="{}", help="JSON dict of extra keyword args")
    p.add_argument("--data", type=Path, help="path of adult.csv (default: ../shared/data)")
    p.add_argument(
        "--output", type=Path, default=_common.REPO_ROOT / "benchmarks/results/tabular_speed.json"
    )
    args = p.parse_args(argv)
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    for label in args.systems:
        name, recipe, _ = split_system(label, args.epochs)
        if name not in SYSTEMS:
            p.error(f"unknown system {name!r} in {label!r}; choose from {list(SYSTEMS)}")
        if recipe is not None and (name != "synthgan" or recipe not in RECIPES):
            p.error(f"{label!r}: recipes apply to synthgan only, one of {sorted(RECIPES)}")
    try:
        extra = json.loads(args.synthgan_options)
    except json.JSONDecodeError as exc:
        p.error(f"--synthgan-options is not valid JSON: {exc}")
    if not isinstance(extra, dict):
        p.error("--synthgan-options must be a JSON object, e.g. '{\"gp_every\": 4}'")
    args.options = {**RECIPES[args.recipe], **extra}
    return args


def split_system(label: str, default_epochs: int) -> tuple[str, str | None, int]:
    """``synthgan:fast@150`` -> ("synthgan", "fast", 150)."""
    head, _, epochs = label.partition("@")
    name, _, recipe = head.partition(":")
    return name, recipe or None, int(epochs) if epochs else default_epochs


def system_options(label: str, args) -> dict:
    name, recipe, _ = split_system(label, args.epochs)
    if name != "synthgan":
        return {}
    if recipe is None:
        return args.options
    return {**RECIPES[recipe], **json.loads(args.synthgan_options)}


def load_data(args):
    train, holdout = _common.split_adult(_common.load_adult(args.data))
    full_train_rows = len(train)
    if args.train_rows and args.train_rows < len(train):
        train = train.sample(n=args.train_rows, random_state=0).reset_index(drop=True)
    return train, holdout, args.sample_rows or full_train_rows


def run_fit(system: str, seed: int, args, workdir: Path, sample_rows: int):
    """Fit ``system`` in a fresh subprocess; return (result row, synthetic table or None)."""
    name, _, epochs = split_system(system, args.epochs)
    out = workdir / f"{system.replace(':', '_').replace('@', '_')}-{seed}"
    out.mkdir()
    spec = {
        "task": name,
        "seed": seed,
        "epochs": epochs,
        "options": system_options(system, args),
        "discrete_columns": _common.ADULT_DISCRETE,
        "train_path": str(workdir / "train.parquet"),
        "out_dir": str(out),
        "sample_rows": sample_rows,
        "threads": THREADS,
    }
    (out / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(out / "spec.json")],
        env=env,
        capture_output=True,
        text=True,
    )
    row = {
        "system": system,
        "seed": seed,
        "epochs": epochs,
        "options": spec["options"],
        "process_s": time.perf_counter() - start,
    }
    if proc.returncode != 0:
        row["error"] = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        return row, None
    row.update(json.loads((out / "result.json").read_text()))
    return row, pd.read_parquet(out / "synthetic.parquet")


def flatten(evaluation: dict) -> dict:
    """Evaluation dict -> flat row fields used by the tables."""
    q, t = evaluation["quality"], evaluation["tstr"]
    row = {
        "quality": q["overall"],
        "shapes": q["column_shapes"],
        "pairs": q["column_pair_trends"],
        "positive_share": evaluation["positive_share"],
    }
    for model, short in MODELS:
        row[f"acc_{short}"] = t[model]["accuracy"]
        row[f"f1_{short}"] = t[model]["macro_f1"]
        row[f"auc_{short}"] = t[model]["roc_auc"]
    return row


def baselines(train, holdout, quality_rows: int) -> list[dict]:
    """TRTR (the real train set as the 'synthetic' table) and independent marginals."""
    from synthgan.evaluation import quality_scores

    trtr = _common.evaluate_table(train, holdout, train, quality_rows)
    # Quality of real data itself: the holdout scored against train (shared/data/README.md).
    trtr["quality"] = quality_scores(train, holdout, max_rows=quality_rows, random_state=0)
    marginals = _common.independent_marginals(train, len(train), random_state=0)
    tables = {
        "real train (TRTR)": trtr,
        "independent marginals": _common.evaluate_table(train, holdout, marginals, quality_rows),
    }
    return [
        {"system": name, "seed": None, **flatten(ev), "evaluation": ev}
        for name, ev in tables.items()
    ]


SPEED_KEYS = (
    "transformer_fit_s",
    "transform_s",
    "epoch_median_s",
    "epoch_mean_s",
    "fit_s",
    "sample_rows_per_s",
    "peak_rss_mb",
)
QUALITY_KEYS = (
    "quality",
    "shapes",
    "pairs",
    *(f"{m}_{s}" for m in ("acc", "f1", "auc") for _, s in MODELS),
    "positive_share",
)


def mean_rows(runs: list[dict], systems: list[str]) -> list[dict]:
    means = []
    for system in systems:
        ok = [r for r in runs if r["system"] == system and "error" not in r]
        if not ok:
            continue
        row = {"system": system, "seed": "mean"}
        for key in SPEED_KEYS + QUALITY_KEYS:
            values = [r[key] for r in ok if r.get(key) is not None]
            row[key] = statistics.fmean(values) if values else None
        means.append(row)
    return means


def ratios(means: list[dict], default_epochs: int) -> dict:
    """ctgan / synthgan for the speed measures, for every synthgan variant against the ctgan
    run with the same number of epochs (>1 on times means synthgan is faster)."""
    by = {m["system"]: m for m in means}
    out = {}
    for label, s in by.items():
        name, _, epochs = split_system(label, default_epochs)
        peers = [
            m
            for lab, m in by.items()
            if split_system(lab, default_epochs)[::2] == ("ctgan", epochs)
        ]
        if name != "synthgan" or not peers:
            continue
        c = peers[0]
        out[f"{c['system']} / {label}"] = _speed_ratios(c, s)
    return out


def _speed_ratios(c: dict, s: dict) -> dict:
    def ratio(a, b):
        return a / b if a is not None and b else None

    def both(row):  # transformer fit + transform, when both are known
        parts = (row["transformer_fit_s"], row["transform_s"])
        return None if None in parts else sum(parts)

    return {
        "transformer_fit": ratio(c["transformer_fit_s"], s["transformer_fit_s"]),
        "transform": ratio(c["transform_s"], s["transform_s"]),
        "transformer_fit_plus_transform": ratio(both(c), both(s)),
        "epoch_median": ratio(c["epoch_median_s"], s["epoch_median_s"]),
        "epoch_mean": ratio(c["epoch_mean_s"], s["epoch_mean_s"]),
        "fit_total": ratio(c["fit_s"], s["fit_s"]),
        "sampling_rate": ratio(c["sample_rows_per_s"], s["sample_rows_per_s"]),
        "peak_rss": ratio(c["peak_rss_mb"], s["peak_rss_mb"]),
    }


def time_to_quality(means: list[dict], default_epochs: int) -> dict:
    """Did each synthgan variant reach the quality of the longest ctgan run, and how much sooner?

    The target is the ctgan run with the most epochs (``ctgan@300`` in the full benchmark); a
    variant "reaches" it when its mean column-pair-trends score and its mean TSTR accuracy of
    every model are at least the target's. ``speedup`` is ctgan's total fit time over the
    variant's, so a variant trained for a fixed epoch budget that reaches the target gives a
    lower bound on the time-to-quality speed-up.
    """
    ctgan = [m for m in means if split_system(m["system"], default_epochs)[0] == "ctgan"]
    if not ctgan:
        return {}
    target = max(ctgan, key=lambda m: split_system(m["system"], default_epochs)[2])
    out = {"target": target["system"], "variants": {}}
    for m in means:
        if split_system(m["system"], default_epochs)[0] != "synthgan":
            continue
        checks = {"pairs": (m["pairs"], target["pairs"])}
        checks.update({f"acc_{s}": (m[f"acc_{s}"], target[f"acc_{s}"]) for _, s in MODELS})
        reached = {k: v is not None and t is not None and v >= t for k, (v, t) in checks.items()}
        out["variants"][m["system"]] = {
            "reached": all(reached.values()),
            "per_measure": {k: {"value": v, "target": t} for k, (v, t) in checks.items()},
            "speedup": target["fit_s"] / m["fit_s"] if m["fit_s"] else None,
        }
    return out


SPEED_COLUMNS = [
    ("system", "system", ""),
    ("seed", "seed", ""),
    ("transformer_fit_s", "tf fit s", ".2f"),
    ("transform_s", "transform s", ".2f"),
    ("epoch_median_s", "s/epoch med", ".3f"),
    ("epoch_mean_s", "s/epoch mean", ".3f"),
    ("fit_s", "fit total s", ".1f"),
    ("sample_rows_per_s", "sample rows/s", ",.0f"),
    ("peak_rss_mb", "peak RSS MB", ".0f"),
]
QUALITY_COLUMNS = [
    ("system", "system", ""),
    ("seed", "seed", ""),
    ("quality", "quality", ".3f"),
    ("shapes", "shapes", ".3f"),
    ("pairs", "pairs", ".3f"),
    *((f"acc_{s}", f"acc {s}", ".3f") for _, s in MODELS),
    *((f"f1_{s}", f"F1 {s}", ".3f") for _, s in MODELS),
    *((f"auc_{s}", f"AUC {s}", ".3f") for _, s in MODELS),
    ("positive_share", ">50K share", ".3f"),
]


def report(runs, means, base, rat, args) -> str:
    ok = [r for r in runs if "error" not in r]
    lines = [
        f"Adult, {args.epochs} epochs unless @N, train rows {args.n_train}, recipe "
        f"{args.recipe!r} for plain 'synthgan', synthgan options {json.dumps(args.options)}",
        "Recipes: " + "; ".join(f"{k}={json.dumps(v)}" for k, v in RECIPES.items()),
        "",
        "Speed (each fit in its own process, torch threads = 2)",
        _common.format_table(ok + means, SPEED_COLUMNS),
        "",
        "Quality (sdmetrics vs train) and utility (TSTR on the real holdout)",
        _common.format_table(base + ok + means, QUALITY_COLUMNS),
        "",
        "s/epoch med: synthgan = median of loss_history_.seconds; ctgan = median of its epoch-loop",
        "  timestamps (ctgan has no per-epoch callback: its module-level tqdm name is wrapped).",
        "s/epoch mean: training phase / epochs, set-up included (synthgan: timings_['training'];",
        "  ctgan: fit total - transformer fit - transform).",
        "tf fit / transform: synthgan's timings_; ctgan reports none, so its DataTransformer.fit",
        "  and .transform are wrapped with timers and timed as CTGAN.fit calls them.",
        "Peak RSS: the fitting process (ctgan's joblib transform workers are not included).",
    ]
    for pair, values in rat.items():
        lines += ["", f"Ratios {pair} (of the mean rows):"]
        for key, value in values.items():
            better = "<1" if key == "sampling_rate" else ">1"
            what = "leaner" if key == "peak_rss" else "faster"
            if value is not None:
                lines.append(f"  {key:32s} {value:7.2f}   ({better}: synthgan {what})")
    for r in runs:
        if "error" in r:
            lines += ["", f"FAILED {r['system']} seed {r['seed']}:", r["error"]]
    return "\n".join(lines)


def report_time_to_quality(ttq: dict) -> str:
    if not ttq or not ttq["variants"]:
        return ""
    lines = ["", f"Time to quality: reaching the mean pairs and TSTR accuracies of {ttq['target']}"]
    for label, v in ttq["variants"].items():
        missed = [
            f"{k} {x['value']:.3f}<{x['target']:.3f}"
            for k, x in v["per_measure"].items()
            if x["value"] is None or x["value"] < x["target"]
        ]
        status = "reached" if v["reached"] else "missed (" + ", ".join(missed) + ")"
        lines.append(f"  {label:28s} {v['speedup']:6.2f}x sooner   {status}")
    return "\n".join(lines)


def run_all(args, train, holdout, sample_rows, checkpoint=None):
    """Fit and evaluate every (system, seed); ``checkpoint(runs)`` is called after each one so
    that a long run interrupted half-way still leaves its finished results on disk."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="synthgan-bench-") as tmp:
        workdir = Path(tmp)
        train.to_parquet(workdir / "train.parquet", index=False)
        for system in args.systems:
            for seed in args.seeds:
                print(f"fitting {system} seed {seed} ...", flush=True)
                row, synthetic = run_fit(system, seed, args, workdir, sample_rows)
                if synthetic is not None:
                    evaluation = _common.evaluate_table(
                        train, holdout, synthetic, args.quality_rows
                    )
                    row.update(flatten(evaluation), evaluation=evaluation)
                    print(f"  done: fit {row['fit_s']:.1f} s", flush=True)
                else:
                    print("  FAILED (details below the tables)", flush=True)
                runs.append(row)
                if checkpoint is not None:
                    checkpoint(runs)
    return runs


def payload(args, base, runs, sample_rows, train, holdout, start) -> dict:
    means = mean_rows(runs, args.systems)
    return {
        "benchmark": "tabular_speed",
        "machine": {**_common.machine_info(), "torch_threads": THREADS},
        "config": {
            "epochs": args.epochs,
            "seeds": args.seeds,
            "systems": args.systems,
            "recipe": args.recipe,
            "synthgan_options": args.options,
            "train_rows": len(train),
            "holdout_rows": len(holdout),
            "sample_rows": sample_rows,
            "quality_rows": args.quality_rows,
            "split": "train_test_split(test_size=0.2, random_state=0, stratify=income)",
        },
        "complete": len(runs) == len(args.systems) * len(args.seeds),
        "baselines": base,
        "runs": runs,
        "means": means,
        "ratios_ctgan_over_synthgan": ratios(means, args.epochs),
        "time_to_quality": time_to_quality(means, args.epochs),
        "benchmark_wall_s": time.perf_counter() - start,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    train, holdout, sample_rows = load_data(args)
    args.n_train = len(train)
    start = time.perf_counter()
    print("scoring baselines ...", flush=True)
    base = baselines(train, holdout, args.quality_rows)

    def checkpoint(runs):
        _common.write_json(
            args.output, payload(args, base, runs, sample_rows, train, holdout, start)
        )

    runs = run_all(args, train, holdout, sample_rows, checkpoint)
    result = payload(args, base, runs, sample_rows, train, holdout, start)
    print()
    print(report(runs, result["means"], base, result["ratios_ctgan_over_synthgan"], args))
    print(report_time_to_quality(result["time_to_quality"]))
    _common.write_json(args.output, result)
    print(f"\nwrote {args.output}")
    return 1 if any("error" in r for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
