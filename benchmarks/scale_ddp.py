"""Distributed training on the CPU: CTGAN on Adult with 1 and 2 gloo processes.

Fits ``CTGANSynthesizer`` (default hyperparameters, ``autocast=False``, ``n_threads=1`` per
process, seed 0) on the Adult train split (26,048 rows) once in this process and once on 2
ranks (:func:`synthgan.core.distributed.launch`, the Python equivalent of
``torchrun --nproc_per_node 2``), with the same global batch, and reports seconds per epoch and
the agreement of the two generators: the largest weight difference, and the largest difference
of the epoch-mean losses. CTGAN's default generator has BatchNorm and its critic dropout, so the
two fits are two random draws of the same training, not value-for-value equal (see
docs/scaling.md, "Distributed training"). No speed-up is expected on 2 cores: both ranks share
them, and each step adds two gradient all-reduces.

    python benchmarks/scale_ddp.py --epochs 1          # smoke run, about 2 minutes on 2 cores
    python benchmarks/scale_ddp.py --epochs 5 --out benchmarks/results/scale_ddp.json

:func:`measure` is importable (``benchmarks/scale.py`` may call it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

import _common

from synthgan import CTGANSynthesizer
from synthgan.core.distributed import current, launch

OPTIONS = dict(autocast=False, n_threads=1, random_state=0, verbose=False)


def _train_split() -> object:
    train, _ = _common.split_adult(_common.load_adult())
    return train


def _fit(epochs: int) -> CTGANSynthesizer:
    model = CTGANSynthesizer(epochs=epochs, discrete_columns=_common.ADULT_DISCRETE, **OPTIONS)
    return model.fit(_train_split())


def _rank(epochs: int, out: str) -> None:
    """One rank of the 2-process fit: rank 0 saves what the parent compares."""
    model = _fit(epochs)
    if current().is_main:
        torch.save(_figures(model), Path(out) / "ddp.pt")


def _figures(model: CTGANSynthesizer) -> dict:
    history = model.loss_history_
    return {
        "weights": {k: v.detach().clone() for k, v in model.generator_.state_dict().items()},
        "losses": torch.as_tensor(history.drop(columns=["epoch", "seconds"]).to_numpy()),
        "seconds_per_epoch": float(history["seconds"].mean()),
    }


def measure(epochs: int = 1) -> dict:
    """Seconds per epoch with 1 and 2 processes and their agreement (a JSON-ready dict)."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        launch(_rank, 2, (epochs, out), timeout_s=3600)
        wall_two = time.perf_counter() - start
        two = torch.load(Path(out) / "ddp.pt", weights_only=True)
    start = time.perf_counter()
    one = _figures(_fit(epochs))
    wall_one = time.perf_counter() - start
    weights = max(float((one["weights"][k].float() - two["weights"][k].float()).abs().max())
                  for k in one["weights"])  # fmt: skip
    return {
        "epochs": epochs,
        "seconds_per_epoch": {"1": one["seconds_per_epoch"], "2": two["seconds_per_epoch"]},
        "wall_seconds": {"1": wall_one, "2": wall_two},
        "max_weight_difference": weights,
        "max_loss_difference": float((one["losses"] - two["losses"]).abs().max()),
        "machine": _common.machine_info(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/scale_ddp.json")
    args = parser.parse_args()
    result = measure(args.epochs)
    rows = [{"processes": n, "s_per_epoch": result["seconds_per_epoch"][n]} for n in ("1", "2")]
    print(_common.format_table(rows, [("processes", "processes", "s"),
                                      ("s_per_epoch", "s/epoch", ".2f")]))  # fmt: skip
    print(f"max |weight difference| {result['max_weight_difference']:.3g}, "
          f"max |loss difference| {result['max_loss_difference']:.3g}")  # fmt: skip
    _common.write_json(args.out, result)


if __name__ == "__main__":
    main()
