"""DP-SGD for the discriminator: Opacus per-record clipping and noise, with the GAN's loss terms.

Only the discriminator reads real records, so only its update is privatised (Xie et al. 2018;
Torkzadehmahani et al. 2019). Its loss splits into

* a **real term** ``(1/B) Σ_i ℓ(D, x_i)``, one loss ``ℓ_i`` per real record: it needs per-record
  gradients, clipping to norm C and Gaussian noise, and is what the accountant charges;
* a **fake term** computed from generated samples only (e.g. ``softplus(D(G(z)))``): it reads
  no real record (the generator is itself post-processing of the private discriminator), so its
  gradient is added *after* the noise and is not charged. Given as ``fake_records``, one loss
  per generated sample, each sample's gradient is clipped to C like a record's, without noise,
  and averaged: the two terms then keep the balance they have without DP. Unclipped, with
  per-record norms far above C, the fake term swamps the clipped real one, and a GAN learns
  little (CTGAN on Adult collapsed to near-uniform categories even at ε = 1000). Terms that
  are not per-sample (a penalty between pairs of fakes) go in ``fake_loss``, unclipped.

:class:`PrivateCritic` runs one step as follows::

    p.grad_sample[i] = ∇ ℓ_i                           # (b, *p.shape): Opacus hooks or torch.func
    p.grad = (Σ_i clip_C(∇ ℓ_i) + N(0, σ²C²)) / (q·n)  # DPOptimizer.pre_step, accountant hook
    p.grad += Σ_j clip_C(∇ f_j) / m                     # fake_records: m generated samples
    p.grad += ∇ fake_loss                               # plain autograd, hooks off
    original_optimizer.step()

The order matters: ``DPOptimizer.pre_step`` *assigns* ``p.grad`` (it does not add to it), so any
gradient put into ``p.grad`` before it is silently dropped; the fake gradient is added after.

Gradient penalty. WGAN-GP's penalty at ``x̂_i = α x_i + (1−α) x̃_i`` reads real record i, so it
belongs to the real term, and it needs a double backward, which Opacus' hooks cannot do. With
``grad_sampler="functional"`` per-record gradients come from :func:`per_sample_grads`
(``torch.func``: ``vmap(grad(...))`` over ``functional_call``), which supports nested
gradients; the record's critic loss and its penalty are clipped *together*, so the record's whole
influence is bounded once (see :func:`wgan_gp_record_losses`). The alternative, a critic that is
Lipschitz by construction (spectral normalisation) and no penalty, also needs
``grad_sampler="functional"``: Opacus' hooks refuse layers with buffers, and spectral norm keeps
its power-iteration vectors in buffers (computed from the weights alone, so they leak nothing).

Ghost clipping (``grad_sampler="ghost"``, for critics whose trainable layers are all
``nn.Linear`` applied once to ``(b, features)`` rows, such as CTGAN's). Row i's gradient of a
linear layer is the outer product ``g_i a_iᵀ`` of the gradient at its output and its input, so
its squared norm is ``‖g_i‖² (‖a_i‖² + 1)`` (the 1 for the bias) without ever forming it
(Goodfellow 2015; Li et al. 2022). One backward pass to the layers' outputs gives every record's
norm, hence its clip factor ``c_i = min(1, C / (‖∇ℓ_i‖ + 1e-6))`` (Opacus' formula); a second
backward pass of ``Σ c_i ℓ_i`` gives the clipped sum directly. Then Opacus adds the noise and
scales, as in the other modes. Per-record gradients are never stored, which makes DP-SGD on an MLP
about as cheap as two ordinary backward passes.

PacGAN. A pack mixes ``pac`` records into one discriminator input, so there is no per-record
gradient, only a per-pack one (group privacy would multiply ε by ``pac``). DP mode uses
``pac = 1``: the real term must return exactly one loss per real record, which is checked.

Averaging. The noisy sum is divided by the *expected* batch size ``q·n`` (Opacus'
``loss_reduction="mean"``), not by the random Poisson batch size, which would itself depend on
the data; per-record gradients are taken of the *summed* real loss (GradSampleModule
``loss_reduction="sum"``) so ``grad_sample[i]`` is exactly ``∇ ℓ_i``.

Several ranks (``world``, a distributed fit). Each rank holds the whole data and steps its
shard of the global Poisson sample (record i is rank ``i mod W``'s: see
:meth:`synthgan.core.distributed.Distributed.owns`), possibly empty. The critic uses Opacus'
distributed pieces: ``DifferentiallyPrivateDistributedDataParallel`` gives every rank rank 0's
weights, and ``DistributedDPOptimizer`` clips each rank's records, adds the noise on rank 0
only and sums the ranks' gradients::

    p.grad_r = (Σ_{i ∈ shard r} clip_C(∇ ℓ_i) + [r = 0] N(0, σ²C²)) / (q·n / W)
             + Σ_{j ∈ fakes r} clip_C(∇ f_j) / m_r + ∇ fake_loss_r      # each rank r
    p.grad   = (1/W) Σ_r p.grad_r                                        # one all-reduce

which is the one-process gradient above (the fakes' mean of equal blocks ``m_r = m / W``), the
noise added once. Every rank steps every step, so every rank's accountant charges the same
global steps at the global rate q. Opacus' own distributed Poisson sampler is not used: it
skips empty local batches, which would leave the ranks out of step.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from opacus import GradSampleModule
from opacus.distributed import DifferentiallyPrivateDistributedDataParallel
from opacus.optimizers import DistributedDPOptimizer, DPOptimizer
from opacus.validators import ModuleValidator
from torch import Tensor, nn
from torch.func import functional_call, grad_and_value, vmap

from synthgan.core.distributed import Distributed
from synthgan.exceptions import PrivacyBudgetError
from synthgan.privacy.accounting import (
    DPSGDSummary,
    PrivacySpent,
    accountant_state,
    compose_privacy,
    create_accountant,
    restore_accountant,
)

__all__ = [
    "GRAD_SAMPLERS",
    "PrivateCritic",
    "StepLosses",
    "check_dp_module",
    "critic_input_gradient",
    "per_sample_grads",
    "poisson_batch",
    "wgan_gp_record_losses",
]

GRAD_SAMPLERS = ("hooks", "functional", "ghost")
# (critic, *inputs) -> per-record losses of shape (b,); inputs share the leading dimension b.
RealLoss = Callable[..., Tensor]
# critic -> scalar loss that reads generated samples only.
FakeLoss = Callable[[nn.Module], Tensor]

_BATCH_NORM_ADVICE = (
    "BatchNorm normalises every record with the mean and variance of the whole batch, so one "
    "record's output, and its gradient, depends on the other records: a per-record gradient "
    "does not exist and clipping cannot bound what one record contributes. Use GroupNorm or "
    "LayerNorm (norm='group' or 'layer' in synthgan.core.layers) or no normalisation; Opacus' "
    "ModuleValidator.fix(module) also swaps BatchNorm for GroupNorm."
)


def check_dp_module(module: nn.Module, grad_sampler: str = "hooks") -> None:
    """Refuse a discriminator that DP-SGD cannot train, explaining why and what to use.

    Runs Opacus' ``ModuleValidator.validate`` and also looks for BatchNorm layers without
    parameters (``affine=False``), which Opacus skips but which mix records all the same. With
    ``grad_sampler="hooks"`` it also refuses trainable layers holding buffers, which Opacus'
    GradSampleModule cannot handle (e.g. spectral norm).

    Raises
    ------
    ValueError
        The module holds BatchNorm or another layer Opacus cannot handle, or is in eval mode.
    """
    batch_norms = [
        name or "<root>"
        for name, sub in module.named_modules()
        if isinstance(sub, nn.modules.batchnorm._BatchNorm)
    ]
    if batch_norms:
        raise ValueError(
            f"The discriminator cannot be trained with differential privacy: it has BatchNorm "
            f"at {batch_norms}. {_BATCH_NORM_ADVICE}"
        )
    errors = ModuleValidator.validate(module, strict=False)
    if errors:
        details = "; ".join(str(error) for error in errors)
        raise ValueError(
            f"Opacus cannot compute per-record gradients for this discriminator: {details}. "
            "Replace the listed layers (Opacus' ModuleValidator.fix can do it for many) and put "
            "the module in training mode (module.train()) before wrapping it."
        )
    if grad_sampler == "hooks":
        _check_hooks_supported(module)


def _check_hooks_supported(module: nn.Module) -> None:
    errors = GradSampleModule.validate(module, strict=False)  # trainable layers with buffers
    if errors:
        raise ValueError(
            f"Opacus' per-record gradient hooks cannot handle trainable layers with buffers "
            f"(such as spectral norm's power-iteration vectors): {errors[0]}. Use "
            "grad_sampler='functional', which computes per-record gradients with torch.func."
        )


def poisson_batch(n_records: int, sample_rate: float, generator: torch.Generator) -> Tensor:
    """Indices of a Poisson-sampled batch: each record joins independently with probability q.

    This is the sampling the accountants analyse; the batch size is random (mean ``q·n``) and
    may be zero, in which case the step still runs and releases noise only.

    Returns
    -------
    Tensor
        int64 indices, shape ``(b,)``, sorted.
    """
    if not 0.0 < sample_rate <= 1.0:
        raise ValueError(f"sample_rate must lie in (0, 1], got {sample_rate!r}.")
    draws = torch.rand(n_records, generator=generator, device=generator.device)  # (n,)
    return torch.nonzero(draws < sample_rate, as_tuple=False).squeeze(1)  # (b,)


def per_sample_grads(
    module: nn.Module,
    loss_fn: RealLoss,
    inputs: Sequence[Tensor],
    *,
    randomness: str = "different",
) -> dict[str, Tensor]:
    """Per-record gradients of ``loss_fn`` with ``torch.func``, nested gradients allowed.

    ``loss_fn(critic, *batch)`` is called on a batch of one record (each input of shape
    ``(1, ...)``) and must return its loss, shape ``(1,)`` or scalar; ``critic`` maps inputs to
    scores through :func:`torch.func.functional_call`, so ``loss_fn`` may differentiate it again
    (e.g. with :func:`critic_input_gradient` for a gradient penalty).

    Parameters
    ----------
    module : nn.Module
        The critic; must carry no Opacus hooks (they break ``torch.func`` transforms).
    loss_fn : callable
        ``(critic, *batch) -> (b,)`` per-record losses.
    inputs : sequence of Tensor
        Tensors of shape ``(b, ...)``; row i of each belongs to record i.
    randomness : str, default "different"
        ``vmap``'s handling of random layers (dropout): a different draw per record.

    Returns
    -------
    dict of str to Tensor
        For every trainable parameter, ``(b, *param.shape)`` gradients.
    """
    return _per_sample_grads_and_losses(module, loss_fn, tuple(inputs), randomness)[0]


def _per_sample_grads_and_losses(
    module: nn.Module, loss_fn: RealLoss, inputs: tuple[Tensor, ...], randomness: str
) -> tuple[dict[str, Tensor], Tensor]:
    params = {name: p.detach() for name, p in module.named_parameters() if p.requires_grad}
    batch = _batch_size(inputs)
    if batch == 0:  # vmap cannot map over an empty dimension
        empty = {name: p.new_zeros((0, *p.shape)) for name, p in params.items()}
        return empty, torch.zeros(0)

    def record_loss(theta: dict[str, Tensor], *record: Tensor) -> Tensor:
        def critic(*x: Tensor) -> Tensor:
            return functional_call(module, theta, x)

        one = tuple(t.unsqueeze(0) for t in record)  # (1, ...) each
        loss = loss_fn(critic, *one)
        _check_losses(loss.reshape(-1), 1)  # exactly one loss for the one record
        return loss.sum()  # (1,) -> ()

    in_dims = (None, *([0] * len(inputs)))
    mapped = vmap(grad_and_value(record_loss), in_dims=in_dims, randomness=randomness)
    grads, losses = mapped(params, *inputs)  # {name: (b, *shape)}, (b,)
    return grads, losses


def critic_input_gradient(critic: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``d critic(x).sum() / dx``, shape of ``x``, with ``torch.func`` (works inside vmap/grad).

    Rows are scored independently (no BatchNorm, ``pac = 1``), so row i of the result is the
    gradient of the score of row i.
    """
    return torch.func.grad(lambda z: critic(z).sum())(x)


