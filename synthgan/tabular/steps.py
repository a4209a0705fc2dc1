"""One discriminator step and one generator step of CTGAN, for :class:`core.GANTrainer`.

Reference behaviour (``gp_every=1, reuse_fake=False``) follows Xu et al. (2019): every critic
step draws conditions, noise and matching real rows, scores real and fake packs, adds the WGAN-GP
penalty; every generator step draws fresh conditions and noise and minimises
``-E[D(fake)] + L_cond``. Options that do less work per step:

* the critic scores real and fake packs in **one** forward pass (the critic has no
  batch-dependent layer, so this is exactly the same function, with fewer kernel launches);
  interpolated packs get their own pass so input gradients are computed for them only;
* ``gp_every=k`` applies the gradient penalty on every k-th critic step only, multiplied by k
  (lazy regularisation, Karras et al. 2020), saving most double-backward passes;
* ``reuse_fake=True`` lets the generator step reuse the generator pass of the last critic step
  (same noise and conditions, scored by the updated critic) instead of a second forward pass;
* the critic's weights are frozen during the generator step, so no gradient is computed for
  parameters that step does not update;
* with ``autocast`` (the session's precision) the networks' forward and backward passes run in
  bfloat16 (4x the matrix throughput of float32 on CPUs with AVX512-BF16 or AMX), except the
  gradient penalty.

The session (:mod:`synthgan.core.session`) owns the networks, optimizers, precision, weight
averaging and the final generator; this module only does the maths of one step.

In a distributed fit every rank draws the *global* batch's conditions and rows from the shared
stream (and its noise and penalty weights from the shared torch stream) and keeps its block
(:meth:`TrainingContext.rows`), so the ranks' blocks are the one-process batch. Training passes
go through the DistributedDataParallel wrappers (``train_generator``, ``train_discriminator``);
the gradient penalty takes input gradients with ``torch.autograd.grad`` inside each process and
the critic's weights get one ordinary backward, whose gradients DDP averages. The generator
step scores through the plain critic, whose weights it does not update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from synthgan.core.losses import AdversarialLoss, gradient_penalty
from synthgan.core.session import GANSteps, TrainingContext
from synthgan.tabular.sampler import ConditionSampler
from synthgan.tabular.spans import SpanTable

__all__ = ["StepOptions", "TabularGANSteps", "one_hot_conditions"]


@dataclass(frozen=True)
class StepOptions:
    batch_size: int
    noise_dim: int
    pac: int
    tau: float
    gp_lambda: float
    gp_every: int
    reuse_fake: bool


def one_hot_conditions(slots: np.ndarray | None, width: int, batch: int, device) -> Tensor:
    """Conditional vectors ``(batch, width)`` with a 1 at each row's slot (empty if no slots)."""
    cond = torch.zeros(batch, width, device=device)
    if slots is not None:
        cond[torch.arange(batch, device=device), torch.as_tensor(slots, device=device)] = 1.0
    return cond


