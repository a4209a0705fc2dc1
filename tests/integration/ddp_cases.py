"""Tiny fits run by every rank of the distributed tests (and in one process, as references).

Spawned ranks import this module by name (``launch`` passes ``sys.path`` to its children), so
the fits, data and probes live here rather than in the test file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits

from synthgan import CTGANSynthesizer, DCGANSynthesizer
from synthgan.core.callbacks import Callback
from synthgan.core.distributed import current
from synthgan.io import checkpoints, write_table

_TABLE = dict(
    epochs=2, batch_size=40, pac=4, embedding_dim=8, generator_dim=(16, 16),
    discriminator_dim=(16,), verbose=False, random_state=0, autocast=False, n_threads=1,
    mixture_max_rows=400,
)  # fmt: skip
_IMAGE = dict(
    epochs=2, batch_size=32, latent_dim=8, generator_width=4, discriminator_width=4,
    verbose=False, random_state=0, autocast=False, n_threads=1,
)  # fmt: skip


class ExactCTGAN(CTGANSynthesizer):
    """CTGAN whose layers act on each row alone (LayerNorm generator, no dropout): a global
    batch split over ranks computes the same function as in one process."""

    def _network_config(self, transformer):
        return replace(super()._network_config(transformer), generator_norm="layer", dropout=0.0)


def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "amount": np.round(rng.lognormal(3, 0.5, 400), 2),
            "colour": rng.choice(["red", "green", "blue"], 400),
        }
    )


def table_file() -> str:
    """:func:`table` as a Parquet file, for the streamed (out-of-core) fit."""
    path = Path(tempfile.gettempdir()) / f"synthgan-ddp-table-{os.getppid()}.parquet"
    write_table(table(), path, overwrite=True)  # atomic: ranks writing it at once is fine
    return str(path)


def images() -> np.ndarray:
    return np.rint(load_digits().images[:256] * (255 / 16)).astype(np.uint8)


# name -> (model factory, data); "exact" cases have only per-row layers
CASES = {
    "ctgan_exact": (lambda **kw: ExactCTGAN(**{**_TABLE, **kw}), table),
    "ctgan": (lambda **kw: CTGANSynthesizer(**{**_TABLE, **kw}), table),
    "ctgan_streamed_exact": (
        lambda **kw: ExactCTGAN(**{**_TABLE, "streaming": True, "stream_buffer_rows": 200, **kw}),
        table_file,
    ),
    "dcgan_exact": (
        lambda **kw: DCGANSynthesizer(
            **{**_IMAGE, "generator_norm": "group", "discriminator_norm": "group", **kw}
        ),
        images,
    ),
    "dcgan": (lambda **kw: DCGANSynthesizer(**{**_IMAGE, **kw}), images),
}


class DieAt(Callback):
    """Kill this process (no clean-up, like a crash) at ``step`` of ``epoch``."""

    def __init__(self, epoch: int, step: int) -> None:
        self.at, self.epoch = (epoch, step), -1

    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch

    def on_step_end(self, step: int) -> None:
        if (self.epoch, step) == self.at:
            os._exit(3)


def fit(name: str, **params) -> CTGANSynthesizer | DCGANSynthesizer:
    make, data = CASES[name]
    callbacks = params.pop("callbacks", None)
    resume = params.pop("resume", False)
    return make(**params).fit(data(), callbacks=callbacks, resume=resume)


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.generator_.state_dict().items()}


def _record_writes(out: Path) -> None:
    """Log which rank writes each checkpoint (to check that only rank 0 does)."""
    save = checkpoints.CheckpointFile.save

    def logged(self, state, tensors):
        with open(out / "writes.txt", "a") as log:
            log.write(f"{current().rank}\n")
        save(self, state, tensors)

    checkpoints.CheckpointFile.save = logged


def rank_fits(out: str, names: list[str], params: dict) -> None:
    """Every rank: fit each case, save its generator weights and loss history by rank."""
    out_dir = Path(out)
    _record_writes(out_dir)
    rank = current().rank
    for name in names:
        extra = dict(params.get(name, {}))
        if "die_at" in extra:
            at = extra.pop("die_at")
            extra["callbacks"] = [DieAt(*at)] if rank == 1 else None
        model = fit(name, **extra)
        history = model.loss_history_.drop(columns=["seconds"]).to_numpy()
        torch.save(
            {"weights": weights(model), "history": torch.as_tensor(history)},
            out_dir / f"{name}.rank{rank}.pt",
        )
