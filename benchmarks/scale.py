"""Scale (issue 19): streamed sampling, the out-of-core fit and distributed training.

* ``sampling``: ``sample_to`` of ``--rows`` rows to a Parquet dataset (rows/s, peak memory; 1 and
  2 workers) and of ``--small-rows`` rows, against the ``ctgan`` package's in-memory ``sample``
  of as many rows in the same run;
* ``fit``: the out-of-core fit of a ``--fit-rows`` Parquet table built from Adult (peak memory,
  s/epoch, quality) against an in-memory fit of a ``--fit-sample-rows`` sample with the same
  steps (``scale_fit.py``; the table is written by ``make_large_adult.py`` when missing);
* ``ddp``: CTGAN on Adult with 1 and 2 gloo processes (s/epoch, agreement; ``scale_ddp.py``).

Every measurement runs in its own fresh Python process, one after another (never two at once:
the machine has 2 cores), and its result is written to the JSON file as soon as it ends, so an
interrupted run resumes where it stopped (``--resume``). Peak memory is the resident set's high
mark (``getrusage``) of the writing process and, with workers, of the largest worker.

    python benchmarks/scale.py                                  # everything, full sizes
    python benchmarks/scale.py --parts sampling --rows 1000000 --workers 1   # a quick run
    python benchmarks/scale.py --resume --output benchmarks/results/scale.json

Both models are fitted on Adult for ``--fit-epochs`` epochs (throughput does not depend on how
long they trained) with the default network sizes. The output is deleted after each run.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _common

HERE = Path(__file__).resolve()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100_000_000, help="rows streamed to Parquet")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument(
        "--small-rows",
        type=int,
        default=1_000_000,
        help="rows of the in-memory comparison with ctgan, and of the memory check",
    )
    p.add_argument("--fit-epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--output", default="benchmarks/results/scale.json")
    p.add_argument(
        "--work-dir",
        default="benchmarks/results/scale_work",
        help="where the models and outputs go (kept for --resume)",
    )
    p.add_argument("--resume", action="store_true", help="skip the runs already in --output")
    p.add_argument("--parts", nargs="+", default=["sampling", "fit", "ddp"],
                   choices=["sampling", "fit", "ddp"])  # fmt: skip
    p.add_argument("--fit-rows", type=int, default=20_000_000)
    p.add_argument("--fit-sample-rows", type=int, default=1_000_000)
    p.add_argument("--fit-data", help="the large table (default: in --work-dir)")
    p.add_argument("--ddp-epochs", type=int, default=1)
    p.add_argument("--skip-ctgan", action="store_true")
    p.add_argument("_run", nargs="?", help=argparse.SUPPRESS)  # internal: one measurement
    p.add_argument("--spec", help=argparse.SUPPRESS)
    return p.parse_args(argv)


# -- one measurement, in a fresh process -------------------------------------------------------
def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def _measure(spec: dict) -> dict:
    import torch

    torch.set_num_threads(spec["threads"])
    start = time.perf_counter()
    if spec["kind"] == "fit":
        return _fit(spec)
    if spec["system"] == "ctgan":
        import pickle  # the peer's own model format, in the benchmark only

        with open(spec["model"], "rb") as handle:
            model = pickle.load(handle)  # a file this script wrote
        start = time.perf_counter()
        frame = model.sample(spec["rows"])
        rows = len(frame)
    else:
        import synthgan

        model = synthgan.load(spec["model"])
        start = time.perf_counter()
        if spec["kind"] == "sample":
            rows = len(model.sample(spec["rows"], random_state=0))
        else:
            model.sample_to(spec["out"], spec["rows"], workers=spec["workers"], random_state=0,
                            progress=False)  # fmt: skip
            rows = synthgan.io.check_complete(spec["out"])["rows"]
    seconds = time.perf_counter() - start
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "peak_rss_mb": _peak_mb(resource.RUSAGE_SELF),
        "peak_rss_worker_mb": _peak_mb(resource.RUSAGE_CHILDREN)
        if spec.get("workers", 1) > 1
        else None,
        "output_mb": _size_mb(spec.get("out")),
    }


def _size_mb(path) -> float | None:
    if not path or not Path(path).exists():
        return None
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 2**20


def _fit(spec: dict) -> dict:
    adult = _common.load_adult()
    start = time.perf_counter()
    if spec["system"] == "ctgan":
        import pickle

        from ctgan import CTGAN

        discrete = [c for c in adult.columns if adult[c].dtype == object]
        model = CTGAN(epochs=spec["epochs"], verbose=False)
        model.fit(adult, discrete)
        with open(spec["model"], "wb") as handle:
            pickle.dump(model, handle)
    else:
        from synthgan import CTGANSynthesizer

        model = CTGANSynthesizer(epochs=spec["epochs"], verbose=False, random_state=0)
        model.fit(adult).save(spec["model"], overwrite=True)
    return {"seconds": time.perf_counter() - start}


# -- the plan and the parent ------------------------------------------------------------------
def _plan(args, work: Path) -> list[tuple[str, dict]]:
    models = {s: str(work / f"{s}.model") for s in ("synthgan", "ctgan")}
    systems = ["synthgan"] + ([] if args.skip_ctgan else ["ctgan"])
    base = {"threads": args.threads}
    plan = [(f"model/{s}", {**base, "kind": "fit", "system": s, "model": models[s],
                          "epochs": args.fit_epochs}) for s in systems]  # fmt: skip
    for system in systems:  # in memory, one DataFrame: the peer's only way
        spec = {**base, "kind": "sample", "system": system, "model": models[system]}
        plan.append((f"sample/{system}/{args.small_rows}", {**spec, "rows": args.small_rows}))
    for rows in dict.fromkeys([args.small_rows, args.rows]):
        for workers in args.workers:
            plan.append((f"sample_to/{rows}/w{workers}", {**base, "kind": "sample_to",
                         "system": "synthgan", "model": models["synthgan"], "rows": rows,
                         "workers": workers, "out": str(work / "out")}))  # fmt: skip
    return plan


def _run_one(spec: dict) -> dict:
    command = [sys.executable, str(HERE), "_run", "--spec", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True)
    if spec.get("out"):
        shutil.rmtree(spec["out"], ignore_errors=True)
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _summary(results: dict) -> str:
    rows = []
    for key, value in results.items():
        if key.startswith(("sample/", "sample_to/")) and "rows_per_s" in value:
            rows.append({"run": key, **value})
    table = _common.format_table(rows, [
        ("run", "run", ""), ("rows", "rows", ",d"), ("seconds", "s", ".1f"),
        ("rows_per_s", "rows/s", ",.0f"), ("peak_rss_mb", "peak RSS MB", ",.0f"),
        ("peak_rss_worker_mb", "worker RSS MB", ",.0f"), ("output_mb", "output MB", ",.0f"),
    ])  # fmt: skip
    return table


def main(argv=None) -> None:
    args = parse_args(argv)
    if args._run:
        print(json.dumps(_measure(json.loads(args.spec))))
        return
    output = Path(args.output)
    results = json.loads(output.read_text())["results"] if args.resume and output.exists() else {}
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after every measurement
        payload = {"machine": _common.machine_info(), "args": vars(args), "results": results}
        _common.write_json(output, payload)

    if "sampling" in args.parts:
        _sampling(args, work, results, save)
    if "fit" in args.parts and not (args.resume and "fit/streamed" in results):
        _out_of_core(args, work, results, save)
    if "ddp" in args.parts and not (args.resume and "ddp" in results):
        import scale_ddp

        results["ddp"] = scale_ddp.measure(args.ddp_epochs)
        save()
        print(f"[scale] ddp: {results['ddp']['seconds_per_epoch']}", flush=True)


def _out_of_core(args, work: Path, results: dict, save) -> None:
    from scale_fit import run_scale_fit

    data = Path(args.fit_data or work / f"large_adult_{args.fit_rows}.parquet")
    print(f"[scale] out-of-core fit of {data} ...", flush=True)
    for figures in run_scale_fit(data, args.fit_rows, sample_rows=args.fit_sample_rows):
        results[f"fit/{figures['mode']}"] = figures
    save()
    print(f"[scale] fit: {results['fit/streamed']}", flush=True)


def _sampling(args, work: Path, results: dict, save) -> None:
    for key, spec in _plan(args, work):
        if (
            key in results
            and "error" not in results[key]
            and (not key.startswith("model/") or Path(spec["model"]).exists())
        ):
            continue
        print(f"[scale] {key} ...", flush=True)
        results[key] = _run_one(spec)
        save()
        print(f"[scale] {key}: {results[key]}", flush=True)
    small = results.get(f"sample/ctgan/{args.small_rows}", {}).get("rows_per_s")
    ours = results.get(f"sample_to/{args.small_rows}/w1", {}).get("rows_per_s")
    if small and ours:
        print(f"sample_to / ctgan sample, rows/s at {args.small_rows:,} rows: {ours / small:.2f}x")
    print(_summary(results))


if __name__ == "__main__":
    main()
