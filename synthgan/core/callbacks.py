"""Training callbacks: loss history, a tqdm progress bar, early stopping.

The trainer calls ``on_train_begin(trainer)``, ``on_epoch_end(epoch, logs)`` and
``on_train_end(logs)``; ``logs`` maps names (``generator_loss``...) to floats for the epoch.
A callback stops training by setting ``trainer.stop_training = True``.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from synthgan.core.trainer import GANTrainer

__all__ = ["Callback", "EarlyStopping", "LossHistory", "ProgressBar", "TimeLimit", "check_max_time"]


class Callback:
    """Base class: every hook is a no-op."""

    trainer: GANTrainer | None = None

    def on_train_begin(self, trainer: GANTrainer) -> None:
        self.trainer = trainer

    def on_epoch_begin(self, epoch: int) -> None:
        """Called before every epoch (``epoch`` counts from 0, also in a resumed fit)."""

    def on_step_end(self, step: int) -> None:
        """Called after every generator step (``step`` counts from 0 within the epoch)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Called after every epoch with the epoch's mean losses and its wall time."""

    def on_train_end(self, logs: dict[str, Any]) -> None:
        """Called once when the loop ends (normally or stopped by a callback)."""


class LossHistory(Callback):
    """Collects one row of ``logs`` per epoch; ``to_frame()`` gives a DataFrame."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.rows.append({"epoch": epoch, **logs})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)


class ProgressBar(Callback):
    """A tqdm bar over epochs showing the latest generator and discriminator losses."""

    def __init__(self, description: str = "Training", keys: tuple[str, ...] | None = None):
        self.description = description
        self.keys = keys
        self._bar = None

    def on_train_begin(self, trainer: GANTrainer) -> None:
        from tqdm.auto import tqdm

        super().on_train_begin(trainer)
        self._bar = tqdm(
            total=trainer.epochs,
            initial=trainer.start_epoch,
            desc=self.description,
            unit="epoch",
            leave=True,
            bar_format="{l_bar}{bar}| {n:.1f}/{total} [{elapsed}<{remaining}{postfix}]",
        )

    def on_step_end(self, step: int) -> None:
        # Long epochs (an image epoch can take a minute) still move the bar, by fractions of
        # an epoch; tqdm redraws at most ten times a second, so this costs nothing per step.
        self._bar.update(1.0 / self.trainer.steps_per_epoch)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        keys = self.keys or [k for k in logs if k.endswith("loss") or k in _SHOWN]
        self._bar.set_postfix({_short(k): f"{logs[k]:+.3f}" for k in keys if k in logs})
        self._bar.n = epoch + 1  # whole epochs again (no rounding drift from the fractions)
        self._bar.refresh()

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.close()


_SHOWN = ("diversity", "class_coverage")  # monitoring figures worth a glance while training


def _short(key: str) -> str:
    return {"generator_loss": "G", "discriminator_loss": "D"}.get(key, key)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Adversarial losses are not a quality measure, so monitor a figure you compute yourself
    (added to ``logs`` by an earlier callback). Monitoring anything computed from private data
    spends privacy budget.
    """

    def __init__(self, monitor: str, patience: int = 10, min_delta: float = 0.0, mode: str = "min"):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}.")
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, min_delta, mode
        self.best = math.inf
        self.wait = 0

    def state_dict(self) -> dict[str, float]:
        """What a checkpoint keeps, so that a resumed fit stops where an uninterrupted one would."""
        return {"best": None if math.isinf(self.best) else self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        best = state["best"]
        self.best, self.wait = math.inf if best is None else float(best), int(state["wait"])

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, absent from {list(logs)}.")
        value = logs[self.monitor] if self.mode == "min" else -logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience and self.trainer is not None:
            self.trainer.stop_training = True


def check_max_time(max_time: object) -> None:
    """Refuse a ``max_time`` hyperparameter that is neither None nor seconds > 0."""
    if max_time is not None and not (isinstance(max_time, numbers.Real) and max_time > 0):
        raise ValueError(f"max_time must be None or seconds > 0, got {max_time!r}.")


class TimeLimit(Callback):
    """Stop training after the first epoch that ends more than ``seconds`` after the start.

    A wall-clock budget, checked at epoch ends: training can overrun it by up to one epoch.
    When it stops training before the last epoch, a :class:`UserWarning` says so at the end
    ("stopped after 38 of 40 epochs: the time limit (max_time=90 s) was reached"), and
    ``stopped_after`` holds the number of epochs run (None when every epoch ran).
    """

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, got {seconds!r}.")
        self.seconds = seconds
        self._start = 0.0
        self.stopped_after: int | None = None

    def on_train_begin(self, trainer: GANTrainer) -> None:
        super().on_train_begin(trainer)
        self._start = time.perf_counter()
        self.stopped_after = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if time.perf_counter() - self._start >= self.seconds and self.trainer is not None:
            self.trainer.stop_training = True
            if epoch + 1 < self.trainer.epochs:
                self.stopped_after = epoch + 1

    def on_train_end(self, logs: dict[str, Any]) -> None:
        # Warned here, after the progress bar has closed, so the message is not drawn over.
        if self.stopped_after is not None and self.trainer is not None:
            warnings.warn(
                f"Training stopped after {self.stopped_after} of {self.trainer.epochs} epochs: "
                f"the time limit (max_time={self.seconds:g} s) was reached.",
                UserWarning,
                stacklevel=2,
            )
