"""The out-of-core fit (issue 19): peak memory, seconds per epoch and quality of a streamed CTGAN
fit of a large Parquet table, against an in-memory fit of a sample with the same steps.

Each fit runs in its own process, so its peak resident memory (``ru_maxrss``) is its own:

* **streamed**: ``CTGANSynthesizer(streaming=True).fit(path)`` for ``--epochs`` epochs
  (``rows // batch_size`` steps each);
* **memory**: the same model fitted on ``--sample-rows`` rows resampled from Adult as the large
  table was (an in-memory sample of the same distribution), for as many steps in all.

Quality is sdmetrics' column shapes and column pair trends of 5,000 generated rows against a
holdout of 5,000 fresh Adult-like rows (another seed, never trained on). The table is written
by ``make_large_adult.py`` when ``--data`` does not exist. ``run_scale_fit`` is the function
``benchmarks/scale.py`` can call.

Usage::

    # smoke run (about a minute on 2 cores)
    .venv/bin/python benchmarks/scale_fit.py --rows 200000 --epochs 1 --data /tmp/adult_200k.parquet
    # the issue's target: 20 million rows, peak RSS under 3 GB
    .venv/bin/python benchmarks/scale_fit.py --rows 20000000 --epochs 1 --data large_adult.parquet
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import _common
import numpy as np
from make_large_adult import adult_like_rows, write_large_adult

from synthgan import CTGANSynthesizer
from synthgan.datasets import load_adult

HOLDOUT_ROWS = 5000


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _fit_once(mode: str, data: Path, epochs: int, sample_rows: int, options: dict) -> dict:
    """One fit in this process (run by :func:`run_scale_fit` in a child process)."""
    rss_start = _peak_rss_mb()
    start = time.perf_counter()
    if mode == "streamed":
        model = CTGANSynthesizer(streaming=True, epochs=epochs, **options).fit(data)
    else:
        table = adult_like_rows(load_adult(), sample_rows, np.random.default_rng(1))
        model = CTGANSynthesizer(streaming=False, epochs=epochs, **options).fit(table)
    fit_seconds = time.perf_counter() - start
    synthetic = model.sample(HOLDOUT_ROWS, random_state=0)
    peak = _peak_rss_mb()  # before the evaluation (sdmetrics) adds its own
    steps = int(model.timings_["epochs"]) * _steps(model, sample_rows, mode)
    holdout = adult_like_rows(load_adult(), HOLDOUT_ROWS, np.random.default_rng(2))
    quality = _common.evaluate_table(holdout, holdout, synthetic)["quality"]
    return {
        "mode": mode,
        "epochs": epochs,
        "steps": steps,
        "peak_rss_mb": peak,
        "rss_at_start_mb": rss_start,
        "preparation_s": model.timings_["preparation"],
        "seconds_per_epoch": model.timings_["training"] / model.timings_["epochs"],
        "ms_per_step": 1000 * model.timings_["training"] / steps,
        "fit_s": fit_seconds,
        "column_shapes": quality["column_shapes"],
        "column_pair_trends": quality["column_pair_trends"],
        "streaming": model.streaming_,
    }


def _steps(model, sample_rows: int, mode: str) -> int:
    rows = model.streaming_["rows"] if mode == "streamed" else sample_rows
    return max(1, rows // model.batch_size)


def run_scale_fit(data: Path, rows: int, *, epochs: int = 1, sample_rows: int = 50_000,
                  options: dict | None = None) -> list[dict]:  # fmt: skip
    """Write the table if needed, then run the streamed and the in-memory fit in child
    processes; return their figures (see the module docstring)."""
    data = Path(data)
    if not data.exists():
        write_large_adult(data, rows)
    options = {"verbose": False, "random_state": 0, **(options or {})}
    batch = options.get("batch_size", 500)
    memory_epochs = max(1, round(epochs * (rows // batch) / (sample_rows // batch)))
    results = []
    for mode, n_epochs in (("streamed", epochs), ("memory", memory_epochs)):
        payload = json.dumps([mode, str(data), n_epochs, sample_rows, options])
        out = subprocess.run([sys.executable, __file__, "--child", payload], check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--sample-rows", type=int, default=50_000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--options", type=json.loads, default={}, help="extra CTGAN options")
    parser.add_argument("--output", type=Path, default=_common.REPO_ROOT / "benchmarks" /
                        "results" / "scale_fit.json")  # fmt: skip
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, data, epochs, sample_rows, options = json.loads(args.child)
        print(json.dumps(_fit_once(mode, Path(data), epochs, sample_rows, options)))
        return
    data = args.data or Path(f"large_adult_{args.rows}.parquet")
    results = run_scale_fit(data, args.rows, epochs=args.epochs, sample_rows=args.sample_rows,
                            options=args.options)  # fmt: skip
    columns = [
        ("mode", "mode", "s"), ("steps", "steps", "d"), ("peak_rss_mb", "peak RSS MB", ".0f"),
        ("preparation_s", "prep s", ".1f"), ("seconds_per_epoch", "s/epoch", ".1f"),
        ("ms_per_step", "ms/step", ".1f"), ("column_shapes", "shapes", ".3f"),
        ("column_pair_trends", "pairs", ".3f"),
    ]  # fmt: skip
    print(_common.format_table(results, columns))
    _common.write_json(args.output, {"rows": args.rows, "data": str(data), "results": results,
                                     "machine": _common.machine_info()})  # fmt: skip


if __name__ == "__main__":
    main()