class TabularGANSteps(GANSteps):
    """CTGAN's two steps on the session's ``generator`` and ``discriminator``, one at a time."""

    def __init__(
        self,
        context: TrainingContext,
        data: Tensor,
        sampler: ConditionSampler,
        spans: SpanTable,
        loss: AdversarialLoss,
        options: StepOptions,
    ) -> None:
        super().__init__(context)
        self.data, self.sampler, self.spans, self.loss = data, sampler, spans, loss
        self.options = options
        self._critic_steps = 0
        self._cached: tuple[Tensor, Tensor, Tensor, Tensor | None] | None = None

    # -- position (for checkpoints) --------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"critic_steps": self._critic_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._critic_steps = int(state["critic_steps"])

    # -- helpers ---------------------------------------------------------------------------------
    def _draw(self) -> tuple[Tensor, Tensor | None, Tensor]:
        """Conditions (one-hot), their slots, and the matching real rows for this rank's block
        of one batch (the whole batch in one process)."""
        mine = self.context.rows(self.options.batch_size)
        slots, rows = self._train_sampler().sample_train(self.options.batch_size, self.rng)
        slots, rows = (None if slots is None else slots[mine]), rows[mine]
        batch = len(rows)
        cond = one_hot_conditions(slots, self.spans.condition_width, batch, self.device)
        slot_t = None if slots is None else torch.as_tensor(slots, device=self.device)
        return cond, slot_t, self._real_rows(rows)

    def _train_sampler(self) -> ConditionSampler:
        """The sampler of this step's conditions and real rows."""
        return self.sampler

    def _real_rows(self, rows: np.ndarray) -> Tensor:
        """The encoded real rows ``rows`` of the sampler's table: ``(len(rows), data_dim)``."""
        return self.data[torch.as_tensor(rows, device=self.device)]

    def _generator_conditions(self, batch: int) -> tuple[Tensor, Tensor | None]:
        """Conditions of a generator step that has no cached pass (training-by-sampling)."""
        cond, slots, _ = self._draw()
        return cond, slots

    def _generate(self, cond: Tensor) -> tuple[Tensor, Tensor]:
        noise = self.context.normal(cond.shape[0], self.options.noise_dim)
        with self.context.precision():
            logits = self.train_generator(torch.cat([noise, cond], dim=1)).float()
        uniform = self.context.uniform(*logits.shape)  # the Gumbel noise's draws, shared
        return logits, self.spans.activate(logits, self.options.tau, uniform)  # (batch, data_dim)

    # -- the two steps ---------------------------------------------------------------------------
    def discriminator_step(self) -> dict[str, float]:
        opts = self.options
        cond, slots, real = self._draw()
        with torch.set_grad_enabled(opts.reuse_fake):
            logits, fake = self._generate(cond)
        real_in = torch.cat([real, cond], dim=1)  # (batch, data_dim + cond_dim)
        fake_in = torch.cat([fake.detach(), cond], dim=1)
        with self.context.precision():  # real and fake packs in one pass: (2 * batch / pac,)
            scores = self.train_discriminator(torch.cat([real_in, fake_in], dim=0)).float()
        packs = real_in.shape[0] // opts.pac
        adversarial = self.loss.discriminator(scores[:packs], scores[packs:])
        total = adversarial
        if opts.gp_lambda > 0 and self._critic_steps % opts.gp_every == 0:
            total = adversarial + opts.gp_lambda * opts.gp_every * self._penalty(real_in, fake_in)
        self._critic_steps += 1
        self.opt_d.zero_grad(set_to_none=True)
        total.backward()
        self.opt_d.step()
        self._cached = (logits, fake, cond, slots) if opts.reuse_fake else None
        return {"discriminator_loss": float(adversarial.detach())}

    def _penalty(self, real_in: Tensor, fake_in: Tensor) -> Tensor:
        """WGAN-GP on points between real and fake packs (one mixing weight per pack).

        Scored in a separate pass so that input gradients are computed for these rows only,
        and always in float32: the double backward is slow and imprecise in bfloat16.
        """
        pac = self.options.pac
        alpha = self.context.uniform(real_in.shape[0] // pac, 1)  # (packs, 1)
        interp = torch.lerp(fake_in, real_in, alpha.repeat_interleave(pac, dim=0))
        interp.requires_grad_(True)
        return gradient_penalty(self.train_discriminator(interp), interp).mean()

    def generator_step(self) -> dict[str, float]:
        if self._cached is not None:
            logits, fake, cond, slots = self._cached
            self._cached = None
        else:
            cond, slots = self._generator_conditions(self.options.batch_size)
            logits, fake = self._generate(cond)
        self.discriminator.requires_grad_(False)  # no gradient for weights this step keeps
        try:
            with self.context.precision():
                scores = self.discriminator(torch.cat([fake, cond], dim=1)).float()
        finally:
            self.discriminator.requires_grad_(True)
        loss = self.loss.generator(scores)
        if slots is not None:
            loss = loss + self.spans.conditional_loss(logits, slots)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return {"generator_loss": float(loss.detach())}

    def calibration_inputs(self, name: str, batches: int) -> list[Tensor]:
        """Training-like generator inputs (noise and conditions) to re-estimate BatchNorm
        statistics of the averaged generator."""
        inputs = []
        for _ in range(batches):
            cond, _ = self._generator_conditions(self.options.batch_size)
            noise = self.context.normal(cond.shape[0], self.options.noise_dim)
            inputs.append(torch.cat([noise, cond], dim=1))
        return inputs
