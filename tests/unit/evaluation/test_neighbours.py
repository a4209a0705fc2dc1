"""The one nearest-neighbour search behind the table privacy and the image memorisation scores."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from synthgan.evaluation import _neighbours, images, privacy
from synthgan.evaluation._neighbours import nearest, squared_distance_blocks


def test_nearest_matches_brute_force_across_chunks(monkeypatch):
    rng = np.random.default_rng(0)
    query, reference = rng.normal(size=(37, 4)), rng.normal(size=(23, 4))
    monkeypatch.setattr(_neighbours, "_BLOCK_CELLS", 50)  # two query rows per block
    dist, index = nearest(query, reference, 3)
    full = cdist(query, reference)
    np.testing.assert_allclose(dist, np.sort(full, axis=1)[:, :3], atol=1e-8)
    np.testing.assert_allclose(np.take_along_axis(full, index, axis=1), dist, atol=1e-8)
    copies, _ = nearest(reference * 1e3, reference * 1e3, 1)
    assert (copies == 0).all()  # exact zeros despite |q|^2 + |r|^2 - 2 q.r cancellation


def test_blocks_shrink_for_wide_rows_and_results_do_not_change(monkeypatch):
    """A 256x256 colour image is 196,608 values: the block holds fewer rows, to bound memory."""
    rows = _neighbours._rows_per_block
    assert rows(100, 7, 150) == 4096  # a table: the row cap
    assert rows(5000, 3, 28 * 28) == 2**22 // 5000  # MNIST pixels: the shortlist's budget
    assert rows(5000, 3, 256 * 256 * 3) == 2**24 // (3 * 256 * 256 * 3)  # 28 rows a block
    assert rows(10, 3, 10**9) == 1
    rng = np.random.default_rng(1)
    query, reference = rng.random((9, 300)), rng.random((11, 300))
    expected = nearest(query, reference, 2)
    monkeypatch.setattr(_neighbours, "_DIFF_CELLS", 4 * 300 * 2)  # 2 query rows a block
    assert rows(11, 4, 300) == 2
    for got, want in zip(nearest(query, reference, 2), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_k_is_capped_by_the_reference_and_ties_compare_equal():
    reference = np.array([[0.0, 0.0], [2.0, 0.0]])
    dist, index = nearest(np.array([[1.0, 0.0], [5.0, 0.0]]), reference, k=5)
    assert dist.shape == (2, 2) and dist[0, 0] == dist[0, 1] == 1.0  # both exactly 1
    np.testing.assert_array_equal(index[1], [1, 0])
    np.testing.assert_allclose(dist[1], [3.0, 5.0])


@pytest.mark.parametrize("cells", [7, 2**22])
def test_squared_distance_blocks_cover_every_pair(monkeypatch, cells):
    rng = np.random.default_rng(2)
    query, reference = rng.normal(size=(10, 3)), rng.normal(size=(6, 3))
    monkeypatch.setattr(_neighbours, "_BLOCK_CELLS", cells)
    full = np.zeros((10, 6))
    for start, block in squared_distance_blocks(query, reference):
        assert block.size <= max(cells, 6) and (block >= 0).all()
        full[start : start + len(block)] = block
    np.testing.assert_allclose(full, cdist(query, reference, "sqeuclidean"), atol=1e-12)


def test_privacy_and_image_scores_share_the_helper():
    assert privacy._nearest is nearest and images.nearest is nearest
    assert images.squared_distance_blocks is squared_distance_blocks
