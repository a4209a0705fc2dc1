"""Interleaved A/B timing of CTGAN's default fit on Adult between two source trees.

A refactor must not slow training down, but a shared or virtual machine drifts by more than
the effect being looked for over the length of a full benchmark. This script alternates the
two trees fit by fit (A, B, A, B, ...), each in a fresh process with 2 torch threads, and
reports the median training epoch of every fit (the first epoch, which warms caches, left out)
and the ratio B / A of each adjacent pair.

Usage::

    git worktree add /tmp/before <commit>   # the tree to compare against
    python benchmarks/session_ab.py --a /tmp/before --b . --pairs 3 --epochs 10

Each fit imports ``synthgan`` from its tree (``PYTHONPATH``); results go to
``benchmarks/results/session_ab.json`` after every fit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import _common

_FIT = """
import json, statistics, sys
from synthgan import CTGANSynthesizer
from synthgan.datasets import load_adult
model = CTGANSynthesizer(epochs={epochs}, verbose=False, random_state=0, n_threads=2)
model.fit(load_adult())
seconds = [float(s) for s in model.loss_history_["seconds"]][1:]
print(json.dumps({{"median": statistics.median(seconds), "mean": statistics.mean(seconds)}}))
"""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--a", type=Path, required=True, help="source tree A (the baseline)")
    p.add_argument("--b", type=Path, default=_common.REPO_ROOT, help="source tree B")
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument(
        "--output", type=Path, default=_common.REPO_ROOT / "benchmarks/results/session_ab.json"
    )
    return p.parse_args(argv)


def fit_once(tree: Path, epochs: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree.resolve()), "OMP_NUM_THREADS": "2"}
    code = _FIT.format(epochs=epochs)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd="/")  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    args = parse_args(argv)
    rows: list[dict] = []
    for pair in range(args.pairs):
        for label, tree in (("A", args.a), ("B", args.b)):
            rows.append(
                {"pair": pair, "tree": label, "path": str(tree), **fit_once(tree, args.epochs)}
            )
            print(f"pair {pair} {label}: median {rows[-1]['median']:.3f} s/epoch", flush=True)
            _common.write_json(args.output, {"epochs": args.epochs, "fits": rows})
    ratios = [b["median"] / a["median"] for a, b in zip(rows[::2], rows[1::2], strict=True)]
    print(f"B / A median s/epoch per pair: {', '.join(f'{r:.3f}' for r in ratios)}; "
          f"median ratio {statistics.median(ratios):.3f}")  # fmt: skip
    _common.write_json(args.output, {"epochs": args.epochs, "fits": rows, "ratios": ratios})


if __name__ == "__main__":
    main()
