"""CTGANSynthesizer: the conditional tabular GAN of Xu et al. (2019)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthgan.base import BaseSynthesizer, data_digest, register_model_kind
from synthgan.core.callbacks import Callback
from synthgan.core.losses import create_loss
from synthgan.core.params import check_fraction, check_int, check_positive
from synthgan.core.random import check_random_state, derive_seed, torch_seed_scope
from synthgan.core.session import FitPlan, Network, TrainingContext
from synthgan.exceptions import DataValidationError, InvalidParameterError
from synthgan.io.datasets import ParquetDataset, is_dataset_source, open_dataset
from synthgan.privacy.config import PrivacyConfig
from synthgan.tabular.conditions import ConditionPlan, plan_conditions
from synthgan.tabular.networks import (
    Discriminator,
    Generator,
    TabularNetworkConfig,
    fold_generator,
)
from synthgan.tabular.sample_stream import StreamedTableSampling
from synthgan.tabular.sampler import ConditionSampler
from synthgan.tabular.steps import StepOptions, TabularGANSteps, one_hot_conditions
from synthgan.tabular.stream_stats import scan_dataset
from synthgan.tabular.streaming import StreamSource
from synthgan.tabular.transformer import TableTransformer
from synthgan.tabular.validation import as_frame, plan_columns

__all__ = ["CTGANSynthesizer"]

_POSITIVE_INTS = ("epochs", "batch_size", "discriminator_steps", "embedding_dim", "gp_every",
                  "max_modes", "mixture_max_rows", "max_categories", "dp_grid_modes",
                  "max_memory_rows", "stream_buffer_rows")  # fmt: skip
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
_STREAMED_PRIVACY = (
    "privacy is not supported for a streamed fit (a Parquet input above max_memory_rows, or "
    "streaming=True). DP needs Poisson sampling over the whole table (every record in a batch "
    "independently with the sampling rate) and DP releases of the preprocessing statistics; "
    "the shuffle buffer samples rows from a few row groups at a time and the streamed "
    "statistics are exact, so the guarantee would not hold. Fit with privacy on a table that "
    "fits in memory (streaming=False), or without privacy."
)


@register_model_kind
class CTGANSynthesizer(StreamedTableSampling, BaseSynthesizer):
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
    streaming : bool or "auto", default="auto"
        How a Parquet input (a file, a dataset directory or a list of files) is read.
        ``"auto"`` streams it when it has more than ``max_memory_rows`` rows and reads it into
        memory otherwise (exactly as before); True always streams it; False always reads it
        into memory. A streamed fit never holds the table: the transformer is fitted from one
        pass of statistics and training draws rows through a shuffle buffer
        (``docs/scaling.md``, "Fitting tables larger than memory"). Not with ``privacy``.
    max_memory_rows : int, default=5_000_000
        With ``streaming="auto"``: the largest Parquet input (in rows, read from the files'
        footers) that is read into memory.
    stream_buffer_rows : int, default=100_000
        Rows of the shuffle buffer of a streamed fit (encoded, ``float32``): more rows mix the
        table better and cost ``4 * width`` bytes each.
    max_time : float or None, default=None
        Stop training after the first epoch that ends ``max_time`` seconds after training
        started (a wall-clock budget; a warning says how many epochs ran). With ``privacy``
        the noise is calibrated for every planned epoch, so stopping early spends less ε than
        the target (``privacy_spent_`` is what the steps taken spent).
    checkpoint_dir : str, path or None, default=None
        Write a checkpoint (``checkpoint.synthgan``: networks, optimizers, averages, every RNG
        state, the accountant, the history) to this directory after every
        ``checkpoint_every`` epochs, replacing the previous one atomically; ``fit(...,
        resume=True)`` continues from it, with the result of an uninterrupted fit. A directory
        holding an earlier fit's checkpoint is refused unless resuming. A checkpoint is as
        sensitive as the training data (it holds the fit's random states); keep it with the data.
    checkpoint_every : int, default=1
        Epochs between checkpoints (the last epoch is always checkpointed).
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        Torch device for training and sampling: "auto" is the GPU when torch sees one. A
        model file fitted on a GPU loads on a machine without one (on the CPU, with a warning).
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
        ``privacy`` it is ``discriminator_fake_loss``, the fake-only term (with the fake-side
        penalty): the real term is a statistic of the records that DP-SGD does not release.
    timings_ : dict
        The schema of every family: seconds of ``preparation`` (transformer fit and transform),
        ``training`` and ``total``, the ``epochs`` run and ``records_per_second`` of training.
    autocast_ : bool
        Whether bfloat16 was used (``autocast`` resolved on the training device); sampling
        uses the same precision, also after ``load``.
    n_threads_ : int
        The CPU threads the fit used (``n_threads`` resolved when it started). Not saved: a
        loaded model has none.
    privacy_spent_ : PrivacySpent or None
        With ``privacy``: the (ε, δ) the whole pipeline spent, with its breakdown by mechanism
        (unpacks as ``epsilon, delta``); None without. See :meth:`privacy_report`.
    privacy_state_ : dict or None
        With ``privacy``: the accountant's state (its history of steps), saved with the model.
    streaming_ : dict or None
        For a streamed fit, its memory model: ``rows``, ``files``, ``row_groups``,
        ``mixture_reservoir_rows`` (values per continuous column the mixtures were fitted on),
        ``planning_rows`` (the uniform row sample the column plans were decided on),
        ``reserve_rows`` (rows kept for rare categories) and ``buffer_rows``; None in memory.

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
    _records = "rows"

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
        streaming: bool | str = "auto",
        max_memory_rows: int = 5_000_000,
        stream_buffer_rows: int = 100_000,
        max_time: float | None = None,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
        device: str = "auto",
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
        self.streaming, self.max_memory_rows = streaming, max_memory_rows
        self.stream_buffer_rows = stream_buffer_rows
        self.max_time = max_time
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------------------------------
    # fit
    # ------------------------------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame | str | PathLike | Sequence[str | PathLike],
        *,
        callbacks: Sequence[Callback] | None = None,
        resume: bool = False,
    ) -> CTGANSynthesizer:
        """Learn the distribution of ``data``.

        Parameters
        ----------
        data : pandas.DataFrame, path or sequence of paths
            The training table; or a CSV / Parquet file to read with
            :func:`synthgan.io.read_table`; or a Parquet dataset (a directory of Parquet files,
            or a list of files, sharing one schema). A large Parquet input is streamed (see
            ``streaming``).
        callbacks : sequence of Callback, optional
            Extra :class:`~synthgan.core.callbacks.Callback` objects called by the training loop
            (for example :class:`~synthgan.core.callbacks.EarlyStopping` on a figure of
            generated rows).
        resume : bool, default=False
            Continue the fit whose last complete checkpoint is in ``checkpoint_dir`` (same data
            and hyperparameters, which are checked); the result equals an uninterrupted fit.

        Returns
        -------
        CTGANSynthesizer
            ``self``, fitted.
        """
        return self._fit_template(lambda: self._read(data), callbacks=callbacks, resume=resume)

    # -- the template's hooks (synthgan.base) ----------------------------------------------------
    def _read(self, data) -> _TableInput | _StreamInput:
        dataset = self._dataset_to_stream(data)
        if dataset is not None:
            return _StreamInput(dataset, self._effective_batch_size(dataset.n_rows))
        if is_dataset_source(data) and not _is_file(data):  # a small dataset: read it whole
            data = open_dataset(data).to_frame()
        df = as_frame(data)
        if self._privacy_config() is None:
            plans = plan_columns(
                df, discrete_columns=self.discrete_columns, metadata=self.metadata,
                high_cardinality_threshold=self.high_cardinality_threshold,
            )  # fmt: skip
        else:  # public information only: reading the values for the plan would not be DP
            from synthgan.tabular import private

            plans = private.plan_private_columns(
                df, discrete_columns=self.discrete_columns, metadata=self.metadata
            )
        return _TableInput(df, plans, self._effective_batch_size(len(df)))

    def _dataset_to_stream(self, data) -> ParquetDataset | None:
        """The dataset to stream, or None to read ``data`` into memory (``streaming``)."""
        if self.streaming is False:
            return None
        if not is_dataset_source(data):
            if self.streaming is True:
                raise InvalidParameterError(
                    "streaming=True reads a Parquet file, a directory of Parquet files or a "
                    f"list of them; got {type(data).__name__} {str(data)[:80]!r}. Write the "
                    "table to Parquet (synthgan.io.write_table) or use streaming='auto'."
                )
            return None
        dataset = open_dataset(data)
        if self.streaming is not True and dataset.n_rows <= self.max_memory_rows:
            return None
        if self._privacy_config() is not None:
            raise InvalidParameterError(_STREAMED_PRIVACY)
        return dataset

    def _n_records(self, data: _TableInput | _StreamInput) -> int:
        if isinstance(data, _StreamInput):
            return data.dataset.n_rows
        return len(data.frame)

    def _batch_size(self, data: _TableInput) -> int:
        return data.batch_size

    def _fingerprint(self, data: _TableInput | _StreamInput) -> str:
        if isinstance(data, _StreamInput):
            return data.dataset.fingerprint()
        return frame_digest(data.frame)

    def _plan_preprocessing(self, data: _TableInput, resolved):
        from synthgan.tabular import private

        return private.plan_private_statistics(data.plans, resolved, len(data.frame))

    def _prepare(self, data: _TableInput, rng: np.random.Generator, privacy) -> _Prepared:
        if isinstance(data, _StreamInput):
            return self._prepare_streamed(data, rng)
        if privacy is None:
            transformer = TableTransformer(
                max_modes=self.max_modes, weight_threshold=self.weight_threshold,
                mixture_max_rows=self.mixture_max_rows, max_categories=self.max_categories,
            ).fit(data.frame, data.plans, rng)  # fmt: skip
            matrix, codes = transformer.transform(data.frame, rng)
            n_categories = [len(e.categories) for e in transformer.discrete_encoders_]
            sampler = ConditionSampler(codes, n_categories, self.log_frequency)
            kinds = {plan.name: plan.kind for plan in data.plans}
            return _Prepared(transformer, matrix, codes, sampler, sampler.for_generation(), kinds,
                             data.batch_size)  # fmt: skip
        from synthgan.tabular import private

        prep = private.fit_private_transformer(
            data.frame, data.plans, privacy.preprocessing, rng, grid_modes=self.dp_grid_modes,
            strict=privacy.resolved.strict,
        )  # fmt: skip
        privacy.record(prep.releases)
        private.warn_schema(prep.notices)
        matrix, codes = prep.transformer.transform(data.frame, rng)
        sampler = private.private_sampler(prep.transformer, self.log_frequency)
        kinds = private.plan_kinds(data.plans)
        return _Prepared(prep.transformer, matrix, codes, sampler, sampler, kinds, data.batch_size)

    def _prepare_streamed(self, data: _StreamInput, rng: np.random.Generator) -> _Prepared:
        from synthgan.tabular import streaming

        stats = scan_dataset(
            data.dataset, rng, mixture_rows=self.mixture_max_rows,
            planning_rows=streaming.PLANNING_ROWS, reserve_rows=streaming.RESERVE_ROWS,
            track_limit=self.high_cardinality_threshold,
        )  # fmt: skip
        plans = streaming.plan_streamed_columns(
            stats, discrete_columns=self.discrete_columns, metadata=self.metadata,
            high_cardinality_threshold=self.high_cardinality_threshold,
        )  # fmt: skip
        transformer = TableTransformer(
            max_modes=self.max_modes, weight_threshold=self.weight_threshold,
            mixture_max_rows=self.mixture_max_rows, max_categories=self.max_categories,
        ).fit_streamed(stats.frame, plans, stats.summaries())  # fmt: skip
        source = streaming.stream_source(data.dataset, transformer, stats, rng,
                                         buffer_rows=self.stream_buffer_rows,
                                         log_frequency=self.log_frequency)  # fmt: skip
        sampler = ConditionSampler.from_json({
            "n_categories": source.n_categories, "log_frequency": self.log_frequency,
            "counts": np.concatenate(source.counts).tolist() if source.counts else [],
        })  # fmt: skip
        kinds = {plan.name: plan.kind for plan in plans}
        return _Prepared(transformer, source.reserve_matrix, source.reserve_codes, sampler,
                         sampler, kinds, data.batch_size, source,
                         _stream_figures(data.dataset, stats, source))  # fmt: skip

    def _fit_plan(self, prepared: _Prepared, privacy) -> FitPlan:
        config = self._network_config(prepared.transformer)
        private = privacy is not None
        description = "CTGAN" if not private else f"DP-CTGAN ε={privacy.resolved.target_epsilon:g}"
        return FitPlan(
            networks=lambda: self._networks(config, private),
            steps=lambda context: self._steps(context, prepared, private),
            epochs=self.epochs,
            n_critic=self.discriminator_steps,
            description=description,
        )

    def _network_config(self, transformer: TableTransformer) -> TabularNetworkConfig:
        return TabularNetworkConfig(
            noise_dim=self.embedding_dim,
            condition_dim=transformer.span_table_.condition_width,
            data_dim=transformer.output_width,
            generator_dim=tuple(self.generator_dim),
            discriminator_dim=tuple(self.discriminator_dim),
            pac=self._pac(),
        )

    def _networks(self, config: TabularNetworkConfig, private: bool) -> list[Network]:
        betas = tuple(self.betas)
        sampler = "functional" if self.dp_penalty == "record" else "ghost"
        return [
            Network("generator", Generator(config), _adam(self.generator_lr, betas,
                    self.generator_decay), average=self.ema_decay, kept=True),
            Network("discriminator", Discriminator(config), _adam(self.discriminator_lr, betas,
                    self.discriminator_decay, fused=not private), reads_real=True,
                    private_options={"grad_sampler": sampler}),
        ]  # fmt: skip

    def _steps(self, context: TrainingContext, prepared: _Prepared, private: bool):
        options = StepOptions(
            batch_size=prepared.batch_size, noise_dim=self.embedding_dim, pac=self._pac(),
            tau=self.tau, gp_lambda=self.gp_lambda, gp_every=self.gp_every,
            reuse_fake=self.reuse_fake,
        )  # fmt: skip
        spans, loss = prepared.transformer.span_table_, create_loss(self.loss)
        if prepared.stream is not None:
            return self._streamed_steps(context, prepared, spans, loss, options)
        data = torch.as_tensor(prepared.matrix, device=context.device)
        if not private:
            return TabularGANSteps(context, data, prepared.train_sampler, spans, loss, options)
        from synthgan.tabular.private import PrivateTabularSteps

        return PrivateTabularSteps(context, data, prepared.codes, prepared.train_sampler, spans,
                                   loss, options, self.dp_penalty)  # fmt: skip

    def _streamed_steps(self, context: TrainingContext, prepared: _Prepared, spans, loss,
                        options: StepOptions):  # fmt: skip
        from synthgan.tabular.streaming import ShuffleBuffer, StreamedTabularSteps

        steps = max(1, prepared.stream.dataset.n_rows // prepared.batch_size)  # as in memory
        buffer = ShuffleBuffer(prepared.stream, seed=derive_seed(context.rng),
                               batch_size=prepared.batch_size,
                               steps_per_epoch=steps * self.discriminator_steps)  # fmt: skip
        return StreamedTabularSteps(context, buffer, spans, loss, options)

    def _learned(self, prepared: _Prepared, result) -> dict[str, Any]:
        return {
            "streaming_": prepared.streaming,
            "column_kinds_": prepared.kinds,
            "transformer_": prepared.transformer,
            "sampler_": prepared.sample_sampler,
            "network_config_": self._network_config(prepared.transformer),
        }

    def _privacy_notes(self, privacy) -> tuple[str, ...]:
        return _PRIVACY_NOTES

    def _batch_unit(self) -> int:
        return self._pac()  # a rank scores whole packs

    def _pac(self) -> int:
        if self.pac is None:
            return 1 if self.privacy is not None else 10
        return int(self.pac)

    def _validate_params(self) -> None:
        for name in _POSITIVE_INTS:
            check_int(name, getattr(self, name), minimum=1)
        check_int("high_cardinality_threshold", self.high_cardinality_threshold, minimum=2)
        if self.dp_penalty not in ("fake", "record"):
            raise ValueError(f"dp_penalty must be 'fake' or 'record', got {self.dp_penalty!r}.")
        if self.pac is not None:
            check_int("pac", self.pac, minimum=1)
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
            check_positive(name, getattr(self, name))
        for name in ("generator_decay", "discriminator_decay", "gp_lambda"):
            check_positive(name, getattr(self, name), allow_zero=True)
        if len(tuple(self.betas)) != 2:
            raise ValueError(f"betas must be a pair of floats, got {self.betas!r}.")
        if not 0 <= self.weight_threshold < 1:
            raise ValueError(f"weight_threshold must be in [0, 1), got {self.weight_threshold!r}.")
        check_fraction("ema_decay", self.ema_decay, optional=True)
        if not (isinstance(self.streaming, bool) or self.streaming == "auto"):
            raise InvalidParameterError(
                f"streaming must be 'auto', True or False, got {self.streaming!r}."
            )
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
        *,
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
        n = check_int("n", n, minimum=1)
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

    def category_counts(self, column: str) -> pd.Series:
        """The category counts the model learned for a discrete column, most frequent first.

        Without ``privacy`` these are the training counts; with it, the DP release (noisy and
        rounded, a post-processing of what ``privacy_spent_`` already covers): categories that
        did not pass the release threshold are absent. The missing value, when the column had
        one, is the ``None`` entry; values sharing a compacted or DP "other" slot are not listed.

        Parameters
        ----------
        column : str
            A discrete column of the training table.

        Returns
        -------
        pandas.Series
            Counts (int64), indexed by category, named ``column``.
        """
        self._check_fitted()
        encoders = {e.name: e for e in self.transformer_.discrete_encoders_}
        if column not in encoders:
            raise DataValidationError(
                f"{column!r} is not a discrete column of this model; its discrete columns: "
                f"{list(encoders)}."
            )
        encoder = encoders[column]
        kept = len(encoder.categories) - (1 if encoder.has_other else 0)
        index = pd.Index(encoder.categories[:kept], dtype=object)
        counts = np.asarray(encoder.counts[:kept], dtype=np.int64)
        return pd.Series(counts, index=index, name=column)

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
    def _family_state(self) -> dict[str, Any]:
        return {
            "transformer": self.transformer_.to_json(),
            "sampler": self.sampler_.to_json(),
            "network": self.network_config_.to_json(),
            "column_kinds": self.column_kinds_,
            "streaming": self.streaming_,
        }

    def _set_family_state(self, state: dict[str, Any]) -> None:
        self.transformer_ = TableTransformer.from_json(state["transformer"])
        self.sampler_ = ConditionSampler.from_json(state["sampler"])
        self.network_config_ = TabularNetworkConfig.from_json(state["network"])
        self.column_kinds_ = dict(state.get("column_kinds") or _kinds_of(self.transformer_))
        self.streaming_ = state.get("streaming")  # absent from files written before streaming

    def _empty_networks(self) -> dict[str, torch.nn.Module]:
        return {"generator": Generator(self.network_config_)}

    def _on_learned(self) -> None:
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


def _adam(lr: float, betas, decay: float, *, fused: bool = True):
    """An Adam factory for the session. The fused kernel updates every parameter in one pass:
    the same Adam, several times faster than the per-tensor loop for these small networks (the
    DP critic keeps the loop: Opacus steps the optimizer itself)."""

    def make(module: torch.nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(module.parameters(), lr, tuple(betas), weight_decay=decay,
                                fused=fused)  # fmt: skip

    return make


@dataclass(frozen=True)
class _TableInput:
    """The training table as read, with its column plans (public ones under DP)."""

    frame: pd.DataFrame
    plans: list
    batch_size: int


@dataclass(frozen=True)
class _Prepared:
    """What preparation made of the table: encoder, encoded matrix, samplers, kinds."""

    transformer: TableTransformer
    matrix: np.ndarray
    codes: np.ndarray
    train_sampler: ConditionSampler
    sample_sampler: ConditionSampler
    kinds: dict[str, str]
    batch_size: int
    stream: StreamSource | None = None  # a streamed fit's source of training rows
    streaming: dict | None = None  # its memory model (streaming_)


@dataclass(frozen=True)
class _StreamInput:
    """A Parquet dataset to stream (never read whole)."""

    dataset: ParquetDataset
    batch_size: int


def _is_file(data) -> bool:
    return isinstance(data, (str, PathLike)) and Path(data).is_file()


def _stream_figures(dataset: ParquetDataset, stats, source: StreamSource) -> dict[str, int]:
    return {
        "rows": dataset.n_rows,
        "files": len(dataset.files),
        "row_groups": len(dataset.row_groups),
        "mixture_reservoir_rows": int(max((len(s.sample) for s in stats.numeric.values()),
                                          default=0)),
        "planning_rows": stats.planning_rows,
        "reserve_rows": len(source.reserve_matrix),
        "reserve_rows_per_category": stats.reserve_rows,
        "buffer_rows": source.buffer_rows,
    }  # fmt: skip


def frame_digest(frame: pd.DataFrame) -> str:
    """Fingerprint of a table: its column names, dtypes and every value."""
    schema = repr([(str(name), str(dtype)) for name, dtype in frame.dtypes.items()])
    try:
        values = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    except TypeError:  # unhashable cells (lists...): their text then
        values = frame.to_csv(index=False).encode()
    return data_digest(schema, values)
