"""Thread counts on a shared CPU: a CTGAN fit and an evaluation, idle and beside other work.

For each load (``idle``: nothing else running; ``busy``: one extra process spinning on one
core; ``torch``: another CTGAN fit running with torch's default thread count, as a second job
on a shared machine would) and each thread setting, one fresh process
fits ``CTGANSynthesizer`` on the Adult train split (26,048 rows, default hyperparameters,
``--epochs`` epochs) and one runs ``synthgan.evaluate`` (train vs independent marginals, with
the holdout and ``income`` as target). Settings:

* ``torch``    : torch's own default, one thread per available core (what synthgan did before);
* ``one``      : ``n_threads=1``;
* ``passive``  : torch's default count with ``OMP_WAIT_POLICY=PASSIVE`` (threads sleep at
  barriers instead of spinning);
* ``auto``     : synthgan's default (``n_threads=None``: the idle cores, see
  ``synthgan.core.threads``);
* ``auto_passive``: ``auto`` with ``OMP_WAIT_POLICY=PASSIVE``.

Runs go one after another; results are written after each run and a rerun skips what is done
(delete the JSON, or pass ``--fresh``, to start over).

    python benchmarks/threads.py                       # about 30 minutes on 2 cores
    python benchmarks/threads.py --epochs 1 --tasks fit --settings one,auto   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import _common

SETTINGS = ("torch", "one", "passive", "auto", "auto_passive")
LOADS = ("idle", "busy", "torch")
TASKS = ("fit", "evaluate")
# What else runs on the machine: nothing; one process spinning on one core; or another torch
# job (a CTGAN fit with torch's default thread count, whose OpenMP threads spin at barriers).
LOAD_CODE = {
    "busy": "while True:\n    pass\n",
    "torch": (
        "import sys; sys.path.insert(0, sys.argv[1]); import _common\n"
        "from synthgan import CTGANSynthesizer\n"
        "from synthgan.core.threads import available_cores\n"
        "train, _ = _common.split_adult(_common.load_adult())\n"
        "CTGANSynthesizer(epochs=10**6, n_threads=available_cores(), verbose=False).fit(train)\n"
    ),
}
LOAD_START = {"busy": 0.5, "torch": 15.0}  # seconds for the load to be running at full speed


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--settings", default=",".join(SETTINGS))
    p.add_argument("--loads", default=",".join(LOADS))
    p.add_argument("--data", default=None, help="Adult CSV (default ../shared/data/adult.csv)")
    p.add_argument("--output", default=str(_common.REPO_ROOT / "benchmarks/results/threads.json"))
    p.add_argument("--fresh", action="store_true", help="ignore results already in --output")
    p.add_argument("--worker", nargs=2, metavar=("TASK", "SETTING"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(*args.worker, args.epochs, args.data)))
        return
    out = Path(args.output)
    done = {} if args.fresh or not out.is_file() else json.loads(out.read_text())["runs"]
    for load in args.loads.split(","):
        for task in args.tasks.split(","):
            for setting in args.settings.split(","):
                key = f"{task}/{load}/{setting}"
                if key not in done:
                    done[key] = run_one(task, setting, load, args)
                    print(f"{key}: {done[key]['seconds']:.1f} s ({done[key]['threads']} threads)")
                    payload = {"epochs": args.epochs, "machine": _common.machine_info()}
                    _common.write_json(out, {**payload, "runs": done})
    print(summary(done))


def run_one(task: str, setting: str, load: str, args: argparse.Namespace) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if setting in ("passive", "auto_passive"):
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    spinner = None
    if load in LOAD_CODE:
        here = str(Path(__file__).resolve().parent)
        spinner = subprocess.Popen([sys.executable, "-c", LOAD_CODE[load], here])
    try:
        time.sleep(LOAD_START.get(load, 0))  # let the load take its cores first
        cmd = [sys.executable, __file__, "--worker", task, setting, "--epochs", str(args.epochs)]
        cmd += ["--data", args.data] if args.data else []
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "load": load}


def run_worker(task: str, setting: str, epochs: int, data: str | None) -> dict:
    from synthgan.core.threads import available_cores

    train, holdout = _common.split_adult(_common.load_adult(data))
    n_threads = None if setting.startswith("auto") else 1 if setting == "one" else available_cores()
    start = time.perf_counter()
    if task == "fit":
        from synthgan import CTGANSynthesizer

        model = CTGANSynthesizer(epochs=epochs, n_threads=n_threads, verbose=False, random_state=0)
        model.fit(train)
        used = model.n_threads_
    else:
        from synthgan import evaluate

        synthetic = _common.independent_marginals(train, len(train))
        report = evaluate(train, synthetic, holdout, "income", n_threads=n_threads, verbose=False)
        used = report["threads"]
    return {
        "task": task,
        "setting": setting,
        "seconds": time.perf_counter() - start,
        "threads": used,
    }


def summary(runs: dict) -> str:
    rows = []
    for task in TASKS:
        for setting in SETTINGS:
            row = {"task": task, "setting": setting}
            for load in LOADS:
                run = runs.get(f"{task}/{load}/{setting}")
                row[load] = run["seconds"] if run else None
                row[f"{load}_threads"] = run["threads"] if run else None
            rows.append(row)
    columns = [("task", "task", ""), ("setting", "setting", "")]
    for load in LOADS:
        columns += [(load, f"{load} s", ".1f"), (f"{load}_threads", "threads", "")]
    return _common.format_table(rows, columns)


if __name__ == "__main__":
    main()
