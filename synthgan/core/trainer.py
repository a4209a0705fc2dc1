"""The GAN training loop, shared by every synthesizer.

A synthesizer hands the trainer a *step model*: an object with ``discriminator_step()`` and
``generator_step()`` methods, each doing one optimisation step and returning a dict of float
figures (losses). The trainer owns epochs, the n_critic schedule, timing, callbacks and the
progress bar; the model owns the networks and the maths.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from synthgan.core.callbacks import Callback, LossHistory, ProgressBar

__all__ = ["GANTrainer", "StepModel"]


class StepModel(Protocol):
    """What the trainer drives: one discriminator (critic) step and one generator step."""

    def discriminator_step(self) -> dict[str, float]: ...

    def generator_step(self) -> dict[str, float]: ...


# A step model may also define ``epoch_figures() -> dict[str, float]``: figures computed once at
# the end of every epoch (a diversity check, say), logged with that epoch's losses.


class GANTrainer:
    """Alternate discriminator and generator steps for a number of epochs.

    Parameters
    ----------
    epochs : int
        Number of passes over the data.
    steps_per_epoch : int
        Generator steps per epoch (typically ``n_rows // batch_size``).
    n_critic : int, default=1
        Discriminator steps before each generator step.
    callbacks : sequence of Callback
        Extra callbacks, called after the built-in loss history (and progress bar).
    start_epoch : int, default=0
        Epochs already run (a resumed fit continues from here; the history should hold their
        rows).
    verbose : bool, default=True
        Show a tqdm progress bar with the losses.
    description : str
        Label of the progress bar.
    figures : callable or None
        ``logs -> logs`` applied to every epoch's figures before the callbacks see them (a
        distributed fit averages them over ranks, so every rank logs and decides alike).

    Attributes
    ----------
    history : LossHistory
        Mean figures of every epoch plus its wall time in ``seconds``.
    stop_training : bool
        Set by a callback to end training after the current epoch.
    """

    def __init__(
        self,
        *,
        epochs: int,
        steps_per_epoch: int,
        n_critic: int = 1,
        callbacks: Sequence[Callback] = (),
        verbose: bool = True,
        description: str = "Training",
        start_epoch: int = 0,
        figures: Callable[[dict[str, float]], dict[str, float]] | None = None,
    ) -> None:
        self.epochs = epochs
        self.start_epoch = start_epoch
        self.steps_per_epoch = steps_per_epoch
        self.n_critic = n_critic
        self.history = LossHistory()
        progress = [ProgressBar(description)] if verbose else []
        self.callbacks: list[Callback] = [self.history, *progress, *callbacks]
        self.stop_training = False
        self.figures = figures

    def fit(self, model: StepModel) -> LossHistory:
        """Run the loop on ``model``; returns the loss history."""
        for callback in self.callbacks:
            callback.on_train_begin(self)
        logs: dict[str, float] = {}
        try:
            for epoch in range(self.start_epoch, self.epochs):
                for callback in self.callbacks:
                    callback.on_epoch_begin(epoch)
                logs = self._run_epoch(model)
                if self.figures is not None:
                    logs = self.figures(logs)
                for callback in self.callbacks:
                    callback.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:
            for callback in self.callbacks:
                callback.on_train_end(logs)
        return self.history

    def _run_epoch(self, model: StepModel) -> dict[str, float]:
        start = time.perf_counter()
        sums: dict[str, float] = {}
        for step in range(self.steps_per_epoch):
            for _ in range(self.n_critic):
                _accumulate(sums, model.discriminator_step(), 1.0 / self.n_critic)
            _accumulate(sums, model.generator_step(), 1.0)
            for callback in self.callbacks:
                callback.on_step_end(step)
        logs = {key: value / self.steps_per_epoch for key, value in sums.items()}
        logs["seconds"] = time.perf_counter() - start
        epoch_figures = getattr(model, "epoch_figures", None)
        if epoch_figures is not None:
            logs.update(epoch_figures())
        return logs


def _accumulate(sums: dict[str, float], figures: dict[str, float], weight: float) -> None:
    for key, value in figures.items():
        sums[key] = sums.get(key, 0.0) + weight * value