def wgan_gp_record_losses(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    alpha: Tensor,
    *,
    weight: float = 10.0,
) -> Tensor:
    """Per-record WGAN-GP real term: ``−D(x_i) + λ (‖∇D(x̂_i)‖ − 1)²``, shape ``(b,)``.

    ``x̂_i = α_i x_i + (1 − α_i) x̃_i`` pairs real record i with an independent fake ``x̃_i``;
    the penalty reads record i and is therefore clipped together with ``−D(x_i)``. Use with
    ``PrivateCritic(..., grad_sampler="functional")``, and ``fake_loss = D(fakes).mean()``.

    Parameters
    ----------
    real, fake : Tensor
        ``(b, features)``.
    alpha : Tensor
        ``(b, 1)`` interpolation weights in [0, 1], drawn independently of the data.
    """
    mixed = torch.lerp(fake, real, alpha)  # (b, features)
    grads = critic_input_gradient(critic, mixed).reshape(len(mixed), -1)  # (b, features)
    penalty = (grads.norm(2, dim=1) - 1.0) ** 2  # (b,)
    return -critic(real).reshape(len(real)) + weight * penalty


@dataclass(frozen=True)
class StepLosses:
    """Loss values of one private step (for logging only: they are not private releases).

    ``real`` is the mean per-record loss over the Poisson batch (NaN for an empty batch),
    ``fake`` the fake term (NaN when there is none).
    """

    real: float
    fake: float


