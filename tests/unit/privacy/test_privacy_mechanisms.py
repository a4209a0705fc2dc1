"""DP preprocessing primitives: noise scale, thresholding, quantiles, determinism."""

import math

import numpy as np
import pytest

from synthgan.privacy.mechanisms import (
    dp_bounds,
    dp_histogram,
    dp_quantile,
    frequencies_from_counts,
    histogram_threshold,
    noisy_counts,
    noisy_frequencies,
)


def rng(seed=0):
    return np.random.default_rng(seed)


def test_noisy_counts_have_laplace_scale_one_over_epsilon():
    release = noisy_counts(np.zeros(40_000), 0.5, rng())
    noise = release.value
    # Laplace(b): mean |x| = b and standard deviation sqrt(2)·b, with b = 1/ε = 2.
    assert np.mean(np.abs(noise)) == pytest.approx(2.0, rel=0.03)
    assert np.std(noise) == pytest.approx(math.sqrt(2) * 2.0, rel=0.03)
    assert release.cost == (0.5, 0.0)


def test_releases_are_deterministic_given_the_generator_state():
    values = ["a"] * 50 + ["b"] * 20 + ["c"] * 30
    first = dp_histogram(values, 1.0, rng(4), categories=["a", "b"], delta=1e-6)
    again = dp_histogram(values, 1.0, rng(4), categories=["a", "b"], delta=1e-6)
    other = dp_histogram(values, 1.0, rng(5), categories=["a", "b"], delta=1e-6)
    assert first.value == again.value and first.value != other.value
    x = rng(0).normal(size=300)
    assert dp_quantile(x, 0.5, -5, 5, 1.0, rng(1)) == dp_quantile(x, 0.5, -5, 5, 1.0, rng(1))


def test_public_categories_are_all_released_even_with_zero_count():
    release = dp_histogram(["a"] * 100, 2.0, rng(), categories=["a", "never seen"])
    assert list(release.value) == ["a", "never seen"]
    assert release.value["a"] == pytest.approx(100, abs=10)
    assert release.cost == (2.0, 0.0)  # nothing outside the public list: pure ε


def test_non_public_categories_need_delta_and_rare_ones_are_suppressed():
    values = ["a"] * 1000 + ["common"] * 500 + ["rare"]
    without_delta = dp_histogram(values, 1.0, rng(), categories=["a"])
    assert list(without_delta.value) == ["a"]
    with_delta = dp_histogram(values, 1.0, rng(), categories=["a"], delta=1e-6)
    assert "common" in with_delta.value and "rare" not in with_delta.value
    assert with_delta.cost == (1.0, 1e-6)
    with pytest.raises(ValueError, match="public category list"):
        dp_histogram(values, 1.0, rng())


def test_delta_is_charged_even_when_no_category_lies_outside_the_public_list():
    # A δ charged only when extras exist would itself reveal that some record holds one.
    release = dp_histogram(["a"] * 10, 1.0, rng(), categories=["a"], delta=1e-6)
    assert list(release.value) == ["a"] and release.cost == (1.0, 1e-6)


def test_a_single_record_category_leaks_with_probability_delta():
    # ½·exp(−ε(τ − 1)) = δ: over many draws the singleton is named about δ of the time.
    delta, generator = 0.05, rng(11)
    assert histogram_threshold(1.0, delta) == pytest.approx(1 + math.log(10))
    named = sum("x" in dp_histogram(["x"], 1.0, generator, delta=delta).value for _ in range(4000))
    assert named / 4000 == pytest.approx(delta, abs=0.012)


def test_noisy_frequencies_are_a_distribution_close_to_the_truth():
    values = ["a"] * 600 + ["b"] * 300 + ["c"] * 100
    release = noisy_frequencies(values, ["a", "b", "c", "d"], 5.0, rng())
    frequencies = release.value
    assert frequencies.sum() == pytest.approx(1.0) and (frequencies >= 0).all()
    np.testing.assert_allclose(frequencies, [0.6, 0.3, 0.1, 0.0], atol=0.01)
    assert release.cost == (5.0, 0.0)


def test_frequencies_post_processing_clamps_and_falls_back_to_uniform():
    np.testing.assert_allclose(frequencies_from_counts([3.0, -1.0, 1.0]), [0.75, 0.0, 0.25])
    np.testing.assert_allclose(frequencies_from_counts({"a": -2.0, "b": -1.0}), [0.5, 0.5])


def test_quantile_is_accurate_and_stays_in_the_public_range():
    x = rng(0).uniform(0, 1, size=10_000)
    median = dp_quantile(x, 0.5, 0.0, 1.0, 1.0, rng(1))
    assert median.value == pytest.approx(0.5, abs=0.02) and median.cost == (1.0, 0.0)
    outliers = np.concatenate([x, [1e9, -1e9]])  # clamped into the public range
    assert 0.0 <= dp_quantile(outliers, 1.0, 0.0, 1.0, 1.0, rng(2)).value <= 1.0
    empty = dp_quantile([], 0.5, -1.0, 1.0, 1.0, rng(3)).value
    assert -1.0 <= empty <= 1.0


def test_quantile_with_tiny_epsilon_is_uniform_over_the_public_range():
    x = np.full(200, 0.9)
    draws = [dp_quantile(x, 0.5, 0.0, 1.0, 1e-9, rng(s)).value for s in range(400)]
    assert np.mean(draws) == pytest.approx(0.5, abs=0.05)  # utility ignored, width wins


def test_bounds_cover_the_bulk_of_the_column():
    x = rng(0).normal(50, 10, size=5000)
    release = dp_bounds(x, 0.0, 100.0, 2.0, rng(1))
    low, high = release.value
    assert 20 < low < 30 < 70 < high < 80  # near the 1 % and 99 % quantiles (26.7, 73.3)
    assert release.cost == (2.0, 0.0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: noisy_counts([1.0], 0.0, rng()), "epsilon"),
        (lambda: noisy_counts([1.0], 1.0, 42), "numpy.random.Generator"),
        (lambda: dp_quantile([1.0], 0.5, 1.0, 1.0, 1.0, rng()), "lower < upper"),
        (lambda: dp_quantile([1.0], 1.5, 0.0, 1.0, 1.0, rng()), "quantile"),
        (lambda: dp_bounds([1.0], 0.0, 1.0, 1.0, rng(), tail=0.5), "tail"),
        (lambda: histogram_threshold(1.0, 0.0), "delta"),
        (lambda: noisy_frequencies(["a"], [], 1.0, rng()), "category list"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_gaussian_threshold_names_a_lone_record_with_probability_delta():
    from scipy.stats import norm

    from synthgan.privacy.mechanisms import gaussian_counts, gaussian_threshold

    for sigma, delta, columns in ((10.0, 1e-7, 1), (35.0, 1.4e-7, 9)):
        tau = gaussian_threshold(sigma, delta, columns)
        # a category held by one record: count 1, named above τ; union bound over its columns
        assert columns * norm.sf((tau - 1.0) / sigma) == pytest.approx(delta, rel=1e-6)
    rng = np.random.default_rng(0)
    noisy = gaussian_counts(np.zeros(200_000), 4.0, rng)
    assert noisy.std() == pytest.approx(4.0, rel=0.01)
    with pytest.raises(ValueError, match="delta must lie in"):
        gaussian_threshold(1.0, 0.0)
