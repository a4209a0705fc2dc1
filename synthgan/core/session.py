"""The fit session: the whole life of one fit, the same for every model family.

An estimator *describes* what it trains: a :class:`FitPlan` with its named networks (each a
:class:`Network` with its optimizer and its roles) and a factory of the step model (the
discriminator and generator steps). The session owns *how* the fit runs:

* the device and the seed scope (torch's global RNG is forked, seeded, and restored after);
* building the networks, their optimizers and their weight averages (the ``average`` role);
* differential privacy, through the :class:`PrivacyWrapper` protocol (implemented by
  :mod:`synthgan.privacy`; core never imports it): the network with the ``reads_real`` role is
  wrapped, and the wrapper is unwrapped at the end; in a distributed fit the wrapper gets the
  ranks too, and that network is not put in DistributedDataParallel (the wrapper aggregates
  its clipped gradients over ranks itself);
* learning-rate schedules (a multiplier per epoch), set at the start of every epoch;
* stopping: the planned epochs, a time limit, the DP budget, and the caller's callbacks (such as
  :class:`~synthgan.core.callbacks.EarlyStopping` on a figure of generated data);
* checkpoints after every ``checkpoint_every`` epochs through a :class:`CheckpointStore`
  (networks, optimizers, averages, every RNG state, the step model's position, the privacy
  accountant, the history) and resuming from one, so that a resumed fit equals, value for value
  on the CPU, one that was never interrupted;
* the final weights: the averaged copy where there is one, its BatchNorm statistics re-estimated
  on inputs the step model provides (which read no real record);
* data-parallel training on ``torch.distributed`` (:mod:`synthgan.core.distributed`): the
  trained networks in DistributedDataParallel, each rank stepping its block of the global
  batch, the epoch's figures and stops agreed by every rank, checkpoints written by rank 0
  (with every rank's RNG state) and read by all, the final weights rank 0's on every rank.

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
from synthgan.core.distributed import Distributed, DistributedError, check_batch
from synthgan.core.random import derive_seed, rank_seed, torch_seed_scope
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
    that reads real records, and returns the object its step model steps with. ``world`` is
    this process's rank: in a distributed fit the wrapper sums the network's gradients over
    ranks itself (the session does not put that network in DistributedDataParallel).
    """

    def wrap(self, module: nn.Module, optimizer: torch.optim.Optimizer, *,
             noise: torch.Generator, world: Distributed, **options: Any) -> Any: ...  # fmt: skip

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
    batch_size: int | None = None  # the global batch (set by the template fit)
    batch_unit: int = 1  # a per-rank batch must be a whole number of these rows (CTGAN's pac)


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
        The fit's numpy stream (checkpointed); the same on every rank of a distributed fit.
    world : Distributed
        This process's rank and the number of ranks (rank 0 of 1 in one process).
    parallel : dict
        By network name, the DistributedDataParallel wrapper that training passes go through
        (empty in one process); see :meth:`trainable`.
    """

    def __init__(self, device: torch.device, autocast: bool, rng: np.random.Generator,
                 world: Distributed | None = None) -> None:  # fmt: skip
        self.device, self.autocast, self.rng = device, autocast, rng
        self.world = world or Distributed()
        self.modules: dict[str, nn.Module] = {}
        self.parallel: dict[str, nn.Module] = {}
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

    # -- a distributed fit: each rank's block of the global batch --------------------------------
    def trainable(self, name: str) -> nn.Module:
        """The network to run *training* passes through: its DistributedDataParallel wrapper in a
        distributed fit (whose backward averages gradients over ranks), else the network.

        Passes that need no gradient of the network's weights (the discriminator scoring
        generated rows in the generator step, sampling, BatchNorm calibration) use
        ``modules[name]``: they must not start a gradient reduction that never completes.
        """
        return self.parallel.get(name, self.modules[name])

    def rows(self, n_global: int) -> slice:
        """This rank's rows of a global batch of ``n_global`` draws (all of them in one
        process): draw the global batch from the shared stream, keep this block."""
        return self.world.rows(n_global)

    def batch_generator(self) -> torch.Generator:
        """The fit's torch stream of batch-defining draws (noise, mixing weights), the same on
        every rank; created on first use (a step model calls it in its constructor)."""
        if "batch" not in self.generators:
            return self.generator("batch")
        return self.generators["batch"]

    def normal(self, rows: int, dim: int, *, whole: bool = False) -> Tensor:
        """Standard normal ``(rows, dim)``: this rank's block of ``rows * world_size`` draws
        from :meth:`batch_generator`, so the ranks' blocks make up the one-process draw.

        ``whole=True``: exactly ``rows`` draws, the same on every rank (for passes every rank
        makes alike, such as a diversity check), so the stream advances as in one process.
        """
        total = rows if whole else rows * self.world.world_size
        draw = torch.randn(total, dim, device=self.device, generator=self.batch_generator())
        return draw if whole else draw[self.rows(total)]  # (rows, dim)

    def uniform(self, rows: int, dim: int, *, whole: bool = False) -> Tensor:
        """Uniform [0, 1) ``(rows, dim)``, drawn as :meth:`normal` is (``whole`` too)."""
        total = rows if whole else rows * self.world.world_size
        draw = torch.rand(total, dim, device=self.device, generator=self.batch_generator())
        return draw if whole else draw[self.rows(total)]  # (rows, dim)

    def own_records(self, index: Tensor) -> Tensor:
        """``(b,)`` bool: the records of a sample drawn alike on every rank (``index``, record
        numbers) that this rank steps, record i being rank ``i mod world_size``'s (see
        :meth:`Distributed.owns`); all of them in one process. Draws made per record of the
        sample are drawn for all of it and masked alike, so that the stream stays shared."""
        return self.world.owns(index)


class GANSteps:
    """Base of step models over the session's ``generator`` and ``discriminator`` networks.

    Holds them, their optimizers, the fit's numpy stream and device; subclasses define
    ``discriminator_step`` and ``generator_step`` (and ``calibration_inputs`` when the
    generator is averaged, ``state_dict`` / ``load_state_dict`` for their position).
    """

    #: The step model draws global batches and keeps its rank's block (see
    #: :meth:`TrainingContext.rows`), so a distributed session may run it.
    distributed_ready = True

    def __init__(self, context: TrainingContext) -> None:
        self.context = context
        self.generator = context.modules["generator"]
        self.discriminator = context.modules["discriminator"]
        # Training passes go through these (DistributedDataParallel in a distributed fit).
        self.train_generator = context.trainable("generator")
        self.train_discriminator = context.trainable("discriminator")
        context.batch_generator()  # created now, so that checkpoints hold its state
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
    distributed : Distributed or None
        This process's rank in a data-parallel fit (:func:`synthgan.core.distributed.setup`);
        None: one process.
    """

    def __init__(self, plan: FitPlan, *, device: torch.device, autocast: bool,
                 rng: np.random.Generator, privacy: PrivacyWrapper | None = None,
                 callbacks: Sequence[Callback] = (), max_time: float | None = None,
                 verbose: bool = True, checkpoints: CheckpointStore | None = None,
                 checkpoint_every: int = 1,
                 resume: tuple[dict[str, Any], dict[str, Tensor]] | None = None,
                 distributed: Distributed | None = None) -> None:  # fmt: skip
        self.world = distributed or Distributed()
        device = self.world.device(device)
        self.plan, self.device, self.privacy = plan, device, privacy
        self.context = TrainingContext(device, autocast, rng, self.world)
        self.callbacks, self.max_time = list(callbacks), max_time
        self.verbose = verbose and self.world.is_main  # one progress bar, rank 0's
        self.checkpoints, self.checkpoint_every, self.resume = checkpoints, checkpoint_every, resume
        self.networks: dict[str, Network] = {}
        self.averages: dict[str, WeightAverage] = {}
        self._seconds_before = 0.0  # training time of the runs before a resume

    # -- the fit ---------------------------------------------------------------------------------
    def run(self) -> SessionResult:
        """Build, train (or continue), and return the final kept networks."""
        start = time.perf_counter()
        self._check_world()
        seed = derive_seed(self.context.rng)
        with torch_seed_scope(seed, self.device):
            self._build()
            if self.world.rank:  # dropout masks and augmentations: this rank's own stream
                torch.manual_seed(rank_seed(seed, self.world.rank))
            steps = self.plan.steps(self.context)
            trainer = self._trainer()
            self._check_steps(steps)
            if self.resume is not None:
                trainer.start_epoch = self._restore(steps, trainer, *self.resume)
            self._trainer_ref, self._steps_ref, self._start = trainer, steps, start
            history = trainer.fit(steps).to_frame()
            self.world.average_buffers(spec.module for spec in self.networks.values())
            finals = self._final_networks(steps)
            self.world.broadcast_modules(finals.values())  # every rank returns rank 0's model
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
        self._wrap_private()
        for spec in self.networks.values():
            # DDP broadcasts rank 0's weights into the module here; a DP network's wrapper
            # broadcasts them and sums its clipped gradients over ranks itself.
            if self.world.active and spec.name not in self.context.critics:
                self.context.parallel[spec.name] = self.world.wrap(spec.module, self.device)
            if spec.average is not None:  # a copy of the weights every rank now shares
                self.averages[spec.name] = WeightAverage(spec.module, spec.average)

    # -- a distributed fit -----------------------------------------------------------------------
    def _check_world(self) -> None:
        """Refuse what a distributed fit cannot do, on every rank, before any collective."""
        if not self.world.active:
            return
        if self.plan.batch_size is not None:
            check_batch(self.plan.batch_size, self.plan.batch_unit, self.world, "pac")
        plan = self.plan
        loop = (plan.epochs, plan.steps_per_epoch, plan.n_critic, plan.batch_size)
        self.world.check_same("the loop (epochs, steps per epoch, critic steps, batch)", loop)

    def _check_steps(self, steps: StepModel) -> None:
        if self.world.active and not getattr(steps, "distributed_ready", False):
            raise DistributedError(
                f"{type(steps).__name__} does not split its batches over ranks, so it cannot "
                "train in a distributed fit (torchrun); run this model in one process."
            )

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
        critic = self.privacy.wrap(
            spec.module, optimizer, noise=noise, world=self.world, **spec.private_options
        )
        self.context.critics[spec.name] = critic

    def _trainer(self) -> GANTrainer:
        own: list[Callback] = [_Averaging(self.averages), _Schedules(self)]
        if self.max_time is not None:
            own.append(TimeLimit(self.max_time))
        if self.privacy is not None:
            own.append(_BudgetStop(self.privacy))
        tail: list[Callback] = [_AgreeStop(self.world)] if self.world.active else []
        if self.checkpoints is not None:
            tail.append(_Checkpointer(self))
        return GANTrainer(
            epochs=self.plan.epochs,
            steps_per_epoch=self.plan.steps_per_epoch,
            n_critic=self.plan.n_critic,
            callbacks=[*own, *self.callbacks, *tail],
            verbose=self.verbose,
            description=self.plan.description,
            figures=self.world.average_figures if self.world.active else None,
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

        In a distributed fit every rank must call it at the same point (it averages BatchNorm
        statistics over ranks and gathers every rank's torch RNG state); rank 0 saves it.
        """
        self.world.average_buffers(spec.module for spec in self.networks.values())
        tensors = self._torch_rng_states()
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
            "world_size": self.world.world_size,
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

    def _torch_rng_states(self) -> dict[str, Tensor]:
        """torch's global RNG state of every rank (rank r > 0 under ``rng.torch.rank<r>``)."""
        own = {"rng.torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            own["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        tensors: dict[str, Tensor] = {}
        for rank, states in enumerate(self.world.gather_objects(own)):
            suffix = f".rank{rank}" if rank else ""
            tensors.update({key + suffix: value for key, value in states.items()})
        return tensors

    def _restore_rng(self, state: dict[str, Any], tensors: dict[str, Tensor]) -> None:
        self.context.rng.bit_generator.state = state["numpy_rng"]
        suffix = f".rank{self.world.rank}" if self.world.rank else ""
        if "rng.torch" + suffix in tensors:  # else (more ranks than saved): the fresh stream
            torch.set_rng_state(tensors["rng.torch" + suffix])
        if self.device.type == "cuda" and "rng.cuda" + suffix in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda" + suffix], self.device)
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


class _AgreeStop(Callback):
    """Stop every rank when any rank's callbacks stopped (a time limit is measured on each
    rank's clock): ranks that disagreed would run different numbers of steps and hang."""

    def __init__(self, world: Distributed) -> None:
        self.world = world

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.trainer is not None:
            self.trainer.stop_training = self.world.any(self.trainer.stop_training)


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
            snapshot = self.session.snapshot(done, finished)  # every rank: it gathers states
            if self.session.world.is_main:  # one writer; every rank reads it to resume
                self.session.checkpoints.save(*snapshot)
            self.session.world.barrier()  # no rank runs ahead of a checkpoint being written


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
