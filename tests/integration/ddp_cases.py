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

from synthgan import CTGANSynthesizer, DCGANSynthesizer, PrivacyConfig
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


class NoNoiseCTGAN(ExactCTGAN):
    """ExactCTGAN whose DP-SGD adds no noise (σ = 0: not private, reported as ε = inf): with
    a huge clipping norm, the oracle of DP-SGD's aggregation over ranks."""

    def _plan_privacy(self, data):
        plan = super()._plan_privacy(data)
        plan.noise_multiplier = 0.0
        return plan


_PUBLIC_AMOUNT = {"columns": {"amount": {"min": 0.0, "max": 200.0}}}  # colour's counts: DP
_PUBLIC_ALL = {"columns": {"amount": {"min": 0.0, "max": 200.0, "missing": False},
                           "colour": {"categories": ["blue", "green", "red"]}}}  # fmt: skip
_DP = dict(_TABLE, pac=1)


def _private(epsilon: float = 5.0, **kw) -> PrivacyConfig:
    return PrivacyConfig(target_epsilon=epsilon, accountant="rdp", **kw)


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
    # DP: the oracle (no noise, no clipping), calibrated noise and clipping (ε), a
    # per-record penalty, tiny shards (empty local batches), the image GAN
    "ctgan_dp_oracle": (
        lambda **kw: NoNoiseCTGAN(
            **{**_DP, "metadata": _PUBLIC_AMOUNT, "privacy": _private(max_grad_norm=1e12), **kw}
        ),
        table,
    ),
    "ctgan_dp": (
        lambda **kw: ExactCTGAN(**{**_DP, "metadata": _PUBLIC_AMOUNT, "privacy": _private(), **kw}),
        table,
    ),
    "ctgan_dp_record": (
        lambda **kw: ExactCTGAN(
            **{
                **_DP,
                "epochs": 1,
                "metadata": _PUBLIC_AMOUNT,
                "dp_penalty": "record",
                "privacy": _private(),
                **kw,
            }
        ),
        table,
    ),
    "ctgan_dp_tiny": (
        lambda **kw: ExactCTGAN(
            **{**_DP, "batch_size": 2, "metadata": _PUBLIC_ALL, "privacy": _private(50.0), **kw}
        ),
        lambda: table().iloc[:20],
    ),
    "dcgan_dp": (
        lambda **kw: DCGANSynthesizer(
            **{
                **_IMAGE,
                "generator_norm": "group",
                "mode_seeking": 0.0,
                "privacy": _private(),
                **kw,
            }
        ),
        images,
    ),
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


def shard_logger(step, shards: list[int]):
    """``PrivateCritic.step`` that logs the size of this rank's shard of every DP-SGD step's
    Poisson sample into ``shards``."""

    def logged(self, real_inputs, *args, **kwargs):
        first = real_inputs if isinstance(real_inputs, torch.Tensor) else real_inputs[0]
        shards.append(int(first.shape[0]))
        return step(self, real_inputs, *args, **kwargs)

    return logged


def privacy_figures(model) -> dict:
    """What the accountant reports: ε, its breakdown, the ledger and the steps, as plain data."""
    spent = model.privacy_spent_
    if spent is None:
        return {}
    return {"epsilon": spent.epsilon, "breakdown": dict(spent.breakdown),
            "ledger": [list(entry) for entry in spent.ledger], "steps": spent.dp_sgd.steps,
            "sample_rate": spent.dp_sgd.sample_rate,
            "noise_multiplier": spent.dp_sgd.noise_multiplier}  # fmt: skip


def rank_fits(out: str, names: list[str], params: dict) -> None:
    """Every rank: fit each case, save its generator weights, loss history, privacy figures
    and DP shard sizes by rank."""
    out_dir = Path(out)
    _record_writes(out_dir)
    shards: list[int] = []
    from synthgan.privacy.engine import PrivateCritic

    PrivateCritic.step = shard_logger(PrivateCritic.step, shards)
    rank = current().rank
    for name in names:
        extra = dict(params.get(name, {}))
        if "die_at" in extra:
            at = extra.pop("die_at")
            extra["callbacks"] = [DieAt(*at)] if rank == 1 else None
        shards.clear()
        model = fit(name, **extra)
        history = model.loss_history_.drop(columns=["seconds"]).to_numpy()
        torch.save(
            {"weights": weights(model), "history": torch.as_tensor(history),
             "privacy": privacy_figures(model), "shards": list(shards)},
            out_dir / f"{name}.rank{rank}.pt",
        )  # fmt: skip
