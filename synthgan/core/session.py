"""The fit session: the whole life of one fit, the same for every model family.

An estimator *describes* what it trains: a :class:`FitPlan` with its named networks (each a
:class:`Network` with its optimizer and its roles) and a factory of the step model (the
discriminator and generator steps). The session owns *how* the fit runs:

* the device and the seed scope (torch's global RNG is forked, seeded, and restored after);
* building the networks, their optimizers and their weight averages (the ``average`` role);
* differential privacy, through the :class:`PrivacyWrapper` protocol (implemented by
  :mod:`synthgan.privacy`; core never imports it): the network with the ``reads_real`` role is
  wrapped, and the wrapper is unwrapped at the end;
* learning-rate schedules (a multiplier per epoch), set at the start of every epoch;
* stopping: the planned epochs, a time limit, the DP budget, and the caller's callbacks (such as
  :class:`~synthgan.core.callbacks.EarlyStopping` on a figure of generated data);
* checkpoints after every ``checkpoint_every`` epochs through a :class:`CheckpointStore`
  (networks, optimizers, averages, every RNG state, the step model's position, the privacy
  accountant, the history) and resuming from one, so that a resumed fit equals, value for value
  on the CPU, one that was never interrupted;
* the final weights: the averaged copy where there is one, its BatchNorm statistics re-estimated
  on inputs the step model provides (which read no real record).

:class:`~synthgan.core.trainer.GANTrainer` runs the loop itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from synthgan.core.averaging import WeightAverage, recalibrate_batchnorm
from synthgan.core.callbacks import Callback, TimeLimit
from synthgan.core.random import derive_seed, torch_seed_scope
from synthgan.core.trainer import GANTrainer, StepModel

__all__ = [
    "CheckpointStore",
    "FitPlan",
    "FitSession",
    "GANSteps",
    "Network",
    "PrivacyWrapper",
    "SessionResult",
    "TrainingContext",
    "add_prefixed",
    "linear_decay",
    "prefixed",
]

CALIBRATION_BATCHES = 20  # batches of training-like inputs that re-estimate BatchNorm statistics


@dataclass
class Network:
    """One network of a fit, with its optimizer and its roles.

    Parameters
    ----------
    name : str
        Its name: the kept network ``"generator"`` becomes the estimator's ``generator_``.
    module : nn.Module
        The network (plain ``forward`` only); moved to the session's device.
    optimizer : callable
        ``module -> torch.optim.Optimizer``, called after the move to the device.
    reads_real : bool
        The network sees real records (a discriminator): under DP it is wrapped by the
        :class:`PrivacyWrapper`, and it is the only network that may be.
    average : float or None
        Keep an exponential moving average of its weights with this decay (updated after every
        generator step); the average is its final weights.
    kept : bool
        Its final weights are part of the fitted model (used by ``sample``).
    schedule : callable or None
        ``epoch -> multiplier`` of the optimizer's learning rates during that epoch (see
        :func:`linear_decay`).
    private_options : mapping
        Options for :meth:`PrivacyWrapper.wrap` (for example the per-record gradient method).
    """

    name: str
    module: nn.Module
    optimizer: Callable[[nn.Module], torch.optim.Optimizer]
    reads_real: bool = False
    average: float | None = None
    kept: bool = False
    schedule: Callable[[int], float] | None = None
    private_options: Mapping[str, Any] = field(default_factory=dict)


class PrivacyWrapper(Protocol):
    """What the session needs from a differential-privacy implementation.

    Implemented by :class:`synthgan.privacy.training.DPSGDTraining`. The noise is planned when
    the wrapper is made, before any release of data; :meth:`wrap` is called once, on the network
    that reads real records, and returns the object its step model steps with.
    """

    def wrap(self, module: nn.Module, optimizer: torch.optim.Optimizer, *,
             noise: torch.Generator, **options: Any) -> Any: ...  # fmt: skip

    @property
    def exhausted(self) -> bool: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...

    def unwrap(self) -> None: ...


class CheckpointStore(Protocol):
    """Where checkpoints go: one complete snapshot, replaced atomically (implemented in io)."""

    def save(self, state: dict[str, Any], tensors: dict[str, Tensor]) -> None: ...


@dataclass
class FitPlan:
    """What an estimator trains: networks, a step model and the schedule of the loop.

    ``networks`` and ``steps`` are factories, called by the session inside its seed scope (so
    weight initialisation is seeded) and on its device.
    """

    networks: Callable[[], Sequence[Network]]
    steps: Callable[[TrainingContext], StepModel]
    epochs: int
    steps_per_epoch: int = 1  # set by the template fit from the records and the batch size
    n_critic: int = 1
    description: str = "Training"


class TrainingContext:
    """What a step model gets from the session: networks, optimizers, device, precision, RNG.

    Attributes
    ----------
    modules, optimizers : dict
        By network name. Under DP, the network that reads real records is stepped through
        ``critics[name]`` (its optimizer is the wrapper's).
    critics : dict
        The privacy wrapper's object per wrapped network (empty without DP).
    device : torch.device
    autocast : bool
        Whether the networks run in bfloat16 (see :meth:`precision`).
    rng : numpy.random.Generator
        The fit's numpy stream (checkpointed).
    """

    def __init__(self, device: torch.device, autocast: bool, rng: np.random.Generator) -> None:
        self.device, self.autocast, self.rng = device, autocast, rng
        self.modules: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.critics: dict[str, Any] = {}
        self.generators: dict[str, torch.Generator] = {}

    @classmethod
    def of(cls, modules: Mapping[str, nn.Module], optimizers: Mapping[str, Any], *,
           rng: np.random.Generator, device: str | torch.device = "cpu", autocast: bool = False,
           critics: Mapping[str, Any] | None = None) -> TrainingContext:  # fmt: skip
        """A context over networks built by hand (to drive a step model outside a session)."""
        context = cls(torch.device(device), autocast, rng)
        context.modules.update(modules)
        context.optimizers.update(optimizers)
        context.critics.update(critics or {})
        return context

    def precision(self) -> contextlib.AbstractContextManager:
        """``torch.autocast`` to bfloat16 when the fit uses it, else a no-op."""
        if not self.autocast:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def generator(self, name: str, device: torch.device | str | None = None) -> torch.Generator:
        """A torch generator seeded from the fit's stream, saved in checkpoints under ``name``."""
        if name in self.generators:
            raise ValueError(f"A torch generator named {name!r} already exists in this fit.")
        gen = torch.Generator(device=device or self.device).manual_seed(derive_seed(self.rng))
        self.generators[name] = gen
        return gen


class GANSteps:
    """Base of step models over the session's ``generator`` and ``discriminator`` networks.

    Holds them, their optimizers, the fit's numpy stream and device; subclasses define
    ``discriminator_step`` and ``generator_step`` (and ``calibration_inputs`` when the
    generator is averaged, ``state_dict`` / ``load_state_dict`` for their position).
    """

    def __init__(self, context: TrainingContext) -> None:
        self.context = context
        self.generator = context.modules["generator"]
        self.discriminator = context.modules["discriminator"]
        self.opt_g = context.optimizers["generator"]
        self.opt_d = context.optimizers["discriminator"]
        self.rng, self.device = context.rng, context.device


@dataclass
class SessionResult:
    """What a session hands back: the kept networks (eval mode), history and figures."""

    networks: dict[str, nn.Module]
    history: pd.DataFrame
    epochs_run: int
    seconds: float  # training seconds, those of the runs before a resume included
    privacy: PrivacyWrapper | None
    seconds_before: float = 0.0  # training seconds of the runs before a resume


def linear_decay(epochs: int, start: int) -> Callable[[int], float]:
    """Learning-rate multiplier: 1 for the first ``start`` epochs, then linearly to 0 at
    ``epochs`` (the schedule of Pix2Pix and CycleGAN)."""
    span = max(1, epochs - start)

    def multiplier(epoch: int) -> float:
        return 1.0 - max(0, epoch - start) / span  # epoch `start` runs at 1, the last at 1/span

    return multiplier


class FitSession:
    """Run one fit described by a :class:`FitPlan` (see the module docstring).

    Parameters
    ----------
    plan : FitPlan
    device : torch.device
    autocast : bool
    rng : numpy.random.Generator
        The fit's stream, already used by preprocessing; the session continues it.
    privacy : PrivacyWrapper or None
    callbacks : sequence of Callback
        The caller's callbacks (after the session's own).
    max_time : float or None
        Seconds after which training stops at the end of an epoch.
    verbose : bool
        Progress bar.
    checkpoints : CheckpointStore or None
        Where to write a checkpoint every ``checkpoint_every`` epochs.
    resume : (dict, dict) or None
        A checkpoint's ``(state, tensors)`` to continue from.
    """

    def __init__(self, plan: FitPlan, *, device: torch.device, autocast: bool,
                 rng: np.random.Generator, privacy: PrivacyWrapper | None = None,
                 callbacks: Sequence[Callback] = (), max_time: float | None = None,
                 verbose: bool = True, checkpoints: CheckpointStore | None = None,
                 checkpoint_every: int = 1,
                 resume: tuple[dict[str, Any], dict[str, Tensor]] | None = None,
                 ) -> None:  # fmt: skip
        self.plan, self.device, self.privacy = plan, device, privacy
        self.context = TrainingContext(device, autocast, rng)
        self.callbacks, self.max_time, self.verbose = list(callbacks), max_time, verbose
        self.checkpoints, self.checkpoint_every, self.resume = checkpoints, checkpoint_every, resume
        self.networks: dict[str, Network] = {}
        self.averages: dict[str, WeightAverage] = {}
        self._seconds_before = 0.0  # training time of the runs before a resume

    # -- the fit ---------------------------------------------------------------------------------
    def run(self) -> SessionResult:
        """Build, train (or continue), and return the final kept networks."""
        start = time.perf_counter()
        with torch_seed_scope(derive_seed(self.context.rng), self.device):
            self._build()
            steps = self.plan.steps(self.context)
            trainer = self._trainer()
            if self.resume is not None:
                trainer.start_epoch = self._restore(steps, trainer, *self.resume)
            self._trainer_ref, self._steps_ref, self._start = trainer, steps, start
            history = trainer.fit(steps).to_frame()
            finals = self._final_networks(steps)
        if self.privacy is not None:
            self.privacy.unwrap()
        seconds = self._seconds_before + time.perf_counter() - start
        return SessionResult(finals, history, len(history), seconds, self.privacy,
                             self._seconds_before)  # fmt: skip

    def _build(self) -> None:
        for spec in self.plan.networks():
            if spec.name in self.networks:
                raise ValueError(f"Two networks are named {spec.name!r}; names must be unique.")
            spec.module.to(self.device).train()
            optimizer = spec.optimizer(spec.module)
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])  # the base of the schedule
            self.networks[spec.name] = spec
            self.context.modules[spec.name] = spec.module
            self.context.optimizers[spec.name] = optimizer
            if spec.average is not None:
                self.averages[spec.name] = WeightAverage(spec.module, spec.average)
        self._wrap_private()

    def _wrap_private(self) -> None:
        readers = [spec for spec in self.networks.values() if spec.reads_real]
        if self.privacy is None or not readers:
            return
        if len(readers) > 1:  # two critics would need two ledgers composed: not defined here
            raise ValueError(
                f"Differential privacy wraps exactly one network that reads real records, and "
                f"its accountant is the fit's ledger; this fit describes "
                f"{[spec.name for spec in readers]}. Give one network the reads_real role."
            )
        spec = readers[0]
        noise = self.context.generator(f"{spec.name}.dp_noise")
        optimizer = self.context.optimizers[spec.name]
        critic = self.privacy.wrap(spec.module, optimizer, noise=noise, **spec.private_options)
        self.context.critics[spec.name] = critic

    def _trainer(self) -> GANTrainer:
        own: list[Callback] = [_Averaging(self.averages), _Schedules(self)]
        if self.max_time is not None:
            own.append(TimeLimit(self.max_time))
        if self.privacy is not None:
            own.append(_BudgetStop(self.privacy))
        tail = [_Checkpointer(self)] if self.checkpoints is not None else []
        return GANTrainer(
            epochs=self.plan.epochs,
            steps_per_epoch=self.plan.steps_per_epoch,
            n_critic=self.plan.n_critic,
            callbacks=[*own, *self.callbacks, *tail],
            verbose=self.verbose,
            description=self.plan.description,
        )

    @torch.no_grad()
    def _final_networks(self, steps: StepModel) -> dict[str, nn.Module]:
        finals = {}
        for name, spec in self.networks.items():
            if not spec.kept:
                continue
            module = spec.module
            if name in self.averages:
                inputs = steps.calibration_inputs(name, CALIBRATION_BATCHES)  # type: ignore[attr-defined]
                module = recalibrate_batchnorm(_Unpacking(self.averages[name].averaged), inputs)
                module = module.module
            finals[name] = module.eval()
        return finals

    # -- checkpoints -----------------------------------------------------------------------------
    def snapshot(
        self, epoch: int, finished: bool = False
    ) -> tuple[dict[str, Any], dict[str, Tensor]]:
        """Everything a resumed fit needs after ``epoch`` epochs: ``(json state, tensors)``.

        ``finished`` marks a fit that ended there (all epochs, the DP budget, or a callback such
        as early stopping): resuming it runs no further epoch. A fit stopped by the time limit is
        not finished: resuming it continues.
        """
        tensors: dict[str, Tensor] = {"rng.torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        for name, gen in self.context.generators.items():
            tensors[f"rng.generator.{name}"] = gen.get_state()
        optimizers = {}
        for name, spec in self.networks.items():
            add_prefixed(tensors, f"network.{name}.", spec.module.state_dict())
            optimizers[name] = _flatten_optimizer(self.context.optimizers[name], name, tensors)
        for name, average in self.averages.items():
            add_prefixed(tensors, f"average.{name}.", average.averaged.state_dict())
        state = {
            "epoch": epoch,
            "finished": finished,
            "seconds": self._seconds_before + time.perf_counter() - self._start,
            "history": self._trainer_ref.history.rows,
            "numpy_rng": self.context.rng.bit_generator.state,
            "optimizers": optimizers,
            "averages": {name: average.updates for name, average in self.averages.items()},
            "steps": _state_of(self._steps_ref),
            "privacy": None if self.privacy is None else self.privacy.state_dict(),
            "callbacks": [
                [type(callback).__name__, callback.state_dict()]
                for callback in self.callbacks
                if hasattr(callback, "state_dict")
            ],
        }
        return state, tensors

    def _restore(self, steps, trainer, state: dict[str, Any], tensors: dict[str, Tensor]) -> int:
        for name, spec in self.networks.items():
            spec.module.load_state_dict(prefixed(tensors, f"network.{name}."))
            _load_optimizer(self.context.optimizers[name], state["optimizers"][name], tensors)
        for name, average in self.averages.items():
            average.averaged.load_state_dict(prefixed(tensors, f"average.{name}."))
            average.updates = int(state["averages"][name])
        if self.privacy is not None:
            self.privacy.load_state_dict(state["privacy"])
        _load_state(steps, state["steps"])
        _restore_callbacks(self.callbacks, state["callbacks"])
        trainer.history.rows = [dict(row) for row in state["history"]]
        self._seconds_before = float(state["seconds"])
        self._restore_rng(state, tensors)
        return self.plan.epochs if state.get("finished") else int(state["epoch"])

    def _restore_rng(self, state: dict[str, Any], tensors: dict[str, Tensor]) -> None:
        self.context.rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(tensors["rng.torch"])
        if self.device.type == "cuda" and "rng.cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        for name, gen in self.context.generators.items():
            gen.set_state(tensors[f"rng.generator.{name}"])


# -- the session's own callbacks -----------------------------------------------------------------
class _Averaging(Callback):
    """Fold the live weights into every average after each generator step."""

    def __init__(self, averages: Mapping[str, WeightAverage]) -> None:
        self.averages = averages

    def on_step_end(self, step: int) -> None:
        for average in self.averages.values():
            average.update()


class _Schedules(Callback):
    """Set each scheduled optimizer's learning rates for the epoch about to run."""

    def __init__(self, session: FitSession) -> None:
        self.session = session

    def on_epoch_begin(self, epoch: int) -> None:
        for name, spec in self.session.networks.items():
            if spec.schedule is None:
                continue
            factor = float(spec.schedule(epoch))
            for group in self.session.context.optimizers[name].param_groups:
                group["lr"] = group["initial_lr"] * factor


class _BudgetStop(Callback):
    """Stop when the privacy budget's planned steps are all taken."""

    def __init__(self, privacy: PrivacyWrapper) -> None:
        self.privacy = privacy

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.privacy.exhausted and self.trainer is not None:
            self.trainer.stop_training = True


class _Checkpointer(Callback):
    """Write a checkpoint after every ``checkpoint_every`` epochs and after the last one."""

    def __init__(self, session: FitSession) -> None:
        self.session = session

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        done = epoch + 1
        stopped = self.trainer is not None and self.trainer.stop_training
        timed_out = any(
            isinstance(c, TimeLimit) and c.stopped_after is not None for c in self.trainer.callbacks
        )
        finished = done >= self.session.plan.epochs or (stopped and not timed_out)
        if done % self.session.checkpoint_every == 0 or stopped or finished:
            self.session.checkpoints.save(*self.session.snapshot(done, finished))


class _Unpacking(nn.Module):
    """``recalibrate_batchnorm`` feeds one object per batch: a tuple is unpacked into args."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, batch: Any) -> Any:
        return self.module(*batch) if isinstance(batch, tuple) else self.module(batch)


# -- state helpers ---------------------------------------------------------------------------------
def _state_of(obj: Any) -> Any:
    return obj.state_dict() if hasattr(obj, "state_dict") else None


def _load_state(obj: Any, state: Any) -> None:
    if state is not None:
        obj.load_state_dict(state)


def _restore_callbacks(callbacks: Sequence[Callback], saved: Sequence[Sequence[Any]]) -> None:
    """Give each stateful callback the saved state of the next one of its class, if any (the
    callbacks of a resumed fit need not be those of the interrupted one)."""
    pending = [list(entry) for entry in saved]
    for callback in callbacks:
        if not hasattr(callback, "load_state_dict"):
            continue
        match = next((entry for entry in pending if entry[0] == type(callback).__name__), None)
        if match is not None:
            pending.remove(match)
            callback.load_state_dict(match[1])


def add_prefixed(tensors: dict[str, Tensor], prefix: str, values: Mapping[str, Tensor]) -> None:
    """Copy ``values`` into ``tensors`` under ``prefix``, on the CPU and contiguous."""
    for key, value in values.items():
        tensors[prefix + key] = value.detach().cpu().contiguous()


def prefixed(tensors: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """The entries of ``tensors`` under ``prefix``, with the prefix removed."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _flatten_optimizer(optimizer: torch.optim.Optimizer, name: str,
                       tensors: dict[str, Tensor]) -> dict[str, Any]:  # fmt: skip
    """An optimizer's state as JSON, its tensors moved into ``tensors`` (no pickle)."""
    saved = optimizer.state_dict()
    state: dict[str, dict[str, Any]] = {}
    for index, values in saved["state"].items():
        state[str(index)] = {}
        for key, value in values.items():
            if isinstance(value, Tensor):
                tensors[f"optimizer.{name}.{index}.{key}"] = value.detach().cpu().contiguous()
                state[str(index)][key] = {"tensor": True}
            else:
                state[str(index)][key] = value
    return {"name": name, "state": state, "param_groups": saved["param_groups"]}


def _load_optimizer(optimizer: torch.optim.Optimizer, saved: Mapping[str, Any],
                    tensors: Mapping[str, Tensor]) -> None:  # fmt: skip
    name_of = saved["name"]
    state = {}
    for index, values in saved["state"].items():
        state[int(index)] = {
            key: tensors[f"optimizer.{name_of}.{index}.{key}"].clone()
            if isinstance(value, dict) and value.get("tensor")
            else value
            for key, value in values.items()
        }
    optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
