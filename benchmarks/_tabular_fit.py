"""One timed fit of one system, run by ``tabular_speed.py`` in a fresh process.

Usage: ``python benchmarks/_tabular_fit.py SPEC.json``. The spec names the task
(``synthgan`` or ``ctgan``), seed, epochs, options, the training table (Parquet) and an output
folder. The worker writes ``result.json`` (timings, peak memory) and ``synthetic.parquet`` (one
sample of the fitted model) there. A fresh process per fit makes ``ru_maxrss`` the peak memory
of that fit alone.
"""

from __future__ import annotations

import functools
import itertools
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import ClassVar


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class _EpochClock:
    """Stand-in for the ``tqdm`` name in ctgan's module: iterates and timestamps each epoch.

    ctgan 0.12.1 offers no per-epoch callback; its epoch loop is ``for i in tqdm(range(epochs),
    disable=not verbose)``. Replacing that name (verbose=False, so no bar is lost) lets us read
    the wall time of every epoch. If a later ctgan drops the name we fall back to the mean.
    """

    stamps: ClassVar[list[float]] = []

    def __init__(self, iterable, **_kwargs):
        self._iterable = iterable

    def __iter__(self):
        for item in self._iterable:
            _EpochClock.stamps.append(time.perf_counter())
            yield item
        _EpochClock.stamps.append(time.perf_counter())

    def set_description(self, *_args, **_kwargs):
        pass


def _best_sampling_time(sample, n: int, repeats: int = 3):
    """Best wall time of ``repeats`` calls of ``sample(i)``; returns (seconds, first frame)."""
    best, first = float("inf"), None
    for i in range(repeats):
        start = time.perf_counter()
        frame = sample(i)
        best = min(best, time.perf_counter() - start)
        first = frame if first is None else first
    assert len(first) == n, f"asked for {n} rows, got {len(first)}"
    return best, first


def run_synthgan(spec: dict, train):
    from synthgan import CTGANSynthesizer

    params = {
        "epochs": spec["epochs"],
        "discrete_columns": spec["discrete_columns"],
        "random_state": spec["seed"],
        "verbose": False,
        **spec["options"],
    }
    model = CTGANSynthesizer(**params)
    start = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - start
    timings = dict(model.timings_)
    epoch_seconds = [float(s) for s in model.loss_history_["seconds"]]
    n, seed = spec["sample_rows"], spec["seed"]
    sample_s, synthetic = _best_sampling_time(lambda i: model.sample(n, random_state=seed + i), n)
    return {
        # synthgan >= the fit session reports one "preparation" (transformer fit + transform)
        "transformer_fit_s": timings.get("transformer_fit", timings.get("preparation")),
        "transform_s": timings.get("transform", 0.0),
        "training_s": timings.get("training"),
        "fit_s": fit_s,
        "reported_total_s": timings.get("total"),
        "pre_training_s": fit_s - timings["training"] if "training" in timings else None,
        "epoch_seconds": epoch_seconds,
        "epoch_median_s": statistics.median(epoch_seconds) if epoch_seconds else None,
        "epoch_source": "median of loss_history_.seconds",
        "sample_s": sample_s,
        "privacy_spent": None
        if getattr(model, "privacy_spent_", None) is None
        else model.privacy_spent_.to_dict(),
    }, synthetic


def _time_calls(cls, method_name: str, phases: dict, key: str) -> None:
    """Wrap ``cls.method_name`` so every call adds its wall time to ``phases[key]``."""
    method = getattr(cls, method_name)

    @functools.wraps(method)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            phases[key] = phases.get(key, 0.0) + time.perf_counter() - start

    setattr(cls, method_name, timed)


def run_ctgan(spec: dict, train):
    import ctgan.synthesizers.ctgan as ctgan_module
    from ctgan import CTGAN
    from ctgan.data_transformer import DataTransformer

    # ctgan reports no phase times: time its DataTransformer's fit and transform as CTGAN.fit
    # calls them, so they are measured cold, exactly as a user's fit runs them.
    phases: dict[str, float] = {}
    _time_calls(DataTransformer, "fit", phases, "transformer_fit")
    _time_calls(DataTransformer, "transform", phases, "transform")
    instrumented = hasattr(ctgan_module, "tqdm")
    if instrumented:
        ctgan_module.tqdm = _EpochClock
    model = CTGAN(epochs=spec["epochs"], enable_gpu=False, verbose=False)
    model.set_random_state(spec["seed"])
    start = time.perf_counter()
    model.fit(train, spec["discrete_columns"])
    fit_s = time.perf_counter() - start
    transformer_fit_s, transform_s = phases["transformer_fit"], phases["transform"]
    stamps = _EpochClock.stamps
    epoch_seconds = [b - a for a, b in itertools.pairwise(stamps)] if instrumented else []
    n = spec["sample_rows"]
    sample_s, synthetic = _best_sampling_time(lambda i: model.sample(n), n)
    return {
        "transformer_fit_s": transformer_fit_s,
        "transform_s": transform_s,
        "training_s": fit_s - transformer_fit_s - transform_s,
        "fit_s": fit_s,
        # Transformer fit + transform + sampler and network set-up.
        "pre_training_s": stamps[0] - start if stamps else None,
        "epoch_seconds": epoch_seconds,
        "epoch_median_s": statistics.median(epoch_seconds) if epoch_seconds else None,
        "epoch_source": (
            "median of epoch-loop timestamps (ctgan's module-level tqdm wrapped)"
            if epoch_seconds
            else "no per-epoch times available"
        ),
        "sample_s": sample_s,
    }, synthetic


RUNNERS = {
    "synthgan": run_synthgan,
    "ctgan": run_ctgan,
}


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    import pandas as pd
    import torch

    torch.set_num_threads(spec["threads"])
    torch.set_num_interop_threads(spec["threads"])
    train = pd.read_parquet(spec["train_path"])
    rss_before = _peak_rss_mb()
    result, synthetic = RUNNERS[spec["task"]](spec, train)
    result.update(
        task=spec["task"],
        seed=spec["seed"],
        epochs=spec["epochs"],
        epoch_mean_s=result["training_s"] / spec["epochs"],
        peak_rss_mb=_peak_rss_mb(),
        rss_before_fit_mb=rss_before,
        torch_threads=torch.get_num_threads(),
    )
    out = Path(spec["out_dir"])
    result["sample_rows_per_s"] = spec["sample_rows"] / result["sample_s"]
    synthetic.to_parquet(out / "synthetic.parquet", index=False)
    (out / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1])