def _as_inputs(inputs: Tensor | Sequence[Tensor]) -> tuple[Tensor, ...]:
    return (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)


def _nan_sum(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else a + b


def _batch_size(inputs: tuple[Tensor, ...]) -> int:
    if not inputs:
        raise ValueError("real_inputs must hold at least one tensor of real records.")
    sizes = {len(t) for t in inputs}
    if len(sizes) != 1:
        raise ValueError(
            f"Every tensor in real_inputs must have one row per real record; got leading "
            f"sizes {sorted(sizes)}."
        )
    return sizes.pop()


def _check_losses(losses: Tensor, batch: int) -> None:
    if losses.shape != (batch,):
        raise ValueError(
            f"real_loss must return one loss per real record, shape ({batch},), got "
            f"{tuple(losses.shape)}. With PacGAN use pac=1 in DP mode: a pack mixes records, "
            "so its gradient is not a per-record gradient."
        )


class PrivateCritic:
    """A discriminator trained with DP-SGD (Opacus), stepping real and fake loss terms apart.

    Parameters
    ----------
    module : nn.Module
        The discriminator, in training mode, without BatchNorm (see :func:`check_dp_module`).
    optimizer : torch.optim.Optimizer
        Optimizer over exactly the module's trainable parameters (Adam, SGD, ...).
    n_records : int
        Number of real training records n.
    sample_rate : float
        Poisson sampling rate q; the expected batch size is ``q · n``.
    noise_multiplier : float
        σ, from :func:`synthgan.privacy.accounting.plan_dp_sgd` (0 disables noise: not private,
        for tests only).
    max_grad_norm : float
        Per-record clipping norm C.
    max_steps : int
        Steps the budget was planned for; :meth:`step` refuses to go further.
    accountant : str, default "prv"
        Accountant name.
    generator : torch.Generator, optional
        Source of the Gaussian noise, on the module's device. None seeds a fresh one from the
        operating system (never torch's global generator).
    grad_sampler : {"hooks", "functional", "ghost"}, default "hooks"
        Per-record gradients from Opacus' GradSampleModule hooks (fast, no double backward),
        from :func:`per_sample_grads` (``torch.func``; needed for gradient penalties), or only
        their norms by ghost clipping (fastest; every trainable layer must be an ``nn.Linear``
        applied once per record, and the real term may not differentiate the critic again).
    world : Distributed, optional
        The ranks of a distributed fit (one process when None): each rank steps its shard of
        the Poisson sample and its block of the fakes; gradients are summed over ranks and the
        noise added once (see the module docstring).

    Attributes
    ----------
    module : nn.Module
        The wrapped discriminator (same object; its parameters are updated in place).
    accountant : opacus.accountants.IAccountant
        Records every step; see :meth:`epsilon`.
    steps_taken : int
        Steps taken, restored by :meth:`load_state_dict`.

    Examples
    --------
    >>> sigma = plan_dp_sgd(3.0, 1e-6, sample_rate=0.01, steps=1000)  # doctest: +SKIP
    >>> critic = PrivateCritic(disc, torch.optim.Adam(disc.parameters()), n_records=10_000,
    ...     sample_rate=0.01, noise_multiplier=sigma, max_grad_norm=1.0, max_steps=1000,
    ...     generator=torch.Generator().manual_seed(0))  # doctest: +SKIP
    >>> idx = poisson_batch(10_000, critic.sample_rate, generator)  # doctest: +SKIP
    >>> critic.step(data[idx], lambda d, x: F.softplus(-d(x)).reshape(-1),
    ...             lambda d: F.softplus(d(fakes)).mean())  # doctest: +SKIP
    """

    def __init__(
        self,
        module: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        n_records: int,
        sample_rate: float,
        noise_multiplier: float,
        max_grad_norm: float,
        max_steps: int,
        accountant: str = "prv",
        generator: torch.Generator | None = None,
        grad_sampler: str = "hooks",
        world: Distributed | None = None,
    ) -> None:
        _check_settings(n_records, sample_rate, noise_multiplier, max_grad_norm, max_steps)
        if grad_sampler not in GRAD_SAMPLERS:
            raise ValueError(f"grad_sampler must be one of {GRAD_SAMPLERS}, got {grad_sampler!r}.")
        check_dp_module(module, grad_sampler)
        self.params = _trainable_params(module, optimizer)
        self._linears = _ghost_layers(module) if grad_sampler == "ghost" else ()
        self.module, self.grad_sampler = module, grad_sampler
        self.sample_rate, self.max_steps = float(sample_rate), int(max_steps)
        self.expected_batch_size = float(sample_rate) * n_records  # q·n, the DP averaging divisor
        self.accountant_name, self.accountant = accountant, create_accountant(accountant)
        self.steps_taken = 0
        self.world = world or Distributed()
        self._gsm = _attach_hooks(module) if grad_sampler == "hooks" else None
        self.optimizer = _dp_optimizer(
            optimizer, self.world,
            noise_multiplier=float(noise_multiplier),
            max_grad_norm=float(max_grad_norm),
            expected_batch_size=self.expected_batch_size / self.world.world_size,  # per rank
            loss_reduction="mean",  # divide the noisy sum by expected_batch_size
            generator=generator if generator is not None else _fresh_generator(self.params),
        )  # fmt: skip
        if self.world.active:  # rank 0's weights on every rank (Opacus broadcasts them)
            DifferentiallyPrivateDistributedDataParallel(module)
        # The accountant sees the global rate q: the ranks' shards make one Poisson sample.
        self.optimizer.attach_step_hook(self.accountant.get_optimizer_hook_fn(self.sample_rate))

    @property
    def noise_multiplier(self) -> float:
        """σ: the noise standard deviation on the summed gradient is ``σ · C``."""
        return float(self.optimizer.noise_multiplier)

    @property
    def max_grad_norm(self) -> float:
        """C, the per-record clipping norm."""
        return float(self.optimizer.max_grad_norm)

    @property
    def exhausted(self) -> bool:
        """True once the planned steps are all taken: the budget is spent, training must stop."""
        return self.steps_taken >= self.max_steps

    def step(
        self,
        real_inputs: Tensor | Sequence[Tensor],
        real_loss: RealLoss,
        fake_loss: FakeLoss | None = None,
        fake_records: tuple[Tensor | Sequence[Tensor], RealLoss] | None = None,
    ) -> StepLosses:
        """One DP-SGD step of the discriminator.

        Parameters
        ----------
        real_inputs : Tensor or sequence of Tensor
            The Poisson batch (from :func:`poisson_batch`), shape ``(b, ...)``, possibly empty;
            extra tensors (fakes and weights paired with each record, for a gradient penalty)
            share the leading dimension b.
        real_loss : callable
            ``real_loss(critic, *real_inputs) -> (b,)``: one loss per real record, not reduced.
        fake_loss : callable, optional
            ``fake_loss(critic) -> scalar``: terms that read generated samples only, reduced
            as in non-private training and added unclipped (e.g. a penalty between fakes).
        fake_records : (inputs, loss), optional
            Generated samples scored like real records: ``loss(critic, *inputs) -> (m,)``, one
            loss per sample. Each sample's gradient is clipped to C like a real record's, and
            their mean is added without noise (they read no real record, so nothing is
            charged). Without it, the real term's gradient is clipped and the fake term's is
            not, and when per-record norms are well above C the fake term swamps the real one:
            the critic then mostly learns to push fakes down, and the generator learns little.

        Raises
        ------
        PrivacyBudgetError
            The planned steps were all taken.
        """
        self._check_can_step()
        inputs = _as_inputs(real_inputs)
        if fake_records is not None:
            fake_records = (_as_inputs(fake_records[0]), fake_records[1])
        self.optimizer.zero_grad(set_to_none=True)  # clears p.grad, p.grad_sample, summed_grad
        if self.grad_sampler == "ghost":
            # One pass for both sides: the clipped fakes ride in the summed gradient, weighted
            # so that after the division by q·n they are averaged over the fakes (noise is
            # added to the sum as usual and does not depend on what the sum holds).
            real_value, fake_value = self._ghost_clipped_sum(inputs, real_loss, fake_records)
            # The clipped sum is in p.summed_grad: the rest of pre_step, as Opacus does it.
            self.optimizer.add_noise()
            self.optimizer.scale_grad()
            self.optimizer.step_hook(self.optimizer)  # charges the accountant one step
            fake_value = _nan_sum(fake_value, self._add_fake_gradient(fake_loss))
        else:
            real_value = self._fill_grad_samples(inputs, real_loss)
            # Clip each record's gradient, sum, add N(0, σ²C²), divide by q·n; the hook charges
            # the accountant one step. This ASSIGNS p.grad, which is why the fake term comes after.
            self.optimizer.pre_step()
            fake_value = self._add_fake_gradient(fake_loss)
            if fake_records is not None:
                fake_value = _nan_sum(fake_value, self._add_clipped_fake_gradient(*fake_records))
        if self.world.active:  # p.grad = the mean over ranks of their p.grad (one all-reduce)
            self.optimizer.reduce_gradients()
        self.optimizer.original_optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)  # free per-record gradient storage
        self.steps_taken += 1
        return StepLosses(real_value, fake_value)

    def _check_can_step(self) -> None:
        if self.exhausted:
            raise PrivacyBudgetError(
                f"The privacy budget is spent: all {self.max_steps} planned DP-SGD steps were "
                "taken. Stop training when PrivateCritic.exhausted is True."
            )
        if not self.module.training:
            raise ValueError(
                "The discriminator is in eval mode; call module.train() before a DP step "
                "(Opacus records per-record activations only in training mode)."
            )

    def _fill_grad_samples(self, inputs: tuple[Tensor, ...], real_loss: RealLoss) -> float:
        # Sets p.grad_sample to (b, *p.shape) per-record gradients of the real term.
        batch = _batch_size(inputs)
        if batch == 0:  # empty Poisson batch: zero gradients, the step adds noise only
            for p in self.params:
                p.grad_sample = p.new_zeros((0, *p.shape))
            return math.nan
        if self._gsm is None:
            grads, losses = _per_sample_grads_and_losses(
                self.module, real_loss, inputs, "different"
            )
            for name, p in self.module.named_parameters():
                if p.requires_grad:
                    p.grad_sample = grads[name].detach()
            return float(losses.mean())
        return self._hook_grad_samples(inputs, real_loss, batch)

    def _hook_grad_samples(self, inputs: tuple[Tensor, ...], real_loss: RealLoss, b: int) -> float:
        self._gsm.enable_hooks()  # hooks are on only for the real term
        try:
            losses = real_loss(self.module, *inputs)  # (b,)
            _check_losses(losses, b)
            # GradSampleModule(loss_reduction="sum"): grad_sample[i] = ∇ ℓ_i exactly.
            with _quiet_backward_hooks():
                losses.sum().backward()
        finally:
            self._gsm.disable_hooks()
        return float(losses.detach().mean())

    def _ghost_clipped_sum(
        self,
        inputs: tuple[Tensor, ...],
        real_loss: RealLoss,
        fake_records: tuple[tuple[Tensor, ...], RealLoss] | None,
    ) -> tuple[float, float]:
        # Sets p.summed_grad to Σ_i clip_C(∇ℓ_i) + (q·n / m) Σ_j clip_C(∇ℓ'_j) over the real
        # records i and the m fakes j, without forming any per-record gradient.
        for p in self.params:
            p.grad_sample = p.new_zeros((0, *p.shape))  # Opacus counts one accumulated batch
        groups = [(inputs, real_loss, 1.0)]
        if fake_records is not None:
            fakes, fake_fn = fake_records
            m = _batch_size(fakes)
            # The optimizer's divisor: q·n / W on each of W ranks (q·n in one process).
            groups.append((fakes, fake_fn, self.optimizer.expected_batch_size / max(m, 1)))
        summed, values = self._ghost_clip(groups)
        for p, g in zip(self.params, summed, strict=True):
            p.summed_grad = torch.zeros_like(p) if g is None else g.detach()
        return values[0], values[1] if len(values) > 1 else math.nan

    def _ghost_clip(
        self, groups: Sequence[tuple[tuple[Tensor, ...], RealLoss, float]]
    ) -> tuple[tuple[Tensor | None, ...], list[float]]:
        """``Σ_groups w · Σ_i clip_C(∇ℓ_i)`` per parameter (None if unused), mean loss per group.

        Each group is ``(inputs, loss_fn, w)``; an empty group adds nothing and its loss is NaN.
        All groups share one backward pass for the norms and one for the re-weighted sum.
        """
        scored: list[tuple[Tensor, list[tuple[nn.Linear, Tensor, Tensor]], float]] = []
        values: list[float] = []
        for inputs, loss_fn, weight in groups:
            batch = _batch_size(inputs)
            if batch == 0:  # an empty Poisson batch: nothing to clip
                values.append(math.nan)
                continue
            losses, calls = self._record_linears(inputs, loss_fn, batch)
            scored.append((losses, calls, weight))
            values.append(float(losses.detach().mean()))
        if not scored:
            return tuple(None for _ in self.params), values
        outputs = [out for _, calls, _ in scored for _, _, out in calls]
        total = sum(losses.sum() for losses, _, _ in scored)
        out_grads = iter(torch.autograd.grad(total, outputs, retain_graph=True))
        weighted = []
        for losses, calls, weight in scored:
            squared = losses.new_zeros(losses.shape[0])  # (b,) squared per-record grad norms
            for layer, a, _ in calls:
                g2 = next(out_grads).detach().pow(2).sum(dim=1)  # (b,)
                if layer.weight.requires_grad:
                    squared += g2 * a.detach().pow(2).sum(dim=1)
                if layer.bias is not None and layer.bias.requires_grad:
                    squared += g2
            coef = self._clip_factors(squared.sqrt())
            weighted.append((losses * (coef * weight)).sum())
        summed = torch.autograd.grad(sum(weighted), self.params, allow_unused=True)
        return summed, values

    def _clip_factors(self, norms: Tensor) -> Tensor:
        # min(1, C / ‖g_i‖) per record, with Opacus' 1e-6 guard against a zero norm.
        return (self.max_grad_norm / (norms + 1e-6)).clamp(max=1.0)

    def _record_linears(
        self, inputs: tuple[Tensor, ...], loss_fn: RealLoss, batch: int
    ) -> tuple[Tensor, list[tuple[nn.Linear, Tensor, Tensor]]]:
        # The per-record losses, and every linear layer's input and output in that forward.
        calls: list[tuple[nn.Linear, Tensor, Tensor]] = []

        def record(layer: nn.Module, args: tuple[Tensor, ...], output: Tensor) -> None:
            calls.append((layer, args[0], output))

        handles = [layer.register_forward_hook(record) for layer in self._linears]
        try:
            losses = loss_fn(self.module, *inputs)  # (b,)
        finally:
            for handle in handles:
                handle.remove()
        _check_losses(losses, batch)
        _check_ghost_calls(calls, self._linears, batch)
        return losses, calls

    def _add_clipped_fake_gradient(self, inputs: tuple[Tensor, ...], loss_fn: RealLoss) -> float:
        # Generated samples clipped like records, averaged, no noise: added after pre_step.
        batch = _batch_size(inputs)
        if batch == 0:
            return math.nan
        grads, value = self._fake_grad_samples(inputs, loss_fn, batch)  # (m, *shape) each
        norms = torch.cat([g.flatten(1) for g in grads], dim=1).norm(2, dim=1)  # (m,)
        coef = self._clip_factors(norms)
        summed = tuple(torch.tensordot(coef, g, dims=1) for g in grads)
        for p, g in zip(self.params, summed, strict=True):
            if g is not None:
                p.grad.add_(g, alpha=1.0 / batch)
        return value

    def _fake_grad_samples(
        self, inputs: tuple[Tensor, ...], loss_fn: RealLoss, batch: int
    ) -> tuple[list[Tensor], float]:
        if self._gsm is None:
            grads, losses = _per_sample_grads_and_losses(self.module, loss_fn, inputs, "different")
            named = [
                grads[n].detach() for n, p in self.module.named_parameters() if p.requires_grad
            ]
            return named, float(losses.mean())
        # Opacus' hooks, as for the real term, with p.grad (the noisy real term) set aside.
        saved = [p.grad for p in self.params]
        for p in self.params:
            p.grad, p.grad_sample = None, None
        value = self._hook_grad_samples(inputs, loss_fn, batch)
        grads = [p.grad_sample for p in self.params]
        for p, g in zip(self.params, saved, strict=True):
            p.grad, p.grad_sample = g, None
        return grads, value

    def _add_fake_gradient(self, fake_loss: FakeLoss | None) -> float:
        # The fake term reads no real record: plain autograd (hooks off), added after the noise.
        if fake_loss is None:
            return math.nan
        loss = fake_loss(self.module)
        if loss.dim() != 0:
            raise ValueError(f"fake_loss must return a scalar, got shape {tuple(loss.shape)}.")
        with _quiet_backward_hooks():
            grads = torch.autograd.grad(loss, self.params, allow_unused=True)
        for p, g in zip(self.params, grads, strict=True):
            if g is not None:
                p.grad.add_(g)  # p.grad already holds the noisy real-term gradient
        return float(loss.detach())

    def epsilon(self, delta: float) -> float:
        """ε that DP-SGD has spent so far at ``delta`` (0 before the first step)."""
        return float(self.accountant.get_epsilon(delta=delta)) if self.accountant.history else 0.0

    def summary(self) -> DPSGDSummary:
        """The settings that determine DP-SGD's ε, for :class:`PrivacySpent`."""
        return DPSGDSummary(
            accountant=self.accountant_name,
            noise_multiplier=self.noise_multiplier,
            sample_rate=self.sample_rate,
            steps=self.steps_taken,
            max_grad_norm=self.max_grad_norm,
            expected_batch_size=self.expected_batch_size,
        )

    def privacy_spent(
        self,
        delta: float,
        preprocessing: Mapping[str, Any] | None = None,
        *,
        target_epsilon: float | None = None,
        notes: tuple[str, ...] = (),
    ) -> PrivacySpent:
        """The whole pipeline's spent budget: preprocessing releases composed with DP-SGD."""
        return compose_privacy(
            preprocessing or {},
            delta=delta,
            accountant=self.accountant,
            accountant_name=self.accountant_name,
            dp_sgd=self.summary() if self.steps_taken else None,
            target_epsilon=target_epsilon,
            notes=notes,
        )

    def state_dict(self) -> dict[str, Any]:
        """JSON-safe accounting state, saved with the model (weights are saved separately)."""
        return {
            "format": 1,
            "accountant": self.accountant_name,
            "accountant_state": accountant_state(self.accountant),
            "steps_taken": self.steps_taken,
            "max_steps": self.max_steps,
            "noise_multiplier": self.noise_multiplier,
            "sample_rate": self.sample_rate,
            "max_grad_norm": self.max_grad_norm,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the accountant's history and the step count from :meth:`state_dict`."""
        if state.get("accountant") != self.accountant_name:
            raise ValueError(
                f"The saved privacy state uses accountant {state.get('accountant')!r}, this "
                f"critic {self.accountant_name!r}; build it with the saved accountant."
            )
        restored = restore_accountant(self.accountant_name, state["accountant_state"])
        self.accountant.history = restored.history  # in place: the optimizer hook keeps it
        self.steps_taken = int(state["steps_taken"])

    def to_standard_module(self) -> nn.Module:
        """Remove Opacus' hooks and attributes; returns the plain discriminator."""
        if self._gsm is not None:
            self._gsm.to_standard_module()
        for p in self.params:
            for attr in ("grad_sample", "summed_grad"):
                if hasattr(p, attr):
                    delattr(p, attr)
        return self.module


def _ghost_layers(module: nn.Module) -> tuple[nn.Linear, ...]:
    """The critic's linear layers; refuses trainable parameters anywhere else."""
    linears = []
    for name, layer in module.named_modules():
        own = [p for p in layer.parameters(recurse=False) if p.requires_grad]
        if not own:
            continue
        if not isinstance(layer, nn.Linear):
            raise ValueError(
                f"grad_sampler='ghost' computes per-record gradient norms for nn.Linear layers "
                f"only, but {name or '<root>'} ({type(layer).__name__}) has trainable "
                "parameters. Use grad_sampler='hooks' or 'functional'."
            )
        linears.append(layer)
    return tuple(linears)


def _check_ghost_calls(
    calls: list[tuple[nn.Linear, Tensor, Tensor]], layers: tuple[nn.Linear, ...], batch: int
) -> None:
    seen = [layer for layer, _, _ in calls]
    if sorted(map(id, seen)) != sorted(map(id, layers)):
        raise ValueError(
            "grad_sampler='ghost' needs every linear layer of the critic applied exactly once "
            f"to the real records; {len(seen)} calls for {len(layers)} layers. Use "
            "grad_sampler='functional'."
        )
    for layer, a, _ in calls:
        if a.dim() != 2 or a.shape[0] != batch:
            raise ValueError(
                f"grad_sampler='ghost' needs each linear layer to see (records, features) "
                f"rows; {layer} got input of shape {tuple(a.shape)} for {batch} records. Use "
                "grad_sampler='hooks'."
            )


@contextlib.contextmanager
def _quiet_backward_hooks() -> Iterator[None]:
    # Opacus' full backward hooks make torch warn on every step whose input (real records,
    # detached fakes) does not require grad; that is expected here, not a user error.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Full backward hook is firing", category=UserWarning
        )
        yield


