"""Streamed fits of Parquet tables: statistics equal to the in-memory ones, bounded uniform
reservoirs, the shuffle buffer, and whole fits (schema, missing values, seeds, resume)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgan import CTGANSynthesizer
from synthgan.core.callbacks import Callback
from synthgan.exceptions import InvalidParameterError
from synthgan.io import write_table
from synthgan.io.datasets import open_dataset
from synthgan.tabular.columns import ContinuousEncoder, DiscreteEncoder
from synthgan.tabular.stream_stats import bottom_k, scan_dataset
from synthgan.tabular.streaming import ShuffleBuffer, StreamSource
from synthgan.tabular.transformer import TableTransformer
from synthgan.tabular.validation import plan_columns

_TINY = dict(
    epochs=2, batch_size=40, pac=4, embedding_dim=8, generator_dim=(16,),
    discriminator_dim=(16,), verbose=False, random_state=0, autocast=False, n_threads=1,
)  # fmt: skip


def _table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n, p=[0.6, 0.3, 0.1]).astype(object)
    colour[n // 2] = "violet"  # a category with one row: only the reserve can serve it
    colour[7::97] = None  # missing is a category of its own
    return pd.DataFrame(
        {
            "amount": np.where(rng.random(n) < 0.15, np.nan, rng.lognormal(3, 1, n)),
            "age": rng.integers(18, 90, n),
            "colour": colour,
            "flag": rng.random(n) < 0.3,
            "size": pd.Categorical(rng.choice(["S", "M", "L"], n), categories=["S", "M", "L"]),
            "day": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
        }
    )


@pytest.fixture
def dataset_dir(tmp_path):
    frame = _table()
    for i in range(3):  # three files of two row groups each
        part = frame.iloc[i * 200 : (i + 1) * 200]
        write_table(part, tmp_path / f"part-{i}.parquet")
    return tmp_path, frame


def _stats(path, seed=0, **kwargs):
    options = dict(mixture_rows=100, planning_rows=50, reserve_rows=2, track_limit=500)
    return scan_dataset(open_dataset(path), np.random.default_rng(seed), **{**options, **kwargs})


def test_streamed_statistics_equal_the_in_memory_ones(dataset_dir):
    path, frame = dataset_dir
    stats = _stats(path)
    for name in ("colour", "flag", "size"):
        memory = DiscreteEncoder(name, {}).fit(frame[name], max_categories=None)
        counts = stats.counts[name]
        streamed = DiscreteEncoder(name, {}).fit_counts(
            counts.values, counts.frequencies, max_categories=None
        )
        assert streamed.categories == memory.categories
        np.testing.assert_array_equal(streamed.counts, memory.counts)
    amount = frame["amount"].to_numpy()
    summary = stats.numeric["amount"]
    assert summary.minimum == np.nanmin(amount) and summary.maximum == np.nanmax(amount)
    assert summary.n_missing == int(np.isnan(amount).sum())
    np.testing.assert_allclose([summary.center, summary.scale],
                               [np.nanmean(amount), np.nanstd(amount)], rtol=1e-12)  # fmt: skip
    assert len(summary.sample) == 100  # the mixture reservoir is bounded


def test_the_planning_sample_holds_every_value_so_plans_match_memory(dataset_dir):
    path, frame = dataset_dir
    stats = _stats(path)
    assert set(stats.frame["colour"].dropna()) == set(frame["colour"].dropna())  # with "violet"
    assert stats.frame["colour"].isna().any()
    assert stats.frame.dtypes.equals(frame.dtypes)
    kwargs = dict(discrete_columns=None, metadata=None, high_cardinality_threshold=500)
    assert plan_columns(stats.frame, **kwargs) == plan_columns(frame, **kwargs)


def test_bottom_k_reservoir_is_bounded_and_uniform():
    rng, kept, keys = np.random.default_rng(1), np.zeros(0), np.zeros(0)
    for start in range(0, 20_000, 1000):  # a stream of 0..19999 in batches
        kept, keys = bottom_k(kept, keys, np.arange(start, start + 1000.0), rng, 2000)
        assert kept.size <= 2000
    assert kept.size == 2000 and np.unique(kept).size == 2000  # without replacement
    per_decile = np.bincount((kept // 2000).astype(int), minlength=10)
    assert per_decile.min() > 150 and per_decile.max() < 250  # 200 expected, sd about 13


def test_every_category_has_a_real_row_in_the_buffer_or_the_reserve(dataset_dir):
    path, _ = dataset_dir
    stats = _stats(path)
    plans = plan_columns(stats.frame, discrete_columns=None, metadata=None,
                         high_cardinality_threshold=500)  # fmt: skip
    transformer = TableTransformer(mixture_max_rows=100).fit_streamed(
        stats.frame, plans, stats.summaries()
    )
    reserve = stats.reserve_frame([e.name for e in transformer.discrete_encoders_])
    matrix, codes = transformer.transform(reserve, np.random.default_rng(0))
    counts = [e.counts for e in transformer.discrete_encoders_]
    source = StreamSource(open_dataset(path), transformer, matrix, codes, counts, True, 50)
    buffer = ShuffleBuffer(source, seed=0, batch_size=10, steps_per_epoch=15)
    for step in (0, 7, 14, 15):
        sampler = buffer.at(step)
        assert (sampler.slot_count > 0).all()
        slots, rows = sampler.sample_train(2000, np.random.default_rng(step))
        pool_slots = buffer.codes[rows] + buffer.offsets  # the rows really have the slot
        assert (pool_slots == slots[:, None]).any(axis=1).all()


def test_a_streamed_fit_keeps_the_schema_and_missing_values(dataset_dir):
    path, frame = dataset_dir
    model = CTGANSynthesizer(streaming=True, stream_buffer_rows=200, **_TINY).fit(path)
    sample = model.sample(400, random_state=0)
    assert list(sample.columns) == list(frame.columns)
    assert sample.dtypes.equals(frame.dtypes)
    assert sample["amount"].isna().any() and sample["amount"].notna().any()
    assert model.streaming_["rows"] == 600 and model.streaming_["buffer_rows"] == 200
    assert len(model.loss_history_) == 2
    assert model.category_counts("colour")["violet"] == 1  # exact counts


def test_same_seed_same_streamed_model(dataset_dir, tmp_path):
    path, _ = dataset_dir
    fit = lambda: CTGANSynthesizer(streaming=True, stream_buffer_rows=100, **_TINY).fit(path)  # noqa: E731
    first, second = fit(), fit()
    pd.testing.assert_frame_equal(first.sample(200, random_state=1),
                                  second.sample(200, random_state=1))  # fmt: skip
    first.save(tmp_path / "m.synthgan")
    loaded = CTGANSynthesizer.load(tmp_path / "m.synthgan")
    assert loaded.streaming_ == first.streaming_


class _StopAfter(Callback):
    def on_epoch_end(self, epoch, logs):
        if epoch == 1:  # the checkpoint of epoch 0 is written; that of epoch 1 may not be
            raise KeyboardInterrupt


def test_a_streamed_fit_resumes_to_the_uninterrupted_model(dataset_dir, tmp_path):
    path, _ = dataset_dir
    make = lambda d: CTGANSynthesizer(streaming=True, stream_buffer_rows=100,  # noqa: E731
                                      checkpoint_dir=str(d), **{**_TINY, "epochs": 3})  # fmt: skip
    reference = make(tmp_path / "a").fit(path).sample(200, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        make(tmp_path / "b").fit(path, callbacks=[_StopAfter()])
    resumed = make(tmp_path / "b").fit(path, resume=True).sample(200, random_state=0)
    pd.testing.assert_frame_equal(resumed, reference)


def test_small_parquet_inputs_keep_the_in_memory_path(dataset_dir):
    path, frame = dataset_dir
    memory = CTGANSynthesizer(**_TINY).fit(frame)
    auto = CTGANSynthesizer(**_TINY).fit(path)  # 600 rows <= max_memory_rows
    assert auto.streaming_ is None
    pd.testing.assert_frame_equal(auto.sample(100, random_state=0),
                                  memory.sample(100, random_state=0))  # fmt: skip
    streamed = CTGANSynthesizer(max_memory_rows=500, **_TINY).fit(path)  # "auto" above it
    assert streamed.streaming_ is not None


def test_streaming_refuses_privacy_and_non_parquet_inputs(dataset_dir):
    path, frame = dataset_dir
    with pytest.raises(InvalidParameterError, match="Poisson sampling over the whole table"):
        CTGANSynthesizer(
            streaming=True, privacy={"target_epsilon": 1.0}, **{**_TINY, "pac": None}
        ).fit(path)
    with pytest.raises(InvalidParameterError, match="streaming=True reads a Parquet"):
        CTGANSynthesizer(streaming=True, **_TINY).fit(frame)
    with pytest.raises(InvalidParameterError, match="streaming must be"):
        CTGANSynthesizer(streaming="yes", **_TINY).fit(frame)


def test_continuous_encoder_from_a_summary_matches_the_values():
    values = np.random.default_rng(0).normal(10, 3, 400)
    memory = ContinuousEncoder("v", {}).fit(values, np.random.default_rng(0), max_modes=5,
                                            weight_threshold=0.005, max_rows=1000)  # fmt: skip

    class Summary:
        has_missing, center, scale = False, values.mean(), values.std()
        minimum, maximum, sample = values.min(), values.max(), values

    streamed = ContinuousEncoder("v", {}).fit_summary(Summary, max_modes=5,
                                                      weight_threshold=0.005)  # fmt: skip
    np.testing.assert_allclose(streamed.means, memory.means)
    np.testing.assert_allclose(streamed.weights, memory.weights)


def test_uncountable_discrete_columns_and_infinities_are_refused(dataset_dir, monkeypatch):
    from synthgan.exceptions import DataValidationError
    from synthgan.tabular import stream_stats

    path, frame = dataset_dir
    monkeypatch.setattr(stream_stats, "MAX_DISTINCT", 50)  # age has 72 values
    model = CTGANSynthesizer(streaming=True, discrete_columns=["age"], **_TINY)
    with pytest.raises(DataValidationError, match="'age' is discrete with more than"):
        model.fit(path)
    monkeypatch.undo()
    write_table(frame.assign(amount=np.inf), path / "part-9.parquet")
    with pytest.raises(DataValidationError, match="'amount' contains 600 infinite"):
        CTGANSynthesizer(streaming=True, **_TINY).fit(path)
