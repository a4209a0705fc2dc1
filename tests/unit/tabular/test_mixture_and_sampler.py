import numpy as np
import pytest

from synthgan.tabular.mixture import fit_mixture_1d, responsibilities
from synthgan.tabular.sampler import ConditionSampler


def test_mixture_finds_two_separated_modes():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-5, 0.5, 3000), rng.normal(5, 1.0, 1000)])
    fit = fit_mixture_1d(x, 10)
    heavy = fit.weights > 0.005
    means = fit.means[heavy]
    # Every kept component sits on one of the two modes, and the mass split is 3:1.
    assert np.all(np.minimum(np.abs(means + 5), np.abs(means - 5)) < 1.0)
    assert fit.weights[fit.means < 0].sum() == pytest.approx(0.75, abs=0.02)
    assert fit.weights.sum() == pytest.approx(1.0, abs=1e-6)


def test_mixture_moments_match_the_data():
    x = np.random.default_rng(1).gamma(2.0, 1.5, 4000)
    fit = fit_mixture_1d(x, 10)
    mean = (fit.weights * fit.means).sum()
    var = (fit.weights * (fit.variances + fit.means**2)).sum() - mean**2
    assert mean == pytest.approx(x.mean(), rel=0.02)
    assert var == pytest.approx(x.var(), rel=0.1)


def test_mixture_on_few_unique_values():
    fit = fit_mixture_1d(np.array([1.0, 1.0, 2.0, 2.0, 2.0]), 10)
    assert fit.means.size == 2  # no more components than distinct values


def test_responsibilities_rows_sum_to_one():
    p = responsibilities(
        np.array([-1.0, 0.0, 5.0]), np.array([0.5, 0.5]), np.array([0.0, 5.0]), np.array([1.0, 1.0])
    )
    assert np.allclose(p.sum(axis=1), 1.0)
    assert p[2, 1] > 0.99


@pytest.fixture
def sampler():
    rng = np.random.default_rng(0)
    codes = np.stack([rng.choice(3, 5000, p=[0.9, 0.09, 0.01]), rng.choice(2, 5000)], axis=1)
    return codes, ConditionSampler(codes, [3, 2], log_frequency=True)


def test_training_rows_match_their_condition(sampler):
    codes, s = sampler
    slots, rows = s.sample_train(4000, np.random.default_rng(1))
    column = np.where(slots < 3, 0, 1)
    category = np.where(slots < 3, slots, slots - 3)
    assert np.all(codes[rows, column] == category)


def test_log_frequency_and_original_frequencies(sampler):
    codes, s = sampler
    rng = np.random.default_rng(2)
    slots, _ = s.sample_train(200_000, rng)
    first = slots[slots < 3]
    counts = np.bincount(codes[:, 0], minlength=3)
    expected = np.log1p(counts) / np.log1p(counts).sum()
    assert np.allclose(np.bincount(first, minlength=3) / first.size, expected, atol=0.01)
    original = s.sample_original(200_000, rng)
    first = original[original < 3]
    assert np.allclose(
        np.bincount(first, minlength=3) / first.size, counts / counts.sum(), atol=0.01
    )


def test_generation_copy_keeps_no_rows(sampler):
    _, s = sampler
    light = s.for_generation()
    assert not hasattr(light, "rows_by_slot")
    assert np.array_equal(light.original_cum_probs, s.original_cum_probs)
    assert light.sample_original(10, np.random.default_rng(0)).shape == (10,)


def test_no_discrete_columns():
    s = ConditionSampler(np.zeros((50, 0), dtype=np.int64), [], log_frequency=True)
    slots, rows = s.sample_train(8, np.random.default_rng(0))
    assert slots is None and rows.shape == (8,) and rows.max() < 50
