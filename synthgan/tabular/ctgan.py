"""CTGANSynthesizer: the conditional tabular GAN of Xu et al. (2019).

A thin estimator that wires the table transformer, the conditional sampler and the networks
into the shared :class:`~synthgan.core.trainer.GANTrainer`.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthgan.base import BaseSynthesizer, register_model_kind
from synthgan.core.callbacks import TimeLimit, check_max_time
from synthgan.core.losses import create_loss
from synthgan.core.precision import resolve_autocast
from synthgan.core.random import check_random_state, derive_seed, torch_seed_scope
from synthgan.core.threads import thread_scope
from synthgan.core.trainer import GANTrainer
from synthgan.exceptions import DataValidationError
from synthgan.privacy.accounting import PrivacySpent
from synthgan.privacy.config import PrivacyConfig
from synthgan.tabular.conditions import ConditionPlan, plan_conditions
from synthgan.tabular.networks import (
    Discriminator,
    Generator,
    TabularNetworkConfig,
    fold_generator,
)
from synthgan.tabular.sampler import ConditionSampler
from synthgan.tabular.steps import StepOptions, TabularGANSteps, one_hot_conditions
from synthgan.tabular.transformer import TableTransformer
from synthgan.tabular.validation import as_frame, plan_columns

__all__ = ["CTGANSynthesizer"]

_POSITIVE_INTS = ("epochs", "batch_size", "discriminator_steps", "embedding_dim", "gp_every",
                  "max_modes", "mixture_max_rows", "max_categories", "dp_grid_modes")  # fmt: skip
_SAMPLE_CHUNK = 16384  # rows generated per forward pass when sampling
_PRIVACY_NOTES = (
    "Preprocessing: column kinds come from the dtypes and metadata (public schema); category "
    "lists, frequencies and numeric bounds not given as metadata were released under DP as "
    "listed above; continuous columns use equal-width modes over their bounds (no mixture "
    "fitted on the data); identifier columns are drawn from their public pattern and excluded "
    "text columns are not read.",
    "Not covered: the metadata you supplied, the column names and dtypes, errors raised on "
    "invalid data, and every further release (another model or fit on the same records spends "
    "budget again).",
)


@register_model_kind
class CTGANSynthesizer(BaseSynthesizer):
    """Conditional tabular GAN (CTGAN) with mode-specific normalisation and PacGAN.

    The hyperparameters (networks, learning rates, batch size, ``pac``, ``tau``, penalty
    weight) default to those of the reference implementation. Four options that do less work
    per step or keep a better generator are on by default, because they reach the reference's
    quality several times sooner (``docs/benchmarks.md``): a lazy gradient penalty
    (``gp_every=4``), one generator pass per step (``reuse_fake=True``), bfloat16 matrix
    products where the hardware has them (``autocast="auto"``) and generator weight averaging
    (``ema_decay=0.999``). ``gp_every=1, reuse_fake=False, autocast=False, ema_decay=None`` is
    the reference algorithm, step for step.

    Parameters
    ----------
    epochs : int, default=300
        Passes over the training data.
    batch_size : int, default=500
        Rows per step; must be a multiple of ``pac``. Reduced (to a multiple of ``pac``) when
        the table is smaller.
    discriminator_steps : int, default=1
        Critic steps per generator step.
    pac : int or None, default=None
        Rows the discriminator scores together (PacGAN), against mode collapse. None means 10,
        or 1 with ``privacy`` (a pack mixes records, so its gradient is not a per-record one).
    embedding_dim : int, default=128
        Size of the generator's noise input.
    generator_dim, discriminator_dim : tuple of int, default=(256, 256)
        Hidden layer sizes (residual blocks for the generator).
    generator_lr, discriminator_lr : float, default=2e-4
        Adam learning rates.
    generator_decay, discriminator_decay : float, default=1e-6
        Adam weight decay.
    betas : tuple of float, default=(0.5, 0.9)
        Adam betas for both networks.
    gp_lambda : float, default=10.0
        Weight of the WGAN-GP gradient penalty.
    tau : float, default=0.2
        Gumbel-softmax temperature of the generator's discrete outputs.
    log_frequency : bool, default=True
        Training-by-sampling picks categories by log frequency (rare categories are seen more).
    loss : str, default="wasserstein"
        Adversarial loss from :func:`synthgan.core.losses.available_losses`.
    gp_every : int, default=4
        Apply the gradient penalty every ``gp_every`` critic steps, scaled by ``gp_every``
        (lazy regularisation). 1 is the reference behaviour.
    reuse_fake : bool, default=True
        The generator step reuses the last critic step's generator pass instead of a new one.
        False is the reference behaviour.
    autocast : bool or "auto", default="auto"
        Compute the networks' matrix products in bfloat16, in training (under
        ``torch.autocast``; the gradient penalty stays in float32) and in sampling. Several times
        faster on CPUs with native bf16 instructions (AVX512-BF16, AMX), slower elsewhere;
        ``"auto"`` turns it on exactly there (and on CUDA devices with bf16), see
        ``autocast_``. False is the reference behaviour.
    ema_decay : float or None, default=0.999
        Keep an exponential moving average of the generator's weights with this decay (0.999:
        about the last 1000 steps) and sample from it (Yazıcı et al., 2019); BatchNorm
        statistics are re-estimated for the averaged weights. ``None`` (the reference) keeps the
        last generator.
    discrete_columns : sequence of str, optional
        Columns to model as discrete whatever their dtype (e.g. integer codes).
    metadata : mapping, optional
        ``{"columns": {name: {"kind": "continuous"|"discrete"|"datetime"|"id"|"text", "min": ..,
        "max": .., "pattern": .., "allow_copy": ..}}}``, checked against
        :data:`synthgan.tabular.metadata.METADATA_SCHEMA` (``"type"`` is accepted as the older
        spelling of ``"kind"``). Kinds override detection (see ``column_kinds_``); ``min``/``max``
        are public bounds of continuous columns; ``id`` columns are generated fresh (in the
        format of ``pattern`` when given), ``text`` columns are left out unless ``allow_copy``.
    enforce_min_max : bool, default=True
        Clip generated continuous values to the training (or declared) range.
    max_modes : int, default=10
        Mixture components per continuous column before pruning.
    weight_threshold : float, default=0.005
        Mixture components with weight not above this are dropped.
    mixture_max_rows : int, default=5000
        Mixtures are fitted on a random subsample of at most this many rows per column.
    high_cardinality_threshold : int, default=500
        A discrete column with more distinct values gets a compact encoding (with a warning).
    max_categories : int, default=100
        One-hot slots kept for a compacted column; the rarest values share the last slot and
        are redrawn from their training frequencies.
    privacy : PrivacyConfig or None, default=None
        Train with differential privacy (``docs/privacy.md``): the discriminator with DP-SGD
        (Opacus; Poisson sampling, per-record clipping, calibrated Gaussian noise), and every
        statistic read from the table (bounds, category lists, frequencies) released under DP,
        all composed into ``privacy_spent_``. Needs ``pac=1`` (the default then); mode-specific
        normalisation is replaced by ``dp_grid_modes`` equal-width modes, and training-by-sampling
        conditions each real row on its own category. A dict is read with
        ``PrivacyConfig.from_dict``.
    dp_grid_modes : int, default=10
        With ``privacy``: equal-width modes per continuous column.
    dp_penalty : {"fake", "record"}, default="fake"
        With ``privacy``: where the gradient penalty is taken. ``"fake"`` between pairs of
        generated rows (reads no real record: no clipping, no privacy cost, fast ghost
        clipping); ``"record"`` between each real record and a fake, clipped with the record
        (WGAN-GP as published, per-record gradients with ``torch.func``, several times slower).
    max_time : float or None, default=None
        Stop training after the first epoch that ends ``max_time`` seconds after training
        started (a wall-clock budget; a warning says how many epochs ran). With ``privacy``
        the noise is calibrated for every planned epoch, so stopping early spends less ε than
        the target (``privacy_spent_`` is what the steps taken spent).
    device : str, default="cpu"
        Torch device for training and sampling.
    n_threads : int or None, default=None
        CPU threads for the fit. None uses the cores that other processes leave idle when the
        fit starts (or ``OMP_NUM_THREADS``, or :func:`synthgan.core.threads.configure_threads`'s
        choice), so a fit on a shared machine does not collapse; see ``n_threads_``.
    random_state : int, numpy Generator or None
        Seed for fitting; with the same data and seed the fitted model is identical (on CPU).
    verbose : bool, default=True
        Show a progress bar with the losses.

    Attributes
    ----------
    column_kinds_ : dict of str to str
        The kind used for every training column: continuous, datetime, discrete, constant, id
        (generated fresh, never copied) or text (excluded: absent from sampled tables). See
        :func:`synthgan.tabular.metadata.format_kinds` for a one-line summary.
    transformer_ : TableTransformer
        The fitted encoder/decoder of the table.
    sampler_ : ConditionSampler
        Category frequencies used to draw conditions at sampling time.
    generator_ : torch.nn.Module
        The trained generator (in eval mode).
    network_config_ : TabularNetworkConfig
        Sizes of the networks.
    loss_history_ : pandas.DataFrame
        One row per epoch: epoch, discriminator_loss, generator_loss, seconds. With
        ``privacy`` the discriminator loss is its fake-only term (with the fake-side penalty):
        the real term is a statistic of the records that DP-SGD does not release.
    timings_ : dict
        Seconds spent in ``transformer_fit``, ``transform``, ``training`` and ``total``.
    autocast_ : bool
        Whether bfloat16 was used (``autocast`` resolved on the training device); sampling
        uses the same precision, also after ``load``.
    n_threads_ : int
        The CPU threads the fit used (``n_threads`` resolved when it started). Not saved: a
        loaded model has none.
    privacy_spent_ : PrivacySpent or None
        With ``privacy``: the (ε, δ) the whole pipeline spent, with its breakdown by mechanism
        (unpacks as ``epsilon, delta``); None without. See :meth:`privacy_report`.

    Examples
    --------
    >>> from synthgan import CTGANSynthesizer
    >>> from synthgan.datasets import load_adult
    >>> model = CTGANSynthesizer(epochs=5, verbose=False, random_state=0).fit(load_adult())
    >>> synthetic = model.sample(1000, conditions={"income": ">50K"}, random_state=0)
    >>> (synthetic["income"] == ">50K").all()
    True
    """

    model_kind = "ctgan"
    _fitted_attribute = "generator_"

    def __init__(
        self,
        *,
        epochs: int = 300,
        batch_size: int = 500,
        discriminator_steps: int = 1,
        pac: int | None = None,
        embedding_dim: int = 128,
        generator_dim: Sequence[int] = (256, 256),
        discriminator_dim: Sequence[int] = (256, 256),
        generator_lr: float = 2e-4,
        generator_decay: float = 1e-6,
        discriminator_lr: float = 2e-4,
        discriminator_decay: float = 1e-6,
        betas: Sequence[float] = (0.5, 0.9),
        gp_lambda: float = 10.0,
        tau: float = 0.2,
        log_frequency: bool = True,
        loss: str = "wasserstein",
        gp_every: int = 4,
        reuse_fake: bool = True,
        autocast: bool | str = "auto",
        ema_decay: float | None = 0.999,
        discrete_columns: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        enforce_min_max: bool = True,
        max_modes: int = 10,
        weight_threshold: float = 0.005,
        mixture_max_rows: int = 5000,
        high_cardinality_threshold: int = 500,
        max_categories: int = 100,
        privacy: PrivacyConfig | Mapping[str, Any] | None = None,
        dp_grid_modes: int = 10,
        dp_penalty: str = "fake",
        max_time: float | None = None,
        device: str = "cpu",
        n_threads: int | None = None,
        random_state: int | np.random.Generator | None = None,
        verbose: bool = True,
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.discriminator_steps = discriminator_steps
        self.pac = pac
        self.embedding_dim = embedding_dim
        self.generator_dim = generator_dim
        self.discriminator_dim = discriminator_dim
        self.generator_lr = generator_lr
        self.generator_decay = generator_decay
        self.discriminator_lr = discriminator_lr
        self.discriminator_decay = discriminator_decay
        self.betas = betas
        self.gp_lambda = gp_lambda
        self.tau = tau
        self.log_frequency = log_frequency
        self.loss = loss
        self.gp_every = gp_every
        self.reuse_fake = reuse_fake
        self.autocast = autocast
        self.ema_decay = ema_decay
        self.discrete_columns = discrete_columns
        self.metadata = metadata
        self.enforce_min_max = enforce_min_max
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.mixture_max_rows = mixture_max_rows
        self.high_cardinality_threshold = high_cardinality_threshold
        self.max_categories = max_categories
        self.privacy = privacy
        self.dp_grid_modes = dp_grid_modes
        self.dp_penalty = dp_penalty
        self.max_time = max_time
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------------------------------
    # fit
    # ------------------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame | str) -> CTGANSynthesizer:
        """Learn the distribution of ``data``.

        Parameters
        ----------
        data : pandas.DataFrame or path
            The training table, or a CSV / Parquet file to read with :func:`synthgan.io.read_table`.

        Returns
        -------
        CTGANSynthesizer
            ``self``, fitted.
        """
        with thread_scope(self.n_threads) as threads:
            self._fit(data)
        self.n_threads_ = threads
        return self

    def _fit(self, data: pd.DataFrame | str) -> CTGANSynthesizer:
        self._validate_params()
        df = as_frame(data)
        if self._privacy_config() is not None:
            return self._fit_private(df)
        plans = plan_columns(
            df,
            discrete_columns=self.discrete_columns,
            metadata=self.metadata,
            high_cardinality_threshold=self.high_cardinality_threshold,
        )
        batch_size = self._effective_batch_size(len(df))
        rng = check_random_state(self.random_state)
        device = torch.device(self.device)
        self.autocast_ = resolve_autocast(self.autocast, device)

        start = time.perf_counter()
        transformer = TableTransformer(
            max_modes=self.max_modes,
            weight_threshold=self.weight_threshold,
            mixture_max_rows=self.mixture_max_rows,
            max_categories=self.max_categories,
        ).fit(df, plans, rng)
        fitted = time.perf_counter()
        matrix, codes = transformer.transform(df, rng)
        transformed = time.perf_counter()

        n_categories = [len(e.categories) for e in transformer.discrete_encoders_]
        sampler = ConditionSampler(codes, n_categories, self.log_frequency)
        config = TabularNetworkConfig(
            noise_dim=self.embedding_dim,
            condition_dim=transformer.span_table_.condition_width,
            data_dim=transformer.output_width,
            generator_dim=tuple(self.generator_dim),
            discriminator_dim=tuple(self.discriminator_dim),
            pac=self._pac(),
        )
        with torch_seed_scope(derive_seed(rng), device):
            generator, history = self._train(
                config, torch.as_tensor(matrix, device=device), sampler, transformer,
                batch_size, rng,
            )  # fmt: skip
        end = time.perf_counter()

        self.column_kinds_ = {plan.name: plan.kind for plan in plans}
        self.transformer_ = transformer
        self.sampler_ = sampler.for_generation()
        self.network_config_ = config
        self.loss_history_ = history
        self.timings_ = {
            "transformer_fit": fitted - start,
            "transform": transformed - fitted,
            "training": end - transformed,
            "total": end - start,
        }
        self.generator_ = generator.eval()
        self.privacy_spent_ = None
        self._privacy_state = None
        self._prepare_sampling()
        return self

    def _fit_private(self, df: pd.DataFrame) -> CTGANSynthesizer:
        from synthgan.tabular import private

        resolved = self._privacy_config().validate(len(df))
        plans = private.plan_private_columns(
            df, discrete_columns=self.discrete_columns, metadata=self.metadata
        )
        batch_size = self._effective_batch_size(len(df))
        rng = check_random_state(self.random_state)
        device = torch.device(self.device)
        self.autocast_ = resolve_autocast(self.autocast, device)
        start = time.perf_counter()
        prep = private.fit_private_transformer(
            df, plans, resolved, rng, grid_modes=self.dp_grid_modes
        )
        transformer = prep.transformer
        fitted = time.perf_counter()
        matrix, codes = transformer.transform(df, rng)
        transformed = time.perf_counter()
        sampler = private.private_sampler(transformer, self.log_frequency)
        config = TabularNetworkConfig(
            noise_dim=self.embedding_dim,
            condition_dim=transformer.span_table_.condition_width,
            data_dim=transformer.output_width,
            generator_dim=tuple(self.generator_dim),
            discriminator_dim=tuple(self.discriminator_dim),
            pac=1,
        )
        with torch_seed_scope(derive_seed(rng), device):
            generator, history, critic = self._train_private(
                config, torch.as_tensor(matrix, device=device), codes, sampler, transformer,
                batch_size, rng, resolved, prep.costs,
            )  # fmt: skip
        end = time.perf_counter()
        self.column_kinds_ = private.plan_kinds(plans)
        self.transformer_ = transformer
        self.sampler_ = sampler
        self.network_config_ = config
        self.loss_history_ = history
        self.timings_ = {
            "transformer_fit": fitted - start,
            "transform": transformed - fitted,
            "training": end - transformed,
            "total": end - start,
        }
        self.generator_ = generator.eval()
        self.privacy_spent_ = critic.privacy_spent(
            resolved.target_delta,
            prep.costs,
            target_epsilon=resolved.target_epsilon,
            notes=(resolved.delta_note(), *_PRIVACY_NOTES),
        )
        self._privacy_state = critic.state_dict()
        self._prepare_sampling()
        return self

    def _train_private(
        self, config, data, codes, sampler, transformer, batch_size, rng, resolved, costs
    ):
        from synthgan.privacy.accounting import plan_dp_sgd
        from synthgan.privacy.engine import PrivateCritic
        from synthgan.tabular.private import PrivateTabularSteps

        device = data.device
        n = data.shape[0]
        steps_per_epoch = max(1, n // batch_size)
        planned = self.epochs * steps_per_epoch * self.discriminator_steps
        sample_rate = batch_size / n
        spent_eps = sum(e for e, _ in costs.values())
        spent_delta = sum(d for _, d in costs.values())
        eps, delta = resolved.dp_sgd_budget(spent_eps, spent_delta)
        sigma = plan_dp_sgd(
            eps, delta, sample_rate, planned, resolved.accountant,
            noise_multiplier=resolved.noise_multiplier,
        )  # fmt: skip
        generator = Generator(config).to(device)
        discriminator = Discriminator(config).to(device)
        betas = tuple(self.betas)
        opt_g = _adam(generator, self.generator_lr, betas, self.generator_decay)
        opt_d = torch.optim.Adam(
            discriminator.parameters(), self.discriminator_lr, betas,
            weight_decay=self.discriminator_decay,
        )  # fmt: skip
        discriminator.train()
        noise_source = torch.Generator(device=device).manual_seed(derive_seed(rng))
        critic = PrivateCritic(
            discriminator, opt_d, n_records=n, sample_rate=sample_rate, noise_multiplier=sigma,
            max_grad_norm=resolved.max_grad_norm, max_steps=planned,
            accountant=resolved.accountant, generator=noise_source,
            grad_sampler="functional" if self.dp_penalty == "record" else "ghost",
        )  # fmt: skip
        options = StepOptions(
            batch_size=batch_size,
            noise_dim=self.embedding_dim,
            pac=1,
            tau=self.tau,
            gp_lambda=self.gp_lambda,
            gp_every=self.gp_every,
            reuse_fake=self.reuse_fake,
            autocast=self.autocast_,
            ema_decay=self.ema_decay,
        )
        sampling = torch.Generator(device=device).manual_seed(derive_seed(rng))
        steps = PrivateTabularSteps(
            generator, critic, data, codes, sampler, transformer.span_table_,
            create_loss(self.loss), opt_g, options, rng, sampling, self.dp_penalty,
        )  # fmt: skip
        trainer = GANTrainer(
            epochs=self.epochs,
            steps_per_epoch=steps_per_epoch,
            n_critic=self.discriminator_steps,
            callbacks=self._callbacks(),
            verbose=self.verbose,
            description=f"DP-CTGAN ε={resolved.target_epsilon:g}",
        )
        generator.train()
        history = trainer.fit(steps).to_frame()
        critic.to_standard_module()
        return steps.final_generator(), history, critic

    def _privacy_config(self) -> PrivacyConfig | None:
        if self.privacy is None or isinstance(self.privacy, PrivacyConfig):
            return self.privacy
        if isinstance(self.privacy, Mapping):
            return PrivacyConfig.from_dict(dict(self.privacy))
        raise TypeError(
            f"privacy must be a synthgan.PrivacyConfig, a dict of its fields or None, got "
            f"{type(self.privacy).__name__}."
        )

    def _pac(self) -> int:
        if self.pac is None:
            return 1 if self.privacy is not None else 10
        return int(self.pac)

    def _train(self, config, data, sampler, transformer, batch_size, rng):
        device = data.device
        generator = Generator(config).to(device)
        discriminator = Discriminator(config).to(device)
        betas = tuple(self.betas)
        optimizers = (
            _adam(generator, self.generator_lr, betas, self.generator_decay),
            _adam(discriminator, self.discriminator_lr, betas, self.discriminator_decay),
        )
        options = StepOptions(
            batch_size=batch_size,
            noise_dim=self.embedding_dim,
            pac=self._pac(),
            tau=self.tau,
            gp_lambda=self.gp_lambda,
            gp_every=self.gp_every,
            reuse_fake=self.reuse_fake,
            autocast=self.autocast_,
            ema_decay=self.ema_decay,
        )
        steps = TabularGANSteps(
            generator, discriminator, data, sampler, transformer.span_table_,
            create_loss(self.loss), optimizers, options, rng,
        )  # fmt: skip
        trainer = GANTrainer(
            epochs=self.epochs,
            steps_per_epoch=max(1, data.shape[0] // batch_size),
            n_critic=self.discriminator_steps,
            callbacks=self._callbacks(),
            verbose=self.verbose,
            description="CTGAN",
        )
        generator.train()
        discriminator.train()
        history = trainer.fit(steps).to_frame()
        return steps.final_generator(), history

    def _callbacks(self) -> list[TimeLimit]:
        return [] if self.max_time is None else [TimeLimit(self.max_time)]

    def _validate_params(self) -> None:
        for name in _POSITIVE_INTS:
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("high_cardinality_threshold", self.high_cardinality_threshold, minimum=2)
        if self.dp_penalty not in ("fake", "record"):
            raise ValueError(f"dp_penalty must be 'fake' or 'record', got {self.dp_penalty!r}.")
        if self.pac is not None:
            _check_int("pac", self.pac, minimum=1)
        privacy = self._privacy_config()
        if privacy is not None and self._pac() != 1:
            raise ValueError(
                f"pac={self.pac} with privacy: a pack mixes {self.pac} records into one "
                "discriminator input, so its gradient is not a per-record gradient and DP-SGD "
                "cannot bound one record's influence. Leave pac=None (1 with privacy)."
            )
        if self.batch_size % self._pac():
            raise ValueError(
                f"batch_size ({self.batch_size}) must be a multiple of pac ({self._pac()}), "
                "since the discriminator scores packs of pac rows."
            )
        for name in ("generator_lr", "discriminator_lr", "tau"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}.")
        for name in ("generator_decay", "discriminator_decay", "gp_lambda"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}.")
        if len(tuple(self.betas)) != 2:
            raise ValueError(f"betas must be a pair of floats, got {self.betas!r}.")
        if not 0 <= self.weight_threshold < 1:
            raise ValueError(f"weight_threshold must be in [0, 1), got {self.weight_threshold!r}.")
        if self.ema_decay is not None and not (
            isinstance(self.ema_decay, float | int) and 0 < self.ema_decay < 1
        ):
            raise ValueError(
                f"ema_decay must be None or a float in (0, 1) such as 0.999, got "
                f"{self.ema_decay!r}."
            )
        check_max_time(self.max_time)
        create_loss(self.loss)  # raises with the valid names

    def _effective_batch_size(self, n_rows: int) -> int:
        pac = self._pac()
        if n_rows < pac:
            raise DataValidationError(
                f"The training table has {n_rows} rows, fewer than pac={pac} (rows the "
                "discriminator scores together). Provide more rows or lower pac."
            )
        if n_rows >= self.batch_size:
            return self.batch_size
        batch = (n_rows // pac) * pac
        warnings.warn(
            f"batch_size={self.batch_size} exceeds the {n_rows} training rows; using "
            f"batch_size={batch}.",
            UserWarning,
            stacklevel=3,
        )
        return batch

    # ------------------------------------------------------------------------------------------
    # sample
    # ------------------------------------------------------------------------------------------
    def sample(
        self,
        n: int,
        conditions: Mapping[str, Any] | None = None,
        random_state: int | np.random.Generator | None = None,
    ) -> pd.DataFrame:
        """Generate ``n`` synthetic rows.

        Parameters
        ----------
        n : int
            Number of rows, at least 1.
        conditions : mapping, optional
            ``{column: value}`` on discrete columns, e.g. ``{"income": ">50K"}``. Every row
            returned matches every condition. The rarest condition is fed to the conditional
            generator (and holds by construction); further conditions are met by keeping the
            generated rows that satisfy them. ``None`` (or ``np.nan``, ``pd.NA``) asks for the
            missing value, in a column that had missing values in training.
        random_state : int, numpy Generator or None
            Seed; the same seed gives the same rows.

        Returns
        -------
        pandas.DataFrame
            Columns, order and dtypes of the training table, less the excluded ``text``
            columns; identifier columns hold fresh values, distinct within the call.
        """
        self._check_fitted()
        n = _check_int("n", n, minimum=1)
        plan = plan_conditions(self.transformer_, self.sampler_, conditions)
        rng = check_random_state(random_state)
        device = next(self.generator_.parameters()).device
        with torch_seed_scope(derive_seed(rng), device), torch.inference_mode():
            self.generator_.eval()
            values, codes = self._generate(n, plan, rng, device)
        frame = self.transformer_.decode(values, codes, rng, clip=self.enforce_min_max)
        if plan is not None:
            plan.apply_values(frame)
        return frame

    def _grouped_logits(self, noise: torch.Tensor, slots: np.ndarray | None) -> torch.Tensor:
        """Generator logits in the span table's grouped column order."""
        if self._folded is not None:  # same function, computed with less work
            slot_t = None if slots is None else torch.as_tensor(slots, device=noise.device)
            return self._folded(noise, slot_t)
        spans = self.transformer_.span_table_
        cond = one_hot_conditions(slots, spans.condition_width, noise.shape[0], noise.device)
        logits = self.generator_(torch.cat([noise, cond], dim=1))
        return logits[:, spans.grouped_order.to(noise.device)]

    def _generate(
        self, n: int, plan: ConditionPlan | None, rng: np.random.Generator, device
    ) -> tuple[np.ndarray, np.ndarray]:
        spans = self.transformer_.span_table_
        kept_values, kept_codes, total, drawn = [], [], 0, 0
        while total < n:
            remaining = n - total
            batch = min(_SAMPLE_CHUNK, remaining if plan is None else max(1024, 4 * remaining))
            if plan is None:  # each row is conditioned on one (column, category) pair
                slots = self.sampler_.sample_original(batch, rng)
            else:
                slots = np.full(batch, plan.slot)
            noise = torch.randn(batch, self.embedding_dim, device=device)
            values, codes = spans.decode_grouped(self._grouped_logits(noise, slots))
            values, codes = values.cpu().numpy(), codes.cpu().numpy()
            if plan is None and slots is not None:
                # The generator models p(row | column = category); the conditioned column takes
                # that category, as for explicit conditions. This makes each column's marginal
                # exact on the rows conditioned on it (rare categories included).
                position, code = self._slot_targets
                codes[np.arange(batch), position[slots]] = code[slots]
            if plan is not None:
                keep = plan.accept(codes)
                values, codes = values[keep], codes[keep]
                drawn += batch
                plan.check_progress(drawn, total + len(codes), n)
            kept_values.append(values)
            kept_codes.append(codes)
            total += len(codes)
        return np.concatenate(kept_values)[:n], np.concatenate(kept_codes)[:n]

    # ------------------------------------------------------------------------------------------
    # persistence
    # ------------------------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        state = {
            "transformer": self.transformer_.to_json(),
            "sampler": self.sampler_.to_json(),
            "network": self.network_config_.to_json(),
            "loss_history": self.loss_history_.to_dict(orient="list"),
            "timings": self.timings_,
            "autocast": self.autocast_,
            "column_kinds": self.column_kinds_,
        }
        if getattr(self, "privacy_spent_", None) is not None:
            state["privacy"] = {
                "spent": self.privacy_spent_.to_dict(),
                "accountant": self._privacy_state,
            }
        tensors = {
            f"generator.{k}": v.detach().cpu() for k, v in self.generator_.state_dict().items()
        }
        return state, tensors

    def _set_state(self, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self.transformer_ = TableTransformer.from_json(state["transformer"])
        self.sampler_ = ConditionSampler.from_json(state["sampler"])
        self.network_config_ = TabularNetworkConfig.from_json(state["network"])
        self.loss_history_ = pd.DataFrame(state["loss_history"])
        self.timings_ = dict(state["timings"])
        self.autocast_ = bool(state["autocast"])
        self.column_kinds_ = dict(state.get("column_kinds") or _kinds_of(self.transformer_))
        privacy = state.get("privacy")
        self.privacy_spent_ = None if privacy is None else PrivacySpent.from_dict(privacy["spent"])
        self._privacy_state = None if privacy is None else privacy["accountant"]
        generator = Generator(self.network_config_)
        prefix = "generator."
        weights = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        generator.load_state_dict(weights, strict=True)
        device = torch.device(self.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            device = torch.device("cpu")
        self.generator_ = generator.to(device).eval()
        self._prepare_sampling()

    def _prepare_sampling(self) -> None:
        """Derived, unsaved helpers for ``sample`` (recomputed after fit and load)."""
        self._slot_targets = self.transformer_.condition_targets()
        dtype = torch.bfloat16 if self.autocast_ else torch.float32
        order = self.transformer_.span_table_.grouped_order
        self._folded = fold_generator(self.generator_, self.network_config_, dtype, order)


def _kinds_of(transformer: TableTransformer) -> dict[str, str]:
    """Column kinds of a model file written before ``column_kinds_`` was saved."""
    kinds = {}
    for encoder in transformer.encoders_:
        datetime = encoder.kind == "continuous" and encoder.dtype["dtype"].startswith("datetime")
        kinds[encoder.name] = "datetime" if datetime else encoder.kind
    return kinds


def _adam(module: torch.nn.Module, lr: float, betas, decay: float) -> torch.optim.Optimizer:
    # The fused kernel updates every parameter in one pass: the same Adam, several times faster
    # than the per-tensor loop for these small networks.
    return torch.optim.Adam(module.parameters(), lr, tuple(betas), weight_decay=decay, fused=True)


def _check_int(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)