def _attach_hooks(module: nn.Module) -> GradSampleModule:
    # Per-record gradients of a summed loss; hooks stay off except inside the real term, so the
    # generator's backward pass through the critic records nothing.
    gsm = GradSampleModule(module, loss_reduction="sum", strict=True)
    gsm.disable_hooks()
    return gsm


def _trainable_params(module: nn.Module, optimizer: torch.optim.Optimizer) -> list[nn.Parameter]:
    params = [p for p in module.parameters() if p.requires_grad]
    in_optimizer = [p for group in optimizer.param_groups for p in group["params"]]
    if {id(p) for p in params} != {id(p) for p in in_optimizer}:
        raise ValueError(
            "optimizer must hold exactly the discriminator's trainable parameters "
            f"({len(params)} tensors), got {len(in_optimizer)} tensors that differ; build it as "
            "torch.optim.Adam(discriminator.parameters(), ...)."
        )
    return params


def _dp_optimizer(optimizer: torch.optim.Optimizer, world: Distributed, **options: Any):
    """Opacus' DPOptimizer, or on several ranks its DistributedDPOptimizer (noise on rank 0,
    ``reduce_gradients`` sums the ranks' gradients and divides by their number)."""
    if world.active:
        return DistributedDPOptimizer(optimizer, **options)
    return DPOptimizer(optimizer, **options)


def _fresh_generator(params: list[nn.Parameter]) -> torch.Generator:
    generator = torch.Generator(device=params[0].device if params else "cpu")
    generator.seed()  # from the operating system; torch's global generator is left alone
    return generator


def _check_settings(
    n_records: int, sample_rate: float, sigma: float, max_grad_norm: float, max_steps: int
) -> None:
    if isinstance(n_records, bool) or not isinstance(n_records, numbers.Integral) or n_records < 1:
        raise ValueError(f"n_records must be a positive integer, got {n_records!r}.")
    if not 0.0 < sample_rate <= 1.0:
        raise ValueError(f"sample_rate must lie in (0, 1], got {sample_rate!r}.")
    if not (sigma >= 0 and math.isfinite(sigma)):
        raise ValueError(f"noise_multiplier must be a finite number >= 0, got {sigma!r}.")
    if not (max_grad_norm > 0 and math.isfinite(max_grad_norm)):
        # Opacus computes the noise std as σ·C, and 0·inf is NaN even without noise.
        raise ValueError(
            f"max_grad_norm must be a positive finite number, got {max_grad_norm!r}; to switch "
            "clipping off in a test, use a huge value such as 1e12."
        )
    if isinstance(max_steps, bool) or not isinstance(max_steps, numbers.Integral) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}.")
